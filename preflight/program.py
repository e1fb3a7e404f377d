"""Evaluate the Pulumi program (``__main__.py``) for one stack under the project's mocks.

No CLI, provider plugin or cloud account is involved: the real Pulumi Python SDK runs the program against
``RecordingMonitor``, which answers every registration through ``PlatformMocks`` and records it. The tests use
:func:`run_with_mocks` directly to build single components the same way.

Two things make a large stack evaluate several times faster than the SDK's own runner would, without changing what is
registered (``tuned=False`` turns both off, which the benchmark uses for its "before" numbers):

- **Settling outstanding work.** After the program returns, the SDK's ``wait_for_rpcs`` waits for pending outputs
  with ``asyncio.wait(..., FIRST_COMPLETED)`` in a loop, re-attaching a callback to every pending output on each
  wake-up (about 30 wake-ups over some 12 outputs per resource). :func:`_settle` waits for each generation of pending
  work once, until none is left; the SDK's loop then finds nothing to do.
- **Garbage collection.** The run allocates millions of short-lived objects (futures, tasks, outputs) on a heap that
  keeps growing; the collector's default thresholds make it rescan that heap over and over. The imported modules are
  frozen out of the collector and the young-generation threshold raised for the duration of the run.
"""

from __future__ import annotations

import asyncio
import gc
import runpy
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pulumi
from pulumi.runtime.settings import ROOT as ROOT_RESOURCE
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from preflight.mocks import PlatformMocks, RecordingMonitor, ResourceRecord
from preflight.stack_config import StackConfig


async def _settle() -> None:
    """Wait until no RPC and no output task is pending, one ``asyncio.wait`` per generation of new work; re-raise
    the first failure as the SDK's ``wait_for_rpcs`` would."""
    manager = SETTINGS.rpc_manager
    while True:
        while manager.rpcs:
            rpcs = list(manager.rpcs)
            manager.rpcs.clear()
            await asyncio.wait(rpcs)
            for rpc_task in rpcs:
                rpc_task.result()
        if manager.unhandled_exception is not None:
            raise manager.unhandled_exception.with_traceback(manager.exception_traceback)
        with SETTINGS.lock:
            pending = list(SETTINGS.outputs)
            SETTINGS.outputs.clear()
        if not pending:
            return
        await asyncio.wait(pending)
        for task in pending:
            task.result()


@contextmanager
def _collector_tuned(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def run_with_mocks(
    program: Callable[[], object],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: Iterable[str] = (),
    monitor: RecordingMonitor | None = None,
    tuned: bool = True,
) -> list[ResourceRecord]:
    """Run ``program`` under fresh mocks with ``config``; wait for every registration; return the records.

    Exceptions raised by the program (including ``pulumi.RunError``) propagate after the runtime has settled; pass
    a ``monitor`` to inspect what was registered before the failure.
    """
    monitor = monitor or RecordingMonitor(PlatformMocks())
    # A fresh root stack resource per run: set_mocks keeps an existing one, and with it the previous run's stack
    # name and stack transformations (greenfield would leak into the next run).
    ROOT_RESOURCE.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config or {}), sorted(secret_keys))
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()

    def run() -> Awaitable[None] | None:
        program()
        return _settle() if tuned else None

    with _collector_tuned(tuned):
        _sync_await(run_pulumi_func(run))
    return monitor.records


def evaluate(project_dir: Path, config: StackConfig, *, tuned: bool = True,
             progress: Callable[[int], None] | None = None) -> list[ResourceRecord]:
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
        monitor=RecordingMonitor(PlatformMocks(), progress=progress),
        tuned=tuned,
    )
