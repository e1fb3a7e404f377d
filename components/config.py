"""The typed model of the stack configuration, and its validation.

``parse_config`` turns the raw configuration of a stack (the strings the Pulumi CLI hands a program, with structured
values as JSON) into a frozen :class:`PlatformConfig`, or raises :class:`ConfigError` listing every problem found. It
runs before a single resource is registered. Each message names the key path, the value given and what is allowed, for
example ``mlops-platform:teams[1].clusters[0].max_nodes: 0 is not allowed; use a whole number of at least 1``.

``from_pulumi`` reads the running program's configuration (the only place besides ``__main__.py`` that reads it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.config_reader import (
    PROJECT,
    ConfigError,
    Reader,
    collect,
    items,
    show,
)
from components.naming import COMPUTE_CLUSTER_LENGTH, PREFIX_PATTERN, SLUG_PATTERN, Namer, compute_name_problem
from components.regions import REGION_CODES
from components.serving_config import MANAGED_ONLINE_SKUS, PROJECT_ROOT, EndpointConfig, parse_endpoints

ENVIRONMENTS = ("dev", "prod")
ISOLATION_MODES = ("AllowInternetOutbound", "AllowOnlyApprovedOutbound")
#: Who runs ``pulumi up``: a pipeline's service principal (or managed identity), or a person (``az login``).
DEPLOYER_PRINCIPAL_TYPES = ("ServicePrincipal", "User")
VM_PRIORITIES = ("Dedicated", "LowPriority")
OUTBOUND_RULE_TYPES = ("fqdn", "service_tag")
DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
REQUIRED_TAGS = ("owner", "cost-center", "data-classification")
#: Team names used by the platform itself.
RESERVED_TEAM_NAMES = ("shared",)
MAX_TEAM_NAME = 24
MAX_USER_NAME = 32

#: VM sizes each environment allows unless the stack sets ``allowed_vm_sizes``.
DEFAULT_ALLOWED_VM_SIZES: Mapping[str, tuple[str, ...]] = {
    "dev": (
        "Standard_DS2_v2", "Standard_DS3_v2", "Standard_D2s_v3", "Standard_D4s_v3", "Standard_E4s_v3",
        "Standard_NC4as_T4_v3",
    ),
    "prod": (
        "Standard_DS2_v2", "Standard_DS3_v2", "Standard_DS4_v2", "Standard_D2s_v3", "Standard_D4s_v3",
        "Standard_D8s_v3", "Standard_D16s_v3", "Standard_E4s_v3", "Standard_E8s_v3", "Standard_E16s_v3",
        "Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC6s_v3", "Standard_NC24ads_A100_v4",
    ),
}

#: Idle shutdown of compute instances: Azure accepts 15 minutes to 3 days.
IDLE_SHUTDOWN_RANGE = (dt.timedelta(minutes=15), dt.timedelta(days=3))
#: Idle scale-down of compute clusters (AmlCompute ``nodeIdleTimeBeforeScaleDown``); the Azure default is 120 s.
IDLE_SCALE_DOWN_RANGE = (dt.timedelta(minutes=1), dt.timedelta(days=1))
LOG_RETENTION_RANGE = (30, 730)

#: Config keys (any namespace, at any depth: tags and nested objects too) whose name looks like a credential must be
#: set with ``--secret``. ``sas`` counts only as a word of its own (``sas-token``, not ``kansas``).
SECRET_NAME_PATTERN = re.compile(
    r"(secret|password|passwd|token|connection_?string|access_?key|api_?key|credential|private_?key"
    r"|(^|[^a-z])sas([^a-z]|$))", re.I
)
#: ...unless the name says it holds a location or a flag rather than the credential (``oidcTokenFilePath``).
NOT_SECRET_SUFFIX = re.compile(r"(path|file|url|uri|expiry|enabled|disabled)$", re.I)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CRON_FIELD = re.compile(r"^[0-9*,/-]+$")
_FQDN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SERVICE_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)?$")
_TAG_KEY_FORBIDDEN = set('<>%&\\?/')
_PRIVATE_DNS_ZONE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/privateDnsZones/(?P<zone>[^/]+)$", re.I
)
#: Private DNS zones of the private endpoints the platform creates, by sub-resource (group id)
#: (https://learn.microsoft.com/azure/private-link/private-endpoint-dns: amlworkspace needs both ML zones).
PRIVATE_DNS_ZONES: Mapping[str, tuple[str, ...]] = {
    "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
    "blob": ("privatelink.blob.core.windows.net",),
    "file": ("privatelink.file.core.windows.net",),
}
#: Managed-network FQDN rules that only work together: Microsoft's recommended outbound list for packages
#: (https://learn.microsoft.com/azure/machine-learning/how-to-managed-network, "Access public machine learning
#: packages": anaconda.com and *.anaconda.com install default packages, *.anaconda.org serves repo data) and pip,
#: which lists packages on pypi.org and downloads them from files.pythonhosted.org.
PACKAGE_FQDN_GROUPS: Mapping[str, tuple[str, ...]] = {
    "conda": ("anaconda.com", "*.anaconda.com", "*.anaconda.org"),
    "pip": ("pypi.org", "files.pythonhosted.org"),
}
_REGISTRY_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/registries/"
    r"(?P<name>[^/]+)$", re.I,
)
_SUBNET_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+/subnets/[^/]+$",
    re.I,
)


# --------------------------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterConfig:
    """An AmlCompute cluster of a team."""

    name: str
    """Compute name in the workspace, 2-16 characters: lowercase letters, digits, hyphens; starts with a letter."""
    vm_size: str
    """VM size, one of the environment's allowed sizes."""
    priority: str = "Dedicated"
    """``Dedicated`` or ``LowPriority``."""
    min_nodes: int = 0
    """Nodes kept when idle; 0 (the default) lets the cluster scale to zero, the only time nodes take a new image."""
    max_nodes: int = 2
    """Upper bound on nodes, at least 1 and at least ``min_nodes``."""
    idle_scale_down: str = "PT2M"
    """ISO 8601 duration a node stays idle before it is removed (1 minute to 1 day)."""


