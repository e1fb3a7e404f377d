"""Time the policy packs: start-up over the analyzer protocol, and analysis of a stack evaluated offline.

``python -m preflight.pack_bench [stack] [--repeat N]`` prints, per pack, the start time (process start, port, stack
configuration, GetPluginInfo, GetAnalyzerInfo, Configure) and the time to Analyze every resource of the stack and run
AnalyzeStack, with the medians over the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from policies.build import build_all
from policies.harness import PolicyPackProcess
from preflight.analysis import PACKS, analyze_records
from preflight.program import evaluate
from preflight.stack_config import load_stack_config

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight.pack_bench", description=__doc__)
    parser.add_argument("stack", nargs="?", default="prod")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    records = evaluate(ROOT, load_stack_config(ROOT, args.stack))
    azure = sum(r.custom for r in records)
    print(f"stack {args.stack}: {azure} Azure resources, {len(records)} registrations; {args.repeat} repeats")
    print(f"{'pack':<18}{'rules':>6}{'start s':>10}{'analyze s':>11}{'ms/resource':>13}{'violations':>12}")
    totals = [0.0, 0.0]
    assembled = {p.name: p for p in build_all(Path(tempfile.mkdtemp(prefix="pack-bench-")))}
    for name in PACKS:
        starts, analyses, found, rules = [], [], 0, 0
        for _ in range(args.repeat):
            began = time.perf_counter()
            with PolicyPackProcess(assembled[name], stack=args.stack) as pack:
                pack.configure_file(assembled[name] / "config" / f"{args.stack}.json")
                started = time.perf_counter()
                found = len(analyze_records(pack, records))
                analyses.append(time.perf_counter() - started)
                rules = len(pack.info.policies)
            starts.append(started - began)
        start, analysis = statistics.median(starts), statistics.median(analyses)
        totals[0] += start
        totals[1] += analysis
        print(f"{name:<18}{rules:>6}{start:>10.3f}{analysis:>11.3f}{analysis * 1000 / azure:>13.2f}{found:>12}")
    print(f"{'all packs':<18}{'':>6}{totals[0]:>10.3f}{totals[1]:>11.3f}{totals[1] * 1000 / azure:>13.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
