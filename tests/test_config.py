"""The typed stack configuration: the shipped stacks parse, and every bad input is rejected with its exact message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from conftest import TODAY, encode

from components.config import (
    DEFAULT_ALLOWED_VM_SIZES,
    ConfigError,
    PlatformConfig,
    derive_environment,
    parse_config,
)
from components.config_reader import parse_iso_duration

NS = "mlops-platform"
ZONE_IDS = {zone: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub/providers/"
                  f"Microsoft.Network/privateDnsZones/{zone}"
            for zone in ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net",
                         "privatelink.blob.core.windows.net", "privatelink.file.core.windows.net")}
SUBNET = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub/providers/Microsoft.Network/"
          "virtualNetworks/vnet-hub/subnets/snet-pe")


def parse(values: dict[str, Any], stack: str = "dev", secret_keys: frozenset[str] = frozenset()) -> PlatformConfig:
    return parse_config(encode(values), stack=stack, secret_keys=secret_keys, today=TODAY)


def problems(values: dict[str, Any], stack: str = "dev", secret_keys: frozenset[str] = frozenset()) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(values, stack, secret_keys)
    return caught.value.problems


def team(values: dict[str, Any], i: int = 0) -> dict[str, Any]:
    return values[f"{NS}:teams"][i]


def test_dev_stack_parses_to_the_typed_model(dev_values: dict[str, Any]) -> None:
    config = parse(dev_values)
    assert config.environment == "dev"
    assert config.region == "westeurope"
    assert config.prefix == "mlops"
    assert config.network.isolation_mode == "AllowInternetOutbound"
    assert config.locks is False and config.hbi_workspace is False
    assert config.log_retention_days == 30
    assert [t.name for t in config.teams] == ["fraud-detection", "churn"]
    cluster = config.teams[0].clusters[0]
    assert (cluster.name, cluster.vm_size, cluster.priority, cluster.min_nodes, cluster.max_nodes,
            cluster.idle_scale_down) == ("cpu", "Standard_DS3_v2", "LowPriority", 0, 4, "PT5M")
    instance = config.teams[0].instances[0]
    assert instance.user == "alice" and instance.idle_shutdown == "PT30M"
    assert instance.patch_date == dt.date(2026, 11, 2)
    assert instance.schedule is not None and instance.schedule.stop == "0 19 * * 1-5"
    assert config.allowed_vm_sizes == DEFAULT_ALLOWED_VM_SIZES["dev"]


def test_prod_stack_parses_with_prod_settings(prod_values: dict[str, Any]) -> None:
    config = parse(prod_values, stack="prod")
    assert config.environment == "prod" and config.is_prod
    assert config.locks is True and config.hbi_workspace is True
    assert config.network.isolation_mode == "AllowOnlyApprovedOutbound"
    assert [(r.name, r.type, r.destination) for r in config.network.outbound_rules][:2] == [
        ("pypi", "fqdn", "pypi.org"), ("pypi-files", "fqdn", "files.pythonhosted.org")]
    assert config.log_retention_days == 90


def test_defaults_follow_the_environment(prod_values: dict[str, Any]) -> None:
    subnet = prod_values[f"{NS}:network"]["private_endpoint_subnet_id"]
    for key in ("locks", "log_retention_days", "network"):
        del prod_values[f"{NS}:{key}"]
    prod_values[f"{NS}:network"] = {"private_endpoint_subnet_id": subnet, "private_dns_by_policy": True}
    config = parse(prod_values, stack="prod")
    assert config.locks is True  # locks default on in prod
    assert config.log_retention_days == 90
    assert config.network.isolation_mode == "AllowOnlyApprovedOutbound"
    cluster = parse(prod_values, stack="prod").teams[1].clusters[0]
    assert (cluster.min_nodes, cluster.priority, cluster.idle_scale_down) == (0, "Dedicated", "PT2M")


@pytest.mark.parametrize(
    ("stack", "expected"),
    [("dev", "dev"), ("prod", "prod"), ("dev-weu", "dev"), ("prod_eu", "prod"), ("acme/mlops-platform/prod", "prod"),
     ("staging", None), ("development", None), ("production", None)],
)
def test_environment_is_derived_from_the_stack_name(stack: str, expected: str | None) -> None:
    assert derive_environment(stack) == expected


def test_environment_key_overrides_the_stack_name(dev_values: dict[str, Any]) -> None:
    dev_values[f"{NS}:environment"] = "dev"
    assert parse(dev_values, stack="sandbox").environment == "dev"


@pytest.mark.parametrize(
    ("text", "minutes"), [("PT15M", 15), ("PT2H", 120), ("P1D", 1440), ("P1DT2H", 1560), ("PT90S", 1.5)]
)
def test_iso_durations(text: str, minutes: float) -> None:
    assert parse_iso_duration(text) == dt.timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["30m", "PT", "P", "PT1.5H", "1 hour", "P1W", "pt30m"])
def test_iso_duration_rejects(text: str) -> None:
    assert parse_iso_duration(text) is None


def _at(root: Callable[[dict[str, Any]], Any], path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Mutation that sets (or, with ``_DELETE``, removes) ``path`` (dotted, with list indexes) below ``root``."""

    def mutate(values: dict[str, Any]) -> None:
        node = root(values)
        *parents, last = path.split(".")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return mutate


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Mutation of ``teams[0].<path>``."""
    return _at(team, path, value)


def _top(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Mutation of the top-level key ``mlops-platform:<key>``."""
    return _at(lambda values: values, f"{NS}:{key}", value)


