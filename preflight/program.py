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

A program that did not complete is a :class:`ProgramError`, never an empty or partial plan: it called ``sys.exit``,
logged an error through ``pulumi.log.error`` (the CLI fails the update then), registered no resource, or did not
finish within the time limit.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import runpy
import signal
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pulumi
from pulumi.runtime.settings import ROOT as ROOT_RESOURCE
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from preflight.mocks import PlatformMocks, RecordingMonitor, ResourceRecord
from preflight.stack_config import StackConfig


class ProgramError(Exception):
    """The program did not complete: what happened, in one message (and where, when known)."""


class ProgramTimeout(BaseException):
    """Raised in the main thread when the time limit expires (a ``BaseException``, so a program's own ``except
    Exception`` cannot swallow it)."""


class _Logs(logging.Handler):
    """The errors the program logged through ``pulumi.log`` (the mocks' engine writes to a logger)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.append(record.getMessage())


def program_location(error: BaseException, project_dir: Path) -> str:
    """``file:line`` of the innermost frame of ``error`` inside the project, outside its virtualenv and this package
    (where the user's program went wrong, not where the SDK noticed)."""
    root = project_dir.resolve()
    excluded = (root / ".venv", Path(__file__).resolve().parent)
    where = ""
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(root) and not any(path.is_relative_to(e) for e in excluded):
            where = f"{path.relative_to(root)}:{frame.lineno}"
    return where


@contextmanager
def _time_limit(seconds: float | None, on_hang: Callable[[], None] | None) -> Iterator[None]:
    """Raise :class:`ProgramTimeout` in the main thread after ``seconds``. If the program is stuck where Python
    cannot interrupt it, ``on_hang`` is called from a watchdog thread 15 s later (the command line ends the process
    there, with the same message)."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise ProgramTimeout()

    finished = threading.Event()
    if on_hang is not None:
        def watchdog() -> None:
            if not finished.wait(seconds + 15):
                on_hang()
        threading.Thread(target=watchdog, name="program-watchdog", daemon=True).start()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        finished.set()


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
    logger: logging.Logger | None = None,
    preview: bool = False,
) -> list[ResourceRecord]:
    """Run ``program`` under fresh mocks with ``config``; wait for every registration; return the records.

    Exceptions raised by the program (including ``pulumi.RunError``) propagate after the runtime has settled; pass
    a ``monitor`` to inspect what was registered before the failure, and a ``logger`` to receive ``pulumi.log``.
    With ``preview``, the runtime runs as ``pulumi preview`` does (dry run): outputs the mocks leave out are unknown.
    """
    monitor = monitor or RecordingMonitor(PlatformMocks())
    # A fresh root stack resource per run: set_mocks keeps an existing one, and with it the previous run's stack
    # name and stack transformations (greenfield would leak into the next run).
    ROOT_RESOURCE.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor,
                             logger=logger)
    pulumi.runtime.set_all_config(dict(config or {}), sorted(secret_keys))
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()

    def run() -> Awaitable[None] | None:
        program()
        return _settle() if tuned else None

    with _collector_tuned(tuned):
        _sync_await(run_pulumi_func(run))
    return monitor.records


def evaluate(project_dir: Path, config: StackConfig, *, tuned: bool = True, timeout: float | None = None,
             progress: Callable[[int], None] | None = None, on_hang: Callable[[], None] | None = None,
             is_new: Callable[[str], bool] | None = None) -> list[ResourceRecord]:
    """Run ``project_dir/__main__.py`` with the stack's ``config``; return every resource it registered, in order.

    With ``is_new``, the program runs as on ``pulumi preview``, and the resources whose URN it names do not exist yet
    (see ``preflight.mocks``): their ids and computed outputs are unknown, and so is every input made from them.

    Raises :class:`ProgramError` when the program did not complete (see the module docstring); exceptions of the
    program itself (``pulumi.RunError`` among them) propagate as they are.
    """
    main = project_dir / "__main__.py"
    if not main.is_file():
        raise ProgramError(f"no program: {main} is missing")
    root = project_dir.resolve()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    logs = _Logs()
    logger = logging.getLogger(f"preflight.program.{id(logs)}")
    logger.propagate = False
    logger.addHandler(logs)

    def program() -> None:
        try:
            runpy.run_path(str(main), run_name="__main__")
        except SystemExit as exit_:
            where = program_location(exit_, root)
            raise ProgramError(f"the program exited early{' at ' + where if where else ''} (sys.exit({exit_.code!r})); "
                               "a program must return normally for its resources to be checked") from None

    try:
        with _time_limit(timeout, on_hang):
            records = run_with_mocks(program, project=config.project, stack=config.stack, config=config.values,
                                     secret_keys=config.secret_keys, tuned=tuned, logger=logger,
                                     monitor=RecordingMonitor(PlatformMocks(), progress=progress, is_new=is_new),
                                     preview=is_new is not None)
    except SystemExit as exit_:  # raised in an apply or a callback: asyncio lets it out of the loop
        where = program_location(exit_, root)
        raise ProgramError(f"the program exited early{' at ' + where if where else ''} (sys.exit({exit_.code!r})); "
                           "a program must return normally for its resources to be checked") from None
    except ProgramTimeout:
        raise ProgramError(f"the program did not finish within {timeout:g} s (an endless loop, or an output that "
                           "never resolves?)") from None
    finally:
        logger.removeHandler(logs)
    if logs.errors:
        shown = "; ".join(message[:300] for message in logs.errors[:5])
        more = f" (and {len(logs.errors) - 5} more)" if len(logs.errors) > 5 else ""
        raise ProgramError(f"the program logged {len(logs.errors)} error(s) through pulumi.log.error, which fails "
                           f"`pulumi up`: {shown}{more}")
    if not any(record.custom for record in records):
        raise ProgramError("the program registered no resources; there is nothing to check (did it return before "
                           "building the platform?)")
    return records
