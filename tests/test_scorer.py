"""The sample scoring script (serving/fraud/score.py) under the real inference server, as Azure ML runs it.

Good rows get one probability each; every malformed request gets 400 with a JSON message that says what was wrong,
never a server error or a stack trace. The server is started on 127.0.0.1 by ``loadtest.server.serve`` and stopped
when the module's tests are done.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from loadtest_env import CODE, loadtest_python, trained_model

from loadtest.server import serve

ROWS = json.loads((CODE / "sample-request.json").read_text())["data"]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    python = loadtest_python()
    folder = tmp_path_factory.mktemp("scorer")
    with serve(python, CODE / "score.py", trained_model(folder / "model"), folder / "server.log") as served:
        yield served.url


def post(url: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(url + "/score", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_each_row_gets_a_probability(url: str) -> None:
    status, body = post(url, json.dumps({"data": ROWS[:3]}).encode())
    assert status == 200
    assert len(body["probabilities"]) == 3
    assert all(0 <= p <= 1 for p in body["probabilities"])


@pytest.mark.parametrize(("body", "message"), [
    (b"not json", "Expecting value"),
    (json.dumps({"rows": [[1.0] * 30]}).encode(), 'the body must be {"data": [[feature, ...], ...]}'),
    (json.dumps({"data": []}).encode(), "at least one row"),
    (json.dumps({"data": [[1.0, 2.0]]}).encode(), "each row must hold 30 numbers"),
    (json.dumps({"data": [[1.0] * 29 + ["x"]]}).encode(), "could not convert string to float"),
    (json.dumps({"data": [[1.0] * 30, [1.0] * 12]}).encode(), "inhomogeneous"),
    (b'{"data": [[NaN' + b", 1.0" * 29 + b"]]}", "every feature must be a finite number"),
    (json.dumps({"data": [[1.0] * 30] * 1001}).encode(), "1001 rows; send at most 1000 per request"),
    (json.dumps([1, 2]).encode(), 'the body must be {"data"'),
], ids=["not json", "no data key", "no rows", "too few features", "text feature", "ragged rows", "NaN",
        "too many rows", "a list body"])
def test_a_malformed_request_gets_400_with_what_was_wrong(url: str, body: bytes, message: str) -> None:
    status, answer = post(url, body)
    assert status == 400
    assert message in answer["error"]
    assert "Traceback" not in answer["error"]


def test_the_server_listens_on_loopback_only(url: str) -> None:
    """/proc/net/tcp: the listening socket of the server's port is bound to 127.0.0.1 (0100007F), not 0.0.0.0."""
    port = int(url.rsplit(":", 1)[1])
    listening = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":
            listening.append(address)
    assert listening == ["0100007F"]


def test_the_load_test_venv_pins_what_the_deployment_environment_pins() -> None:
    """serving/requirements.txt serves the same packages as serving/fraud/conda.yaml, at the same versions."""
    conda = yaml.safe_load((CODE / "conda.yaml").read_text())
    [pip] = [d["pip"] for d in conda["dependencies"] if isinstance(d, dict)]
    deployed = dict(line.split("==") for line in pip)
    local = dict(line.split("==") for line in (CODE.parent / "requirements.txt").read_text().splitlines()
                 if line and not line.startswith("#"))
    assert {name: local.get(name) for name in deployed} == deployed
