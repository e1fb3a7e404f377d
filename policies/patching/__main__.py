"""Policy pack ``mlops-patching``. Run by the Pulumi CLI: ``pulumi preview --policy-pack policies/patching``."""

import sys
from pathlib import Path

# The rules live in the repository's ``policies`` package (shared with the other packs and the tests).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from policies.lib.pack import serve
from policies.patching import RULES

serve(RULES, "Patching rules: OS images, framework versions, upgrade channels, TLS and provider floors.", ["patching"])
