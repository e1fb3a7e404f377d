"""One preflight run: evaluate the program for a stack, run the policy packs, build the :class:`Report`.

The command line (``python -m preflight``) and the benchmark (``preflight.bench``) both call :func:`run`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from components.config import PROJECT, derive_environment, evaluation_date
from preflight import api_contract
from preflight import report as rep
from preflight.analysis import Limits, PackRunner, discover_packs
from preflight.program import evaluate
from preflight.stack_config import StackConfig


@dataclass(frozen=True)
class RunOptions:
    policies: bool = True
    """Run the policy packs (False: only evaluate the program)."""
    packs: Sequence[str] | None = None
    """Pack folders under ``policies/`` to run (default: every pack found there)."""
    policies_dir: Path | None = None
    """Default: ``<project>/policies``."""
    overrides: Mapping[str, Mapping[str, object]] | None = None
    """Policy name -> config properties merged over the environment's config file."""
    as_of: dt.date | None = None
    """Evaluate as of this date instead of today: the program's date checks and every policy with an ``asOf``
    setting (compute image age) measure against it, so a run gives the same answer on any day."""
    program_timeout: float | None = 600.0
    """Seconds the program may take to evaluate (``None``: no limit)."""
    on_hang: Callable[[], None] | None = None
    """Called when the program cannot even be interrupted at its time limit (the command line ends the process)."""
    limits: Limits = field(default_factory=Limits)
    """Time limits of the policy phase."""
    tuned: bool = True
    """Fast evaluation (see ``preflight.program``); False only for "before" benchmark numbers."""
    parallel: bool = True
    """Packs in parallel with pipelined calls; False only for "before" benchmark numbers."""
    fast_servicer: bool = True
    """Packs answer with ``policies.lib.servicer.FastAnalyzer``; False only for "before" benchmark numbers."""
    unknowns: str = "none"
    """Which resources are evaluated as not existing yet, as ``pulumi preview`` sees them (ids and computed outputs
    unknown, and every input made from them): ``all`` (a stack never deployed), ``added`` (those whose URN is not
    in ``existing``: what a pull request adds) or ``none`` (everything deployed)."""
    existing: frozenset[str] = frozenset()
    """URNs of the resources that exist (from a baseline report), for ``unknowns="added"``."""
    autoscale_proof: bool = False
    """Also replay the load profiles against every registered autoscale setting (``loadtest.proof``); a rule set that
    does not hold the SLO, flaps or cannot reach the peak is a mandatory finding of the ``autoscale-proof`` checks.
    A proof that cannot run raises ``loadtest.errors.LoadtestError`` (the command line exits 2)."""
    freeze_heap: bool = False
    """After evaluation, move everything allocated so far out of the garbage collector's reach (``gc.freeze``), so
    the policy phase and the reports do not rescan it. For a process that exits afterwards (the command line, the
    benchmark): frozen objects are never collected."""


def environment_of(config: StackConfig) -> str:
    """The stack's environment as the program derives it: from the stack name for dev/prod stacks (a key in the
    stack file cannot change it; the program refuses a contradicting one), else the ``environment`` key."""
    return derive_environment(config.stack) or config.values.get(f"{PROJECT}:environment") or "dev"


UNKNOWNS = ("all", "added", "none")


def _is_new(options: RunOptions) -> Callable[[str], bool] | None:
    if options.unknowns not in UNKNOWNS:
        raise ValueError(f"unknowns is {options.unknowns!r}; use one of {', '.join(UNKNOWNS)}")
    if options.unknowns == "none":
        return None
    if options.unknowns == "all":
        return lambda _urn: True
    existing = options.existing
    return lambda urn: urn not in existing


def run(project_dir: Path, config: StackConfig, options: RunOptions = RunOptions(),
        progress: Callable[[str], None] | None = None) -> rep.Report:
    """Evaluate and analyze the stack described by ``config``. Program and config errors propagate."""
    started = time.perf_counter()
    environment = environment_of(config)
    is_new = _is_new(options)
    with contextlib.ExitStack() as stack:
        runner = None
        if options.policies:
            runner = stack.enter_context(PackRunner(
                environment, policies_dir=options.policies_dir or project_dir / "policies", packs=options.packs,
                overrides=options.overrides, stack=config.stack, project=config.project, parallel=options.parallel,
                fast=options.fast_servicer, as_of=options.as_of.isoformat() if options.as_of else None,
                limits=options.limits))
            runner.start()  # the packs boot on the other cores while the program is evaluated
        with evaluation_date(options.as_of):
            records = evaluate(project_dir, config, tuned=options.tuned, timeout=options.program_timeout,
                               on_hang=options.on_hang, is_new=is_new,
                               progress=(lambda n: progress(f"program: {n} resources registered")) if progress
                               else None)
        program_seconds = time.perf_counter() - started
        if progress:
            progress(f"program: {len(records)} resources registered in {program_seconds:.1f} s")
        if options.freeze_heap:
            gc.freeze()
        results = runner.analyze(records, progress) if runner else []
        if runner:
            # The Azure REST API contract of every resource, checked beside the packs (preflight/api_contract.py).
            results.append(api_contract.pack_result(records))
        if options.autoscale_proof:
            from loadtest import proof

            results.append(proof.pack_result(project_dir, config, records, as_of=options.as_of))
    policy_seconds = time.perf_counter() - started - program_seconds

    secrets: set[str] = set()
    entries = rep.entries(records, project_dir, secrets)
    findings = sorted(rep.findings(results, secrets), key=rep.finding_order)
    packs = tuple(rep.PackSummary(r.pack, r.folder, r.version, r.config_file, tuple(r.policies), r.start_seconds,
                                  r.analysis_seconds, r.peak_memory_mb) for r in results)
    stack_file = rep.relative(str(config.stack_file), project_dir)
    skipped: tuple[str, ...] = ()
    if options.policies and options.packs is not None:
        found = discover_packs(options.policies_dir or project_dir / "policies")
        skipped = tuple(p for p in found if p not in options.packs)
    return rep.Report(
        project=config.project, stack=config.stack, environment=environment, stack_file=stack_file,
        resources=tuple(entries), packs=packs, findings=tuple(findings),
        timings=rep.Timings(program_seconds, policy_seconds, time.perf_counter() - started),
        team_lines=rep.team_lines(config.stack_file, config.project),
        skipped_packs=skipped,
        unknowns=options.unknowns,
        new_resources=sum(1 for r in records if r.new),
    )
