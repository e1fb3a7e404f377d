"""``python -m loadtest run``: the endpoint's scoring code under load on this machine, gated on its SLO.

Trains the sample model when it is missing, serves the endpoint's live deployment (its code folder and scoring
script from the stack file) with Azure ML's inference server on 127.0.0.1, runs Locust headless against ``/score``
with the repository's locustfile and a load shape (ramp, steady or spike), stops the server whatever happens, and
gates: p95 latency at most the SLO's, error rate at most the SLO's, throughput at least the minimum. Exit 1 names
the failing criterion in one line. Reports go to ``out/loadtest/<team>-<endpoint>/``: Locust's HTML and CSV files,
``summary.json`` and ``load.png``.

Locust and the server run from the load-test virtualenv as subprocesses: Locust monkey-patches the process it is
imported in with gevent, which would hang the Pulumi SDK's grpc in this one. Every run is bounded by the shape's
duration and request budget, and by a subprocess time limit on top; traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadtest import server as inference
from loadtest import venv
from loadtest.errors import LoadtestError
from loadtest.gate import Criteria, Measured, verdict
from loadtest.stack import endpoint_config, live_deployment

SHAPES = ("ramp", "steady", "spike")
DEFAULT_RPS = 50.0
#: The share of the offered rate a run must achieve when --min-rps is not given.
MIN_RPS_SHARE = 0.8
LOCUSTFILE = "locustfile.py"
TRAIN = "train.py"
MODEL_FILE = "model.joblib"


@dataclass(frozen=True)
class Shape:
    """What Locust offers: the stages in seconds and the rates."""

    name: str
    base_rps: float
    spike_rps: float
    ramp_s: float
    steady_s: float
    spike_s: float
    cool_s: float
    max_requests: int

    @property
    def seconds(self) -> float:
        return self.ramp_s + self.steady_s + (self.spike_s + self.cool_s if self.name == "spike" else 0)

    def offered_rps(self) -> float:
        """The time-weighted rate the shape offers (a ramp offers half its rate on average)."""
        ramp = 0.0 if self.name == "steady" else self.ramp_s
        steady = self.steady_s + (self.ramp_s if self.name == "steady" else 0)
        spike = self.spike_s if self.name == "spike" else 0.0
        cool = self.cool_s if self.name == "spike" else 0.0
        total = ramp + steady + spike + cool
        return (ramp * self.base_rps / 2 + (steady + cool) * self.base_rps + spike * self.spike_rps) / total

    def environment(self) -> dict[str, str]:
        return {"LT_SHAPE": self.name, "LT_BASE_RPS": f"{self.base_rps:g}", "LT_SPIKE_RPS": f"{self.spike_rps:g}",
                "LT_STAGES": f"{self.ramp_s:g},{self.steady_s:g},{self.spike_s:g},{self.cool_s:g}",
                "LT_MAX_REQUESTS": str(self.max_requests)}


def shape_from(name: str, rps: float, spike_rps: float | None, duration: float, max_requests: int) -> Shape:
    """A shape lasting ``duration`` seconds: a fifth ramp, the rest steady (spike: a fifth spike, a fifth cool)."""
    fifth = duration / 5
    if name == "steady":
        return Shape(name, rps, rps, 0, duration, 0, 0, max_requests)
    if name == "ramp":
        return Shape(name, rps, rps, fifth, duration - fifth, 0, 0, max_requests)
    return Shape(name, rps, spike_rps or rps * 3, fifth, 2 * fifth, fifth, fifth, max_requests)


def _positive(kind: type, low: float = 0.0) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        if not value > low or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} must be above {low:g}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack", help="stack name; the endpoint's SLO and code come from Pulumi.<stack>.yaml")
    parser.add_argument("endpoint", metavar="TEAM/ENDPOINT")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="project directory (default: current)")
    parser.add_argument("--shape", choices=SHAPES, default="spike", help="load shape (default %(default)s)")
    parser.add_argument("--rps", type=_positive(float), default=DEFAULT_RPS,
                        help="base request rate per second (default %(default)s)")
    parser.add_argument("--spike-rps", type=_positive(float), help="rate of the spike (default 3 x --rps)")
    parser.add_argument("--duration", type=_positive(float, 1.0), default=30.0, metavar="SECONDS",
                        help="length of the shape (default %(default)s s)")
    parser.add_argument("--max-requests", type=_positive(int), default=20_000,
                        help="request budget: the run stops when it is spent (default %(default)s)")
    parser.add_argument("--min-rps", type=_positive(float),
                        help=f"throughput the run must reach (default {MIN_RPS_SHARE:.0%} of the offered rate)")
    parser.add_argument("--slow-ms", type=_positive(float), metavar="MS",
                        help="add this delay to every scoring call (a deliberately slow scorer, to see the gate "
                             "fail)")
    parser.add_argument("--workers", type=_positive(int), default=1,
                        help="inference server workers (WORKER_COUNT; default %(default)s, as Azure ML)")
    parser.add_argument("--output", type=Path, metavar="DIR", help="reports (default out/loadtest/<team>-<endpoint>)")
    parser.add_argument("--timeout", type=_positive(float), default=None, metavar="SECONDS",
                        help="hard limit of the Locust run (default the shape's length + 60 s)")


def ensure_model(python: Path, code_dir: Path, model_dir: Path) -> None:
    """Train with the code folder's ``train.py`` when ``model_dir`` has no model yet."""
    if (model_dir / MODEL_FILE).is_file():
        return
    script = code_dir / TRAIN
    if not script.is_file():
        raise LoadtestError(f"no model in {model_dir} and no {script} to train one")
    print(f"loadtest: training the model with {script}", file=sys.stderr)
    done = subprocess.run([str(python), str(script), "--output", str(model_dir)], capture_output=True, text=True,
                          timeout=300, check=False)
    if done.returncode != 0:
        raise LoadtestError(f"{script} failed with code {done.returncode}: {done.stderr.strip()[-500:]}")


