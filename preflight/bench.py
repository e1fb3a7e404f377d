"""Benchmark the preflight on generated platforms of N teams.

``python -m preflight.bench [--teams 1,10,100,300] [--modes before,after] [--dev]`` writes, for each N, a project
whose stack (``prod-teams<N>``, a copy of ``Pulumi.prod.yaml`` with N teams cycling through its team templates,
each with the first template's endpoints when it has none) is evaluated and checked in a fresh process per
measurement, and prints one row per N and mode:

- resources (Azure resources registered);
- program evaluation: seconds and ms per resource, imports excluded (a warm-up run of a 1-team stack comes first);
- policy evaluation: seconds and ms per resource of the analysis phase (every pack, Analyze for each resource and
  AnalyzeStack), and the packs' start-up (process, port, configuration) separately;
- total: the in-process run end to end after warm-up, and ``cold``: ``python -m preflight`` as a user runs it
  (imports, all five report formats written);
- peak memory (max RSS) of the preflight process and of the largest pack process.

Modes switch the optimizations on one at a time, so each one's effect shows:

==============  =================================================================================================
``before``      the SDK's own runner, azure-native's aliases, packs one after another on pulumi-policy's servicer
``greenfield``  + the ``greenfield`` stack setting (no versioned-type aliases)
``runner``      + the tuned runner (one settle wait per generation, tuned garbage collector)
``servicer``    + the packs' fast servicer (deserialize once, rules only for their types)
``after``       + packs in parallel with pipelined calls (everything the preflight does by default)
==============  =================================================================================================

``--dev`` also times the repository's own dev stack end to end (the "dev preflight under 3 s" target).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
MODES: dict[str, dict[str, bool]] = {
    "before": {"greenfield": False, "tuned": False, "fast": False, "parallel": False},
    "greenfield": {"greenfield": True, "tuned": False, "fast": False, "parallel": False},
    "runner": {"greenfield": True, "tuned": True, "fast": False, "parallel": False},
    "servicer": {"greenfield": True, "tuned": True, "fast": True, "parallel": False},
    "after": {"greenfield": True, "tuned": True, "fast": True, "parallel": True},
}


def make_project(directory: Path, teams: int, greenfield: bool) -> str:
    """A project in ``directory`` (the repository's code linked in) with a stack of ``teams`` teams; its name."""
    for name in ("Pulumi.yaml", "__main__.py", "components", "policies", "preflight", "serving"):
        target = directory / name
        if not target.exists():
            target.symlink_to(ROOT / name)
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    config = document["config"]
    templates = config["mlops-platform:teams"]
    # Serving in every team: a template without endpoints borrows those of the first one that has them.
    serving = next((t for t in templates if t.get("endpoints")), None)
    generated = []
    for i in range(teams):
        team = json.loads(json.dumps(templates[i % len(templates)]))
        team["name"] = f"team-{i:03d}"
        if serving is not None and not team.get("endpoints"):
            team["endpoints"] = json.loads(json.dumps(serving["endpoints"]))
            team["alert_emails"] = list(serving["alert_emails"])
        generated.append(team)
    config["mlops-platform:teams"] = generated
    config["mlops-platform:greenfield"] = greenfield
    stack = f"prod-teams{teams}{'' if greenfield else '-aliases'}"
    (directory / f"Pulumi.{stack}.yaml").write_text(yaml.dump(document, Dumper=_QuotingDumper, sort_keys=False))
    return stack


class _QuotingDumper(yaml.SafeDumper):
    """Quotes times of day (``19:00``), which YAML 1.1 tools would read as base-60 numbers (preflight.stack_yaml)."""


_QuotingDumper.add_representer(
    str, lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="'" if re.fullmatch(r"\d+:\d+", value) else None))


