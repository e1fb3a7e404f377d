"""Policy pack ``mlops-security``. Run by the Pulumi CLI: ``pulumi preview --policy-pack policies/security``."""

import sys
from pathlib import Path

# The rules live in the repository's ``policies`` package (shared with the other packs and the tests).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.security import PACK, RULES

PolicyPack(
    PACK,
    policies=RULES.policies(),
    enforcement_level=EnforcementLevel.ADVISORY,
    description="Security rules for the mlops-platform Azure ML environments and their delivery pipelines.",
    provider="azure",
    tags=["azure", "machine-learning", "security"],
)
