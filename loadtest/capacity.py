"""``python -m loadtest capacity``: how many requests per second one instance serves within the SLO.

Serves the endpoint's live deployment as ``python -m loadtest run`` does, then offers steady load in steps (25, 50,
100, ... req/s, each ``--step-seconds`` long, a separate Locust run) and records per step the achieved rate, the
latency percentiles, the error rate and the CPU the server's processes used (from ``/proc``, for the whole process
group: gunicorn's master and workers; 100 % = every worker busy all the time). It stops after the first step the
server cannot keep up with. The capacity is the highest offered rate that was achieved (95 % of it at least) with
p95 and errors within the SLO; the saturation rate is the highest rate achieved at any step.

The record (schema 1, ``capacity.json``) goes to ``out/loadtest/<team>-<endpoint>/`` and, with ``--record``, beside the
scoring code (``<code path>/capacity.json``), where the autoscale proof reads it. Locust runs on the same machine as
the server, so both share its cores: the capacity is a lower bound of what a dedicated instance serves.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from loadtest import server as inference
from loadtest import venv
from loadtest.errors import LoadtestError
from loadtest.local import LOCUSTFILE, ensure_model, machine, run_locust, shape_from
from loadtest.stack import endpoint_config, live_deployment

STEPS = (25, 50, 100, 150, 200, 300, 400, 500, 700)
#: Seconds of each step before measuring (Locust starting its users).
SETTLE_S = 3.0
#: A step whose achieved rate falls below this share of the offered one is saturated.
KEEPS_UP = 0.95
CAPACITY_FILE = "capacity.json"


def group_cpu_seconds(group: int) -> float:
    """CPU seconds (user + system) used so far by every process of process group ``group`` (Linux ``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # the process ended meanwhile
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def settled(prefix: Path, seconds: float) -> dict[str, float]:
    """Rate, errors and p95 over the last ``seconds`` of a Locust run, from its per-second history (the start-up of
    the users left out; p95 is Locust's over its last 10 seconds)."""
    import csv

    with Path(f"{prefix}_stats_history.csv").open(encoding="utf-8") as history:
        rows = [r for r in csv.DictReader(history) if r["Name"] == "Aggregated" and r["95%"] != "N/A"]
    if len(rows) < 2:
        raise LoadtestError(f"Locust recorded no history for {prefix.name}; nothing was measured")
    last = rows[-1]
    first = next((r for r in rows if int(r["Timestamp"]) >= int(last["Timestamp"]) - seconds), rows[0])
    span = max(1, int(last["Timestamp"]) - int(first["Timestamp"]))
    requests = int(last["Total Request Count"]) - int(first["Total Request Count"])
    failures = int(last["Total Failure Count"]) - int(first["Total Failure Count"])
    return {"achieved_rps": requests / span, "error_rate": failures / requests if requests else 1.0,
            "p50_ms": float(last["50%"]), "p95_ms": float(last["95%"]), "p99_ms": float(last["99%"])}


def capacity(points: list[dict[str, Any]], slo_p95_ms: float, slo_error_percent: float) -> tuple[float, float]:
    """(capacity, saturation) in req/s from the measured steps (see the module docstring)."""
    within = [p["target_rps"] for p in points
              if p["achieved_rps"] >= KEEPS_UP * p["target_rps"] and p["p95_ms"] <= slo_p95_ms
              and p["error_rate"] * 100 <= slo_error_percent]
    saturation = max(p["achieved_rps"] for p in points)
    if not within:
        raise LoadtestError(f"no step stayed within the SLO (p95 {slo_p95_ms:g} ms); even "
                            f"{points[0]['target_rps']} req/s is too much for one instance")
    return float(max(within)), float(max(saturation, max(within)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack")
    parser.add_argument("endpoint", metavar="TEAM/ENDPOINT")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="project directory (default: current)")
    parser.add_argument("--step-seconds", type=float, default=10.0, help="length of each step (default %(default)s)")
    parser.add_argument("--steps", help=f"offered rates, comma-separated (default {','.join(map(str, STEPS))})")
    parser.add_argument("--workers", type=int, default=1, help="inference server workers (default %(default)s)")
    parser.add_argument("--record", action="store_true",
                        help="also write the record beside the scoring code, where the autoscale proof reads it")
    parser.add_argument("--output", type=Path, metavar="DIR")


def _steps(text: str | None) -> tuple[int, ...]:
    if text is None:
        return STEPS
    try:
        steps = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise LoadtestError(f"--steps {text!r}: write whole rates separated by commas, such as 25,50,100") from None
    if not steps or any(s <= 0 for s in steps) or list(steps) != sorted(set(steps)):
        raise LoadtestError(f"--steps {text!r}: rates above 0, ascending, each once")
    return steps


def command(args: argparse.Namespace) -> int:
    if not 2 <= args.step_seconds <= 300:
        raise LoadtestError(f"--step-seconds {args.step_seconds:g}: use 2 to 300 seconds")
    if not 1 <= args.workers <= 64:
        raise LoadtestError(f"--workers {args.workers}: use 1 to 64")
    steps = _steps(args.steps)
    project_dir: Path = args.dir.resolve()
    _, team, endpoint = endpoint_config(project_dir, args.stack, args.endpoint)
    deployment = next(d for d in endpoint.deployments if d.name == live_deployment(endpoint))
    code_dir = project_dir / deployment.code.path
    python = venv.python(project_dir)
    out = args.output or project_dir / "out" / "loadtest" / f"{team.name}-{endpoint.name}"
    out.mkdir(parents=True, exist_ok=True)
    model_dir = project_dir / "out" / "model" / f"{team.name}-{endpoint.name}"
    ensure_model(python, code_dir, model_dir)
    slo = endpoint.slo
    points: list[dict[str, Any]] = []
    with inference.serve(python, code_dir / deployment.code.scoring_script, model_dir, out / "capacity-server.log",
                         workers=args.workers) as served:
        for target in steps:
            length = SETTLE_S + args.step_seconds
            shape = shape_from("steady", target, None, length, int(target * length * 2))
            prefix = out / f"capacity-{target}"
            cpu_before, clock_before = group_cpu_seconds(served.pid), time.monotonic()
            run_locust(python, code_dir / LOCUSTFILE, served.url, prefix,
                       {**shape.environment(), "LT_PER_USER_RPS": f"{target / math.ceil(target / 10):g}",
                        "LT_BAD_SHARE": "0"},
                       length + 60)
            busy = (group_cpu_seconds(served.pid) - cpu_before) / (time.monotonic() - clock_before)
            measured = settled(prefix, args.step_seconds)
            point = {"target_rps": target, "achieved_rps": round(measured["achieved_rps"], 1),
                     "p50_ms": measured["p50_ms"], "p95_ms": measured["p95_ms"], "p99_ms": measured["p99_ms"],
                     "error_rate": round(measured["error_rate"], 5),
                     "server_cpu_percent": round(min(100.0, 100 * busy / args.workers), 1)}
            points.append(point)
            print(f"loadtest: {target} req/s offered -> {point['achieved_rps']} achieved, p95 {point['p95_ms']:g} ms, "
                  f"server CPU {point['server_cpu_percent']} %", file=sys.stderr)
            if point["achieved_rps"] < KEEPS_UP * target or point["p95_ms"] > 3 * slo.latency_p95_ms:
                break
    capacity_rps, saturation_rps = capacity(points, slo.latency_p95_ms, slo.error_rate_percent)
    record = {"schema": 1, "endpoint": f"{team.name}/{endpoint.name}",
              "scoring_script": f"{deployment.code.path}/{deployment.code.scoring_script}",
              "workers": args.workers, "slo_p95_ms": slo.latency_p95_ms, "machine": machine(),
              "server": "azureml-inference-server-http (serving/requirements.txt)",
              "measured": dt.date.today().isoformat(), "step_seconds": args.step_seconds,
              "capacity_rps": capacity_rps, "saturation_rps": saturation_rps, "points": points}
    text = json.dumps(record, indent=1) + "\n"
    (out / CAPACITY_FILE).write_text(text, encoding="utf-8")
    written = [str(out / CAPACITY_FILE)]
    if args.record:
        (code_dir / CAPACITY_FILE).write_text(text, encoding="utf-8")
        written.append(str(code_dir / CAPACITY_FILE))
    print(f"loadtest: one instance serves {capacity_rps:g} req/s within the SLO (p95 {slo.latency_p95_ms} ms) and "
          f"at most {saturation_rps:g} req/s; recorded in {', '.join(written)}")
    return 0
