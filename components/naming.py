"""Cloud Adoption Framework (CAF) resource names that fit each Azure service's length and character rules.

One module owns every Azure name the platform generates, so the rules live in one place and are tested on their own
(``tests/test_naming.py``). Names follow ``<abbreviation>-<prefix>-<workload>-<environment>-<region>``; where a service
forbids hyphens (storage, container registry) the parts are run together. Globally unique names (storage account,
Key Vault, container registry) and names unique per region (compute instances) end in a short digest of the full
identity, so two teams never collide even when their names have to be shortened to fit.

Name rules (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules):

==================  =======  ================================================================
resource            length   characters
==================  =======  ================================================================
resource group      1-90     letters, digits, ``-_.()``; must not end with ``.``
Log Analytics       4-63     letters, digits, hyphens; starts and ends alphanumeric
App Insights        1-260    anything but ``%&\\?/``; must not end with space or ``.``
storage account     3-24     lowercase letters and digits; globally unique
Key Vault           3-24     letters, digits, hyphens; starts with a letter, ends alphanumeric,
                             no ``--``; globally unique
container registry  5-50     letters and digits; globally unique
ML workspace        3-33     letters, digits, hyphens, underscores; starts alphanumeric
managed identity    3-128    letters, digits, hyphens, underscores; starts alphanumeric
private endpoint    2-80     letters, digits, ``-_.``; starts alphanumeric
compute instance    3-24     letters, digits, hyphens; starts with a letter, ends alphanumeric;
                             unique within the Azure region
compute cluster     2-16     letters, digits, hyphens; starts with a letter (validated in config)
==================  =======  ================================================================
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from components.regions import region_code

#: Lowercase letters and digits, starting with a letter; 2 to 8 characters (fits every compact name).
PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,7}$")
#: Lowercase words of letters and digits joined by single hyphens, starting with a letter.
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
#: Length of the digest appended to globally unique names.
DIGEST_LENGTH = 4
#: Namespace for deterministic role assignment names (role assignment names must be GUIDs).
_ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("6f1c8a52-3e0b-4d55-9a7c-2b8f0e4d7a91")


def digest(*parts: str, length: int = DIGEST_LENGTH) -> str:
    """A short, stable, lowercase hexadecimal digest of ``parts``."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:length]


def role_assignment_name(*parts: str) -> str:
    """A deterministic GUID for a role assignment, from logical (known-at-plan-time) parts."""
    return str(uuid.uuid5(_ROLE_ASSIGNMENT_NAMESPACE, "|".join(parts)))


def _fit(head: list[str], workload: str, tail: list[str], sep: str, max_len: int, unique: str | None) -> str:
    """Join ``head + [workload] + tail`` with ``sep``, shortening only ``workload`` to fit ``max_len``.

    ``unique`` (a digest) is appended when given, and is also appended whenever the workload had to be shortened, so
    that two long names sharing a beginning still differ.
    """

    def join(w: str, suffix: str | None) -> str:
        parts = [*head, w, *tail] + ([suffix] if suffix else [])
        return sep.join(p for p in parts if p)

    name = join(workload, unique)
    if len(name) <= max_len:
        return name
    suffix = unique or digest(workload)
    fixed = len(join("", suffix)) + len(sep)
    budget = max_len - fixed
    if budget < 1:
        raise ValueError(f"cannot fit a name for {workload!r} into {max_len} characters")
    short = workload[:budget].rstrip("-")
    return join(short, suffix)


@dataclass(frozen=True)
class Namer:
    """Generates the Azure names for one workload (a team, or ``shared``) in one environment and region."""

    prefix: str
    """Organisation or platform prefix, 2-8 lowercase letters and digits (``PREFIX_PATTERN``)."""
    workload: str
    """The workload (team) slug: lowercase words joined by single hyphens (``SLUG_PATTERN``)."""
    environment: str
    """``dev`` or ``prod``."""
    region: str
    """Azure region (ARM location name), one of ``components.regions.REGION_CODES``."""

    def __post_init__(self) -> None:
        if not PREFIX_PATTERN.match(self.prefix):
            raise ValueError(f"prefix {self.prefix!r} must be 2-8 lowercase letters and digits, starting with a letter")
        if not SLUG_PATTERN.match(self.workload):
            raise ValueError(f"workload {self.workload!r} must be lowercase words of letters and digits joined by '-'")
        region_code(self.region)  # raises KeyError for an unsupported region

    @property
    def identity(self) -> str:
        """``prefix|workload|environment|region``: what makes this workload's names unique."""
        return "|".join((self.prefix, self.workload, self.environment, self.region))

    @property
    def _unique(self) -> str:
        return digest(self.identity)

    def _dashed(self, abbr: str, max_len: int, *, extra: tuple[str, ...] = (), region: bool = True,
                unique: bool = False) -> str:
        tail = [*extra, self.environment] + ([region_code(self.region)] if region else [])
        return _fit([abbr, self.prefix], self.workload, tail, "-", max_len, self._unique if unique else None)

    def _compact(self, abbr: str, max_len: int) -> str:
        return _fit([abbr, self.prefix], self.workload.replace("-", ""), [self.environment], "", max_len,
                    self._unique)

    def resource_group(self) -> str:
        return self._dashed("rg", 90)

    def log_analytics(self) -> str:
        return self._dashed("log", 63)

    def application_insights(self) -> str:
        return self._dashed("appi", 260)

    def storage_account(self) -> str:
        return self._compact("st", 24)

    def key_vault(self) -> str:
        return self._dashed("kv", 24, region=False, unique=True)

    def container_registry(self) -> str:
        return self._compact("cr", 50)

    def ml_workspace(self) -> str:
        return self._dashed("mlw", 33)

    def workspace_identity(self) -> str:
        return self._dashed("id", 128)

    def compute_identity(self) -> str:
        return self._dashed("id", 128, extra=("compute",))

    def action_group(self) -> str:
        return self._dashed("ag", 260)

    def private_endpoint(self, target: str) -> str:
        return self._dashed("pep", 80, extra=(target,))

    def compute_instance(self, user: str) -> str:
        """Compute instance names are unique per region, so they carry a digest of the team identity and user."""
        if not SLUG_PATTERN.match(user):
            raise ValueError(f"user {user!r} must be lowercase words of letters and digits joined by '-'")
        return _fit(["ci"], user, [], "-", 24, digest(self.identity, user, length=5))
