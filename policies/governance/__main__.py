"""Policy pack ``mlops-governance``. Run by the Pulumi CLI: ``pulumi preview --policy-pack policies/governance``."""

import sys
from pathlib import Path

# The rules live in the repository's ``policies`` package (shared with the other packs and the tests).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from policies.governance import RULES
from policies.lib.pack import serve

serve(RULES, "Governance rules: tags, regions, VM sizes, node ceilings, autoscale, alerts and budgets.", ["governance"])
