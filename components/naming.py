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
compute instance    3-24     letters, digits, hyphens; starts with a letter; every hyphen followed
                             by a letter later in the name (so never ``-<digits>`` at the end);
                             unique within the Azure region
compute cluster     3-16     the same characters (validated in config; the sources give 2-16,
                             3-24 and 3-32, so the platform keeps to what all of them allow)
==================  =======  ================================================================

Compute names: https://learn.microsoft.com/azure/machine-learning/how-to-create-compute-instance (and
how-to-create-attach-compute-cluster): "If the - character is used, it needs to be followed by at least one letter
later in the name"; the service's error reads "Numbers cannot be the ending of the name if the previous character is
a minus symbol (-)". :func:`compute_name_problem` checks both kinds of compute name.

``generation`` (stack config, default 1) is part of the identity of every name that Azure keeps reserved after a
delete: Key Vaults (purge protection: 90 days), ML workspaces (soft delete: 14 days), and with them the digests of
storage accounts, registries and compute instances. Generation 1 adds nothing, so existing names never change; a
stack re-created after ``pulumi destroy`` takes ``generation: 2`` and gets fresh names (docs/design.md).
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
#: Compute names (instances and clusters): a letter first, then letters, digits and hyphens, and each hyphen followed
#: by a letter later in the name (equivalently: no hyphen, or the part after the last hyphen holds a letter).
_COMPUTE_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9-]*-[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]*)$")
COMPUTE_INSTANCE_LENGTH = (3, 24)
#: Online endpoint names (how-to-manage-quotas, "endpoint name"): a letter first, then letters, digits and hyphens,
#: 3-32 characters, ending in a letter or digit.
ONLINE_ENDPOINT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]$")
ONLINE_ENDPOINT_LENGTH = (3, 32)
COMPUTE_CLUSTER_LENGTH = (3, 16)


def compute_name_problem(name: str, length: tuple[int, int]) -> str | None:
    """Why Azure ML would refuse ``name`` as a compute name of ``length`` (min, max) characters, or ``None``."""
    low, high = length
    if not low <= len(name) <= high:
        return f"is {len(name)} characters long; use {low}-{high}"
    if not _COMPUTE_NAME.match(name):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", name):
            return "must start with a letter and hold only letters, digits and hyphens"
        return ("has a hyphen with no letter after it; Azure ML needs a letter somewhere after every hyphen (a name "
                "cannot end in -<digits>)")
    return None
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
    generation: int = 1
    """Generation of the stack's names (see the module docstring); 1 leaves every name as it always was."""

    def __post_init__(self) -> None:
        if self.generation < 1:
            raise ValueError(f"generation {self.generation} must be 1 or more")
        if not PREFIX_PATTERN.match(self.prefix):
            raise ValueError(f"prefix {self.prefix!r} must be 2-8 lowercase letters and digits, starting with a letter")
        if not SLUG_PATTERN.match(self.workload):
            raise ValueError(f"workload {self.workload!r} must be lowercase words of letters and digits joined by '-'")
        region_code(self.region)  # raises KeyError for an unsupported region

    @property
    def identity(self) -> str:
        """``prefix|workload|environment|region`` (``|g<n>`` from generation 2): what makes the names unique."""
        parts = (self.prefix, self.workload, self.environment, self.region)
        return "|".join(parts if self.generation == 1 else (*parts, f"g{self.generation}"))

    @property
    def _generation(self) -> tuple[str, ...]:
        return () if self.generation == 1 else (f"g{self.generation}",)

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
        return self._dashed("kv", 24, region=False, unique=True)  # the digest carries the generation

    def container_registry(self) -> str:
        return self._compact("cr", 50)

    def ml_workspace(self) -> str:
        return self._dashed("mlw", 33, extra=self._generation)

    def workspace_identity(self) -> str:
        return self._dashed("id", 128)

    def compute_identity(self) -> str:
        return self._dashed("id", 128, extra=("compute",))

    def instance_identity(self) -> str:
        return self._dashed("id", 128, extra=("instance",))

    def action_group(self) -> str:
        return self._dashed("ag", 260)

    def online_endpoint(self, endpoint: str) -> str:
        """Online endpoint names are unique per Azure region (they are the host of the scoring URI,
        ``<name>.<region>.inference.ml.azure.com``): 3-32 characters, a letter first, letters, digits and hyphens
        (``ONLINE_ENDPOINT_NAME``). The name is ``<endpoint>-<team>-<environment>`` with the team shortened to fit,
        ending in a digest of the team identity and endpoint, so two stacks or teams never meet."""
        if not SLUG_PATTERN.match(endpoint):
            raise ValueError(f"endpoint {endpoint!r} must be lowercase words of letters and digits joined by '-'")
        name = _fit([endpoint], self.workload, [self.environment], "-", ONLINE_ENDPOINT_LENGTH[1],
                    digest(self.identity, endpoint, length=5))
        if not ONLINE_ENDPOINT_NAME.match(name) or not ONLINE_ENDPOINT_LENGTH[0] <= len(name) <= \
                ONLINE_ENDPOINT_LENGTH[1]:  # cannot happen with slugs; a fork that changes the rule finds out here
            raise ValueError(f"online endpoint name {name!r} breaks the service's name rule")
        return name

    def endpoint_identity(self, endpoint: str) -> str:
        return self._dashed("id", 128, extra=("ep", endpoint))

    def load_test(self) -> str:
        """Azure Load Testing resource (``Microsoft.LoadTestService/loadTests``): 1-64 characters, none of
        ``<>*&@:?+/\\,;=.|[]"`` or space, not starting with an underscore, hyphen or digit, not ending with an
        underscore or hyphen (learn.microsoft.com/azure/templates/microsoft.loadtestservice/loadtests). The page also
        says the name must be unique across Azure, so it carries the stack's digest."""
        return self._dashed("lt", 64, unique=True)

    def load_test_identity(self) -> str:
        return self._dashed("id", 128, extra=("loadtest",))

    def autoscale_setting(self, endpoint: str, deployment: str) -> str:
        return self._dashed("as", 260, extra=(endpoint, deployment))

    def private_endpoint(self, target: str) -> str:
        return self._dashed("pep", 80, extra=(target,))

    def compute_instance(self, user: str) -> str:
        """Compute instance names are unique per region, so they carry a digest of the team identity and user.

        The digest ends the name after a hyphen, so it must hold a letter (a name may not end in ``-<digits>``). A
        hexadecimal digest of digits only (about one in ten) has its first digit replaced by one of ``g``-``p``,
        letters no hexadecimal digest holds: every other name stays as it was, and no two names can meet."""
        if not SLUG_PATTERN.match(user):
            raise ValueError(f"user {user!r} must be lowercase words of letters and digits joined by '-'")
        suffix = digest(self.identity, user, length=5)
        if suffix.isdigit():
            suffix = "ghijklmnop"[int(suffix[0])] + suffix[1:]
        name = _fit(["ci"], user, [], "-", COMPUTE_INSTANCE_LENGTH[1], suffix)
        problem = compute_name_problem(name, COMPUTE_INSTANCE_LENGTH)
        if problem is not None:  # cannot happen with a slug user; a fork that changes the rule finds out here
            raise ValueError(f"compute instance name {name!r} {problem}")
        return name