@dataclass(frozen=True)
class ScheduleConfig:
    """Start/stop schedule of a compute instance: 5-field cron expressions in a Windows time zone (``UTC``,
    ``W. Europe Standard Time``), as the Azure ML API expects."""

    start: str | None = None
    stop: str | None = None
    time_zone: str = "UTC"


@dataclass(frozen=True)
class InstanceConfig:
    """A personal compute instance for one named user."""

    user: str
    """Short user name used in the compute name (lowercase words joined by hyphens)."""
    object_id: str
    """Microsoft Entra object id (GUID) of the user the instance is assigned to."""
    vm_size: str
    patch_date: dt.date
    """Date of the OS image; changing it recreates the instance (the only way Azure updates its image)."""
    idle_shutdown: str = "PT60M"
    """ISO 8601 duration of inactivity before the instance shuts down (15 minutes to 3 days)."""
    schedule: ScheduleConfig | None = None


@dataclass(frozen=True)
class TeamConfig:
    """A data science team: one workspace, its compute and its online endpoints."""

    name: str
    clusters: tuple[ClusterConfig, ...] = ()
    instances: tuple[InstanceConfig, ...] = ()
    endpoints: tuple[EndpointConfig, ...] = ()
    alert_emails: tuple[str, ...] = ()
    """Who the team's action group notifies (endpoint alerts); required with endpoints."""


@dataclass(frozen=True)
class OutboundRuleConfig:
    """An outbound rule of the workspace's managed network (used with ``AllowOnlyApprovedOutbound``)."""

    name: str
    type: str
    """``fqdn`` or ``service_tag``."""
    destination: str
    """An FQDN (``pypi.org``, ``*.anaconda.com``) or an Azure service tag (``AzureMonitor``)."""
    protocol: str = "TCP"
    port_ranges: str = "443"


@dataclass(frozen=True)
class NetworkConfig:
    isolation_mode: str
    """``AllowInternetOutbound`` (dev default) or ``AllowOnlyApprovedOutbound`` (prod default)."""
    outbound_rules: tuple[OutboundRuleConfig, ...] = ()
    private_endpoint_subnet_id: str | None = None
    """Subnet for private endpoints to each workspace and its storage; required in prod (public access is off)."""
    private_dns_zone_ids: Mapping[str, str] = field(default_factory=dict)
    """Zone name -> private DNS zone id: the platform links each private endpoint to its zones (a DNS zone group)."""
    private_dns_by_policy: bool = False
    """The hub's DeployIfNotExists policies create the zone groups instead (mutually exclusive with the ids)."""


@dataclass(frozen=True)
class LoadTestingConfig:
    """Azure Load Testing of the environment (``load_testing``; ``components.load_testing``)."""

    enabled: bool = True
    """Create it when some endpoint declares its expected ``load``."""
    pipeline_principal_id: str | None = None
    """Object id of the identity that creates and runs the tests (the pipeline's service connection): it gets Load
    Test Contributor on the resource. ``None``: grant it yourself."""
    pipeline_principal_type: str = "ServicePrincipal"


@dataclass(frozen=True)
class PlatformConfig:
    """The whole, validated stack configuration."""

    stack: str
    environment: str
    region: str
    prefix: str
    tags: Mapping[str, str]
    network: NetworkConfig
    teams: tuple[TeamConfig, ...]
    allowed_vm_sizes: tuple[str, ...]
    allowed_instance_types: tuple[str, ...] = ()
    """Instance types online deployments may use."""
    model_registries: Mapping[str, str] = field(default_factory=dict)
    """Azure ML registry name -> its ARM id, for every registry a deployment's model comes from (the endpoint's
    identity is granted read access there)."""
    deployer_principal_type: str = "ServicePrincipal"
    """Kind of the identity that runs ``pulumi up``: it is granted the upload of endpoint code."""
    load_testing: LoadTestingConfig = LoadTestingConfig()
    locks: bool = False
    """Prod only: CanNotDelete locks plus ``protect``/``retain_on_delete`` on stateful resources (default on)."""
    hbi_workspace: bool = False
    """Prod only: mark workspaces as high business impact (less diagnostic data collected by Microsoft)."""
    log_retention_days: int = 30
    alert_emails: tuple[str, ...] = ()
    """Who the environment's action group notifies (compute cluster and, later, endpoint alerts)."""
    greenfield: bool = False
    """Drop azure-native's versioned-type aliases (``components.greenfield``); only for stacks that never held
    resources under older azure-native type tokens."""
    generation: int = 1
    """Generation of the names Azure keeps reserved after a delete (``components.naming``); bump it to re-create a
    destroyed stack under fresh names."""
    secret_keys: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


