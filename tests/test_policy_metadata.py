"""Rule metadata, the environment configs, the catalogue and the coverage of the reference rule sets."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT

from components.config import DEFAULT_ALLOWED_VM_SIZES
from policies.catalogue import PACKS, TARGET, environment_config, render
from policies.lib.coverage import ANCHORS, PROD_EXCEPTIONS
from policies.lib.rules import Rule

RULES: list[Rule] = [rule for rules in PACKS.values() for rule in rules.rules]
BY_NAME = {rule.name: rule for rule in RULES}
ANCHOR_FILE = ROOT / "docs" / "policy-anchors.md"


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_metadata_is_complete(rule: Rule) -> None:
    pack = next(name for name, rules in PACKS.items() if rule in rules.rules)
    assert re.fullmatch(rf"{pack}-[a-z0-9]+(-[a-z0-9]+)+", rule.name), "name is <area>-<resource>-<check>"
    assert rule.severity in ("low", "medium", "high", "critical")
    assert rule.description.endswith(".") and len(rule.description) > 20
    assert len(rule.remediation) > 20
    assert rule.url.startswith("https://")
    for key, schema in rule.config.items():
        assert "default" in schema and schema.get("description"), f"{key} needs a default and a description"
        jsonschema.Draft7Validator({"type": "object", "properties": dict(rule.config)}).validate(rule.defaults())
    assert (rule.resource_types is None) == rule.stack


def test_rule_names_are_unique_across_packs() -> None:
    assert len({r.name for r in RULES}) == len(RULES)


def test_dev_is_advisory_except_critical_rules() -> None:
    for pack, rules in PACKS.items():
        config = environment_config(pack, "dev")
        for rule in rules.rules:
            expected = "mandatory" if rule.severity == "critical" else "advisory"
            assert config[rule.name].enforcement_level == expected, rule.name


def test_prod_is_mandatory_except_the_documented_exceptions() -> None:
    advisory = {rule.name for pack in PACKS for rule in PACKS[pack].rules
                if environment_config(pack, "prod")[rule.name].enforcement_level != "mandatory"}
    assert advisory == set(PROD_EXCEPTIONS)
    assert all(BY_NAME[name].severity != "critical" for name in PROD_EXCEPTIONS)


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_governance_vm_sizes_match_the_platform_config(environment: str) -> None:
    config = environment_config("governance", environment)
    assert config["governance-vmsize-allowed"].properties["allowedVmSizes"] == list(
        DEFAULT_ALLOWED_VM_SIZES[environment])


def test_the_catalogue_is_up_to_date() -> None:
    assert TARGET.read_text() == render(), "docs/policies.md is stale: run python -m policies.catalogue"


def test_every_anchor_row_is_covered() -> None:
    rows = []
    for line in ANCHOR_FILE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 4 and cells[0] not in ("resource", "---"):
            rows.append((cells[0], cells[1]))
    assert len(rows) > 40
    assert set(rows) == set(ANCHORS), "policies/lib/coverage.py must map exactly the rows of policy-anchors.md"
    for row, covered in ANCHORS.items():
        if isinstance(covered, str):
            assert row[0] == "pipeline YAML", "only pipeline files are left out"
        else:
            assert covered and all(name in BY_NAME for name in covered), row


def test_every_rule_appears_in_the_catalogue() -> None:
    text = Path(TARGET).read_text()
    assert all(f"`{rule.name}`" in text for rule in RULES)


def test_pack_defaults_match_the_platform() -> None:
    """The packs cannot import the platform's components (they run outside this repository): their own copies of
    its lists and parsers must give the same answers."""
    from components.config import DEFAULT_ALLOWED_VM_SIZES, REQUIRED_TAGS
    from components.config_reader import parse_iso_duration
    from policies.governance import rules as governance
    from policies.lib import props

    assert governance.REQUIRED_TAGS == REQUIRED_TAGS
    assert DEFAULT_ALLOWED_VM_SIZES["prod"] == governance.ALLOWED_VM_SIZES
    for text in ("PT30M", "P1D", "P1DT2H", "PT90S", "P", "PT", "30M", "P1W", "P1DT", "PT1H30M15S", "", "PT0.5S",
                 "PT1.25S", "PT1.2345S", "PT.5S"):
        assert props.parse_iso_duration(text) == parse_iso_duration(text), text
