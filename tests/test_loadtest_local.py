"""The local load test: the gate, the server's life cycle, and short bounded runs of ``python -m loadtest run``.

The end-to-end runs start the real inference server and Locust from the load-test virtualenv, on 127.0.0.1, for a
few seconds and at most a few hundred requests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from loadtest_env import CODE, loadtest_python, trained_model

from loadtest import capacity
from loadtest.errors import LoadtestError
from loadtest.gate import Criteria, Measured, verdict
from loadtest.local import run_locust, shape_from
from loadtest.server import serve

CRITERIA = Criteria(p95_ms=300, error_rate_percent=1, min_rps=20)


def measured(**changes: float) -> Measured:
    values = {"requests": 1000, "failures": 0, "p50_ms": 20, "p95_ms": 120, "p99_ms": 200, "rps": 30.0}
    values.update(changes)
    return Measured(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------------------------
# The gate
# --------------------------------------------------------------------------------------------------------------------


def test_the_gate_passes_within_every_criterion() -> None:
    result = verdict(CRITERIA, measured())
    assert result.passed and result.failures == ()
    assert result.line == "p95 120 ms (SLO 300), errors 0.00 % (SLO 1), 30.0 req/s (min 20), 1000 requests"


@pytest.mark.parametrize(("changes", "failure"), [
    ({"p95_ms": 301}, "p95 301 ms > SLO 300 ms"),
    ({"failures": 11}, "error rate 1.10 % > SLO 1 % (11 of 1000 requests failed)"),
    ({"rps": 19.5}, "throughput 19.5 req/s < minimum 20 req/s"),
])
def test_the_gate_names_the_failing_criterion(changes: dict[str, float], failure: str) -> None:
    result = verdict(CRITERIA, measured(**changes))
    assert not result.passed and result.failures == (failure,)


def test_the_spike_shape_offers_its_time_weighted_rate() -> None:
    shape = shape_from("spike", 10, 30, 50, 1000)
    assert (shape.ramp_s, shape.steady_s, shape.spike_s, shape.cool_s) == (10, 20, 10, 10)
    assert shape.offered_rps() == pytest.approx((10 * 5 + 30 * 10 + 10 * 30) / 50)
    assert shape_from("steady", 10, None, 5, 100).offered_rps() == 10


def test_capacity_is_the_highest_step_within_the_slo() -> None:
    points = [{"target_rps": 50, "achieved_rps": 50.1, "p95_ms": 30, "error_rate": 0},
              {"target_rps": 100, "achieved_rps": 99.0, "p95_ms": 90, "error_rate": 0},
              {"target_rps": 200, "achieved_rps": 196.0, "p95_ms": 310, "error_rate": 0},
              {"target_rps": 300, "achieved_rps": 240.0, "p95_ms": 900, "error_rate": 0}]
    assert capacity.capacity(points, 300, 1) == (100.0, 240.0)
    with pytest.raises(LoadtestError, match="even 50 req/s is too much"):
        capacity.capacity(points, 20, 1)


# --------------------------------------------------------------------------------------------------------------------
# The server is always stopped
# --------------------------------------------------------------------------------------------------------------------


def gone(pid: int) -> bool:
    """Whether no process of group ``pid`` (the server's master and workers) is left."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_server_is_stopped_when_locust_fails(tmp_path: Path) -> None:
    python = loadtest_python()
    broken = tmp_path / "locustfile.py"
    broken.write_text("raise SystemExit('a locustfile that does not load')\n")
    pid = 0
    with pytest.raises(LoadtestError, match="Locust failed with code"), \
            serve(python, CODE / "score.py", trained_model(tmp_path / "model"), tmp_path / "server.log") as served:
        pid = served.pid
        run_locust(python, broken, served.url, tmp_path / "locust", {}, 60)
    assert pid and gone(pid)


def test_the_server_is_stopped_when_the_caller_fails(tmp_path: Path) -> None:
    python = loadtest_python()
    pid = 0
    with pytest.raises(KeyboardInterrupt), \
            serve(python, CODE / "score.py", trained_model(tmp_path / "model"), tmp_path / "server.log") as served:
        pid = served.pid
        raise KeyboardInterrupt  # Ctrl-C in the middle of a run
    assert pid and gone(pid)


def test_an_init_failure_is_reported_with_the_server_log(tmp_path: Path) -> None:
    """No model in the model folder: the scoring script's init() raises, the server exits with code 3."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LoadtestError) as error, \
            serve(loadtest_python(), CODE / "score.py", empty, tmp_path / "server.log", ready_timeout_s=60):
        pass
    assert str(error.value).startswith("the inference server exited with code 3 (the scoring script's init() "
                                       "failed) (FileNotFoundError: no model.joblib under ")


# --------------------------------------------------------------------------------------------------------------------
# Short bounded runs of the command
# --------------------------------------------------------------------------------------------------------------------


def loadtest(*args: str) -> subprocess.CompletedProcess[str]:
    loadtest_python()  # skip (or fail under make test) without the load-test virtualenv
    return subprocess.run([sys.executable, "-m", "loadtest", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=240, check=False)


def test_a_short_run_serves_loads_gates_and_reports(tmp_path: Path) -> None:
    done = loadtest("run", "dev", "fraud-detection/score", "--shape", "steady", "--rps", "20", "--duration", "5",
                    "--max-requests", "150", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("loadtest: PASS fraud-detection/score (dev): p95 ")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["passed"] and summary["criteria"]["p95_ms"] == 300
    assert 0 < summary["measured"]["requests"] <= 150 + 30  # the budget, checked once a second
    for name in ("locust.html", "locust_stats.csv", "locust_stats_history.csv", "load.png", "server.log"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_a_slow_scorer_fails_the_gate_naming_p95(tmp_path: Path) -> None:
    done = loadtest("run", "dev", "fraud-detection/score", "--shape", "steady", "--rps", "4", "--duration", "4",
                    "--max-requests", "40", "--slow-ms", "400", "--output", str(tmp_path))
    assert done.returncode == 1, done.stderr
    [line] = done.stdout.splitlines()
    assert line.startswith("loadtest: FAIL fraud-detection/score (dev): p95 ") and line.endswith("> SLO 300 ms")
    assert json.loads((tmp_path / "summary.json").read_text())["slow_ms"] == 400


@pytest.mark.parametrize(("args", "message"), [
    (["run", "dev", "fraud-detection/nope"], "the stack dev has no endpoint 'fraud-detection/nope'; it has: "
                                             "fraud-detection/score"),
    (["run", "dev", "fraud-detection/score", "--spike-rps", "9", "--shape", "steady"],
     "--spike-rps is only used with --shape spike"),
    (["capacity", "dev", "fraud-detection/score", "--steps", "50,25"], "--steps '50,25': rates above 0, ascending"),
])
def test_bad_input_exits_2_before_anything_starts(args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "loadtest", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert message in done.stderr


@pytest.mark.parametrize("value", ["0", "-3", "abc"])
def test_a_rate_that_is_not_positive_is_a_usage_error(value: str) -> None:
    done = subprocess.run([sys.executable, "-m", "loadtest", "run", "dev", "fraud-detection/score", "--rps", value],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "--rps" in done.stderr
