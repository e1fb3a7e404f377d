"""The preflight's reports: every format checked against its schema or parser, the JSON round trip, baseline mode,
and that secrets reach no output."""

from __future__ import annotations

import dataclasses
import functools
import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT, TODAY, insecure_prod_config

from policies import governance, patching, security
from policies.harness import Violation
from preflight import api_contract, render
from preflight.analysis import PackResult, PolicyMeta
from preflight.mocks import ResourceRecord
from preflight.report import (
    SCHEMA,
    Finding,
    PackSummary,
    Report,
    ReportError,
    ResourceEntry,
    compare,
    entries,
    findings,
    load_baseline,
)
from preflight.run import RunOptions, run
from preflight.stack_config import SECRET_PLACEHOLDER, load_stack_config

SCHEMAS = ROOT / "tests" / "schemas"
@functools.cache
def report(kind: str) -> Report:
    config = insecure_prod_config() if kind == "insecure" else load_stack_config(ROOT, kind)
    return run(ROOT, config, RunOptions(as_of=TODAY))


def sarif_schema() -> dict[str, object]:
    return dict(json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text()))


# -- SARIF -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dev", "insecure"])
def test_sarif_is_valid_sarif_2_1_0(kind: str) -> None:
    document = json.loads(render.sarif(report(kind), ROOT))
    jsonschema.Draft4Validator(sarif_schema()).validate(document)
    run_ = document["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    packs = sum(len(rs.rules) for rs in (security.RULES, patching.RULES, governance.RULES))
    assert len(rules) == report(kind).policy_count == packs + len(api_contract.RULES)  # the packs and the contract
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_levels_and_locations_point_at_the_source() -> None:
    rep = report("insecure")
    document = json.loads(render.sarif(rep, ROOT))
    results = document["runs"][0]["results"]
    assert Counter(r["level"] for r in results) == Counter(
        "error" if f.level == "mandatory" else "warning" for f in rep.findings)
    assert document["runs"][0]["invocations"][0]["exitCode"] == 1
    located = 0
    for result in results:
        physical = result["locations"][0]["physicalLocation"]
        path = ROOT / physical["artifactLocation"]["uri"]
        line = physical["region"]["startLine"]
        assert path.is_file(), path
        text = path.read_text().splitlines()
        assert 1 <= line <= len(text)
        if path.suffix == ".py":
            located += 1
            # The SDK's source position is the line constructing the resource (a call with its logical name).
            urn = result["properties"]["urn"]
            resource_type = urn.split("::")[2].rsplit("$", 1)[-1].rsplit(":", 1)[-1]
            assert f"{resource_type}(" in text[line - 1], (urn, path, line)
    assert located > 0
    # A finding on a team's resource also points at the team's entry in the stack file.
    related = [r for r in results if "relatedLocations" in r]
    assert related
    stack_lines = (ROOT / "Pulumi.prod.yaml").read_text().splitlines()
    for result in related:
        line = result["relatedLocations"][0]["physicalLocation"]["region"]["startLine"]
        assert stack_lines[line - 1].strip().startswith("- name: ")


# -- JUnit -----------------------------------------------------------------------------------------------------------


def test_junit_has_one_case_per_rule_and_resource() -> None:
    rep = report("insecure")
    root = ET.fromstring(render.junit(rep))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["mlops-security", "mlops-patching", "mlops-governance",
                                               "azure-api-contract"]
    cases = root.findall("testsuite/testcase")
    assert int(root.get("tests", "0")) == len(cases) == sum(int(s.get("tests", "0")) for s in suites)
    pairs = Counter((c.get("classname"), c.get("name")) for c in cases)
    assert max(pairs.values()) == 1, "a rule and resource appear twice"
    failed = [c for c in cases if c.find("failure") is not None]
    assert int(root.get("failures", "0")) == len(failed)
    # Every rule/resource pair with a finding is a failing case of the right type, and no other case fails.
    expected = {(f"{f.pack}.{f.policy}", rep.by_urn[f.urn].label if f.urn in rep.by_urn else "stack")
                for f in rep.findings if not f.could_not_run}
    assert {(c.get("classname"), c.get("name")) for c in failed} == expected
    storage = [c for c in cases if c.get("classname") == "mlops-security.security-storage-https-only"]
    assert len(storage) == sum(1 for r in rep.azure_resources if r.type == "azure-native:storage:StorageAccount")
    mandatory = [c for c in failed if c.find("failure").get("type") == "mandatory"]  # type: ignore[union-attr]
    assert len(mandatory) == len({(f.policy, f.urn) for f in rep.findings if f.level == "mandatory"})


# -- JSON ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dev", "insecure"])
def test_json_round_trips(kind: str) -> None:
    rep = report(kind)
    text = rep.to_json()
    again = Report.from_json(text)
    assert again == rep
    assert again.to_json() == text
    assert json.loads(text)["schema"] == SCHEMA


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not JSON"),
    ('{"schema": "something-else"}', "not a preflight JSON report (schema 'something-else'"),
    (json.dumps({"schema": SCHEMA, "project": "p"}), "report: the field 'stack' is missing"),
])
def test_unreadable_baseline_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "base.json"
    path.write_text(text)
    with pytest.raises(ReportError, match=f"baseline {path}: " + message.replace("(", r"\(")):
        load_baseline(path)
    with pytest.raises(ReportError, match="cannot read baseline"):
        load_baseline(tmp_path / "missing.json")