_DELETE = object()
DEV_SIZES = ", ".join(DEFAULT_ALLOWED_VM_SIZES["dev"])

# (case id, mutation of the dev stack, the exact and only problem reported)
DEV_ERRORS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown top-level key", _top("regoin", "westeurope"),
     f"{NS}:regoin: unknown key; allowed keys are region, environment, prefix, tags, network, teams, "
     "allowed_vm_sizes, locks, hbi_workspace, log_retention_days, instance_patch_date, alert_emails, greenfield, "
     "generation, allowed_instance_types, model_registries, deployer_principal_type, load_testing"),
    ("generation below 1", _top("generation", 0),
     f"{NS}:generation: 0 is not allowed; use a whole number between 1 and 99"),
    ("greenfield not a boolean", _top("greenfield", "yes"),
     f"{NS}:greenfield: 'yes' has the wrong type; expected true or false"),
    ("unknown nested key", _set("clusters.0.max_node", 3),
     f"{NS}:teams[0].clusters[0].max_node: unknown key; allowed keys are idle_scale_down, max_nodes, min_nodes, "
     "name, priority, vm_size"),
    ("missing region", _top("region", _DELETE),
     f"{NS}:region: is required but missing; use one of australiacentral, australiaeast, australiasoutheast, "
     "brazilsouth, canadacentral, canadaeast, centralindia, centralus, eastasia, eastus, eastus2, francecentral, "
     "germanywestcentral, israelcentral, italynorth, japaneast, japanwest, koreacentral, koreasouth, northcentralus, "
     "northeurope, norwayeast, polandcentral, qatarcentral, southafricanorth, southcentralus, southeastasia, "
     "southindia, spaincentral, swedencentral, switzerlandnorth, uaenorth, uksouth, ukwest, westcentralus, "
     "westeurope, westus, westus2, westus3"),
    ("missing nested key", _set("clusters.0.vm_size", _DELETE),
     f"{NS}:teams[0].clusters[0].vm_size: is required but missing"),
    ("missing teams", _top("teams", _DELETE), f"{NS}:teams: is required but missing; list at least one team"),
    ("empty teams", _top("teams", []), f"{NS}:teams: is empty; list at least one team"),
    ("teams of wrong type", _top("teams", {"name": "x"}),
     f'{NS}:teams: {{"name": "x"}} has the wrong type; expected a list'),
    ("integer of wrong type", _set("clusters.0.min_nodes", "two"),
     f"{NS}:teams[0].clusters[0].min_nodes: 'two' has the wrong type; expected a whole number"),
    ("boolean given as number", _set("clusters.0.max_nodes", True),
     f"{NS}:teams[0].clusters[0].max_nodes: true has the wrong type; expected a whole number"),
    ("top-level integer of wrong type", _top("log_retention_days", "ninety"),
     f"{NS}:log_retention_days: 'ninety' has the wrong type; expected a whole number"),
    ("unsupported region", _top("region", "mars-north"),
     f"{NS}:region: 'mars-north' is not allowed; use one of australiacentral, australiaeast, australiasoutheast, "
     "brazilsouth, canadacentral, canadaeast, centralindia, centralus, eastasia, eastus, eastus2, francecentral, "
     "germanywestcentral, israelcentral, italynorth, japaneast, japanwest, koreacentral, koreasouth, northcentralus, "
     "northeurope, norwayeast, polandcentral, qatarcentral, southafricanorth, southcentralus, southeastasia, "
     "southindia, spaincentral, swedencentral, switzerlandnorth, uaenorth, uksouth, ukwest, westcentralus, "
     "westeurope, westus, westus2, westus3"),
    ("min nodes above max nodes", _set("clusters.0.min_nodes", 5),
     f"{NS}:teams[0].clusters[0].min_nodes: 5 is above max_nodes 4; min_nodes must not exceed max_nodes"),
    ("max nodes zero", _set("clusters.0.max_nodes", 0),
     f"{NS}:teams[0].clusters[0].max_nodes: 0 is not allowed; use a whole number at least 1"),
    ("negative min nodes", _set("clusters.0.min_nodes", -1),
     f"{NS}:teams[0].clusters[0].min_nodes: -1 is not allowed; use a whole number at least 0"),
    ("idle shutdown too short", _set("instances.0.idle_shutdown", "PT10M"),
     f"{NS}:teams[0].instances[0].idle_shutdown: 'PT10M' is 10 minutes; it must be between 15 minutes and 3 days"),
    ("idle shutdown of a fraction of a second", _set("instances.0.idle_shutdown", "PT0.5S"),
     f"{NS}:teams[0].instances[0].idle_shutdown: 'PT0.5S' is 500 ms; it must be between 15 minutes and 3 days"),
    ("idle shutdown too long", _set("instances.0.idle_shutdown", "P4D"),
     f"{NS}:teams[0].instances[0].idle_shutdown: 'P4D' is 4 days; it must be between 15 minutes and 3 days"),
    ("idle shutdown not ISO 8601", _set("instances.0.idle_shutdown", "30m"),
     f"{NS}:teams[0].instances[0].idle_shutdown: '30m' is not an ISO 8601 duration; use for example PT30M, PT2H or "
     "P1D, between 15 minutes and 3 days"),
    ("idle scale-down out of range", _set("clusters.0.idle_scale_down", "PT30S"),
     f"{NS}:teams[0].clusters[0].idle_scale_down: 'PT30S' is 30 seconds; it must be between 1 minute and 1 day"),
    ("vm size not allowed in dev", _set("clusters.0.vm_size", "Standard_NC24ads_A100_v4"),
     f"{NS}:teams[0].clusters[0].vm_size: 'Standard_NC24ads_A100_v4' is not allowed in dev; use one of {DEV_SIZES}"),
    ("priority not allowed", _set("clusters.0.priority", "Spot"),
     f"{NS}:teams[0].clusters[0].priority: 'Spot' is not allowed; use one of Dedicated, LowPriority"),
    ("cluster name invalid", _set("clusters.0.name", "CPU_cluster"),
     f"{NS}:teams[0].clusters[0].name: 'CPU_cluster' is not a valid compute name: it must start with a letter and "
     "hold only letters, digits and hyphens (3-16 lowercase letters, digits and hyphens, starting with a letter, "
     "with a letter after every hyphen, such as cpu or gpu-a100)"),
    ("cluster name ends in -digits", _set("clusters.0.name", "cpu-1"),
     f"{NS}:teams[0].clusters[0].name: 'cpu-1' is not a valid compute name: it has a hyphen with no letter after "
     "it; Azure ML needs a letter somewhere after every hyphen (a name cannot end in -<digits>) (3-16 lowercase "
     "letters, digits and hyphens, starting with a letter, with a letter after every hyphen, such as cpu or "
     "gpu-a100)"),
    ("cluster name ends in a hyphen", _set("clusters.0.name", "cpu-"),
     f"{NS}:teams[0].clusters[0].name: 'cpu-' is not a valid compute name: it has a hyphen with no letter after "
     "it; Azure ML needs a letter somewhere after every hyphen (a name cannot end in -<digits>) (3-16 lowercase "
     "letters, digits and hyphens, starting with a letter, with a letter after every hyphen, such as cpu or "
     "gpu-a100)"),
    ("cluster name too short", _set("clusters.0.name", "ab"),
     f"{NS}:teams[0].clusters[0].name: 'ab' is not a valid compute name: it is 2 characters long; use 3-16 (3-16 "
     "lowercase letters, digits and hyphens, starting with a letter, with a letter after every hyphen, such as cpu "
     "or gpu-a100)"),
    ("cluster name with capitals", _set("clusters.0.name", "Cpu"),
     f"{NS}:teams[0].clusters[0].name: 'Cpu' is not a valid compute name: it holds capitals; use lowercase letters "
     "(3-16 lowercase letters, digits and hyphens, starting with a letter, with a letter after every hyphen, such "
     "as cpu or gpu-a100)"),
    ("required tag missing", lambda v: v[f"{NS}:tags"].pop("cost-center"),
     f"{NS}:tags.cost-center: is required but missing; every stack must set the tags owner, cost-center, "
     "data-classification"),
    ("data classification not allowed", lambda v: v[f"{NS}:tags"].update({"data-classification": "secret-ish"}),
     f"{NS}:tags.data-classification: 'secret-ish' is not allowed; use one of public, internal, confidential, "
     "restricted"),
    ("tag name with forbidden character", lambda v: v[f"{NS}:tags"].update({"cost/center": "x"}),
     f"{NS}:tags.cost/center: is not a valid Azure tag name; use 1-512 characters without < > % & \\ ? /"),
    ("prod-only key in dev", _top("locks", "true"),
     f"{NS}:locks: is only allowed when the environment is prod; remove it from the dev stack"),
    ("invalid prefix", _top("prefix", "ML-Ops"),
     f"{NS}:prefix: 'ML-Ops' is not allowed; use 2-8 lowercase letters and digits starting with a letter (it appears "
     "in storage account names, which allow nothing else)"),
    ("duplicate cluster name", lambda v: team(v)["clusters"].append(dict(team(v)["clusters"][0])),
     f"{NS}:teams[0].clusters[1].name: 'cpu' duplicates teams[0].clusters[0]; cluster names must be unique"),
    ("object id not a GUID", _set("instances.0.object_id", "alice@contoso.com"),
     f"{NS}:teams[0].instances[0].object_id: 'alice@contoso.com' is not a Microsoft Entra object id (a GUID)"),
    ("cron invalid", _set("instances.0.schedule.stop", "at 7pm"),
     f"{NS}:teams[0].instances[0].schedule.stop: 'at 7pm' is not a 5-field cron expression (minute hour day month "
     "weekday), for example '0 19 * * 1-5'"),
    ("patch date in the future", _top("instance_patch_date", "2027-01-01"),
     f"{NS}:instance_patch_date: 2027-01-01 is in the future; use the date the OS image was taken (today or "
     "earlier, today is 2026-11-21)"),
    ("patch date not a date", _set("instances.0.patch_date", "last tuesday"),
     f"{NS}:teams[0].instances[0].patch_date: 'last tuesday' is not a date; use YYYY-MM-DD"),
    ("patch date missing", _top("instance_patch_date", _DELETE),
     f"{NS}:teams[0].instances[0].patch_date: is required because instance_patch_date is not set; use the date of "
     "the OS image the instance should run (YYYY-MM-DD)"),
    ("fqdn rule with internet outbound",
     lambda v: v[f"{NS}:network"].update({"outbound_rules": [{"name": "docs", "type": "fqdn",
                                                               "destination": "docs.python.org"}]}),
     f"{NS}:network.outbound_rules[0].type: fqdn rules need network.isolation_mode AllowOnlyApprovedOutbound; with "
     "AllowInternetOutbound all outbound traffic is already allowed"),
    ("isolation mode not allowed", lambda v: v[f"{NS}:network"].update({"isolation_mode": "Disabled"}),
     f"{NS}:network.isolation_mode: 'Disabled' is not allowed; use one of AllowInternetOutbound, "
     "AllowOnlyApprovedOutbound"),
    ("package hosts incomplete",
     lambda v: v[f"{NS}:network"].update({"isolation_mode": "AllowOnlyApprovedOutbound", "outbound_rules": [
         {"name": "conda", "type": "fqdn", "destination": "*.anaconda.com"},
         {"name": "pypi", "type": "fqdn", "destination": "pypi.org"},
         {"name": "pypi-files", "type": "fqdn", "destination": "files.pythonhosted.org"}]}),
     f"{NS}:network.outbound_rules: allows *.anaconda.com but not anaconda.com, *.anaconda.org; conda needs all of "
     "anaconda.com, *.anaconda.com, *.anaconda.org (environment builds fail without them)"),
    ("private dns missing",
     lambda v: v[f"{NS}:network"].update({"private_endpoint_subnet_id": SUBNET}),
     f"{NS}:network.private_dns_zone_ids: is required with private endpoints (or set private_dns_by_policy: true "
     "when the hub's DeployIfNotExists policies link them); without either, nothing resolves the private endpoints"),
    ("private dns twice",
     lambda v: v[f"{NS}:network"].update({"private_endpoint_subnet_id": SUBNET, "private_dns_by_policy": True,
                                          "private_dns_zone_ids": ZONE_IDS}),
     f"{NS}:network.private_dns_by_policy: is true and private_dns_zone_ids is set; choose one: the hub's "
     "DeployIfNotExists policies would add a second zone group"),
    ("private dns zone missing",
     lambda v: v[f"{NS}:network"].update({"private_endpoint_subnet_id": SUBNET, "private_dns_zone_ids": {
         k: z for k, z in ZONE_IDS.items() if k != "privatelink.notebooks.azure.net"}}),
     f"{NS}:network.private_dns_zone_ids: misses privatelink.notebooks.azure.net; give the id of every zone the "
     "private endpoints use (privatelink.api.azureml.ms, privatelink.blob.core.windows.net, "
     "privatelink.file.core.windows.net, privatelink.notebooks.azure.net)"),
    ("private dns zone id of another zone",
     lambda v: v[f"{NS}:network"].update({"private_endpoint_subnet_id": SUBNET, "private_dns_zone_ids": {
         **ZONE_IDS, "privatelink.blob.core.windows.net": ZONE_IDS["privatelink.file.core.windows.net"]}}),
     f"{NS}:network.private_dns_zone_ids.privatelink.blob.core.windows.net: '/subscriptions/00000000-0000-0000-0000-"
     "000000000000/resource…' is not the id of private DNS zone privatelink.blob.core.windows.net; use "
     "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/privateDnsZones/"
     "privatelink.blob.core.windows.net"),
    ("private dns without endpoints", lambda v: v[f"{NS}:network"].update({"private_dns_by_policy": True}),
     f"{NS}:network: sets private DNS but no private_endpoint_subnet_id; private DNS applies to private endpoints "
     "only"),
    ("subnet id malformed", lambda v: v[f"{NS}:network"].update({"private_endpoint_subnet_id": "snet-ml",
                                                                 "private_dns_by_policy": True}),
     f"{NS}:network.private_endpoint_subnet_id: 'snet-ml' is not a subnet resource id; use /subscriptions/<id>/"
     "resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>"),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in DEV_ERRORS], ids=[c[0] for c in DEV_ERRORS])
