"""Security pack (``mlops-security``): network exposure, encryption, authentication, identities and roles, secrets,
logging, data protection, online endpoints and Azure DevOps delivery settings.

Importing this package registers every rule in ``RULES``; the pack's ``__main__.py`` only builds the ``PolicyPack``.
"""

from policies.lib.rules import RuleSet

PACK = "mlops-security"
RULES = RuleSet(PACK)

from policies.security import data, devops, identity, ml, monitoring, registry  # noqa: E402,F401 - registers rules