# -- Markdown and terminal -------------------------------------------------------------------------------------------


def test_markdown_summarizes_and_draws_the_component_tree() -> None:
    rep = report("insecure")
    text = render.markdown(rep)
    assert text.startswith("## :x: Preflight `mlops-platform/prod`: BLOCKED: ")
    assert "| pack | severity | mandatory | advisory |" in text
    assert "### Mandatory (" in text
    # Each rule's fix is given once however many resources it flags.
    flagged = Counter(f.policy for f in rep.findings if f.level == "mandatory")
    policy, times = flagged.most_common(1)[0]
    fix = rep.policy("mlops-security", policy) or rep.policy("mlops-governance", policy) \
        or rep.policy("mlops-patching", policy)
    assert fix is not None and times > 1
    assert text.count(fix.remediation.replace("|", "\\|")) == 1
    mermaid = text.split("```mermaid\n", 1)[1].split("```", 1)[0].splitlines()
    assert mermaid[0] == "flowchart LR"
    nodes = [line for line in mermaid if '["' in line]
    edges = [line for line in mermaid if "-->" in line]
    assert len(nodes) == len(rep.components) and len(edges) == len(rep.components) - 1
    assert any("Workspace: fraud-detection" in n for n in nodes)


def test_markdown_stays_within_a_pull_request_comment() -> None:
    rep = report("insecure")
    many = tuple(dataclasses.replace(rep.findings[0], message=f"finding {i} " + "x" * 80) for i in range(3000))
    text = render.markdown(dataclasses.replace(rep, findings=many))
    assert len(text) <= render.MARKDOWN_LIMIT + 200
    assert "The comment was shortened" in text


def test_terminal_verdicts() -> None:
    assert render.terminal(report("dev")).endswith("PASSED: no mandatory violation")
    blocked = render.terminal(report("insecure"))
    count = len(report("insecure").blocking)
    assert blocked.endswith(f"BLOCKED: {count} mandatory violations")
    assert "MANDATORY (" in blocked


# -- baseline --------------------------------------------------------------------------------------------------------


def _resource(name: str, **inputs: object) -> ResourceEntry:
    return ResourceEntry(urn=f"urn:pulumi:dev::p::t:m:T::{name}", type="t:m:T", name=name, custom=True, parent="",
                         inputs=dict(inputs))


def _finding(name: str, message: str, level: str = "mandatory", policy: str = "rule-a") -> Finding:
    return Finding(pack="pack", policy=policy, level=level, severity="high", description="d", message=message,
                   urn=f"urn:pulumi:dev::p::t:m:T::{name}")


