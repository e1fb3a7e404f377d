"""Train the sample fraud model: scaled logistic regression on scikit-learn's breast-cancer data set.

The data set ships inside scikit-learn (no download), has 30 numeric features and two classes, which is all the
sample needs: a real model for the real inference server to load and score. ``python serving/fraud/train.py
[--output DIR] [--sample FILE]`` writes ``DIR/model.joblib`` (default ``out/model/fraud``) and, with ``--sample``,
the request rows the locustfile sends (``serving/fraud/sample-request.json``, committed: Azure Load Testing engines
have no scikit-learn). Deterministic: the same model and rows on every run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import joblib
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SAMPLE_ROWS = 40


def train(output: Path) -> Path:
    features, labels = load_breast_cancer(return_X_y=True)
    began = time.perf_counter()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0))
    model.fit(features, labels)
    output.mkdir(parents=True, exist_ok=True)
    path = output / "model.joblib"
    joblib.dump(model, path)
    print(f"trained in {time.perf_counter() - began:.3f} s: {model.n_features_in_} features, training accuracy "
          f"{model.score(features, labels):.3f} -> {path}")
    return path


def sample(path: Path) -> None:
    """Every 14th row of the data set, rounded as a client would send it."""
    rows = load_breast_cancer().data[::14][:SAMPLE_ROWS]
    path.write_text(json.dumps({"data": [[round(float(v), 4) for v in row] for row in rows]}) + "\n",
                    encoding="utf-8")
    print(f"wrote {len(rows)} request rows -> {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=Path("out/model/fraud"), help="model folder")
    parser.add_argument("--sample", type=Path, help="also write the locustfile's request rows to this file")
    args = parser.parse_args()
    train(args.output)
    if args.sample:
        sample(args.sample)


if __name__ == "__main__":
    main()
