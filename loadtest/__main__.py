"""``python -m loadtest``: parse the arguments and hand them to the subcommand's module (docs/load-testing.md).

Exit codes: 0 every criterion held, 1 a criterion failed (the reason in one line), 2 nothing could be checked (bad
input, a missing virtualenv or capacity record, a server that did not start, a time limit): the tools fail closed.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from types import FrameType

from loadtest.errors import LoadtestError

#: Subcommand -> (module, one-line help). Each module has ``add_arguments(parser)`` and ``command(args) -> int``.
COMMANDS = {
    "run": ("loadtest.local", "serve the model locally, load it with Locust, gate on the endpoint's SLO"),
    "capacity": ("loadtest.capacity", "measure one instance's capacity (highest rate within the SLO) and record it"),
    "config": ("loadtest.alt_config", "generate the Azure Load Testing test configuration of an endpoint"),
    "autoscale": ("loadtest.proof", "replay a load profile against the registered autoscale rules"),
}


class Interrupted(BaseException):
    """SIGTERM or SIGHUP: unwind through every ``finally`` (servers are stopped there), then exit 2."""


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__.split("\n\n")[0],
                                     epilog="Exit codes: 0 pass, 1 a criterion failed, 2 could not check.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return int(modules[args.command].command(args))
    except LoadtestError as error:
        print(f"loadtest: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted) as interrupt:
        print(f"loadtest: interrupted ({interrupt or 'SIGINT'}); servers stopped, no verdict", file=sys.stderr)
        return 2
    except Exception as error:  # fail closed: an unforeseen error is "could not check" (2), never a verdict (0/1)
        print(f"loadtest: the run failed: {type(error).__name__}: {str(error)[:300]}; no verdict", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