def looks_secret(name: str) -> bool:
    """Whether a config key name looks like it holds a credential (``SECRET_NAME_PATTERN``)."""
    return bool(SECRET_NAME_PATTERN.search(name)) and not NOT_SECRET_SUFFIX.search(name)


def _plain_secrets(value: Any, path: str, cli_path: str) -> Iterator[tuple[str, str]]:
    """Mapping keys inside ``value`` whose names look like credentials, as (key path, the path ``pulumi config set
    --path`` takes); the values themselves are never shown."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            step = f".{name}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else f"[{json.dumps(name)}]"
            if looks_secret(name):
                yield f"{path}.{name}", cli_path + step
            else:
                yield from _plain_secrets(item, f"{path}.{name}", cli_path + step)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _plain_secrets(item, f"{path}[{i}]", f"{cli_path}[{i}]")


# --------------------------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------------------------

TOP_LEVEL_KEYS = (
    "region", "environment", "prefix", "tags", "network", "teams", "allowed_vm_sizes", "locks", "hbi_workspace",
    "log_retention_days", "instance_patch_date", "alert_emails", "greenfield", "generation", "allowed_instance_types",
    "model_registries", "deployer_principal_type", "load_testing",
)
PROD_ONLY_KEYS = ("locks", "hbi_workspace")

def _decode(value: Any) -> Any:
    """Structured values reach the program as JSON strings; scalars stay as given."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def derive_environment(stack: str) -> str | None:
    """``dev``/``prod`` from a stack name such as ``dev``, ``prod-weu`` or ``org/project/dev``; else ``None``."""
    name = stack.rsplit("/", 1)[-1].lower()
    for env in ENVIRONMENTS:
        if name == env or re.match(rf"^{env}[-_.]", name):
            return env
    return None


