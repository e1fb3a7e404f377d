"""Command line: ``python -m preflight <stack> [--format F[,F...]] [--output DIR] [--baseline report.json] ...``.

Evaluates the stack's program offline and runs every policy pack under ``policies/`` over it; writes the report in
the chosen formats (terminal, markdown, sarif, junit, json).

Exit codes: 0 no mandatory violation (with ``--baseline``: no *new* one); 1 mandatory violations; 2 a usage,
configuration or program error (one clear message on stderr, the user's file and line for a program exception, a
traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path
from typing import TextIO

from preflight.render import FORMATS
from preflight.report import EXIT_ERROR

FORMAT_NAMES = tuple(FORMATS)


def _program_location(error: BaseException, project_dir: Path) -> str:
    """``file:line`` of the innermost frame of ``error`` inside the project (not the SDK or the standard library)."""
    root = project_dir.resolve()
    excluded = (root / ".venv", Path(__file__).resolve().parent)
    location = ""
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(root) and not any(path.is_relative_to(e) for e in excluded):
            location = f"{path.relative_to(root)}:{frame.lineno}"
    return location


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

    if isinstance(error, pulumi.RunError):
        print(f"preflight: stack {args.stack}: {error}", file=sys.stderr)
        return EXIT_ERROR
    where = _program_location(error, args.dir)
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
    try:
        records = evaluate(args.dir, config)
    except Exception as error:
        return _fail(error, args)
    result = check(records, state)
    print(result.render())
    return 0 if result.safe else 1


def main(argv: list[str] | None = None) -> int:
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
    parser.add_argument("--pack", action="append", metavar="NAME",
                        help="run only this pack folder under policies/ (repeatable; default: all)")
    parser.add_argument("--no-policies", action="store_true", help="only evaluate the program")
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
    if args.output is None and len(formats) > 1:
        parser.error(f"{len(formats)} formats ({', '.join(formats)}) need --output DIR; without it choose one")
    project_dir: Path = args.dir
    policies_dir = project_dir / "policies"
    if not args.no_policies and not list(policies_dir.glob("*/PulumiPolicy.yaml")):
        # A gate that finds nothing to check must not pass silently.
        print(f"preflight: no policy pack under {policies_dir} (a folder with a PulumiPolicy.yaml); add the packs "
              "or pass --no-policies to only evaluate the program", file=sys.stderr)
        return EXIT_ERROR
    for pack in args.pack or []:
        if not (policies_dir / pack / "PulumiPolicy.yaml").is_file():
            known = sorted(p.parent.name for p in policies_dir.glob("*/PulumiPolicy.yaml"))
            parser.error(f"--pack {pack!r} is not a policy pack under {policies_dir}; packs: "
                         f"{', '.join(known) or 'none'}")

    from policies.harness import HarnessError
    from preflight import render
    from preflight.report import ReportError, compare, load_baseline
    from preflight.run import RunOptions, run
    from preflight.stack_config import StackConfigError, load_stack_config

    ticker = Ticker(sys.stderr, args.progress)
    try:
        baseline = load_baseline(args.baseline) if args.baseline else None
        config = load_stack_config(project_dir, args.stack)
        report = run(project_dir, config, RunOptions(policies=not args.no_policies, packs=args.pack,
                                                     freeze_heap=True), ticker)
        if baseline is not None:
            report = compare(report, baseline, str(args.baseline))
    except (StackConfigError, ReportError, HarnessError) as error:
        ticker.done()
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:
        ticker.done()
        return _fail(error, args)
    ticker.done()

    if args.output is not None:
        try:
            args.output.mkdir(parents=True, exist_ok=True)
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
    return report.exit_code


if __name__ == "__main__":
    code = main()
    # The evaluated stack can be hundreds of MB of small objects; tearing them down one by one at interpreter exit
    # takes seconds at platform scale and achieves nothing. Every report is written and the packs are stopped.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
