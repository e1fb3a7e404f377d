"""The local load test's chart: latency percentiles against the SLO, requests and errors per second over time."""

from __future__ import annotations

import csv
from pathlib import Path


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")  # Locust writes N/A before the first response


def load_chart(history: Path, path: Path, *, slo_p95_ms: float, title: str) -> None:
    """PNG from Locust's ``*_stats_history.csv`` (its ``Aggregated`` rows, one per second)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in csv.DictReader(history.open(encoding="utf-8")) if r["Name"] == "Aggregated"]
    if not rows:
        return
    first = int(rows[0]["Timestamp"])
    seconds = [int(r["Timestamp"]) - first for r in rows]
    fig, (latency, rate) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    latency.plot(seconds, [_number(r["50%"]) for r in rows], label="p50", linewidth=1)
    latency.plot(seconds, [_number(r["95%"]) for r in rows], label="p95 (10 s window)", linewidth=1.2)
    latency.axhline(slo_p95_ms, color="tab:red", linestyle="--", linewidth=0.8, label=f"SLO {slo_p95_ms:g} ms")
    latency.set_ylabel("ms")
    latency.legend(loc="upper left", fontsize=8)
    latency.set_title(title, fontsize=9)
    rate.plot(seconds, [_number(r["Requests/s"]) for r in rows], label="requests/s", linewidth=1)
    rate.plot(seconds, [_number(r["Failures/s"]) for r in rows], label="errors/s", color="tab:red", linewidth=1)
    rate.plot(seconds, [_number(r["User Count"]) for r in rows], label="users", color="tab:gray", linewidth=0.8)
    rate.set_ylabel("per second")
    rate.set_xlabel("seconds")
    rate.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
