"""Where the load-test virtualenv is: the inference server and Locust run from it, as subprocesses."""

from __future__ import annotations

import os
from pathlib import Path

from loadtest.errors import LoadtestError

FOLDER = ".venv-loadtest"


def python(project_dir: Path) -> Path:
    """The load-test virtualenv's interpreter (``LOADTEST_VENV`` overrides the folder)."""
    folder = Path(os.environ.get("LOADTEST_VENV") or project_dir / FOLDER)
    interpreter = folder / "bin" / "python"
    if not interpreter.is_file():
        raise LoadtestError(f"the load-test virtualenv {folder} is missing; create it with "
                            f"`make {FOLDER}/.installed` (serving/requirements.txt) or run `make loadtest`")
    return interpreter
