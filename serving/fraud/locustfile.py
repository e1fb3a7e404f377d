"""Load on the fraud endpoint's ``/score``: the one locustfile of the local load test and of Azure Load Testing.

Environment (all optional):

- ``SCORING_HOST``: base URL (``https://<endpoint>.<region>.inference.ml.azure.com``); else Locust's ``--host``.
- ``SCORING_AUTH=aad``: send a Microsoft Entra token for ``https://ml.azure.com`` (what an ``AADToken`` endpoint
  takes), fetched from the managed identity endpoint (IMDS) of the Azure Load Testing engine, for the identity
  ``AZURE_CLIENT_ID`` when set; refreshed five minutes before it expires.
- ``LT_PER_USER_RPS``: requests per second each simulated user sends (default 1, ``constant_throughput``).
- ``LT_BAD_SHARE``: share of deliberately malformed requests (default 0.05); they count as successes only when the
  endpoint answers 400, which is the scoring script's contract.
- ``LT_SHAPE`` (``ramp``, ``steady`` or ``spike``) with ``LT_BASE_RPS``, ``LT_SPIKE_RPS``, ``LT_STAGES``
  (ramp,steady,spike,cool seconds) and ``LT_MAX_REQUESTS``: the local load test's shape, bounded in time and in
  requests. Without ``LT_SHAPE`` there is no shape class, so Locust's own ``LOCUST_USERS``/``LOCUST_SPAWN_RATE``/
  ``LOCUST_RUN_TIME`` settings apply, which is how Azure Load Testing configures a Locust test.

The request rows come from ``sample-request.json`` beside this file (Azure Load Testing places configuration files
next to the script).
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from locust import FastHttpUser, LoadTestShape, constant_throughput, task

ROWS: list[list[float]] = json.loads((Path(__file__).with_name("sample-request.json")).read_text())["data"]
PER_USER_RPS = float(os.getenv("LT_PER_USER_RPS", "1"))
BAD_SHARE = float(os.getenv("LT_BAD_SHARE", "0.05"))
BAD_BODY = json.dumps({"data": [[1.0, 2.0]]})  # two features instead of thirty: the scorer answers 400
IMDS = "http://169.254.169.254/metadata/identity/oauth2/token"
AUDIENCE = "https://ml.azure.com"


class _Token:
    """An Entra token from the engine's managed identity, shared by every user of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = ""
        self._expires = 0.0

    def header(self) -> dict[str, str]:
        with self._lock:
            if time.time() > self._expires - 300:
                query = {"api-version": "2018-02-01", "resource": AUDIENCE}
                if os.getenv("AZURE_CLIENT_ID"):
                    query["client_id"] = os.environ["AZURE_CLIENT_ID"]
                request = urllib.request.Request(f"{IMDS}?{urllib.parse.urlencode(query)}",
                                                 headers={"Metadata": "true"})
                with urllib.request.urlopen(request, timeout=10) as answer:
                    body = json.load(answer)
                self._value = body["access_token"]
                self._expires = float(body["expires_on"])
            return {"Authorization": f"Bearer {self._value}"}


TOKEN = _Token() if os.getenv("SCORING_AUTH") == "aad" else None


class ScoreUser(FastHttpUser):
    host = os.getenv("SCORING_HOST") or None
    wait_time = constant_throughput(PER_USER_RPS)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if TOKEN is not None:
            headers.update(TOKEN.header())
        return headers

    @task
    def score(self) -> None:
        if random.random() < BAD_SHARE:
            with self.client.post("/score", data=BAD_BODY, headers=self._headers(), name="/score [400 expected]",
                                  catch_response=True) as answer:
                if answer.status_code == 400:
                    answer.success()
                else:
                    answer.failure(f"expected 400 for a malformed request, got {answer.status_code}")
            return
        body = json.dumps({"data": [random.choice(ROWS)]})
        with self.client.post("/score", data=body, headers=self._headers(), name="/score",
                              catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"status {answer.status_code}")
                return
            try:
                probabilities = answer.json()["probabilities"]
            except (ValueError, KeyError, TypeError):
                answer.failure("the answer is not {\"probabilities\": [...]}")
                return
            if len(probabilities) != 1:
                answer.failure(f"{len(probabilities)} probabilities for one row")


if os.getenv("LT_SHAPE"):
    SHAPE = os.environ["LT_SHAPE"]
    BASE_RPS = float(os.getenv("LT_BASE_RPS", "20"))
    SPIKE_RPS = float(os.getenv("LT_SPIKE_RPS", str(BASE_RPS * 3)))
    RAMP_S, STEADY_S, SPIKE_S, COOL_S = (float(x) for x in os.getenv("LT_STAGES", "5,10,5,5").split(","))
    MAX_REQUESTS = int(os.getenv("LT_MAX_REQUESTS", "20000"))

    def _users(rate: float) -> int:
        return max(1, math.ceil(rate / PER_USER_RPS - 1e-9))

    class Shape(LoadTestShape):
        """ramp: up to the base rate, hold; steady: the base rate throughout; spike: ramp, hold, the spike rate,
        then the base rate again. ``None`` ends the test: time up or the request budget spent."""

        def tick(self) -> tuple[int, float] | None:
            elapsed = self.get_run_time()
            runner: Any = self.runner
            if runner is not None and runner.stats.total.num_requests >= MAX_REQUESTS:
                return None
            total = RAMP_S + STEADY_S + (SPIKE_S + COOL_S if SHAPE == "spike" else 0)
            if elapsed >= total:
                return None
            if SHAPE != "steady" and elapsed < RAMP_S:
                return max(1, round(_users(BASE_RPS) * elapsed / RAMP_S)), 100
            if SHAPE == "spike" and RAMP_S + STEADY_S <= elapsed < RAMP_S + STEADY_S + SPIKE_S:
                return _users(SPIKE_RPS), 100
            return _users(BASE_RPS), 100