def _report(resources: list[ResourceEntry], found: list[Finding]) -> Report:
    pack = PackSummary("mlops-x", "x", "0.2.0", "policies/x/config/dev.json", ())
    return Report(project="p", stack="dev", environment="dev", stack_file="Pulumi.dev.yaml",
                  resources=tuple(resources), packs=(pack,), findings=tuple(found))


@pytest.mark.parametrize(("path", "value", "message"), [
    (("findings",), "abc", "report.findings: expected a list, found str"),
    (("findings", 0, "level"), ["mandatory"], "report.findings[0].level: expected str, found list"),
    (("findings", 0, "could_not_run"), "no", "report.findings[0].could_not_run: expected bool, found str"),
    (("resources", 0, "aliases"), True, "report.resources[0].aliases: expected int, found bool"),
    (("resources", 0, "inputs"), [], "report.resources[0].inputs: expected an object, found list"),
    (("packs", 0, "policies", 0), "x", "report.packs[0].policies[0]: expected an object, found str"),
    (("timings", "total_seconds"), "1", "report.timings.total_seconds: expected float, found str"),
    (("team_lines", "churn"), "3", "report.team_lines.churn: expected int, found str"),
])
def test_baseline_with_wrong_inner_types_is_refused(tmp_path: Path, path: tuple[str | int, ...], value: object,
                                                    message: str) -> None:
    data = json.loads(report("insecure").to_json())
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    (tmp_path / "base.json").write_text(json.dumps(data))
    with pytest.raises(ReportError) as caught:
        load_baseline(tmp_path / "base.json")
    assert str(caught.value) == f"baseline {tmp_path / 'base.json'}: {message}"


def test_baseline_marks_new_and_existing_and_fails_only_on_new() -> None:
    base = _report([_resource("a", size=1), _resource("b", size=1, tags={"x": "1"}), _resource("gone")],
                   [_finding("a", "too big"), _finding("b", "size is 1"), _finding("gone", "old problem")])
    now = _report([_resource("a", size=1), _resource("b", size=2, tags={"x": "2"}), _resource("c")],
                  [_finding("a", "too big"), _finding("b", "size is 2"), _finding("c", "fresh problem")])
    result = compare(now, base, "base.json")
    states = {(f.urn.rsplit("::", 1)[-1], f.message): f.state for f in result.findings}
    # Same rule and resource with a changed message is still the existing problem.
    assert states == {("a", "too big"): "existing", ("b", "size is 2"): "existing", ("c", "fresh problem"): "new"}
    assert [f.urn.rsplit("::", 1)[-1] for f in result.blocking] == ["c"]
    assert result.exit_code == 1
    c = result.comparison
    assert c is not None
    assert c.added == ("urn:pulumi:dev::p::t:m:T::c",) and c.removed == ("urn:pulumi:dev::p::t:m:T::gone",)
    assert [(ch.urn.rsplit("::", 1)[-1], ch.keys) for ch in c.changed] == [("b", ("size", "tags.x"))]
    assert [f.message for f in c.fixed] == ["old problem"]

    only_existing = compare(_report(list(now.resources), [_finding("a", "too big")]), base, "base.json")
    assert only_existing.exit_code == 0 and not only_existing.blocking


def test_baseline_lists_changed_options() -> None:
    base = _report([_resource("a", size=1)], [])
    now = _report([dataclasses.replace(_resource("a", size=1), protect=True)], [])
    assert compare(now, base, "b").comparison.changed[0].keys == ("(protect)",)  # type: ignore[union-attr]


def test_baseline_of_another_stack_is_refused() -> None:
    other = dataclasses.replace(_report([], []), stack="prod")
    with pytest.raises(ReportError, match="the baseline is for p/prod, this run for p/dev; compare runs of the same"):
        compare(_report([], []), other, "b")


