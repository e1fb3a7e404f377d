"""The Azure Load Testing test configuration (``python -m loadtest config``): its format against the documented one
(reference-test-config-yaml; the Azure/load-testing action's parser), the values it derives from the SLO and the
expected load, and the inputs it refuses."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

from components.serving_config import LoadConfig
from loadtest import alt_config
from loadtest.errors import LoadtestError
from loadtest.stack import endpoint_config

SUB = "00000000-1111-2222-3333-444444444444"
IDENTITY = (f"/subscriptions/{SUB}/resourceGroups/rg-mlops-shared-dev-weu/providers/Microsoft.ManagedIdentity/"
            "userAssignedIdentities/id-mlops-shared-loadtest-dev-weu")
#: The documented sample of reference-test-config-yaml (its first example, Locust form), as YAML.
DOC_SAMPLE = """
version: v0.1
testId: SampleTestCICD
displayName: Sample test from CI/CD
testPlan: SampleTest.py
testType: Locust
description: Load test website home page
engineInstances: 1
failureCriteria:
  - avg(response_time_ms) > 300
  - percentage(error) > 50
  - GetCustomerDetails: avg(latency) >200
autoStop:
  errorPercentage: 80
  timeWindow: 60
"""


def build(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"team": "fraud-detection", "endpoint": "score", "environment": "dev",
                              "host": "https://score-x.westeurope.inference.ml.azure.com", "slo_p95_ms": 300,
                              "slo_error_percent": 1.0, "peak_rps": 400, "engine_identity_id": IDENTITY,
                              "engine_client_id": None, "duration_minutes": 10}
    values.update(changes)
    return alt_config.build(**values)


def test_the_documented_sample_is_valid_once_its_test_id_is_lowercase() -> None:
    """The doc's testId has capitals; the action lower-cases it before checking [a-z0-9_-]."""
    sample = yaml.safe_load(DOC_SAMPLE)
    sample["testId"] = sample["testId"].lower()
    alt_config.validate(sample)


@pytest.mark.parametrize("criterion", [
    "avg(response_time_ms) > 300", "p95(response_time_ms) > 250", "p9999(response_time_ms) < 10",
    "percentage(error) > 0.5", "percentage(error) > 100", "avg(requests_per_sec) > 12.25", "count(requests) > 10",
    {"score": "p95(latency) > 200"}, "score: max(latency) > 200"])
def test_the_documented_criteria_grammar_is_accepted(criterion: Any) -> None:
    alt_config.validate({**build(), "failureCriteria": [criterion]})


@pytest.mark.parametrize("criterion", [
    "avg(responseTimeMs) > 300",  # the doc's dict sample writes this; the action's whitelist refuses it
    "p95(response_time_ms) > 250.5", "percentage(error) < 5", "p42(response_time_ms) > 10",
    "avg(requests_per_sec) > 1.255", "median(latency) > 10", "percentage(error) >= 1"])
def test_criteria_outside_the_grammar_are_refused(criterion: str) -> None:
    with pytest.raises(LoadtestError, match="invalid at failureCriteria"):
        alt_config.validate({**build(), "failureCriteria": [criterion]})


@pytest.mark.parametrize(("change", "where"), [
    ({"testId": "Fraud Score"}, "testId"), ({"engineInstances": 401}, "engineInstances"),
    ({"engineInstances": 0}, "engineInstances"), ({"version": "v1"}, "version"), ({"users": 3}, "(top)"),
    ({"testPlan": "locustfile.js"}, "testPlan"), ({"autoStop": "off"}, "autoStop"),
    ({"referenceIdentities": [{"kind": "Engine", "type": "UserAssigned"}]}, "referenceIdentities/0"),
    ({"referenceIdentities": [{"kind": "Engine", "type": "SystemAssigned", "value": IDENTITY}]},
     "referenceIdentities/0"),
    ({"configurationFiles": ["serving/fraud/sample-request.json"]}, "configurationFiles/0"),
    ({"failureCriteria": ["percentage(error) > 1"] * 51}, "failureCriteria"),
])
def test_the_schema_refuses_what_the_action_refuses(change: dict[str, Any], where: str) -> None:
    with pytest.raises(LoadtestError, match=f"invalid at {re.escape(where)}"):
        alt_config.validate({**build(), **change})


