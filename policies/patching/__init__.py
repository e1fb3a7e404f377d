"""Patching pack (``mlops-patching``): compute recreated for OS images, clusters able to re-image, pinned and
supported environment images, patched framework versions, AKS upgrade channels, TLS minimums and provider floors.

Every version, age and list comes from the rule's config schema, whose defaults are a starting point to maintain:
a hard-coded "latest" goes stale.
"""

from ..lib.rules import RuleSet

PACK = "mlops-patching"
RULES = RuleSet(PACK)

from . import rules  # noqa: E402,F401 - registers rules
