"""The load test's gate: what was measured against the endpoint's SLO and a minimum throughput."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Criteria:
    p95_ms: float
    """The SLO's p95 latency."""
    error_rate_percent: float
    """The SLO's error rate."""
    min_rps: float
    """Throughput the run must reach (requests per second over the whole run)."""


@dataclass(frozen=True)
class Measured:
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float

    @property
    def error_rate_percent(self) -> float:
        return 100 * self.failures / self.requests if self.requests else 100.0


@dataclass(frozen=True)
class Verdict:
    passed: bool
    failures: tuple[str, ...]
    """One line per failed criterion, the most telling first."""
    line: str
    """Every measured value against its criterion."""


def verdict(criteria: Criteria, measured: Measured) -> Verdict:
    failures = []
    if measured.p95_ms > criteria.p95_ms:
        failures.append(f"p95 {measured.p95_ms:g} ms > SLO {criteria.p95_ms:g} ms")
    if measured.error_rate_percent > criteria.error_rate_percent:
        failures.append(f"error rate {measured.error_rate_percent:.2f} % > SLO {criteria.error_rate_percent:g} % "
                        f"({measured.failures} of {measured.requests} requests failed)")
    if measured.rps < criteria.min_rps:
        failures.append(f"throughput {measured.rps:.1f} req/s < minimum {criteria.min_rps:g} req/s")
    line = (f"p95 {measured.p95_ms:g} ms (SLO {criteria.p95_ms:g}), errors {measured.error_rate_percent:.2f} % "
            f"(SLO {criteria.error_rate_percent:g}), {measured.rps:.1f} req/s (min {criteria.min_rps:g}), "
            f"{measured.requests} requests")
    return Verdict(not failures, tuple(failures), line)