def test_each_bad_input_is_rejected_with_its_message(dev_values: dict[str, Any],
                                                     mutate: Callable[[dict[str, Any]], None], expected: str) -> None:
    mutate(dev_values)
    assert problems(dev_values) == [expected]


def test_region_must_match_the_provider_location(dev_values: dict[str, Any]) -> None:
    dev_values["azure-native:location"] = "westeurope"
    dev_values[f"{NS}:region"] = "northeurope"
    assert problems(dev_values) == [
        f"{NS}:region: 'northeurope' differs from azure-native:location 'westeurope'; set them to the same region or "
        "remove azure-native:location"]
    dev_values["azure-native:location"] = "North Europe"  # the provider accepts display names too
    assert parse(dev_values).region == "northeurope"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Fraud Detection", "cannot yield"), ("fraud_detection", "cannot yield"), ("1fraud", "cannot yield"),
        ("-fraud", "cannot yield"), ("fraud-", "cannot yield"), ("fraud--detection", "cannot yield"),
        ("f", "cannot yield"), ("x" * 25, "cannot yield"), ("fraud.detection", "cannot yield"),
        ("shared", "reserved"),
    ],
)
def test_team_names_that_cannot_yield_azure_names(dev_values: dict[str, Any], name: str, reason: str) -> None:
    team(dev_values)["name"] = name
    [message] = problems(dev_values)
    assert message.startswith(f"{NS}:teams[0].name: {name!r} ")
    if reason == "reserved":
        assert message.endswith("is reserved for the platform's shared resources; choose another team name")
    else:
        assert message.endswith("cannot yield valid Azure resource names; use 2-24 lowercase letters and digits in "
                                "words joined by single hyphens, starting with a letter (for example fraud-detection)")


