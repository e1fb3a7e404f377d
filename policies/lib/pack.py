"""Building a pack's ``PolicyPack``: what every pack's ``__main__.py`` calls."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.lib import servicer
from policies.lib.rules import RuleSet


def serve(rules: RuleSet, description: str, tags: list[str]) -> None:
    """Build the pack (which starts the analyzer server and prints its port, as the CLI expects).

    The server answers with :class:`policies.lib.servicer.FastAnalyzer` (same answers, each resource deserialized
    once, rules only called for their resource types) unless ``MLOPS_POLICY_SERVICER=upstream``.
    """
    servicer.install({rule.name: rule.resource_types for rule in rules.rules if rule.resource_types is not None})
    PolicyPack(
        rules.pack,
        policies=rules.policies(),
        enforcement_level=EnforcementLevel.ADVISORY,
        description=description,
        provider="azure",
        tags=["azure", "machine-learning", *tags],
    )
