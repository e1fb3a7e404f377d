"""Building a pack's ``PolicyPack``: what every pack's ``__main__.py`` calls."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.lib.rules import RuleSet


def serve(rules: RuleSet, description: str, tags: list[str]) -> None:
    """Build the pack (which starts the analyzer server and prints its port, as the CLI expects)."""
    PolicyPack(
        rules.pack,
        policies=rules.policies(),
        enforcement_level=EnforcementLevel.ADVISORY,
        description=description,
        provider="azure",
        tags=["azure", "machine-learning", *tags],
    )
