"""Policy pack ``mlops-security``. Run by the Pulumi CLI: ``pulumi preview --policy-pack policies/security``."""

import sys
from pathlib import Path

# The rules live in the repository's ``policies`` package (shared with the other packs and the tests).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from policies.lib.pack import serve
from policies.security import RULES

serve(RULES, "Security rules for the mlops-platform Azure ML environments and their delivery pipelines.", ["security"])