def parse_config(
    raw: Mapping[str, Any],
    *,
    stack: str,
    secret_keys: frozenset[str] | set[str] = frozenset(),
    today: dt.date | None = None,
    root: Path = PROJECT_ROOT,
) -> PlatformConfig:
    """Validate ``raw`` (full config keys such as ``mlops-platform:region`` to values) into a ``PlatformConfig``.

    Raises ``ConfigError`` listing every problem; nothing is created before this returns. Paths in the
    configuration (serving code and conda files) are relative to ``root``, the project's folder.
    """
    today = today or dt.date.today()
    r = Reader()
    ns = f"{PROJECT}:"
    values: dict[str, Any] = {}

    for full_key, value in raw.items():
        key = full_key.partition(":")[2]
        if full_key not in secret_keys:
            if looks_secret(key):
                r.problems.append(f"{full_key}: looks like a secret but is set in plain text; set it with "
                                  f"`pulumi config set --secret {full_key} <value>`")
                continue
            for inner, cli_path in _plain_secrets(_decode(value), full_key, full_key):
                r.problems.append(f"{inner}: looks like a secret but is set in plain text; set it with "
                                  f"`pulumi config set --secret --path '{cli_path}' <value>`")
        if full_key.startswith(ns):
            if key not in TOP_LEVEL_KEYS:
                r.fail(key, f"unknown key; allowed keys are {', '.join(TOP_LEVEL_KEYS)}")
                continue
            values[key] = _decode(value)

    # environment
    environment = derive_environment(stack)
    if "environment" in values:
        explicit = r.choice("environment", values["environment"], ENVIRONMENTS)
        if environment is not None and explicit is not None and explicit != environment:
            # The stack name decides for dev/prod stacks: a key in the stack file must not move a prod stack onto
            # dev's settings and dev's (advisory) policy levels.
            r.fail("environment", f"{show(explicit)} contradicts the stack name {stack!r}, which makes it "
                                  f"{environment}; remove the key (stacks named dev... or prod... take their "
                                  "environment from the name)")
        environment = environment or explicit
    elif environment is None:
        r.fail("environment", f"is required because stack name {stack!r} does not start with dev or prod; "
                              f"use one of {', '.join(ENVIRONMENTS)}")

    region = None
    if "region" not in values:
        r.fail("region", f"is required but missing; use one of {', '.join(sorted(REGION_CODES))}")
    else:
        region = r.choice("region", values["region"], sorted(REGION_CODES))
    provider_location = raw.get("azure-native:location")
    if region and provider_location and str(provider_location).replace(" ", "").lower() != region:
        r.fail("region", f"{region!r} differs from azure-native:location {provider_location!r}; set them to the "
                         "same region or remove azure-native:location")

    prefix = values.get("prefix", "mlops")
    if r.string("prefix", prefix) is not None and not PREFIX_PATTERN.match(prefix):
        r.fail("prefix", f"{show(prefix)} is not allowed; use 2-8 lowercase letters and digits starting with a "
                         "letter (it appears in storage account names, which allow nothing else)")

    tags = _parse_tags(r, values.get("tags"))

    for key in PROD_ONLY_KEYS:
        if key in values and environment == "dev":
            r.fail(key, "is only allowed when the environment is prod; remove it from the dev stack")
    locks = r.boolean("locks", values.get("locks", True)) if environment == "prod" else False
    hbi = r.boolean("hbi_workspace", values.get("hbi_workspace", False)) if environment == "prod" else False

    greenfield = r.boolean("greenfield", values.get("greenfield", False))
    generation = r.integer("generation", values.get("generation", 1), 1, 99)

    default_retention = 90 if environment == "prod" else 30
    retention = r.integer("log_retention_days", values.get("log_retention_days", default_retention),
                          *LOG_RETENTION_RANGE)

    allowed_sizes: tuple[str, ...] = DEFAULT_ALLOWED_VM_SIZES.get(environment or "dev", ())
    if "allowed_vm_sizes" in values:
        sizes = r.lst("allowed_vm_sizes", values["allowed_vm_sizes"])
        if sizes is not None:
            checked = [r.string(f"allowed_vm_sizes[{i}]", s) for i, s in enumerate(sizes)]
            allowed_sizes = tuple(s for s in checked if s)
            if not allowed_sizes:
                r.fail("allowed_vm_sizes", "is empty; list at least one VM size")
    instance_types = _parse_instance_types(r, values, allowed_sizes)

    network = _parse_network(r, values.get("network", {}), environment)
    alert_emails = _parse_alert_emails(r, values.get("alert_emails"), tags)

    default_patch = None
    if "instance_patch_date" in values:
        default_patch = r.date("instance_patch_date", values["instance_patch_date"], today)

    teams: tuple[TeamConfig, ...] = ()
    if "teams" not in values:
        r.fail("teams", "is required but missing; list at least one team")
    else:
        teams = _parse_teams(r, values["teams"], allowed_sizes, environment or "dev", default_patch,
                             "instance_patch_date" in values, today, instance_types, root)

    registries = _parse_registries(r, values.get("model_registries", {}), teams)
    deployer = r.choice("deployer_principal_type", values.get("deployer_principal_type", "ServicePrincipal"),
                        DEPLOYER_PRINCIPAL_TYPES)
    load_testing = _parse_load_testing(r, values.get("load_testing", {}))
    if not r.problems and environment and region:
        _instance_names_unique(r, teams, prefix, environment, region, generation or 1)
    if r.problems:
        raise ConfigError(r.problems)
    assert environment and region and tags is not None and network is not None
    return PlatformConfig(
        stack=stack,
        environment=environment,
        region=region,
        prefix=prefix,
        tags=tags,
        network=network,
        teams=teams,
        allowed_vm_sizes=allowed_sizes,
        allowed_instance_types=instance_types,
        model_registries=registries,
        deployer_principal_type=deployer or "ServicePrincipal",
        load_testing=load_testing or LoadTestingConfig(),
        locks=bool(locks),
        hbi_workspace=bool(hbi),
        log_retention_days=retention or default_retention,
        alert_emails=alert_emails,
        greenfield=bool(greenfield),
        generation=generation or 1,
        secret_keys=frozenset(secret_keys),
    )


def _parse_load_testing(r: Reader, value: Any) -> LoadTestingConfig | None:
    obj = r.obj("load_testing", _decode(value))
    if obj is None:
        return None
    r.check_keys("load_testing", obj, ("enabled", "pipeline_principal_id", "pipeline_principal_type"))
    enabled = r.boolean("load_testing.enabled", obj.get("enabled", True))
    principal = None
    if "pipeline_principal_id" in obj:
        principal = r.string("load_testing.pipeline_principal_id", obj["pipeline_principal_id"])
        if principal is not None and not _GUID.match(principal):
            r.fail("load_testing.pipeline_principal_id", f"{show(principal)} is not a Microsoft Entra object id (a "
                                                         "GUID): give the object id of the pipeline's identity")
            principal = None
    kind = r.choice("load_testing.pipeline_principal_type", obj.get("pipeline_principal_type", "ServicePrincipal"),
                    DEPLOYER_PRINCIPAL_TYPES)
    if enabled is None or kind is None or ("pipeline_principal_id" in obj and principal is None):
        return None
    return LoadTestingConfig(enabled=enabled, pipeline_principal_id=principal, pipeline_principal_type=kind)


def _instance_names_unique(r: Reader, teams: Sequence[TeamConfig], prefix: str, environment: str, region: str,
                           generation: int) -> None:
    """Compute instance names are unique per Azure region and end in a 5-character digest; two instances of this
    stack whose digests meet would fail the second one's creation, so it is refused here, before anything exists."""
    seen: dict[str, str] = {}
    for t, team in enumerate(teams):
        namer = Namer(prefix, team.name, environment, region, generation)
        for i, inst in enumerate(team.instances):
            name, where = namer.compute_instance(inst.user), f"teams[{t}].instances[{i}].user"
            if name in seen:
                r.fail(where, f"{show(inst.user)} gets the compute instance name {name!r}, as {seen[name]} does; "
                              "rename one of the users")
            seen[name] = where


