"""``python -m loadtest.bench``: how fast the autoscale proof replays a week (docs/performance.md).

A week at one-minute grain for 100 deployments, each with the program's four rules (CPU and p95 latency, out and in)
and a business-hours schedule (three profiles), under the diurnal profile; the loads differ per deployment so that
every one scales on its own. Prints wall time, peak memory and the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
import tracemalloc
from typing import Any

from loadtest import profiles, simulator
from loadtest.service_model import ServiceModel

START = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def _rule(metric: str, above: bool, threshold: float, cooldown: str) -> dict[str, Any]:
    return {"metricTrigger": {"metricName": metric, "timeGrain": "PT1M", "statistic": "Average",
                              "timeWindow": "PT10M", "timeAggregation": "Average",
                              "operator": "GreaterThan" if above else "LessThan", "threshold": threshold},
            "scaleAction": {"direction": "Increase" if above else "Decrease", "type": "ChangeCount", "value": "1",
                            "cooldown": cooldown}}


def setting() -> simulator.AutoscaleSetting:
    """The shape the program registers for a prod deployment with one schedule."""
    rules = [_rule("CpuUtilizationPercentage", True, 70, "PT5M"), _rule("CpuUtilizationPercentage", False, 30,
                                                                        "PT15M"),
             _rule("RequestLatency_P95", True, 250, "PT5M"), _rule("RequestLatency_P95", False, 100, "PT15M")]
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    zone = "W. Europe Standard Time"
    return simulator.setting_from_inputs({"profiles": [
        {"name": "default", "capacity": {"minimum": "3", "maximum": "6", "default": "3"}, "rules": rules},
        {"name": "business-hours", "capacity": {"minimum": "4", "maximum": "10", "default": "4"}, "rules": rules,
         "recurrence": {"frequency": "Week", "schedule": {"timeZone": zone, "days": days, "hours": [7],
                                                          "minutes": [30]}}},
        {"name": "business-hours-end", "capacity": {"minimum": "3", "maximum": "6", "default": "3"}, "rules": rules,
         "recurrence": {"frequency": "Week", "schedule": {"timeZone": zone, "days": days, "hours": [19],
                                                          "minutes": [0]}}}]})


def run(endpoints: int, traced: bool = False) -> tuple[float, float, int]:
    """Seconds and peak MiB (with ``traced``: tracemalloc slows numpy down, so memory is a separate pass) to parse
    and replay a week for ``endpoints`` deployments and judge them, and the scale actions taken."""
    model = ServiceModel.from_capacity(100, timeout_ms=5000, slo_p95_ms=250)
    loads = [profiles.diurnal(START, 400 + 5 * i, 60) for i in range(endpoints)]
    if traced:
        tracemalloc.start()
    began = time.perf_counter()
    actions = 0
    for load in loads:
        result = simulator.simulate(setting(), load, model, simulator.Params(), START)
        simulator.judge(result, model, slo_p95_ms=250, error_rate_percent=0.5, availability_percent=99.9)
        actions += sum(1 for e in result.events if e.kind in ("scale-out", "scale-in", "flapping-reduced"))
    seconds = time.perf_counter() - began
    peak = 0.0
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
    return seconds, peak, actions


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{model or platform.processor()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    seconds, _, actions = min(run(args.endpoints) for _ in range(args.repeat))
    peak = run(args.endpoints, traced=True)[1]
    print(f"7 days x 1-minute grain x {args.endpoints} deployments: {seconds:.2f} s (best of {args.repeat}), "
          f"peak traced memory {peak:.1f} MiB, {actions} scale actions")


if __name__ == "__main__":
    main()
