"""Command line: ``python -m preflight <stack> [--format F[,F...]] [--output DIR] [--baseline report.json] ...``.

Evaluates the stack's program offline and runs every policy pack under ``policies/`` over it; writes the report in
the chosen formats (terminal, markdown, sarif, junit, json).

Exit codes: 0 no mandatory violation (with ``--baseline``: no *new* one); 1 mandatory violations; 2 whenever
something could not be checked: a usage, configuration or program error, a pack that is missing, broken, slow or
failing, a time limit, an interrupt, or ``--no-policies`` (one clear message on stderr, the user's file and line for a
program exception, a traceback only with ``--debug``). The gate fails closed: it never exits 0 unless every pack ran
with the environment's config on a program that completed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import TextIO

from preflight.render import FORMATS
from preflight.report import EXIT_ERROR

FORMAT_NAMES = tuple(FORMATS)


class Interrupted(BaseException):
    """SIGINT, SIGTERM or SIGHUP: unwind, so every pack is stopped on the way out."""


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _hung() -> None:
    """The program is stuck where Python cannot interrupt it: stop the packs and end the process."""
    from policies.harness import stop_all

    print("preflight: the program did not finish and could not be interrupted; stopping", file=sys.stderr)
    stop_all()
    os._exit(EXIT_ERROR)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 86400 seconds")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _writable(directory: Path) -> str | None:
    """Why reports cannot be written to ``directory`` (checked before the run, not after it), or ``None``."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".preflight-", delete=True):
            pass
    except OSError as error:
        return f"--output {directory} is not a writable folder: {error.strerror or error}"
    return None


def _formats(values: list[str] | None, parser: argparse.ArgumentParser) -> list[str]:
    chosen: list[str] = []
    for value in values or ["terminal"]:
        for name in (v.strip() for v in value.split(",")):
            if name == "all":
                chosen += [f for f in FORMAT_NAMES if f not in chosen]
            elif name in FORMAT_NAMES:
                if name not in chosen:
                    chosen.append(name)
            else:
                parser.error(f"--format {name!r} is not a format; use {', '.join(FORMAT_NAMES)} or all "
                             "(several separated by commas)")
    return chosen


class Ticker:
    """Progress on stderr: one line rewritten in place on a terminal, else a line at most every few seconds."""

    def __init__(self, stream: TextIO, mode: str) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.enabled = mode == "always" or (mode == "auto" and self.live)
        self.last = 0.0
        self.shown = False

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.live:
            self.stream.write(f"\r\033[K{message}")
            self.shown = True
        elif now - self.last >= 2.0 or message.endswith(" s"):
            self.stream.write(f"preflight: {message}\n")
            self.last = now
        self.stream.flush()

    def done(self) -> None:
        if self.live and self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _fail(error: BaseException, args: argparse.Namespace) -> int:
    """Report an error of the run (config, program, files) the one way every mode does; exit code 2."""
    import pulumi

    from preflight.program import ProgramError, program_location

    if isinstance(error, (pulumi.RunError, ProgramError)):
        print(f"preflight: stack {args.stack}: {error}", file=sys.stderr)
        return EXIT_ERROR
    where = program_location(error, args.dir)
    print(f"preflight: the program failed{' at ' + where if where else ''}: {type(error).__name__}: {error}",
          file=sys.stderr)
    if args.debug:
        traceback.print_exception(error)
    else:
        print("preflight: run with --debug for the traceback", file=sys.stderr)
    return EXIT_ERROR


def _check_greenfield(args: argparse.Namespace) -> int:
    import dataclasses

    from components.config import PROJECT
    from preflight.greenfield_check import StateError, check, load_state
    from preflight.program import evaluate
    from preflight.stack_config import StackConfigError, load_stack_config

    try:
        config = load_stack_config(args.dir, args.stack)
        state = load_state(args.check_greenfield, config.stack, config.project)
    except (StateError, StackConfigError) as error:
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_ERROR
    # Evaluate with greenfield off so that every alias azure-native adds is registered and can be matched.
    config = dataclasses.replace(config, values={**config.values, f"{PROJECT}:greenfield": "false"})
    from components.config import evaluation_date

    try:
        with evaluation_date(args.as_of):
            records = evaluate(args.dir, config, timeout=args.program_timeout, on_hang=_hung)
    except Exception as error:
        return _fail(error, args)
    result = check(records, state)
    print(result.render())
    return 0 if result.safe else 1