def test_criteria_users_and_engines_come_from_the_slo_and_the_peak() -> None:
    test = build(slo_p95_ms=250, slo_error_percent=0.5, peak_rps=1200)
    assert test["failureCriteria"] == ["p95(response_time_ms) > 250", "percentage(error) > 0.5"]
    env = {e["name"]: e["value"] for e in test["env"]}
    assert (env["LOCUST_USERS"], test["engineInstances"]) == ("1200", 3)  # 500 users per engine
    assert env["SCORING_AUTH"] == "aad" and "AZURE_CLIENT_ID" not in env
    assert test["referenceIdentities"] == [{"kind": "Engine", "type": "UserAssigned", "value": IDENTITY}]
    assert test["autoStop"] == {"errorPercentage": 5, "timeWindow": 60}
    assert build(peak_rps=500)["engineInstances"] == 1 and build(peak_rps=501)["engineInstances"] == 2
    alt_config.validate(test)


def test_more_than_400_engines_is_refused() -> None:
    with pytest.raises(LoadtestError, match="200001 users need 401 engines; Azure Load Testing runs at most 400"):
        build(peak_rps=200_001)


def test_an_endpoint_without_entra_tokens_or_load_is_refused() -> None:
    config, team, endpoint = endpoint_config(ROOT, "dev", "fraud-detection/score")
    with pytest.raises(LoadtestError, match="uses auth_mode AMLToken; the load test engines authenticate"):
        alt_config.testable(config, team, dataclasses.replace(endpoint, auth_mode="AMLToken"))
    with pytest.raises(LoadtestError, match=re.escape("has no `load` section; set load.peak_rps")):
        alt_config.testable(config, team, dataclasses.replace(endpoint, load=None))
    alt_config.testable(config, team, dataclasses.replace(endpoint, load=LoadConfig(10, 5)))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loadtest", "config", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False, env={"PATH": "/usr/bin:/bin"})


def test_the_dev_endpoint_gets_a_self_contained_folder(tmp_path: Path) -> None:
    done = run("dev", "fraud-detection/score", "--subscription-id", SUB, "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    test = yaml.safe_load((tmp_path / "loadtest.yaml").read_text())
    alt_config.validate(test)
    env = {e["name"]: e["value"] for e in test["env"]}
    assert env["SCORING_HOST"].startswith("https://score-fraud-detection-dev-")
    assert env["SCORING_HOST"].endswith(".westeurope.inference.ml.azure.com")
    assert test["referenceIdentities"][0]["value"] == IDENTITY
    assert (tmp_path / "locustfile.py").read_text() == (ROOT / "serving/fraud/locustfile.py").read_text()
    assert (tmp_path / "sample-request.json").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["dev", "fraud-detection/score"], "no subscription: pass --subscription-id or set AZURE_SUBSCRIPTION_ID"),
    (["dev", "fraud-detection/score", "--subscription-id", "my-sub"], "subscription id 'my-sub' is not a GUID"),
    (["prod", "fraud-detection/score", "--subscription-id", SUB],
     "fraud-detection/score takes no public requests in prod (publicNetworkAccess Disabled); pass --subnet-id"),
    (["prod", "fraud-detection/score", "--subscription-id", SUB, "--subnet-id", "snet-loadtest"],
     "--subnet-id 'snet-loadtest' is not a subnet id"),
    (["dev", "fraud-detection/score", "--subscription-id", SUB, "--duration", "0"], "--duration 0: use 1 to 1440"),
])
def test_bad_input_exits_2_with_the_cause(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert message in done.stderr
