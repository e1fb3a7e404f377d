"""Security pack (``mlops-security``): network exposure, encryption, authentication, identities and roles, secrets,
logging, data protection, online endpoints and Azure DevOps delivery settings.

Importing this package registers every rule in ``RULES``; the assembled pack's ``__main__.py`` (``policies.build``)
only serves it.
"""

from ..lib.rules import RuleSet

PACK = "mlops-security"
RULES = RuleSet(PACK)

from . import devops, identity, keyvault, ml, monitoring, network, registry, storage  # noqa: E402,F401 - registers rules