def _parse_alert_emails(r: Reader, value: Any, tags: Mapping[str, str] | None) -> tuple[str, ...]:
    if value is None:
        owner = (tags or {}).get("owner", "")
        if _EMAIL.match(owner):
            return (owner,)
        if tags is not None and "owner" in tags:
            r.fail("alert_emails", f"is required because tags.owner {owner!r} is not an email address; list who "
                                   "receives the environment's alerts")
        return ()
    return _email_list(r, "alert_emails", value)


def _email_list(r: Reader, path: str, value: Any) -> tuple[str, ...]:
    emails = r.lst(path, value)
    if emails is None:
        return ()
    if not emails:
        r.fail(path, "is empty; list at least one email address")
    for i, email in enumerate(emails):
        if not isinstance(email, str) or not _EMAIL.match(email):
            r.fail(f"{path}[{i}]", f"{show(email)} is not an email address")
    return tuple(e for e in emails if isinstance(e, str) and _EMAIL.match(e))


def _parse_tags(r: Reader, value: Any) -> dict[str, str] | None:
    if value is None:
        r.fail("tags", f"is required but missing; set {', '.join(REQUIRED_TAGS)}")
        return None
    tags = r.obj("tags", value)
    if tags is None:
        return None
    result: dict[str, str] = {}
    for key, tag_value in tags.items():
        path = f"tags.{key}"
        if not 1 <= len(key) <= 512 or set(key) & _TAG_KEY_FORBIDDEN:
            r.fail(path, "is not a valid Azure tag name; use 1-512 characters without < > % & \\ ? /")
            continue
        text = r.string(path, tag_value)
        if text is None:
            continue
        if len(text) > 256:
            r.fail(path, f"is {len(text)} characters long; Azure tag values allow at most 256")
            continue
        result[key] = text
    for key in REQUIRED_TAGS:
        if key not in tags:
            r.fail(f"tags.{key}", f"is required but missing; every stack must set the tags {', '.join(REQUIRED_TAGS)}")
    if "data-classification" in result and result["data-classification"] not in DATA_CLASSIFICATIONS:
        r.fail("tags.data-classification", f"{show(result['data-classification'])} is not allowed; use one of "
                                           f"{', '.join(DATA_CLASSIFICATIONS)}")
    return result


def _parse_network(r: Reader, value: Any, environment: str | None) -> NetworkConfig | None:
    net = r.obj("network", value)
    if net is None:
        return None
    r.check_keys("network", net, ("isolation_mode", "outbound_rules", "private_endpoint_subnet_id",
                                  "private_dns_zone_ids", "private_dns_by_policy"))
    default_mode = "AllowOnlyApprovedOutbound" if environment == "prod" else "AllowInternetOutbound"
    mode = r.choice("network.isolation_mode", net.get("isolation_mode", default_mode), ISOLATION_MODES)
    rules: list[OutboundRuleConfig] = []
    seen: set[str] = set()
    for i, item in items(r, "network.outbound_rules", net.get("outbound_rules", [])):
        path = f"network.outbound_rules[{i}]"
        rule = r.obj(path, item)
        if rule is None:
            continue
        r.check_keys(path, rule, ("name", "type", "destination", "protocol", "port_ranges"),
                     required=("name", "type", "destination"))
        name, kind, dest = rule.get("name"), rule.get("type"), rule.get("destination")
        if name is not None and r.string(f"{path}.name", name) is not None:
            if not SLUG_PATTERN.match(name):
                r.fail(f"{path}.name", f"{show(name)} is not allowed; use lowercase words joined by '-'")
            elif name in seen:
                r.fail(f"{path}.name", f"{show(name)} is used by another outbound rule; names must be unique")
            seen.add(name)
        if kind is not None:
            kind = r.choice(f"{path}.type", kind, OUTBOUND_RULE_TYPES)
        if dest is not None and r.string(f"{path}.destination", dest) is not None:
            if kind == "fqdn" and not _FQDN.match(dest):
                r.fail(f"{path}.destination", f"{show(dest)} is not a fully qualified domain name "
                                              "(for example pypi.org or *.anaconda.com)")
            if kind == "service_tag" and not _SERVICE_TAG.match(dest):
                r.fail(f"{path}.destination", f"{show(dest)} is not an Azure service tag (for example AzureMonitor)")
        if kind == "fqdn" and mode == "AllowInternetOutbound":
            r.fail(f"{path}.type", "fqdn rules need network.isolation_mode AllowOnlyApprovedOutbound; with "
                                   "AllowInternetOutbound all outbound traffic is already allowed")
        protocol = r.choice(f"{path}.protocol", rule.get("protocol", "TCP"), ("TCP", "UDP", "ICMP", "*"))
        ports = str(rule.get("port_ranges", "443"))
        if not re.fullmatch(r"(\*|\d+(-\d+)?)(,(\d+(-\d+)?))*", ports):
            r.fail(f"{path}.port_ranges", f"{show(ports)} is not allowed; use ports or ranges such as 443 or "
                                          "80,443 or 8000-8080")
        if name and kind and dest and protocol:
            rules.append(OutboundRuleConfig(name=name, type=kind, destination=dest, protocol=protocol,
                                            port_ranges=ports))
    subnet = net.get("private_endpoint_subnet_id")
    subnet_text = r.string("network.private_endpoint_subnet_id", subnet) if subnet is not None else None
    if subnet_text is not None and not _SUBNET_ID.match(subnet_text):
        r.fail("network.private_endpoint_subnet_id",
                   f"{show(subnet)} is not a subnet resource id; use /subscriptions/<id>/resourceGroups/<rg>/"
                   "providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>")
    if subnet is None and environment == "prod":
        r.fail("network.private_endpoint_subnet_id",
               "is required in prod, where workspaces have public network access disabled; give the subnet for "
               "their private endpoints, /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/"
               "virtualNetworks/<vnet>/subnets/<subnet>")
    destinations = {rule.destination for rule in rules if rule.type == "fqdn"}
    for group, fqdns in PACKAGE_FQDN_GROUPS.items():
        present = [f for f in fqdns if f in destinations]
        if present and len(present) < len(fqdns):
            missing = ", ".join(f for f in fqdns if f not in destinations)
            r.fail("network.outbound_rules", f"allows {', '.join(present)} but not {missing}; {group} needs all of "
                                             f"{', '.join(fqdns)} (environment builds fail without them)")
    zone_ids, by_policy = _parse_private_dns(r, net, subnet is not None)
    if mode is None:
        return None
    return NetworkConfig(isolation_mode=mode, outbound_rules=tuple(rules), private_endpoint_subnet_id=subnet,
                         private_dns_zone_ids=zone_ids, private_dns_by_policy=by_policy)


