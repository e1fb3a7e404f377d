"""The gate evaluates as ``pulumi preview`` does: a resource that does not exist yet has no id and unknown computed
outputs, and every input made from them is unknown. Stack rules must give the same verdict either way."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

from conftest import ROOT, TODAY, Run, insecure_prod_config

from policies import governance, patching, security
from policies.harness import UNKNOWN
from policies.lib.types import ROLE_ASSIGNMENT
from preflight.report import Report
from preflight.run import RunOptions, run
from preflight.stack_config import load_stack_config

STACK_RULES = {r.name for rs in (security.RULES, patching.RULES, governance.RULES) for r in rs.rules if r.stack}


@functools.cache
def evaluated(kind: str, unknowns: str) -> Report:
    config = insecure_prod_config() if kind == "insecure" else load_stack_config(ROOT, kind)
    return run(ROOT, config, RunOptions(as_of=TODAY, unknowns=unknowns))


def test_a_first_preview_has_every_resource_new_and_inputs_from_outputs_unknown() -> None:
    first = evaluated("prod", "all")
    assert first.unknowns == "all" and first.new_resources == len(first.azure_resources) > 100
    grants = [e for e in first.azure_resources if e.type == ROLE_ASSIGNMENT]
    # Every grant to a workload identity goes to one created in the same deployment (people's object ids are
    # config, the deploying pipeline's comes from the client configuration), and most grants are on a resource
    # created there too.
    to_identities = [e for e in grants if e.inputs["principalType"] == "ServicePrincipal" and "deployer" not in e.urn]
    assert any("deployer" in e.urn and e.inputs["principalId"] != UNKNOWN for e in grants)
    assert to_identities and all(e.inputs["principalId"] == UNKNOWN for e in to_identities)
    assert all(e.inputs["principalId"] != UNKNOWN for e in grants if e.inputs["principalType"] == "User")
    assert sum(e.inputs["scope"] == UNKNOWN for e in grants) > len(grants) / 2
    deployed = evaluated("prod", "none")
    assert deployed.new_resources == 0
    assert not any(UNKNOWN in json.dumps(e.inputs) for e in deployed.azure_resources)


def test_stack_rules_give_the_same_verdict_on_a_first_preview_and_after_up() -> None:
    def stack_findings(report: Report) -> list[tuple[str, str, str, bool]]:
        return sorted((f.policy, f.urn, f.message, f.could_not_run) for f in report.findings
                      if f.policy in STACK_RULES)

    for kind in ("insecure", "prod", "dev"):
        first, after = evaluated(kind, "all"), evaluated(kind, "none")
        assert stack_findings(first) == stack_findings(after), kind
        assert not [f for f in first.findings if f.could_not_run], kind
    assert {p for p, *_ in stack_findings(evaluated("insecure", "all"))} >= {"security-stateful-resources-protected"}


def test_the_command_line_evaluates_a_first_preview_unless_told_otherwise(preflight: Callable[..., Run]) -> None:
    result = preflight("dev")
    assert result.returncode == 0, result.stderr
    assert "116 resources as on the first `pulumi preview` of this stack evaluated as new" in result.stdout
    deployed = preflight("dev", "--unknowns", "none")
    assert deployed.returncode == 0, deployed.stderr
    assert "every resource evaluated as deployed (ids known)" in deployed.stdout


def test_with_a_baseline_only_the_resources_it_lacks_are_new(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    base = tmp_path / "base"
    first = preflight("dev", "--unknowns", "none", "--format", "json", "--output", str(base))
    assert first.returncode == 0, first.stderr
    document = json.loads((base / "preflight.json").read_text())
    dropped = [r for r in document["resources"] if r["custom"] and "churn" in r["urn"]]
    assert dropped
    document["resources"] = [r for r in document["resources"] if r not in dropped]
    (base / "preflight.json").write_text(json.dumps(document))
    again = preflight("dev", "--baseline", str(base / "preflight.json"), "--format", "json", "--output",
                      str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    report = json.loads((tmp_path / "again" / "preflight.json").read_text())
    assert report["unknowns"] == "added" and report["new_resources"] == len(dropped)
    new_inputs = {r["urn"]: r["inputs"] for r in report["resources"] if r["urn"] in {d["urn"] for d in dropped}}
    assert any(UNKNOWN in json.dumps(inputs) for inputs in new_inputs.values())


def test_unknowns_added_needs_a_baseline(preflight: Callable[..., Run]) -> None:
    result = preflight("dev", "--unknowns", "added")
    assert result.returncode == 2
    assert "--unknowns added needs --baseline REPORT.json" in result.stderr
