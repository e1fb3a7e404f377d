"""Evaluate the Pulumi program (``__main__.py``) for one stack under the project's mocks.

No CLI, provider plugin or cloud account is involved: the real Pulumi Python SDK runs the program against
``RecordingMonitor``, which answers every registration through ``PlatformMocks`` and records it. The tests use
:func:`run_with_mocks` directly to build single components the same way.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pulumi
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from preflight.mocks import PlatformMocks, RecordingMonitor, ResourceRecord
from preflight.stack_config import StackConfig


def run_with_mocks(
    program: Callable[[], object],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: Iterable[str] = (),
    monitor: RecordingMonitor | None = None,
) -> list[ResourceRecord]:
    """Run ``program`` under fresh mocks with ``config``; wait for every registration; return the records.

    Exceptions raised by the program (including ``pulumi.RunError``) propagate after the runtime has settled; pass
    a ``monitor`` to inspect what was registered before the failure.
    """
    monitor = monitor or RecordingMonitor(PlatformMocks())
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config or {}), sorted(secret_keys))
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()

    def run() -> None:
        program()

    _sync_await(run_pulumi_func(run))
    return monitor.records


def evaluate(project_dir: Path, config: StackConfig) -> list[ResourceRecord]:
    """Run ``project_dir/__main__.py`` with the stack's ``config``; return every resource it registered, in order."""
    main = project_dir / "__main__.py"
    root = str(project_dir.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    return run_with_mocks(
        lambda: runpy.run_path(str(main), run_name="__main__"),
        project=config.project,
        stack=config.stack,
        config=config.values,
        secret_keys=config.secret_keys,
    )
