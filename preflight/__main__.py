"""Command line: ``python -m preflight <stack> [--dir DIR] [--debug]``.

Exit codes: 0 the plan was produced; 2 a usage, configuration or program error (one clear message on stderr, the
user's file and line for a program exception, and a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 2


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight",
                                     description="Show offline what `pulumi up` would create for a stack.")
    parser.add_argument("stack", help="stack name; its config is read from Pulumi.<stack>.yaml")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="project directory (default: current)")
    parser.add_argument("--debug", action="store_true", help="print tracebacks for program errors")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    import pulumi

    from preflight.plan import Plan
    from preflight.program import evaluate
    from preflight.stack_config import StackConfigError, load_stack_config

    try:
        config = load_stack_config(args.dir, args.stack)
        records = evaluate(args.dir, config)
    except StackConfigError as error:
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_ERROR
    except pulumi.RunError as error:
        print(f"preflight: stack {args.stack}: {error}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:
        where = _program_location(error, args.dir)
        print(f"preflight: the program failed{' at ' + where if where else ''}: "
              f"{type(error).__name__}: {error}", file=sys.stderr)
        if args.debug:
            traceback.print_exception(error)
        else:
            print("preflight: run with --debug for the traceback", file=sys.stderr)
        return EXIT_ERROR

    plan = Plan(project=config.project, stack=config.stack, records=tuple(records))
    print(plan.render())
    print(f"\nEvaluated offline in {time.perf_counter() - started:.2f} s (no cloud account, no Pulumi CLI).")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
