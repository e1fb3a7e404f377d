"""What the tests of the local load test share: the load-test virtualenv, the trained sample model, a served scorer.

The inference server and Locust live in ``.venv-loadtest`` (serving/requirements.txt). Without it these tests skip,
unless ``LOADTEST_REQUIRED=1`` (``make test`` sets it, after building the virtualenv): then they fail, so the suite
cannot pass without having run the real server.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

from loadtest import venv
from loadtest.errors import LoadtestError

CODE = ROOT / "serving" / "fraud"


def loadtest_python() -> Path:
    try:
        return venv.python(ROOT)
    except LoadtestError as error:
        if os.environ.get("LOADTEST_REQUIRED") == "1":
            pytest.fail(f"LOADTEST_REQUIRED=1 but {error}")
        pytest.skip(str(error))


def trained_model(directory: Path) -> Path:
    """The sample model trained into ``directory`` (by the code folder's own train.py, in the load-test venv)."""
    if not (directory / "model.joblib").is_file():
        subprocess.run([str(loadtest_python()), str(CODE / "train.py"), "--output", str(directory)], check=True,
                       capture_output=True, timeout=300)
    return directory