def test_prod_requires_a_private_endpoint_subnet(prod_values: dict[str, Any]) -> None:
    del prod_values[f"{NS}:network"]["private_endpoint_subnet_id"]
    del prod_values[f"{NS}:network"]["private_dns_zone_ids"]
    assert problems(prod_values, stack="prod") == [
        f"{NS}:network.private_endpoint_subnet_id: is required in prod, where workspaces have public network access "
        "disabled; give the subnet for their private endpoints, /subscriptions/<id>/resourceGroups/<rg>/providers/"
        "Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>"]


def test_alert_emails_default_to_the_owner_tag(dev_values: dict[str, Any]) -> None:
    assert parse(dev_values).alert_emails == ("ml-platform-team@contoso.com",)
    dev_values[f"{NS}:alert_emails"] = ["oncall@contoso.com", "lead@contoso.com"]
    assert parse(dev_values).alert_emails == ("oncall@contoso.com", "lead@contoso.com")


def test_alert_emails_errors(dev_values: dict[str, Any]) -> None:
    dev_values[f"{NS}:alert_emails"] = ["oncall@contoso.com", "not an address"]
    assert problems(dev_values) == [f"{NS}:alert_emails[1]: 'not an address' is not an email address"]
    dev_values[f"{NS}:alert_emails"] = []
    assert problems(dev_values) == [f"{NS}:alert_emails: is empty; list at least one email address"]
    del dev_values[f"{NS}:alert_emails"]
    dev_values[f"{NS}:tags"]["owner"] = "team-fraud"
    assert problems(dev_values) == [
        f"{NS}:alert_emails: is required because tags.owner 'team-fraud' is not an email address; list who receives "
        "the environment's alerts"]


