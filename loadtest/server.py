"""Azure ML's inference server on 127.0.0.1, started for a load test and always stopped.

:func:`serve` starts ``azureml-inference-server-http`` (the server Azure ML runs in its inference images: gunicorn
with sync workers and a Flask app) from the load-test virtualenv, on a free loopback port, in its own process group;
waits until ``GET /`` answers ``Healthy`` (each try bounded by one second, the whole wait by a deadline; a server that
exits first, as it does with code 3 when the scoring script's ``init()`` fails, is reported with the end of its log);
and on leaving, however it is left (an error, Ctrl-C, SIGTERM), stops the whole group: SIGTERM, then SIGKILL after a
grace period.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loadtest.errors import LoadtestError

HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 15.0
PORT_ATTEMPTS = 3
LOOPBACK = Path(__file__).with_name("_loopback.py")


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    ready_seconds: float
    log: Path


def free_port() -> int:
    """A port the kernel has free on the loopback interface now (a small race until the server binds it, which
    :func:`serve` survives by trying another port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _cause(path: Path) -> str:
    """The first exception line of the server's log (``FileNotFoundError: no model.joblib under ...``), if any."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    found = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)\b.*: ", line)]
    return f" ({found[0].strip()})" if found else ""  # the root cause comes first in a chained traceback


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float, log: Path) -> float:
    """Seconds until ``url`` answered ``Healthy``; raises when the server exits or the deadline passes."""
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if process.poll() is not None:
            hint = " (the scoring script's init() failed)" if process.returncode == 3 else ""
            raise LoadtestError(f"the inference server exited with code {process.returncode}{hint}{_cause(log)} "
                                f"before it was ready; the end of {log}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url + "/", timeout=1) as answer:
                if answer.status == 200 and answer.read().strip() == b"Healthy":
                    return time.monotonic() - began
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)
    raise LoadtestError(f"the inference server did not answer GET / within {timeout_s:g} s; the end of {log}:\n"
                        f"{_tail(log)}")


def stop(process: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> None:
    """Stop the server's whole process group (gunicorn's master and workers): SIGTERM, then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


@contextlib.contextmanager
def serve(python: Path, entry_script: Path, model_dir: Path, log: Path, *, workers: int = 1,
          environment: dict[str, str] | None = None, ready_timeout_s: float = READY_TIMEOUT_S) -> Iterator[Server]:
    """Run the inference server for the duration of the ``with`` block (see the module docstring)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **(environment or {}), "AZUREML_MODEL_DIR": str(model_dir),
           # gunicorn 23+ opens a control socket by default; a load test has no use for it.
           "GUNICORN_CMD_ARGS": "--no-control-socket", "AML_APP_ROOT": str(entry_script.parent)}
    last_error: LoadtestError | None = None
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        command = [str(python), str(LOOPBACK), "--entry_script", str(entry_script), "--model_dir", str(model_dir),
                   "--port", str(port), "--worker_count", str(workers)]
        with log.open("wb") as output:
            process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        try:
            url = f"http://{HOST}:{port}"
            try:
                took = wait_ready(url, process, ready_timeout_s, log)
            except LoadtestError as error:
                if "Connection in use" in _tail(log, 40) or "Address already in use" in _tail(log, 40):
                    last_error = error
                    continue  # another process took the port first: try another
                raise
            print(f"loadtest: inference server pid {process.pid} ready on {url} after {took:.1f} s",
                  file=sys.stderr)
            yield Server(url, process.pid, took, log)
            return
        finally:
            stop(process)
    assert last_error is not None
    raise last_error