def test_baseline_from_the_same_run_has_nothing_new() -> None:
    rep = report("insecure")
    same = compare(rep, Report.from_json(rep.to_json()), "self")
    assert rep.exit_code == 1 and same.exit_code == 0
    assert {f.state for f in same.findings} == {"existing"}
    assert same.comparison is not None and not (same.comparison.added or same.comparison.removed
                                                or same.comparison.changed or same.comparison.fixed)


# -- secrets ---------------------------------------------------------------------------------------------------------

SECRET = "s3cr3t-Value-hunter2"


def _secret_report() -> Report:
    wrapped = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": SECRET}
    record = ResourceRecord(
        urn="urn:pulumi:dev::p::azure-native:web:WebApp::app", type="azure-native:web:WebApp", name="app",
        custom=True, parent="", inputs={"siteConfig": {"appSettings": [{"name": "TOKEN", "value": wrapped}]}},
        dependencies=[], property_dependencies={}, provider="", version="3.29.0", protect=False,
        retain_on_delete=False, delete_before_replace=False, ignore_changes=[], replace_on_changes=[], aliases=[],
    )
    violation = Violation(pack="mlops-security", policy="security-x", level="mandatory", severity="high",
                          description="No secrets in app settings.", message=f"TOKEN is set to {SECRET}",
                          urn=record.urn)
    meta = PolicyMeta(name="security-x", description="No secrets in app settings.", severity="high",
                      level="mandatory", remediation="Use Key Vault references.", url="https://example.com",
                      tags=(), framework="", stack=False, resource_types=("azure-native:web:WebApp",))
    secrets: set[str] = set()
    resources = entries([record], ROOT, secrets)
    result = PackResult("mlops-security", "security", "0.1", "", [meta], [violation])
    from preflight.report import PackSummary
    return Report(project="p", stack="dev", environment="dev", stack_file="Pulumi.dev.yaml",
                  resources=tuple(resources), findings=tuple(findings([result], secrets)),
                  packs=(PackSummary("mlops-security", "security", "0.1", "", (meta,)),))


@pytest.mark.parametrize("name", sorted(render.FORMATS))
def test_secret_values_reach_no_format(name: str) -> None:
    rep = _secret_report()
    text = render.FORMATS[name][1](rep, ROOT)
    assert SECRET not in text
    assert SECRET_PLACEHOLDER in text or name in ("markdown", "terminal", "junit")
    assert rep.findings[0].message == f"TOKEN is set to {SECRET_PLACEHOLDER}"
    assert rep.resources[0].inputs["siteConfig"]["appSettings"][0]["value"] == SECRET_PLACEHOLDER


def test_baseline_changes_show_in_every_human_format() -> None:
    rep = report("insecure")
    dropped = rep.azure_resources[-1]
    fixed = rep.findings[-1]
    baseline = dataclasses.replace(
        rep, resources=tuple(r for r in rep.resources if r.urn != dropped.urn),
        findings=(*rep.findings, dataclasses.replace(fixed, policy="security-retired-rule")))
    compared = compare(rep, baseline, "main.json")
    assert compared.comparison is not None and compared.comparison.added == (dropped.urn,)
    markdown = render.markdown(compared)
    assert "Against the baseline (`main.json`): resources added **1**, removed **0**, changed **0**" in markdown
    assert "<summary><b>Added (1)</b></summary>" in markdown and f"- `{dropped.urn}`" in markdown
    assert "<summary><b>Fixed findings (1)</b></summary>" in markdown and "**security-retired-rule**" in markdown
    terminal = render.terminal(compared)
    assert "Against baseline main.json: 1 added, 0 removed, 0 changed resources; 1 finding fixed" in terminal
    assert f"  + {dropped.urn}" in terminal
    sarif = json.loads(render.sarif(compared, ROOT))
    jsonschema.Draft4Validator(sarif_schema()).validate(sarif)
    states = Counter(r.get("baselineState") for r in sarif["runs"][0]["results"])
    assert states["absent"] == 1 and states["new"] + states["unchanged"] == len(compared.findings)
