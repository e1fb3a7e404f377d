"""Serving a pack: what every assembled pack's ``__main__.py`` calls."""

from __future__ import annotations

from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

from . import servicer
from .manifest import read_manifest
from .rules import RuleSet


def serve(rules: RuleSet, pack_dir: Path) -> None:
    """Build the pack (which starts the analyzer server and prints its port, as the CLI expects).

    The description and version come from the pack's ``PulumiPolicy.yaml``, so every diagnostic names the version
    the CLI reports and publishes. The server answers with :class:`policies.lib.servicer.FastAnalyzer` (same answers,
    each resource deserialized once, rules only called for their resource types, a rule that raises reported by name)
    unless ``MLOPS_POLICY_SERVICER=upstream``.
    """
    manifest = read_manifest(pack_dir)
    servicer.install({rule.name: rule.resource_types for rule in rules.rules if rule.resource_types is not None})
    servicer.pin_version(manifest.version)
    servicer.start_watchdog()
    PolicyPack(
        rules.pack,
        policies=rules.policies(),
        enforcement_level=EnforcementLevel.ADVISORY,
        description=manifest.description,
        provider="azure",
        tags=["azure", "machine-learning", rules.pack.removeprefix("mlops-")],
    )
