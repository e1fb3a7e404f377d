"""Time the policy packs: start-up over the analyzer protocol, analysis of a stack, and where that time goes.

``python -m preflight.pack_bench [stack] [--teams N] [--repeat R]`` evaluates the stack offline (or, with
``--teams``, the generated ``prod-teams<N>`` stack of :mod:`preflight.bench`) and prints, per pack, with the medians
over the repeats:

- ``start s``: process start, port, stack configuration, GetPluginInfo, GetAnalyzerInfo, Configure;
- ``analyze s``: ``Analyze`` of every resource the pack's rules apply to, then ``AnalyzeStack``, over the protocol,
  one pack at a time (the gate runs them in parallel);
- ``rules s``: the same requests answered by the pack's servicer inside this process: what the rules and the
  servicer cost without the gRPC transport;

and a last row, ``transport floor``: a pulumi-policy pack with one rule that does nothing, sent every resource. That
is what the protocol alone costs per resource on this machine, whatever the rules do.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel

from policies.build import build_all
from policies.harness import PolicyPackProcess, analyze_request, analyze_stack_request
from policies.lib import servicer
from preflight.analysis import PACKS, _policies, _resource, relevant_types
from preflight.bench import make_project
from preflight.program import evaluate
from preflight.stack_config import load_stack_config

ROOT = Path(__file__).resolve().parent.parent

_FLOOR_PACK = {
    "PulumiPolicy.yaml": "runtime: python\ndescription: One rule that does nothing (transport floor).\n"
                         "version: 0.0.1\n",
    "__main__.py": textwrap.dedent("""\
        from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

        PolicyPack("transport-floor", enforcement_level=EnforcementLevel.ADVISORY, policies=[
            ResourceValidationPolicy(name="nothing", description="Reports nothing.",
                                     validate=lambda args, report: None),
        ])
    """),
}


class _Context:
    """The gRPC context a servicer gets, for calls made inside this process (a rule that raises aborts)."""

    def abort(self, code: Any, details: str) -> None:
        raise RuntimeError(details)


def _median(run: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def in_process(name: str, requests: Sequence[Any], stack_request: Any, repeat: int) -> float:
    """Seconds the pack's servicer takes to answer ``requests`` and ``stack_request`` without the transport, with
    the pack's default enforcement levels (the prod config only changes levels, which cost nothing per call)."""
    rules = importlib.import_module(f"policies.{name}").RULES
    answer = servicer.make_servicer({r.name: r.resource_types for r in rules.rules if r.resource_types is not None})(
        rules.pack, "0.0.0", rules.policies(), EnforcementLevel.ADVISORY, None, None, None, None, "azure", None, None)

    def run() -> None:
        for request in requests:
            answer.Analyze(request, _Context())
        answer.AnalyzeStack(stack_request, _Context())

    return _median(run, repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight.pack_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", nargs="?", default="prod")
    parser.add_argument("--teams", type=int, help="bench the generated stack of this many teams instead")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if args.repeat < 1 or (args.teams is not None and args.teams < 1):
        parser.error("--repeat and --teams must be at least 1")

    work = Path(tempfile.mkdtemp(prefix="pack-bench-"))
    project, stack = ROOT, args.stack
    if args.teams is not None:
        project = work / "project"
        project.mkdir()
        stack = make_project(project, args.teams, greenfield=True)
    records = evaluate(project, load_stack_config(project, stack))
    custom = [r for r in records if r.custom]
    requests = [analyze_request(_resource(r, outputs=False)) for r in custom]
    stack_request = analyze_stack_request([_resource(r, outputs=True) for r in records])
    print(f"stack {stack}: {len(custom)} resources, {len(records)} registrations; {args.repeat} repeats")
    print(f"{'pack':<18}{'rules':>6}{'start s':>10}{'analyze s':>11}{'ms/res':>8}{'rules s':>9}{'ms/res':>8}"
          f"{'findings':>10}")
    totals = [0.0, 0.0, 0.0]
    assembled = {p.name: p for p in build_all(work / "packs")}
    for name in PACKS:
        starts, analyses, found, count, mine = [], [], 0, 0, list(requests)
        for _ in range(args.repeat):
            began = time.perf_counter()
            with PolicyPackProcess(assembled[name], stack=stack) as pack:
                pack.configure_file(assembled[name] / "config" / f"{'prod' if args.teams else stack}.json")
                started = time.perf_counter()
                types = relevant_types(_policies(pack, name))
                mine = [r for r in requests if types is None or r.type in types]
                found = len(pack.analyze_all(mine)) + len(pack.analyze_stack_request(stack_request))
                analyses.append(time.perf_counter() - started)
                count = len(pack.info.policies)
            starts.append(started - began)
        start, analysis = statistics.median(starts), statistics.median(analyses)
        rules = in_process(name, mine, stack_request, args.repeat)
        for i, value in enumerate((start, analysis, rules)):
            totals[i] += value
        print(f"{name:<18}{count:>6}{start:>10.3f}{analysis:>11.3f}{analysis * 1000 / len(custom):>8.2f}"
              f"{rules:>9.3f}{rules * 1000 / len(custom):>8.2f}{found:>10}")
    print(f"{'all packs':<18}{'':>6}{totals[0]:>10.3f}{totals[1]:>11.3f}{totals[1] * 1000 / len(custom):>8.2f}"
          f"{totals[2]:>9.3f}{totals[2] * 1000 / len(custom):>8.2f}")
    floor_dir = work / "transport-floor"
    floor_dir.mkdir()
    for file, text in _FLOOR_PACK.items():
        (floor_dir / file).write_text(text)
    with PolicyPackProcess(floor_dir, stack=stack, python=sys.executable) as pack:
        floor = _median(lambda: pack.analyze_all(requests), args.repeat)
    print(f"{'transport floor':<18}{1:>6}{'':>10}{floor:>11.3f}{floor * 1000 / len(custom):>8.2f}"
          "   (one pack, one rule that does nothing, every resource)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
