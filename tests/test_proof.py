"""The autoscale proof (``loadtest.proof``): the registered settings of the committed stacks under the load
profiles, the preflight's ``--autoscale-proof`` findings, and the proof failing closed.

The proof reads what the program registers, so these tests evaluate the committed stacks under the mocks and replay
one day (ramp, spike) or a week (diurnal) with the capacity recorded beside the scoring code
(serving/fraud/capacity.json) or given as a number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Records

from loadtest import profiles, proof
from loadtest.errors import LoadtestError
from loadtest.stack import platform_config
from preflight.program import evaluate
from preflight.stack_config import load_stack_config

START = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)  # a Monday


@functools.cache
def records(stack: str) -> Records:
    return Records(evaluate(ROOT, load_stack_config(ROOT, stack)))


def prove(stack: str, **options: Any) -> list[proof.Outcome]:
    config = platform_config(ROOT, stack)
    return proof.prove(ROOT, config, list(records(stack)), proof.ProofOptions(start=START, **options))


def test_every_deployment_is_proven_on_its_registered_setting(stack: str) -> None:
    config = platform_config(ROOT, stack)
    targets = proof.targets(list(records(stack)), config)
    deployments = [d.name for t in config.teams for e in t.endpoints for d in e.deployments]
    assert [t.deployment.name for t in targets] == deployments
    for target in targets:
        [setting] = [r for r in records(stack).of_type(proof.AUTOSCALE_TYPE) if r.urn == target.urn]
        assert target.inputs is setting.inputs  # the registered inputs themselves, not a copy of the rules
        assert setting.inputs["targetResourceUri"].endswith(f"/deployments/{target.deployment.name}")


def test_prod_holds_its_slo_under_every_profile_with_the_recorded_capacity() -> None:
    outcomes = prove("prod")
    assert [(o.target.deployment.name, o.profile, o.verdict.passed) for o in outcomes] == [
        (d, p, True) for d in ("blue", "green") for p in ("ramp", "spike", "diurnal")]
    assert {o.capacity_source for o in outcomes} == {"serving/fraud/capacity.json"}


def test_a_smaller_minimum_misses_the_spike() -> None:
    """Three instances of 300 req/s cannot take a jump from 200 to 1200 req/s during the provisioning of more: the
    proof names the minutes outside the SLO against the budget."""
    outcomes = prove("prod", profiles=("spike",), capacity_rps=250)
    assert not outcomes[0].verdict.passed
    assert "minutes outside the SLO" in outcomes[0].verdict.reasons[0]


def test_an_undersized_maximum_is_a_reason(tmp_path: Path) -> None:
    """dev allows 2 instances; at 100 req/s each the 400 req/s peak cannot be served."""
    [outcome] = prove("dev", profiles=("ramp",), capacity_rps=100)
    assert not outcome.verdict.max_holds_peak
    assert any(r.startswith("the maximum cannot hold the load") for r in outcome.verdict.reasons)


def test_a_file_profile_is_replayed(tmp_path: Path) -> None:
    csv = tmp_path / "load.csv"
    csv.write_text("minute,rps\n" + "".join(f"{m},{50 if m < 60 else 350}\n" for m in range(180)))
    [outcome] = prove("dev", profiles=("file",), profile_file=csv)
    assert len(outcome.result.load_rps) == 180
    assert outcome.result.requested.max() == 2  # 350 req/s on 300-req/s instances: the second one is added


@pytest.mark.parametrize(("rows", "message"), [
    ("0,10\n2,10\n", "row 2: minute 2 does not follow 0"),
    ("0,10\n1,-4\n", "row 2: rate '-4' is not a number of requests per second"),
    ("5,10\n", "the profile starts at minute 5"),
    ("0,10\n1;10\n", "row 2: '1;10' has 1 fields; write `minute,rps`"),
])
def test_a_bad_profile_file_is_refused_with_its_line(tmp_path: Path, rows: str, message: str) -> None:
    csv = tmp_path / "load.csv"
    csv.write_text(rows)
    with pytest.raises(profiles.ProfileError, match=message):
        profiles.from_file(csv, START)


def test_without_a_capacity_the_proof_cannot_run(tmp_path: Path) -> None:
    """A deployment whose code folder has no capacity record fails closed, naming the command that makes one."""
    config = platform_config(ROOT, "dev")
    [target] = proof.targets(list(records("dev")), config)
    moved = dataclasses.replace(target, deployment=dataclasses.replace(
        target.deployment, code=dataclasses.replace(target.deployment.code, path="serving")))
    with pytest.raises(LoadtestError, match=r"no capacity measurement at serving/capacity\.json; run "
                                            r"`python -m loadtest capacity fraud-detection/score --record`"):
        proof.service_model(ROOT, moved, proof.ProofOptions())


def test_an_endpoint_without_expected_load_is_refused() -> None:
    config = platform_config(ROOT, "dev")
    team = dataclasses.replace(config.teams[0], endpoints=tuple(
        dataclasses.replace(e, load=None) for e in config.teams[0].endpoints))
    config = dataclasses.replace(config, teams=(team, *config.teams[1:]))
    with pytest.raises(LoadtestError, match="endpoint fraud-detection/score has no `load` section"):
        proof.prove(ROOT, config, list(records("dev")), proof.ProofOptions(start=START))


def test_the_outputs_are_json_and_charts(tmp_path: Path) -> None:
    outcomes = prove("dev", profiles=("ramp",))
    summary = proof.write(outcomes, tmp_path)
    [row] = json.loads(summary.read_text())
    assert row["deployment"] == "fraud-detection/score/blue" and row["profile"] == "ramp"
    detail = json.loads((tmp_path / "fraud-detection-score-blue-ramp.json").read_text())
    assert len(detail["minutes"]["serving"]) == 1440
    assert (tmp_path / "fraud-detection-score-blue-ramp.png").stat().st_size > 10_000
    assert proof.table(outcomes).splitlines()[2].startswith("| fraud-detection/score/blue | ramp | ")


# --------------------------------------------------------------------------------------------------------------------
# The preflight's --autoscale-proof
# --------------------------------------------------------------------------------------------------------------------


def test_the_preflight_reports_a_failed_proof_as_a_mandatory_finding(preflight: Any, tmp_path: Path) -> None:
    """dev allows one instance at night and two at most: the spike profile misses its SLO (a finding on the
    autoscale setting, in every format); ramp and diurnal hold."""
    run = preflight("dev", "--autoscale-proof", "--format", "all", "--output", str(tmp_path))
    assert run.returncode == 1
    report = json.loads((tmp_path / "preflight.json").read_text())
    found = [f for f in report["findings"] if f["pack"] == "autoscale-proof"]
    assert [f["message"].split(":")[0] for f in found] == ["fraud-detection/score/blue under the spike profile"]
    assert found[0]["level"] == "mandatory" and found[0]["urn"].endswith("::fraud-detection-score-blue-autoscale")
    assert "autoscale-holds-slo" in (tmp_path / "preflight.sarif").read_text()


def test_the_preflight_passes_prod_with_the_proof(preflight: Any) -> None:
    run = preflight("prod", "--autoscale-proof")
    assert run.returncode == 0, run.stdout[-2000:]
    assert "autoscale-proof" not in run.stdout.split("PASSED")[0].split("ADVISORY")[0]


def test_the_preflight_fails_closed_when_the_proof_cannot_run(preflight: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "serving").mkdir(parents=True)
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"):
        (project / name).write_text((ROOT / name).read_text())
    for sub in ("components", "policies", "serving/fraud"):
        (project / sub).symlink_to(ROOT / sub) if sub != "serving/fraud" else None
    fraud = project / "serving" / "fraud"
    fraud.mkdir()
    for item in (ROOT / "serving" / "fraud").iterdir():
        if item.name != "capacity.json" and item.is_file():
            (fraud / item.name).write_text(item.read_text())
    run = preflight("dev", "--dir", str(project), "--autoscale-proof", "--pack", "patching")
    assert run.returncode == 2
    assert "no capacity measurement at serving/fraud/capacity.json" in run.stderr
