"""Coverage of the anchor rule sets: every anchor id is cited by a rule or has a recorded reason, never both, and
every id a rule cites exists in its source's table (no invented anchors)."""

from __future__ import annotations

import re
from collections import Counter

from policies import governance, patching, security
from policies.lib.coverage import SOURCES, load_anchors

RULES = [r for rs in (security.RULES, patching.RULES, governance.RULES) for r in rs.rules]
TABLES = load_anchors()


def cited(field: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rule in RULES:
        for anchor in getattr(rule.refs, field):
            out.setdefault(anchor, []).append(rule.name)
    return out


def test_anchor_ids_are_unique_per_source() -> None:
    for source, anchors in TABLES.items():
        duplicates = [i for i, n in Counter(a.id for a in anchors).items() if n > 1]
        assert not duplicates, f"{source}: {duplicates}"


def test_every_cited_anchor_exists() -> None:
    for source, (_, field) in SOURCES.items():
        known = {a.id for a in TABLES[source]}
        unknown = {i: rules for i, rules in cited(field).items() if i not in known}
        assert not unknown, f"{source}: cited but not in policies/lib/anchors/{source}.tsv: {unknown}"


def test_every_anchor_is_a_rule_or_a_reason() -> None:
    for source, (_, field) in SOURCES.items():
        by_id = cited(field)
        neither = [a.id for a in TABLES[source] if not a.excluded and a.id not in by_id]
        both = [a.id for a in TABLES[source] if a.excluded and a.id in by_id]
        assert not neither, f"{source}: {len(neither)} anchors with no rule and no reason: {neither[:20]}"
        assert not both, f"{source}: anchors with a rule and a reason: {both}"


def test_config_notes_name_a_setting_of_a_citing_rule() -> None:
    """A ``config:`` note reads "config: met with <setting> ... on <rule>": the rule cites the anchor and has that
    setting, so a platform team can turn it on."""
    by_name = {r.name: r for r in RULES}
    note = re.compile(r"^config: met with (\w+)\b.*? on ([a-z0-9-]+)")
    for source, (_, field) in SOURCES.items():
        by_id = cited(field)
        for anchor in (a for a in TABLES[source] if a.needs_config):
            found = note.match(anchor.reason)
            assert found, f"{source} {anchor.id}: a config note starts 'config: met with <setting> ... on <rule>'"
            key, rule = found.groups()
            assert rule in by_id.get(anchor.id, []), f"{source} {anchor.id}: {rule} does not cite it"
            assert key in by_name[rule].config, f"{source} {anchor.id}: {rule} has no setting {key}"


CATEGORIES = {"deprecated", "runtime", "destination", "not-iac", "out-of-scope", "tenant", "azure-policy", "design",
              "identity", "pipeline-file", "open", "config"}
#: Anchor rules still waiting for the rule planned for them (reason ``open: planned rule ...``). Issue 9 built every
#: planned rule: an anchor found later is a rule or a reason, not a promise.
OPEN_AT_MOST = 0


def test_every_reason_names_its_category() -> None:
    for source, anchors in TABLES.items():
        wrong = [(a.id, a.reason[:40]) for a in anchors if a.reason and a.reason.split(":", 1)[0] not in CATEGORIES]
        assert not wrong, f"{source}: a reason starts with one of {sorted(CATEGORIES)}: {wrong}"
        short = [a.id for a in anchors if a.reason and len(a.reason.split(":", 1)[1].strip()) < 30]
        assert not short, f"{source}: reasons that say too little: {short}"


def test_open_anchor_rules_only_go_down() -> None:
    still_open = [a.id for anchors in TABLES.values() for a in anchors if a.reason.startswith("open:")]
    assert len(still_open) <= OPEN_AT_MOST, still_open