def main(argv: list[str] | None = None, *, exiting: bool = False) -> int:
    """Run the command line; return the exit code. ``exiting``: the process ends right after (the heap is frozen
    after evaluation, see ``RunOptions.freeze_heap``); callers that go on (tests) leave it false."""
    parser = argparse.ArgumentParser(
        prog="python -m preflight",
        description="Evaluate a stack offline and check it against the policy packs: the pull-request gate.",
        epilog="Exit codes: 0 no mandatory violation (with --baseline: no new one), 1 mandatory violations, "
               "2 usage, configuration or program error.")
    parser.add_argument("stack", help="stack name; its config is read from Pulumi.<stack>.yaml")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="project directory (default: current)")
    parser.add_argument("--format", action="append", metavar="F[,F...]",
                        help=f"report formats: {', '.join(FORMAT_NAMES)} or all (default: terminal); repeatable")
    parser.add_argument("--output", type=Path, metavar="DIR",
                        help="write every chosen format to DIR (preflight.txt, .md, .sarif, .junit.xml, .json); "
                             "without it a single format is printed")
    parser.add_argument("--baseline", type=Path, metavar="REPORT.json",
                        help="a JSON report of the target branch: mark findings new or existing, fail only on new "
                             "mandatory ones, and list resources added, removed and changed")
    parser.add_argument("--unknowns", choices=("all", "added", "none"),
                        help="which resources to evaluate as not existing yet, with ids and computed outputs unknown "
                             "as `pulumi preview` sends them to the packs: all (a stack never deployed; the default "
                             "without --baseline), added (those not in the --baseline report; its default), none "
                             "(everything deployed)")
    parser.add_argument("--pack", action="append", metavar="NAME",
                        help="run only this pack folder under policies/ (repeatable; default: all)")
    parser.add_argument("--no-policies", action="store_true",
                        help="only evaluate the program and show the plan (exit 2: nothing was checked)")
    parser.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD",
                        help="evaluate as of this date instead of today: the program's date checks and the compute "
                             "image age policy measure against it (reproducible runs)")
    limits = parser.add_argument_group("time limits (seconds); a limit hit is exit 2 naming what did not finish")
    limits.add_argument("--program-timeout", type=_positive, default=600.0, help="program evaluation (600)")
    limits.add_argument("--pack-timeout", type=_positive, default=120.0,
                        help="a pack's start: port, answer, configuration (120)")
    limits.add_argument("--call-timeout", type=_positive, default=300.0, help="one Analyze or AnalyzeStack call (300)")
    limits.add_argument("--rule-timeout", type=_positive, default=60.0,
                        help="one rule on one resource; the message names the rule and the resource (60)")
    parser.add_argument("--autoscale-proof", action="store_true",
                        help="also replay the ramp, spike and diurnal load profiles against every registered "
                             "autoscale setting and report rules that miss the SLO, flap or cannot reach the peak as "
                             "mandatory findings (docs/load-testing.md); exit 2 when the proof cannot run")
    parser.add_argument("--tree", action="store_true", help="add the component tree to the terminal summary")
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="progress on stderr (auto: when stderr is a terminal)")
    parser.add_argument("--check-greenfield", type=Path, metavar="STATE.json",
                        help="instead of the gate: compare a `pulumi stack export` file of this stack with the program "
                             "and say whether the greenfield setting is safe for it (exit 0 safe, 1 unsafe)")
    parser.add_argument("--debug", action="store_true", help="print tracebacks for program errors")
    args = parser.parse_args(argv)
    if args.check_greenfield is not None:
        return _check_greenfield(args)

    formats = _formats(args.format, parser)
    if args.unknowns == "added" and args.baseline is None:
        parser.error("--unknowns added needs --baseline REPORT.json: the resources added are those not in it")
    unknowns = args.unknowns or ("added" if args.baseline is not None else "all")
    if args.output is None and len(formats) > 1:
        parser.error(f"{len(formats)} formats ({', '.join(formats)}) need --output DIR; without it choose one")
    project_dir: Path = args.dir
    policies_dir = project_dir / "policies"

    from preflight.analysis import Limits, discover_packs

    known = discover_packs(policies_dir)
    if not args.no_policies and not known:
        # A gate that finds nothing to check must not pass silently.
        print(f"preflight: no policy pack under {policies_dir}; add the packs (docs/policy-packs.md)",
              file=sys.stderr)
        return EXIT_ERROR
    for pack in args.pack or []:
        if pack not in known:
            parser.error(f"--pack {pack!r} is not a policy pack under {policies_dir}; packs: "
                         f"{', '.join(known) or 'none'}")
    if args.output is not None and (problem := _writable(args.output)):
        print(f"preflight: {problem}", file=sys.stderr)
        return EXIT_ERROR

    from loadtest.errors import LoadtestError
    from policies.harness import HarnessError, stop_all
    from preflight import render
    from preflight.api_contract import ContractError
    from preflight.report import ReportError, compare, load_baseline
    from preflight.run import RunOptions, run
    from preflight.stack_config import StackConfigError, load_stack_config

    ticker = Ticker(sys.stderr, args.progress)
    # SIGINT too: a gate started with SIGINT ignored (a background job, a CI agent) must still stop on it.
    handlers = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        baseline = load_baseline(args.baseline) if args.baseline else None
        config = load_stack_config(project_dir, args.stack)
        existing = frozenset(r.urn for r in baseline.resources) if baseline is not None else frozenset()
        options = RunOptions(policies=not args.no_policies, packs=args.pack, freeze_heap=exiting, as_of=args.as_of,
                             autoscale_proof=args.autoscale_proof,
                             unknowns=unknowns, existing=existing,
                             program_timeout=args.program_timeout, on_hang=_hung,
                             limits=Limits(start=args.pack_timeout, call=args.call_timeout, rule=args.rule_timeout))
        report = run(project_dir, config, options, ticker)
        if baseline is not None:
            report = compare(report, baseline, str(args.baseline))
    except (StackConfigError, ReportError, HarnessError, ContractError, LoadtestError) as error:
        ticker.done()
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_ERROR
    except (KeyboardInterrupt, Interrupted) as interrupt:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second signal must not cut the clean-up short
        ticker.done()
        stop_all()
        name = str(interrupt) or "SIGINT"
        print(f"preflight: interrupted ({name}); the packs are stopped and there is no verdict", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:
        ticker.done()
        return _fail(error, args)
    finally:
        for sig, previous in handlers.items():
            signal.signal(sig, previous)
    ticker.done()

    if args.output is not None:
        try:
            for name in formats:
                file_name, renderer = render.FORMATS[name]
                text = render.terminal(report, tree=args.tree) + "\n" if name == "terminal" else \
                    renderer(report, project_dir)
                (args.output / file_name).write_text(text)
        except OSError as error:
            print(f"preflight: cannot write reports to {args.output}: {error.strerror or error}", file=sys.stderr)
            return EXIT_ERROR
    if "terminal" in formats:
        print(render.terminal(report, tree=args.tree))
        if args.output is not None:
            print(f"\nReports ({', '.join(formats)}) written to {args.output}/")
    elif args.output is None:
        file_name, renderer = render.FORMATS[formats[0]]
        sys.stdout.write(renderer(report, project_dir))
    if args.no_policies:
        print("preflight: --no-policies: the program was evaluated but nothing was checked (exit 2)", file=sys.stderr)
    return report.exit_code


def _guarded() -> int:
    """``main``, but nothing unforeseen that escapes it can end the process with 0 or 1: exit 2 with its cause."""
    try:
        return main(exiting=True)
    except SystemExit:
        raise  # argparse: --help (0) and usage errors (2); a program's sys.exit is a ProgramError by now
    except BaseException as error:  # fail closed on anything unforeseen
        from policies.harness import stop_all

        stop_all()
        print(f"preflight: the run failed: {type(error).__name__}: {str(error)[:300]}; no verdict", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    code = _guarded()
    # The evaluated stack can be hundreds of MB of small objects; tearing them down one by one at interpreter exit
    # takes seconds at platform scale and achieves nothing. Every report is written and the packs are stopped.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