def test_duplicate_team_name(dev_values: dict[str, Any]) -> None:
    team(dev_values, 1)["name"] = "fraud-detection"
    assert problems(dev_values) == [
        f"{NS}:teams[1].name: 'fraud-detection' duplicates teams[0]; team names must be unique"]


def test_plain_text_secret_is_rejected_and_a_secret_one_accepted(dev_values: dict[str, Any]) -> None:
    dev_values["azure-native:clientSecret"] = "s3cr3t-value"
    [message] = problems(dev_values)
    assert message == ("azure-native:clientSecret: looks like a secret but is set in plain text; set it with "
                       "`pulumi config set --secret azure-native:clientSecret <value>`")
    assert "s3cr3t-value" not in message
    parse(dev_values, secret_keys=frozenset({"azure-native:clientSecret"}))


def test_secret_looking_names_that_hold_paths_are_not_secrets(dev_values: dict[str, Any]) -> None:
    dev_values["azure-native:oidcTokenFilePath"] = "/var/run/secrets/token"
    parse(dev_values)


def test_environment_required_when_the_stack_name_does_not_tell(dev_values: dict[str, Any]) -> None:
    assert problems(dev_values, stack="staging") == [
        f"{NS}:environment: is required because stack name 'staging' does not start with dev or prod; use one of "
        "dev, prod"]


