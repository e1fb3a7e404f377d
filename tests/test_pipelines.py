"""The example pipelines in docs/ci/ are valid and call what this repository provides."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml
from conftest import ROOT

from preflight.render import FORMATS

AZURE = ROOT / "docs" / "ci" / "azure-pipelines.yml"
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
REPORT_FILES = {file_name for file_name, _ in FORMATS.values()}


def _report_files(text: str) -> set[str]:
    return set(re.findall(r"out/(preflight\.[a-z.]+)", text))


def test_azure_pipeline_is_valid_against_the_azure_pipelines_schema() -> None:
    schema = json.loads((ROOT / "tests" / "schemas" / "azure-pipelines-service-schema.json").read_text())
    document = yaml.safe_load(AZURE.read_text())
    jsonschema.Draft7Validator(schema).validate(document)
    # A misspelled task input is rejected by the same schema (the check above can fail).
    broken = json.loads(json.dumps(document))
    publish = next(s for s in broken["jobs"][0]["steps"] if s.get("task") == "PublishTestResults@2")
    publish["inputs"]["testResultFile"] = publish["inputs"].pop("testResultsFiles")
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def test_pipelines_run_the_gate_with_a_baseline_and_publish_the_reports() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^preflight: .*\n\t.*\$\(PREFLIGHT_ARGS\)", makefile, re.M)
    assert re.search(r"^\$\(VENV\)/\.installed:", makefile, re.M)
    for path in (AZURE, GITHUB):
        text = path.read_text()
        assert "make .venv/.installed" in text
        assert re.search(r'make preflight STACK=.*PREFLIGHT_ARGS="--baseline .*/preflight\.json"', text)
        assert "-m preflight" in text and "--format json" in text and "|| test $? -eq 1" in text
        assert _report_files(text) <= REPORT_FILES, path
    assert _report_files(AZURE.read_text()) == {"preflight.junit.xml", "preflight.sarif", "preflight.md"}
    workflow = yaml.safe_load(GITHUB.read_text())
    steps = workflow["jobs"]["preflight"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    sarif = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert sarif["with"]["sarif_file"] == "out/preflight.sarif" and sarif["if"] == "always()"
    assert workflow["permissions"] == {"contents": "read", "security-events": "write", "pull-requests": "write"}
    assert workflow["jobs"]["preflight"]["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert {p.stem.split(".", 1)[1] for p in Path(ROOT).glob("Pulumi.*.yaml")} == {"dev", "prod"}
