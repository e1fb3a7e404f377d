"""Governance pack (``mlops-governance``): tags, regions, VM sizes, node ceilings, low priority and idle shutdown,
sane autoscale settings, alerts on every endpoint and cluster, and a budget per environment."""

from ..lib.rules import RuleSet

PACK = "mlops-governance"
RULES = RuleSet(PACK)

from . import rules  # noqa: E402,F401 - registers rules