def test_vm_sizes_follow_the_environment(dev_values: dict[str, Any]) -> None:
    _set("clusters.0.vm_size", "Standard_NC24ads_A100_v4")(dev_values)
    dev_values[f"{NS}:environment"] = "prod"
    dev_values[f"{NS}:network"] = {"private_endpoint_subnet_id": SUBNET, "private_dns_by_policy": True}
    del team(dev_values)["endpoints"]  # a dev endpoint keeps one instance, below prod's high-availability floor
    config = parse(dev_values, stack="sandbox")
    assert config.teams[0].clusters[0].vm_size == "Standard_NC24ads_A100_v4"


def test_allowed_vm_sizes_override(dev_values: dict[str, Any]) -> None:
    dev_values[f"{NS}:allowed_vm_sizes"] = ["Standard_D2s_v3", "Standard_E4s_v3"]
    found = problems(dev_values)
    assert found[0] == (f"{NS}:teams[0].clusters[0].vm_size: 'Standard_DS3_v2' is not allowed in dev; use one of "
                        "Standard_D2s_v3, Standard_E4s_v3")
    # both clusters and the instance use Standard_DS3_v2, and the endpoint's deployment an instance type the list
    # no longer offers (of the two sizes, endpoints take only E4s_v3: D2s_v3 is not a managed online SKU)
    assert len(found) == 4
    assert found[2] == (f"{NS}:teams[0].endpoints[0].deployments[0].instance_type: 'Standard_DS2_v2' is not "
                        "allowed in dev; use one of Standard_E4s_v3")