def run_locust(python: Path, locustfile: Path, url: str, prefix: Path, environment: dict[str, str],
               timeout_s: float) -> None:
    """Locust headless against ``url``, in its own process group, killed at ``timeout_s``."""
    command = [str(python), "-m", "locust", "-f", str(locustfile), "--headless", "--host", url,
               "--csv", str(prefix), "--csv-full-history", "--html", f"{prefix}.html", "--only-summary",
               "--loglevel", "WARNING", "--exit-code-on-error", "0", "--stop-timeout", "5"]
    log = prefix.with_name(prefix.name + "-locust.log")
    env = {**os.environ, **environment}
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise LoadtestError(f"Locust did not finish within {timeout_s:g} s; it was stopped (log {log})") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-10:]
        raise LoadtestError(f"Locust failed with code {process.returncode}: " + " | ".join(tail))


def aggregated(prefix: Path) -> Measured:
    """The whole run from Locust's ``<prefix>_stats.csv`` (its ``Aggregated`` row)."""
    path = Path(f"{prefix}_stats.csv")
    try:
        with path.open(encoding="utf-8") as stats:
            rows = list(csv.DictReader(stats))
    except OSError:
        raise LoadtestError(f"Locust wrote no statistics ({path} is missing)") from None
    totals = [r for r in rows if r["Name"] == "Aggregated"]
    total = totals[0] if totals else None
    if total is None or int(total["Request Count"]) == 0:
        raise LoadtestError(f"Locust sent no request ({path}); nothing was measured")
    requests = int(total["Request Count"])
    return Measured(requests=requests, failures=int(total["Failure Count"]), p50_ms=float(total["50%"]),
                    p95_ms=float(total["95%"]), p99_ms=float(total["99%"]), rps=float(total["Requests/s"]))


def machine() -> str:
    from loadtest.bench import machine as describe

    return describe()


