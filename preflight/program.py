"""Evaluate the Pulumi program (``__main__.py``) for one stack under the project's mocks.

No CLI, provider plugin or cloud account is involved: the real Pulumi Python SDK runs the program against
``RecordingMonitor``, which answers every registration through ``PlatformMocks`` and records it.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pulumi
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from preflight.mocks import PlatformMocks, RecordingMonitor, ResourceRecord
from preflight.stack_config import StackConfig


def evaluate(project_dir: Path, config: StackConfig) -> list[ResourceRecord]:
    """Run ``project_dir/__main__.py`` with ``config``; return every resource it registered, in order.

    Exceptions raised by the program (including ``pulumi.RunError`` for a bad configuration) propagate.
    """
    mocks = PlatformMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=config.project, stack=config.stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config.values), sorted(config.secret_keys))
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    main = project_dir / "__main__.py"
    root = str(project_dir.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)

    def run() -> None:
        runpy.run_path(str(main), run_name="__main__")

    _sync_await(run_pulumi_func(run))
    return monitor.records