def test_every_problem_is_reported_at_once(dev_values: dict[str, Any]) -> None:
    _set("clusters.0.max_nodes", 0)(dev_values)
    _set("instances.0.idle_shutdown", "PT1M")(dev_values)
    dev_values[f"{NS}:region"] = "atlantis"
    found = problems(dev_values)
    assert [p.split(":")[1].split(" ")[0] for p in found] == [
        "region", "teams[0].clusters[0].max_nodes", "teams[0].instances[0].idle_shutdown"]


def test_plain_text_secrets_are_refused_at_any_depth(dev_values: dict[str, Any]) -> None:
    dev_values[f"{NS}:tags"]["api-token"] = "tok-123"
    dev_values["azure-native:extra"] = {"auth": [{"password": "p4ss"}]}
    found = problems(dev_values)
    assert found == [
        f"{NS}:tags.api-token: looks like a secret but is set in plain text; set it with "
        f"`pulumi config set --secret --path '{NS}:tags[\"api-token\"]' <value>`",
        "azure-native:extra.auth[0].password: looks like a secret but is set in plain text; set it with "
        "`pulumi config set --secret --path 'azure-native:extra.auth[0].password' <value>`",
    ]
    assert "tok-123" not in "\n".join(found) and "p4ss" not in "\n".join(found)
    # Set with --secret, the whole key is secret and the nested names are fine.
    del dev_values["azure-native:extra"]
    parse(dev_values, secret_keys=frozenset({f"{NS}:tags"}))


@pytest.mark.parametrize("name", ["sas-token-expiry", "kansas-office", "datasets"])
def test_secret_pattern_matches_sas_only_as_a_word(dev_values: dict[str, Any], name: str) -> None:
    dev_values[f"{NS}:tags"][name] = "x"
    parse(dev_values)


def test_a_key_in_the_stack_file_cannot_weaken_a_prod_stack(prod_values: dict[str, Any]) -> None:
    prod_values[f"{NS}:environment"] = "dev"
    assert problems(prod_values, stack="prod")[0] == (
        f"{NS}:environment: 'dev' contradicts the stack name 'prod', which makes it prod; remove the key (stacks "
        "named dev... or prod... take their environment from the name)")


def test_long_values_and_many_problems_are_cut(dev_values: dict[str, Any]) -> None:
    dev_values[f"{NS}:region"] = "x" * 100_000
    dev_values[f"{NS}:teams"] = [{"name": f"Team{i}"} for i in range(80)]
    with pytest.raises(ConfigError) as caught:
        parse(dev_values)
    lines = str(caught.value).splitlines()
    assert len(caught.value.problems) == 81
    assert len(lines) == 51 and lines[-1] == "... and 31 more problems"
    assert max(len(line) for line in lines) < 1500
    assert lines[0].startswith(f"{NS}:region: '{'x' * 60}…' is not allowed")


def test_two_instances_of_one_stack_never_share_a_compute_name(dev_values: dict[str, Any]) -> None:
    """Compute instance names are unique per region and end in a 5-character digest: two teams whose digests for
    the same user meet (team1342 and team2039 for alice) would fail the second creation; refused before anything."""
    instance = dict(team(dev_values)["instances"][0], user="alice")
    dev_values[f"{NS}:teams"] = [{"name": "team1342", "instances": [instance]},
                                 {"name": "team2039", "instances": [instance]}]
    assert problems(dev_values) == [
        f"{NS}:teams[1].instances[0].user: 'alice' gets the compute instance name 'ci-alice-453b9', as "
        "teams[0].instances[0].user does; rename one of the users"]