def _parse_private_dns(r: Reader, net: Mapping[str, Any], endpoints: bool) -> tuple[dict[str, str], bool]:
    """Who links the private endpoints to private DNS: the platform (zone ids) or the hub's policies; with private
    endpoints exactly one of them, so that name resolution is never left to chance."""
    zones = sorted({zone for names in PRIVATE_DNS_ZONES.values() for zone in names})
    by_policy = r.boolean("network.private_dns_by_policy", net.get("private_dns_by_policy", False)) or False
    zone_ids: dict[str, str] = {}
    if "private_dns_zone_ids" in net:
        given = r.obj("network.private_dns_zone_ids", net["private_dns_zone_ids"]) or {}
        for zone, zone_id in given.items():
            path = f"network.private_dns_zone_ids.{zone}"
            if zone not in zones:
                r.fail(path, f"is not a zone the private endpoints use; use {', '.join(zones)}")
                continue
            text = r.string(path, zone_id)
            match = _PRIVATE_DNS_ZONE_ID.match(text) if text else None
            if text is not None and (match is None or match["zone"].lower() != zone):
                r.fail(path, f"{show(text)} is not the id of private DNS zone {zone}; use /subscriptions/<id>/"
                             f"resourceGroups/<rg>/providers/Microsoft.Network/privateDnsZones/{zone}")
            elif text is not None:
                zone_ids[zone] = text
        missing = [zone for zone in zones if zone not in given]
        if missing:
            r.fail("network.private_dns_zone_ids", f"misses {', '.join(missing)}; give the id of every zone the "
                                                   f"private endpoints use ({', '.join(zones)})")
    if not endpoints:
        if zone_ids or by_policy:
            r.fail("network", "sets private DNS but no private_endpoint_subnet_id; private DNS applies to private "
                              "endpoints only")
    elif by_policy and "private_dns_zone_ids" in net:
        r.fail("network.private_dns_by_policy", "is true and private_dns_zone_ids is set; choose one: the hub's "
                                                "DeployIfNotExists policies would add a second zone group")
    elif not by_policy and "private_dns_zone_ids" not in net:
        r.fail("network.private_dns_zone_ids", "is required with private endpoints (or set private_dns_by_policy: "
                                               "true when the hub's DeployIfNotExists policies link them); without "
                                               "either, nothing resolves the private endpoints")
    return zone_ids, bool(by_policy)


def _parse_registries(r: Reader, value: Any, teams: Sequence[TeamConfig]) -> dict[str, str]:
    """``model_registries``: name -> ARM id of each registry models are deployed from; every registry a
    deployment's model names must be listed (its identity needs a role there, on the registry's id)."""
    given = r.obj("model_registries", value)
    registries: dict[str, str] = {}
    for name, registry_id in (given or {}).items():
        path = f"model_registries.{name}"
        text = r.string(path, registry_id)
        match = _REGISTRY_ID.match(text) if text else None
        if text is not None and (match is None or match["name"] != name):
            r.fail(path, f"{show(text)} is not the id of Azure ML registry {name}; use /subscriptions/<id>/"
                         f"resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/registries/{name}")
        elif text is not None:
            registries[name] = text
    for t, team in enumerate(teams):
        for e, endpoint in enumerate(team.endpoints):
            for d, deployment in enumerate(endpoint.deployments):
                registry = deployment.model.registry
                if registry is not None and registry not in registries:
                    r.fail(f"teams[{t}].endpoints[{e}].deployments[{d}].model",
                           f"comes from registry {show(registry)}, which model_registries does not list; add its "
                           "resource id there (the endpoint's identity is granted AzureML Registry User on it)")
    return registries


