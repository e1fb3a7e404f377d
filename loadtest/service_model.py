"""One instance of a deployment as the autoscale proof models it: CPU and latency for a request rate.

The numbers come from the capacity record the local load test writes (``python -m loadtest capacity``): the
inference server Azure ML runs, measured step by step on this machine (``points``: offered and achieved rate, p95,
the server's CPU). Between measured rates the model interpolates; past the highest rate the server sustained
(``saturation_rps``) the instance is overloaded: requests queue until the deployment's request timeout and the share
that exceeds the saturation rate fails (an assumption: Azure ML answers 429 or 408 once an instance's queue is full).

The load is spread evenly over the serving instances (Azure ML balances requests across a deployment's instances),
so every instance reports the same CPU, and the deployment's p95 latency is one instance's p95 at its share of the
load. ``RequestLatency_P95`` is deployment-wide in Azure (it has no ``instanceId`` dimension: supported-metrics page
of ``Microsoft.MachineLearningServices/workspaces/onlineEndpoints``), which is what this gives.

What the model cannot know: the Azure instance type's speed relative to this machine (the record names the machine
it was measured on), the worker count Azure runs (``WORKER_COUNT``), network time between the caller and the
endpoint, and noisy neighbours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from loadtest.simulator import SimulationError

CPU_METRICS = ("CpuUtilizationPercentage",)
LATENCY_METRICS = ("RequestLatency", "RequestLatency_P50", "RequestLatency_P90", "RequestLatency_P95",
                   "RequestLatency_P99")
#: ``from_capacity``: the share of the saturation rate at which p95 reaches the SLO (capacity = 85 % of saturation),
#: from the local measurements (LogisticRegression: p95 within the SLO up to about 300 of 350 req/s).
CAPACITY_SHARE = 0.85
#: A measured step counts when the server achieved at least this share of the offered rate (``loadtest.capacity``).
KEPT_UP = 0.95


@dataclass(frozen=True)
class ServiceModel:
    """CPU (percent of the instance) and p95 latency (ms) of one instance by request rate."""

    rates: np.ndarray
    """Achieved request rates of the measured points, ascending (req/s)."""
    p95_ms: np.ndarray
    cpu_percent: np.ndarray
    capacity_rps: float
    """Highest rate one instance serves within the SLO."""
    saturation_rps: float
    """Highest rate one instance sustains at all."""
    timeout_ms: float
    """The deployment's request timeout: the latency of an overloaded instance."""

    @classmethod
    def from_record(cls, record: Mapping[str, Any], *, timeout_ms: float) -> ServiceModel:
        """From a capacity record (schema 1, ``loadtest.capacity``)."""
        if not isinstance(record, Mapping) or record.get("schema") != 1:
            raise SimulationError("the capacity record is not schema 1 (write it with `python -m loadtest capacity`)")
        try:
            # Only the steps the server kept up with describe latency by rate: a saturated step (achieved well below
            # offered) has a lower achieved rate and a higher p95, which would fold the curve back on itself.
            points = sorted((p for p in record["points"]
                             if float(p["achieved_rps"]) >= KEPT_UP * float(p.get("target_rps", p["achieved_rps"]))),
                            key=lambda p: float(p["achieved_rps"]))
            rates = np.asarray([float(p["achieved_rps"]) for p in points])
            p95 = np.asarray([float(p["p95_ms"]) for p in points])
            cpu = np.asarray([float(p["server_cpu_percent"]) for p in points])
            capacity = float(record["capacity_rps"])
            saturation = float(record["saturation_rps"])
        except (KeyError, TypeError, ValueError) as error:
            raise SimulationError(f"the capacity record is incomplete: {error!r}") from None
        if len(rates) < 2 or not np.all(np.isfinite(rates)) or not 0 < capacity <= saturation:
            raise SimulationError("the capacity record needs at least two points and 0 < capacity_rps <= "
                                  "saturation_rps")
        return cls(rates, p95, np.clip(cpu, 0, 100), capacity, saturation, timeout_ms)

    @classmethod
    def from_capacity(cls, capacity_rps: float, *, timeout_ms: float, slo_p95_ms: float = 0.0) -> ServiceModel:
        """From a capacity alone (``--capacity-rps``): saturation at ``capacity / 0.85``, CPU proportional to the
        rate, and p95 growing as in a single queue, ``p95(rho) = p95(cap) * (1 - rho_cap) / (1 - rho)``, reaching
        the SLO (or 100 ms without one) exactly at the capacity."""
        if not capacity_rps > 0:
            raise SimulationError(f"capacity {capacity_rps!r} must be above 0 req/s")
        saturation = capacity_rps / CAPACITY_SHARE
        at_capacity = slo_p95_ms or 100.0
        rho = np.linspace(0.0, 0.99, 100)
        p95 = at_capacity * (1 - CAPACITY_SHARE) / (1 - rho)
        return cls(rho * saturation, p95, rho * 100, capacity_rps, saturation, timeout_ms)

    # -- per instance ------------------------------------------------------------------------------------------

    def cpu(self, rate: np.ndarray) -> np.ndarray:
        return np.where(rate >= self.saturation_rps, 100.0, np.interp(rate, self.rates, self.cpu_percent))

    def p95(self, rate: np.ndarray) -> np.ndarray:
        return np.where(rate > self.saturation_rps, self.timeout_ms,
                        np.minimum(np.interp(rate, self.rates, self.p95_ms), self.timeout_ms))

    def error_rate(self, rate: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(rate > self.saturation_rps, 1 - self.saturation_rps / np.maximum(rate, 1e-12), 0.0)

    # -- the simulator's interface -----------------------------------------------------------------------------

    def metric(self, name: str, load: np.ndarray, serving: int) -> np.ndarray:
        rate = load / max(serving, 1)
        if name in CPU_METRICS:
            return self.cpu(rate)
        if name in LATENCY_METRICS:
            return self.p95(rate)
        raise SimulationError(f"metric {name!r}: the service model knows {', '.join(CPU_METRICS + LATENCY_METRICS)}")

    def observe(self, load: np.ndarray, serving: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CPU, p95 and error rate of the deployment each minute (no instance serving: every request fails)."""
        rate = np.where(serving > 0, load / np.maximum(serving, 1), np.inf)
        down = serving <= 0
        cpu = np.where(down, np.nan, self.cpu(np.where(down, 0, rate)))
        p95 = np.where(down, self.timeout_ms, self.p95(np.where(down, 0, rate)))
        errors = np.where(down, 1.0, self.error_rate(np.where(down, 0, rate)))
        return cpu, p95, errors
