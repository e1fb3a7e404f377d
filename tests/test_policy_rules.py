"""Every rule, compliant and violating, through the real analyzer protocol (each pack runs as its own process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from policy_cases import AS_OF, GOOD, PHASES, Case, all_cases, as_engine_sends, good

from policies import governance, patching, security
from policies.harness import UNKNOWN, PolicyPackProcess, Resource, Violation
from policies.lib.rules import Rule

RULESETS = {"security": security.RULES, "patching": patching.RULES, "governance": governance.RULES}
RULES: dict[str, Rule] = {r.name: r for rs in RULESETS.values() for r in rs.rules}
#: Applied to every run so that no case depends on today's date.
BASE_CONFIG = {"patching-mlinstance-recreated-recently": {"asOf": AS_OF}}
CASES = all_cases()
#: Resource cases once; stack cases in every phase (first preview, after up, ids without the graph).
RUNS = [(case, phase) for case in CASES for phase in (case.phases if case.stack else ("",))]


@pytest.fixture(scope="module")
def packs(pack_dirs: dict[str, Path]) -> Iterator[dict[str, PolicyPackProcess]]:
    started = {name: PolicyPackProcess(pack_dirs[name]) for name in RULESETS}
    try:
        yield started
    finally:
        for pack in started.values():
            pack.close()


def run(pack: PolicyPackProcess, case: Case, phase: str = "") -> list[Violation]:
    config: dict[str, Any] = {k: v for k, v in BASE_CONFIG.items() if k in {p.name for p in pack.policies()}}
    if case.config:
        config[case.rule] = {**config.get(case.rule, {}), **case.config}
    pack.configure(config)
    if case.stack:
        return pack.analyze_stack(as_engine_sends(case.resources, phase))
    return [v for resource in case.resources for v in pack.analyze(resource)]


@pytest.mark.parametrize(("case", "phase"), RUNS, ids=[f"{c.id}:{p}" if p else c.id for c, p in RUNS])
def test_rule_case(packs: dict[str, PolicyPackProcess], case: Case, phase: str) -> None:
    """Stack rules report the same on a first preview (ids and computed outputs unknown), after up and from ids
    alone, and never say they could not run."""
    rule = RULES[case.rule]
    found = [v for v in run(packs[case.pack], case, phase) if v.policy == case.rule]
    assert [v.message for v in found] == list(case.messages)
    for violation in found:
        assert violation.pack == f"mlops-{case.pack}"
        # Without a config file, critical rules stop a deployment and all others advise.
        assert violation.level == ("mandatory" if rule.severity == "critical" else "advisory")
        assert violation.severity == rule.severity
        assert violation.description == rule.description
        assert not violation.could_not_run


def test_every_rule_has_a_compliant_and_a_violating_case() -> None:
    compliant = {c.rule for c in CASES if not c.messages}
    violating = {c.rule for c in CASES if c.messages}
    assert set(RULES) - compliant == set(), "rules without a compliant case"
    assert set(RULES) - violating == set(), "rules without a violating case"
    assert {c.rule for c in CASES} <= set(RULES), "cases for rules that do not exist"


def test_every_stack_rule_is_tested_with_unknown_and_with_known_ids() -> None:
    """A first preview (every id and computed output unknown) and after up (ids known), compliant and violating."""
    stack_rules = {r.name for r in RULES.values() if r.stack}
    for rule in stack_rules:
        for phase in PHASES:
            kinds = {bool(c.messages) for c in CASES if c.rule == rule and phase in c.phases}
            missing = "violating" if True not in kinds else "compliant"
            assert kinds == {True, False}, f"{rule}: no {missing} case in {phase}"


def test_the_compliant_resources_pass_every_rule_of_every_pack(packs: dict[str, PolicyPackProcess]) -> None:
    for name, pack in packs.items():
        pack.configure({k: v for k, v in BASE_CONFIG.items() if k in {p.name for p in pack.policies()}})
        for kind in GOOD:
            assert pack.analyze(good(kind)) == [], f"{name}: {kind}"


def test_rule_counts() -> None:
    counts = {name: len(rs.rules) for name, rs in RULESETS.items()}
    assert counts == {"security": 89, "patching": 13, "governance": 23}
    assert sum(counts.values()) >= 60


def test_no_rule_crashes_on_values_unknown_during_preview(packs: dict[str, PolicyPackProcess]) -> None:
    """Every input of every resource unknown (as in a preview of new resources): rules report what they could not
    check, and never fail the analyzer call."""
    unknown = [Resource(r.type, r.name, {key: UNKNOWN for key in r.properties}) for r in map(good, GOOD)]
    nested = [Resource(r.type, r.name, {key: ({k: UNKNOWN for k in v} if isinstance(v, dict) else UNKNOWN)
                                        for key, v in r.properties.items()}) for r in map(good, GOOD)]
    for name, pack in packs.items():
        pack.configure({k: v for k, v in BASE_CONFIG.items() if k in {p.name for p in pack.policies()}})
        for resource in unknown + nested:
            for violation in pack.analyze(resource):
                assert violation.could_not_run or violation.message, (name, resource.type, violation)
        stack_violations = pack.analyze_stack(unknown)
        assert all(v.could_not_run or v.message for v in stack_violations)
    could_not_run = {v.policy for r in unknown for v in packs["security"].analyze(r) if v.could_not_run}
    assert "security-storage-https-only" in could_not_run