def _parse_instance_types(r: Reader, values: Mapping[str, Any], vm_sizes: tuple[str, ...]) -> tuple[str, ...]:
    """Instance types online deployments may use: by default the allowed VM sizes that managed online endpoints
    offer; a stack may list its own, each of them one the service offers."""
    if "allowed_instance_types" not in values:
        return tuple(size for size in vm_sizes if size in MANAGED_ONLINE_SKUS)
    listed = r.lst("allowed_instance_types", values["allowed_instance_types"])
    if listed is None:
        return ()
    types: list[str] = []
    for i, item in enumerate(listed):
        text = r.string(f"allowed_instance_types[{i}]", item)
        if text is not None and text not in MANAGED_ONLINE_SKUS:
            r.fail(f"allowed_instance_types[{i}]", f"{show(text)} is not an instance type of managed online "
                                                   f"endpoints; use one of {', '.join(MANAGED_ONLINE_SKUS)}")
        elif text is not None:
            types.append(text)
    if not listed:
        r.fail("allowed_instance_types", "is empty; list at least one instance type")
    return tuple(types)


def _parse_teams(r: Reader, value: Any, sizes: tuple[str, ...], environment: str, default_patch: dt.date | None,
                 default_patch_given: bool, today: dt.date, instance_types: tuple[str, ...], root: Path
                 ) -> tuple[TeamConfig, ...]:
    def vm_size(path: str, raw: Any) -> str | None:
        size = r.string(path, raw)
        if size is not None and size not in sizes:
            r.fail(path, f"{show(size)} is not allowed in {environment}; use one of {', '.join(sizes)}")
            return None
        return size

    def cluster(path: str, c: Mapping[str, Any]) -> ClusterConfig | None:
        r.check_keys(path, c, ("name", "vm_size", "priority", "min_nodes", "max_nodes", "idle_scale_down"),
                     required=("name", "vm_size"))
        name = r.string(f"{path}.name", c["name"]) if "name" in c else None
        if name is not None:
            problem = compute_name_problem(name, COMPUTE_CLUSTER_LENGTH)
            if problem is None and name != name.lower():
                problem = "holds capitals; use lowercase letters"
            if problem is not None:
                r.fail(f"{path}.name", f"{show(name)} is not a valid compute name: it {problem} (3-16 lowercase "
                                       "letters, digits and hyphens, starting with a letter, with a letter after "
                                       "every hyphen, such as cpu or gpu-a100)")
                name = None
        size = vm_size(f"{path}.vm_size", c["vm_size"]) if "vm_size" in c else None
        priority = r.choice(f"{path}.priority", c.get("priority", "Dedicated"), VM_PRIORITIES)
        min_nodes = r.integer(f"{path}.min_nodes", c.get("min_nodes", 0), 0)
        max_nodes = r.integer(f"{path}.max_nodes", c.get("max_nodes", 2), 1)
        if min_nodes is not None and max_nodes is not None and min_nodes > max_nodes:
            r.fail(f"{path}.min_nodes", f"{min_nodes} is above max_nodes {max_nodes}; min_nodes must not exceed "
                                        "max_nodes")
            return None
        idle = r.duration(f"{path}.idle_scale_down", c.get("idle_scale_down", "PT2M"), IDLE_SCALE_DOWN_RANGE)
        if None in (name, size, priority, min_nodes, max_nodes, idle):
            return None
        return ClusterConfig(name=name, vm_size=size, priority=priority, min_nodes=min_nodes,  # type: ignore[arg-type]
                             max_nodes=max_nodes, idle_scale_down=idle)  # type: ignore[arg-type]

    def schedule(path: str, raw: Any) -> ScheduleConfig | None:
        s = r.obj(path, raw)
        if s is None:
            return None
        r.check_keys(path, s, ("start", "stop", "time_zone"))
        if "start" not in s and "stop" not in s:
            r.fail(path, "sets neither start nor stop; give at least one cron expression")
        crons: dict[str, str | None] = {}
        for key in ("start", "stop"):
            crons[key] = None
            if key in s and (text := r.string(f"{path}.{key}", s[key])) is not None:
                fields = text.split()
                if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
                    r.fail(f"{path}.{key}", f"{show(text)} is not a 5-field cron expression "
                                            "(minute hour day month weekday), for example '0 19 * * 1-5'")
                else:
                    crons[key] = text
        zone = r.string(f"{path}.time_zone", s.get("time_zone", "UTC"))
        return ScheduleConfig(start=crons["start"], stop=crons["stop"], time_zone=zone or "UTC")

    def instance(path: str, c: Mapping[str, Any]) -> InstanceConfig | None:
        r.check_keys(path, c, ("user", "object_id", "vm_size", "idle_shutdown", "schedule", "patch_date"),
                     required=("user", "object_id", "vm_size"))
        user = r.string(f"{path}.user", c["user"]) if "user" in c else None
        if user is not None and (not SLUG_PATTERN.match(user) or len(user) > MAX_USER_NAME):
            r.fail(f"{path}.user", f"{show(user)} is not allowed; use up to {MAX_USER_NAME} lowercase letters and "
                                   "digits in words joined by '-', starting with a letter")
            user = None
        oid = r.string(f"{path}.object_id", c["object_id"]) if "object_id" in c else None
        if oid is not None and not _GUID.match(oid):
            r.fail(f"{path}.object_id", f"{show(oid)} is not a Microsoft Entra object id (a GUID)")
            oid = None
        size = vm_size(f"{path}.vm_size", c["vm_size"]) if "vm_size" in c else None
        idle = r.duration(f"{path}.idle_shutdown", c.get("idle_shutdown", "PT60M"), IDLE_SHUTDOWN_RANGE)
        sched = schedule(f"{path}.schedule", c["schedule"]) if "schedule" in c else None
        if "patch_date" in c:
            patch = r.date(f"{path}.patch_date", c["patch_date"], today)
        elif not default_patch_given:
            r.fail(f"{path}.patch_date", "is required because instance_patch_date is not set; use the date of the "
                                         "OS image the instance should run (YYYY-MM-DD)")
            patch = None
        else:
            patch = default_patch
        if None in (user, oid, size, idle, patch):
            return None
        return InstanceConfig(user=user, object_id=oid, vm_size=size, idle_shutdown=idle,  # type: ignore[arg-type]
                              schedule=sched, patch_date=patch)  # type: ignore[arg-type]

    def team(path: str, t: Mapping[str, Any]) -> TeamConfig | None:
        r.check_keys(path, t, ("name", "clusters", "instances", "endpoints", "alert_emails"), required=("name",))
        name = r.string(f"{path}.name", t["name"]) if "name" in t else None
        if name is not None:
            if not SLUG_PATTERN.match(name) or not 2 <= len(name) <= MAX_TEAM_NAME:
                r.fail(f"{path}.name", f"{show(name)} cannot yield valid Azure resource names; use 2-{MAX_TEAM_NAME} "
                                       "lowercase letters and digits in words joined by single hyphens, starting "
                                       "with a letter (for example fraud-detection)")
                name = None
            elif name in RESERVED_TEAM_NAMES:
                r.fail(f"{path}.name", f"{show(name)} is reserved for the platform's shared resources; choose "
                                       "another team name")
                name = None
        clusters = collect(r, f"{path}.clusters", t.get("clusters", []), cluster, "name", "cluster names")
        instances = collect(r, f"{path}.instances", t.get("instances", []), instance, "user",
                             "compute instance users")
        endpoints = parse_endpoints(r, f"{path}.endpoints", t.get("endpoints", []), environment=environment,
                                    instance_types=instance_types, root=root)
        emails = _email_list(r, f"{path}.alert_emails", t["alert_emails"]) if "alert_emails" in t else ()
        if t.get("endpoints") and "alert_emails" not in t:
            r.fail(f"{path}.alert_emails", "is required because the team has endpoints; list who receives the "
                                           "team's endpoint alerts")
        if t.get("endpoints") and environment == "prod" and not t.get("clusters"):
            r.fail(f"{path}.endpoints", "need a compute cluster in prod: the team's container registry is private, "
                                        "so the deployments' environment images are built on the team's first "
                                        "cluster; add one to clusters")
        if name is None:
            return None
        return TeamConfig(name=name, clusters=clusters, instances=instances, endpoints=endpoints,
                          alert_emails=emails)

    teams = collect(r, "teams", value, team, "name", "team names")
    if isinstance(value, list) and not value:
        r.fail("teams", "is empty; list at least one team")
    return teams