def command(args: argparse.Namespace) -> int:
    project_dir: Path = args.dir.resolve()
    config, team, endpoint = endpoint_config(project_dir, args.stack, args.endpoint)
    deployment = next(d for d in endpoint.deployments if d.name == live_deployment(endpoint))
    code_dir = project_dir / deployment.code.path
    script = code_dir / deployment.code.scoring_script
    locustfile = code_dir / LOCUSTFILE
    if not locustfile.is_file():
        raise LoadtestError(f"no {LOCUSTFILE} in {deployment.code.path}: the load test sends what it describes")
    shape = shape_from(args.shape, args.rps, args.spike_rps, args.duration, args.max_requests)
    if args.spike_rps is not None and args.shape != "spike":
        raise LoadtestError("--spike-rps is only used with --shape spike")
    python = venv.python(project_dir)
    out = args.output or project_dir / "out" / "loadtest" / f"{team.name}-{endpoint.name}"
    out.mkdir(parents=True, exist_ok=True)
    model_dir = project_dir / "out" / "model" / f"{team.name}-{endpoint.name}"
    ensure_model(python, code_dir, model_dir)
    environment = {}
    entry = script
    if args.slow_ms:
        entry = Path(__file__).with_name("slow_score.py")
        environment = {"LT_SCORING_SCRIPT": str(script), "LT_SLOW_MS": f"{args.slow_ms:g}"}
    criteria = Criteria(p95_ms=endpoint.slo.latency_p95_ms, error_rate_percent=endpoint.slo.error_rate_percent,
                        min_rps=args.min_rps or round(shape.offered_rps() * MIN_RPS_SHARE, 2))
    prefix = out / "locust"
    began = time.monotonic()
    with inference.serve(python, entry, model_dir, out / "server.log", workers=args.workers,
                         environment=environment) as served:
        print(f"loadtest: {shape.name} load, {shape.base_rps:g} req/s"
              f"{f' (spike {shape.spike_rps:g})' if shape.name == 'spike' else ''} for {shape.seconds:g} s, at most "
              f"{shape.max_requests} requests", file=sys.stderr)
        # Ten requests per second per user: fewer, busier users keep Locust's own overhead out of the latency on a
        # small machine (the same rate from 1-request-per-second users measured p50 77 ms instead of 13 ms here).
        per_user = os.environ.get("LT_PER_USER_RPS", "10")
        run_locust(python, locustfile, served.url, prefix, {**shape.environment(), "LT_PER_USER_RPS": per_user},
                   args.timeout or shape.seconds + 60)
    measured = aggregated(prefix)
    result = verdict(criteria, measured)
    ref = f"{team.name}/{endpoint.name} ({config.stack})"
    summary = {"endpoint": f"{team.name}/{endpoint.name}", "stack": config.stack, "deployment": deployment.name,
               "scoring_script": str(script.relative_to(project_dir)), "slow_ms": args.slow_ms or 0,
               "shape": asdict(shape), "offered_rps": round(shape.offered_rps(), 2), "criteria": asdict(criteria),
               "measured": asdict(measured), "passed": result.passed, "failures": list(result.failures),
               "server_ready_seconds": round(served.ready_seconds, 2), "wall_seconds": round(time.monotonic() - began,
                                                                                               1),
               "workers": args.workers, "machine": machine(), "python": platform.python_version()}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    from loadtest.charts import load_chart

    load_chart(Path(f"{prefix}_stats_history.csv"), out / "load.png", slo_p95_ms=endpoint.slo.latency_p95_ms,
               title=f"{ref}: {'PASS' if result.passed else 'FAIL'}")
    print(f"loadtest: reports in {out}/ (locust.html, summary.json, load.png)", file=sys.stderr)
    if result.passed:
        print(f"loadtest: PASS {ref}: {result.line}")
        return 0
    print(f"loadtest: FAIL {ref}: {result.failures[0]}")
    return 1
