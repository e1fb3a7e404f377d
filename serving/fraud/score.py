"""Scoring script of the sample fraud model, as Azure ML's inference server (azureml-inference-server-http) runs it.

The server calls ``init()`` once when the deployment starts (the registered model is unpacked under
``AZUREML_MODEL_DIR``) and ``run()`` for every request to ``/score``. Requests carry
``{"data": [[feature, ...], ...]}``; the answer is ``{"probabilities": [p, ...]}``, one fraud probability per row.
A malformed request is answered with status 400 and what was wrong, never with a server error: the endpoint passes it
on as 424 with the model's 400, which the error-rate and burn-rate alerts leave out (they count the model's 5xx).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from azureml.contrib.services.aml_response import AMLResponse

#: File name of the model inside the registered model's folder.
MODEL_FILE = "model.joblib"
#: Rows one request may score: larger batches would hold an instance past the request timeout.
MAX_ROWS = 1000

logger = logging.getLogger(__name__)
model: Any = None


def init() -> None:
    """Load the model once per instance."""
    global model
    root = Path(os.environ.get("AZUREML_MODEL_DIR", "."))
    found = sorted(root.rglob(MODEL_FILE))
    if not found:
        raise FileNotFoundError(f"no {MODEL_FILE} under {root}")
    model = joblib.load(found[0])
    logger.info("loaded %s", found[0])


def _rows(raw_data: str) -> np.ndarray:
    body = json.loads(raw_data)
    rows = body.get("data") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ValueError('the body must be {"data": [[feature, ...], ...]} with at least one row')
    if len(rows) > MAX_ROWS:
        raise ValueError(f"{len(rows)} rows; send at most {MAX_ROWS} per request")
    features = np.asarray(rows, dtype=float)
    expected = getattr(model, "n_features_in_", features.shape[-1])
    if features.ndim != 2 or features.shape[1] != expected:
        raise ValueError(f"each row must hold {expected} numbers")
    if not np.isfinite(features).all():
        raise ValueError("every feature must be a finite number (no NaN or Infinity)")
    return features


def run(raw_data: str) -> Any:
    """Score one request."""
    try:
        features = _rows(raw_data)
    except (ValueError, TypeError) as error:  # json.JSONDecodeError is a ValueError
        # json_str=True makes AMLResponse encode the message itself (azureml-inference-server-http api/aml_response.py).
        return AMLResponse({"error": str(error)}, 400, json_str=True)
    return {"probabilities": model.predict_proba(features)[:, 1].round(6).tolist()}