# --------------------------------------------------------------------------------------------------------------------
# Reading the running program's configuration
# --------------------------------------------------------------------------------------------------------------------


def raw_pulumi_config() -> tuple[dict[str, Any], frozenset[str]]:
    """Every config key of the running program, and which of them are secret.

    The Pulumi language host passes configuration in ``PULUMI_CONFIG`` (and secret key names in
    ``PULUMI_CONFIG_SECRET_KEYS``); tests and the offline preflight set it with ``pulumi.runtime.set_all_config``.
    Both are read, so a value set either way is validated.
    """
    import pulumi.runtime
    from pulumi.runtime.config import CONFIG

    raw: dict[str, Any] = dict(pulumi.runtime.get_config_env())
    raw.update(CONFIG.get())
    secrets = {k for k in raw if pulumi.runtime.is_config_secret(k)}
    secrets.update(pulumi.runtime.get_config_secret_keys_env())
    return raw, frozenset(secrets)


_evaluation_date: dt.date | None = None


@contextlib.contextmanager
def evaluation_date(day: dt.date | None) -> Iterator[None]:
    """Within the block, :func:`from_pulumi` validates dates as of ``day`` instead of the calendar date (``None``
    changes nothing). The offline preflight's ``--as-of`` uses it so that a gate run, and every test of one, gives
    the same answer on any day; ``pulumi up`` never sets it."""
    global _evaluation_date
    previous, _evaluation_date = _evaluation_date, day or _evaluation_date
    try:
        yield
    finally:
        _evaluation_date = previous


def from_pulumi(today: dt.date | None = None) -> PlatformConfig:
    """Parse the configuration of the running Pulumi program (stack name from the engine)."""
    import pulumi

    raw, secrets = raw_pulumi_config()
    return parse_config(raw, stack=pulumi.get_stack(), secret_keys=secrets, today=today or _evaluation_date)
