"""A deliberately slow scorer for the load test's ``--slow-ms`` flag: the real scoring script plus a fixed delay.

The server loads this file as its entry script; it loads the script named by ``LT_SCORING_SCRIPT`` and sleeps
``LT_SLOW_MS`` milliseconds before each of its ``run()`` calls. The production scoring script stays free of test
hooks. Runs in the load-test virtualenv, inside the server.
"""

import importlib.util
import os
import time
from typing import Any

_spec = importlib.util.spec_from_file_location("scoring_script", os.environ["LT_SCORING_SCRIPT"])
assert _spec is not None and _spec.loader is not None
_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_script)
_DELAY = float(os.environ.get("LT_SLOW_MS", "0")) / 1000


def init() -> None:
    _script.init()


def run(raw_data: str) -> Any:
    time.sleep(_DELAY)
    return _script.run(raw_data)