def _max_rss_mb(who: int) -> float:
    """Peak resident memory in MB (Linux reports ``ru_maxrss`` in KB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def measure_one(project: Path, stack: str, mode: str) -> dict[str, Any]:
    """In this process: warm up on a 1-team stack, then run ``stack`` with ``mode``'s switches."""
    from preflight.run import RunOptions, run
    from preflight.stack_config import load_stack_config

    switches = MODES[mode]
    options = RunOptions(tuned=switches["tuned"], parallel=switches["parallel"], fast_servicer=switches["fast"],
                         policies_dir=project / "policies", freeze_heap=switches["tuned"])
    # Warm up (imports, caches) on a 1-team stack; the repository itself is only read, never written to.
    warm_stack = stack if project.resolve() == ROOT else make_project(project, 1, switches["greenfield"])
    run(project, load_stack_config(project, warm_stack), options)
    began = time.perf_counter()
    report = run(project, load_stack_config(project, stack), options)
    total = time.perf_counter() - began
    resources = len(report.azure_resources)
    analysis = max((p.analysis_seconds for p in report.packs), default=0.0) if switches["parallel"] else \
        sum(p.analysis_seconds for p in report.packs)
    start = max((p.start_seconds for p in report.packs), default=0.0) if switches["parallel"] else \
        sum(p.start_seconds for p in report.packs)
    return {
        "resources": resources, "program_s": report.timings.program_seconds,
        "program_ms": 1000 * report.timings.program_seconds / resources,
        "policy_s": analysis, "policy_ms": 1000 * analysis / resources, "pack_start_s": start,
        "total_s": total, "findings": len(report.findings),
        "peak_mb": _max_rss_mb(resource.RUSAGE_SELF),
        "pack_peak_mb": max((p.peak_memory_mb for p in report.packs), default=0.0),
    }


def _subprocess(args: list[str]) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-m", "preflight.bench", *args], capture_output=True, text=True,
                            cwd=ROOT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"benchmark run failed: {result.stderr.strip()[-2000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def cold(project: Path, stack: str, out: Path) -> float:
    """Wall time of ``python -m preflight <stack>`` writing every report format, as a user runs it."""
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "preflight", stack, "--dir", str(project), "--format", "all",
                             "--output", str(out), "--progress", "never"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):
        raise SystemExit(f"preflight failed: {result.stderr.strip()}")
    return time.perf_counter() - began


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{os.cpu_count()} cores ({cpu}){memory}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}")


def _row(teams: str, mode: str, row: dict[str, Any], cold_s: str) -> str:
    return (f"{teams:>5} {mode:<10} {row['resources']:>9} {row['program_s']:>9.2f} {row['program_ms']:>7.2f} "
            f"{row['policy_s']:>8.2f} {row['policy_ms']:>7.2f} {row['pack_start_s']:>13.2f} {row['total_s']:>7.2f} "
            f"{cold_s:>7} {row['peak_mb']:>7.0f} {row['pack_peak_mb']:>7.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teams", default="1,10,100,300", help="comma-separated team counts")
    parser.add_argument("--modes", default="before,after",
                        help=f"comma-separated modes, in order: {', '.join(MODES)}")
    parser.add_argument("--dev", action="store_true", help="also time the repository's dev stack end to end")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold command-line runs")
    parser.add_argument("--one", nargs=3, metavar=("PROJECT", "STACK", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:
        project, stack, mode = args.one
        print(json.dumps(measure_one(Path(project), stack, mode)))
        return 0

    modes = [m.strip() for m in args.modes.split(",")]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode {', '.join(unknown)}; use {', '.join(MODES)}")
    try:
        counts = [int(n) for n in args.teams.split(",")]
    except ValueError:
        parser.error(f"--teams {args.teams!r}: use comma-separated whole numbers, e.g. 1,10,100")
    print(f"machine: {machine()}")
    header = (f"{'teams':>5} {'mode':<10} {'resources':>9} {'program s':>9} {'ms/res':>7} {'policy s':>8} "
              f"{'ms/res':>7} {'packs start s':>13} {'total s':>7} {'cold s':>7} {'peak MB':>7} {'pack MB':>7}")
    print(header)
    with tempfile.TemporaryDirectory(prefix="preflight-bench-") as tmp:
        project = Path(tmp)
        if args.dev:
            dev = _subprocess(["--one", str(ROOT), "dev", "after"])
            print(_row("dev", "after", dev, "" if args.no_cold else f"{cold(ROOT, 'dev', project / 'out'):.2f}"),
                  flush=True)
        for n in counts:
            for mode in modes:
                stack = make_project(project, n, MODES[mode]["greenfield"])
                row = _subprocess(["--one", str(project), stack, mode])
                cold_s = "" if args.no_cold or mode != "after" else f"{cold(project, stack, project / 'out'):.2f}"
                print(_row(str(n), mode, row, cold_s), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
