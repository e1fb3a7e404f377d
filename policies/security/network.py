"""Private endpoints: what they reach (shared by the private-endpoint rules of each service) and name resolution
through private DNS zone groups."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.graph import UNKNOWN, Links, known_str, label, of_type, peek, peek_items
from ..lib.rules import Refs, setting
from ..lib.types import ML_WORKSPACE, PRIVATE_DNS_ZONE_GROUP, PRIVATE_ENDPOINT
from . import RULES

#: Private DNS zones by private-link sub-resource (group id), from Microsoft's table
#: (https://learn.microsoft.com/azure/private-link/private-endpoint-dns). The registry's ``{region}.data`` records go
#: into ``privatelink.azurecr.io`` too (no second zone); AKS ``management`` is region-templated and left out.
ZONES: dict[str, list[str]] = {
    "amlworkspace": ["privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"],
    "amlregistry": ["privatelink.api.azureml.ms"],
    "blob": ["privatelink.blob.core.windows.net"],
    "blob_secondary": ["privatelink.blob.core.windows.net"],
    "file": ["privatelink.file.core.windows.net"],
    "queue": ["privatelink.queue.core.windows.net"],
    "queue_secondary": ["privatelink.queue.core.windows.net"],
    "table": ["privatelink.table.core.windows.net"],
    "table_secondary": ["privatelink.table.core.windows.net"],
    "web": ["privatelink.web.core.windows.net"],
    "web_secondary": ["privatelink.web.core.windows.net"],
    "dfs": ["privatelink.dfs.core.windows.net"],
    "dfs_secondary": ["privatelink.dfs.core.windows.net"],
    "vault": ["privatelink.vaultcore.azure.net"],
    "registry": ["privatelink.azurecr.io"],
    "azuremonitor": ["privatelink.monitor.azure.com", "privatelink.oms.opinsights.azure.com",
                     "privatelink.ods.opinsights.azure.com", "privatelink.agentsvc.azure-automation.net",
                     "privatelink.blob.core.windows.net"],
}
CONNECTIONS = ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections")
_GROUP_SEGMENT = "/privatednszonegroups/"
_ZONE_SEGMENT = "/privatednszones/"


def private_endpoint_targets(resources: Sequence[PolicyResource], groups: Collection[str],
                             keys: Sequence[str] = CONNECTIONS) -> set[str]:
    """URNs of the resources a private endpoint of the stack connects to with one of ``groups`` (sub-resources) in
    its connections under ``keys`` (automatic and manual by default), linked through the connection's
    ``privateLinkServiceId`` (its property dependency, or the id once known)."""
    links = Links.of(resources)
    found: set[str] = set()
    for pep in of_type(resources, PRIVATE_ENDPOINT):
        for key in keys:
            for connection in peek_items(pep.props, key):
                if set(groups) & {g for g in peek_items(connection, "groupIds") if isinstance(g, str)}:
                    found |= links.targets(pep, [peek(connection, "privateLinkServiceId")], prop=key)
    return found


def private_link_findings(resources: Sequence[PolicyResource], kind: str, group: str, workspace_input: str,
                          public_path: str = "publicNetworkAccess") -> Iterator[tuple[PolicyResource, str]]:
    """The resources of ``kind`` that no private endpoint reaches: neither a network.PrivateEndpoint whose
    connections target them with ``group`` in groupIds, nor the managed network of an Azure ML workspace in the stack
    that refers to them through ``workspace_input``. A managed network creates private endpoints to the workspace's
    registry and Key Vault "if they're configured as private or the workspace isolation mode is set to allow only
    approved outbound" (learn.microsoft.com/azure/machine-learning/how-to-managed-network): isolation mode
    AllowOnlyApprovedOutbound, or AllowInternetOutbound with the resource's public network access (at
    ``public_path``) Disabled. Each finding is the resource and the end of its message."""
    links = Links.of(resources)
    endpoints = private_endpoint_targets(resources, {group})
    modes: dict[str, list[Any]] = {}
    for ws in of_type(resources, ML_WORKSPACE):
        for urn in links.targets(ws, [peek(ws.props, workspace_input)], prop=workspace_input, fallback=False):
            modes.setdefault(urn, []).append(peek(ws.props, "managedNetwork.isolationMode", "Disabled"))
    for resource in of_type(resources, kind):
        if resource.urn in endpoints:
            continue
        found = modes.get(resource.urn, [])
        public = peek(resource.props, public_path)
        private = public is UNKNOWN or str(public).lower() == "disabled"
        if any(mode is UNKNOWN or mode == "AllowOnlyApprovedOutbound"
               or (mode == "AllowInternetOutbound" and private) for mode in found):
            continue
        yield resource, (f"has no private endpoint with group {group}, and the managed network of its workspace "
                         "creates none (isolation mode AllowOnlyApprovedOutbound, or AllowInternetOutbound with "
                         "public network access Disabled)" if found else
                         f"has no private endpoint with group {group} and no Azure ML workspace with a managed "
                         "network in this stack uses it")



def _group_ids(endpoint: PolicyResource) -> list[str]:
    """The sub-resources the endpoint connects to, as far as they are known (on a preview, the kind of connection
    the endpoint was not given is an unknown output)."""
    return [group for key in CONNECTIONS for connection in peek_items(endpoint.props, key)
            for group in peek_items(connection, "groupIds") if isinstance(group, str)]


def _zones(group: PolicyResource) -> tuple[set[str], bool]:
    """The private DNS zone names a zone group links (lower case), and whether some of its zones are not known
    yet (a zone created in the same deployment: its name is a path parameter, never an output)."""
    if peek(group.props, "privateDnsZoneConfigs") is UNKNOWN:
        return set(), True
    names: set[str] = set()
    unknown = False
    for config in peek_items(group.props, "privateDnsZoneConfigs"):
        zone_id = peek(config, "privateDnsZoneId") if config is not UNKNOWN else UNKNOWN
        if zone_id is UNKNOWN:
            unknown = True
        elif isinstance(zone_id, str) and _ZONE_SEGMENT in zone_id.lower():
            names.add(zone_id.lower().rstrip("/").rsplit(_ZONE_SEGMENT, 1)[1].split("/", 1)[0])
    return names, unknown


@RULES.stack(
    "security-privateendpoint-dns-zone-group",
    description="Every private endpoint to a service with a private DNS zone has a DNS zone group that links the "
                "zones Microsoft lists for its sub-resource, so clients resolve the service to the private address.",
    severity="medium",
    remediation="Create a network.PrivateDnsZoneGroup for the endpoint (privateEndpointName from the endpoint's "
                "name) with a privateDnsZoneConfigs entry for each zone of the sub-resource (for example "
                "privatelink.api.azureml.ms and privatelink.notebooks.azure.net for amlworkspace). Where the hub's "
                "DeployIfNotExists policies create the zone groups (mlops-platform:network.private_dns_by_policy), "
                "set required to false in this pack's config.",
    url="https://learn.microsoft.com/azure/private-link/private-endpoint-dns",
    refs=Refs(
        mcsb=("NS-2",),
        azure_policy=(
            "028bbd88-e9b5-461f-9424-a1b63a7bee1a", "437914ee-c176-4fff-8986-7e05eb971365",
            "6df98d03-368a-4438-8730-a93c4d7693d6", "75973700-529f-4de2-b794-fb9b6781b6b0",
            "83c6fe0f-2316-444a-99a1-1ecd8a7872ca", "90bd4cb3-9f59-45f7-a6ca-f69db2726671",
            "9adab2a5-05ba-4fbd-831a-5bf958d04218", "ac673a9a-f77d-4846-b2d8-a57f8e1c01d4",
            "bcff79fb-2b0d-47c9-97e5-3023479b00d1", "c1d634a5-f73d-4cdd-889f-2cc7006eb47f",
            "d19ae5f1-b303-4b82-9ca8-7682749faf0c", "d847d34b-9337-4e2d-99a5-767e5ac9c582",
            "da9b4ae8-5ddc-48c5-b9c0-25f8abf7a3d6", "e9585a95-5b8c-4d03-b193-dc7eb5ac4c32",
            "ee40564d-486e-4f68-a5ca-7a621edae0fb",
        ),
    ),
    config={
        "required": setting("boolean", True, "Require zone groups in this stack (false where the hub's "
                            "DeployIfNotExists policies create them)."),
        "zones": setting("object", ZONES, "Private DNS zone names by sub-resource (group id); endpoints to other "
                         "sub-resources are not checked.", additionalProperties={"type": "array",
                                                                                 "items": {"type": "string"}}),
    },
)
def dns_zone_group(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    if not cfg["required"]:
        return
    endpoints = of_type(resources, PRIVATE_ENDPOINT)
    links = Links.of(resources)
    by_id = {endpoint_id.lower().rstrip("/"): e.urn for e in endpoints
             if (endpoint_id := known_str(peek(e.props, "id")))}
    urns = {e.urn for e in endpoints}
    linked: dict[str, tuple[set[str], bool]] = {}  # endpoint URN -> zones of its groups, some unknown
    for group in of_type(resources, PRIVATE_DNS_ZONE_GROUP):
        # privateEndpointName is a path parameter (never an output): linked through its property dependency, or,
        # ids known, the group's own id <endpoint id>/privateDnsZoneGroups/<name>.
        # (a name written as a literal, with depends_on the endpoint, links through the plain dependency).
        targets = links.targets(group, prop="privateEndpointName") & urns
        own = known_str(peek(group.props, "id"))
        if own and _GROUP_SEGMENT in own.lower():
            parent = by_id.get(own.lower().rsplit(_GROUP_SEGMENT, 1)[0])
            if parent:
                targets.add(parent)
        names, unknown = _zones(group)
        for urn in targets:
            known, some_unknown = linked.get(urn, (set(), False))
            linked[urn] = (known | names, some_unknown or unknown)
    zones = {group.lower(): [z.lower() for z in names] for group, names in cfg["zones"].items()}
    for endpoint in endpoints:
        groups = _group_ids(endpoint)
        needed = {g: zones[g.lower()] for g in groups if g.lower() in zones}
        if not needed:
            continue
        if endpoint.urn not in linked:
            wanted = ", ".join(dict.fromkeys(z for names in needed.values() for z in names))
            yield (f"{label(endpoint)} has no private DNS zone group; sub-resource {', '.join(needed)} needs "
                   f"{wanted}"), endpoint.urn
            continue
        present, unknown = linked[endpoint.urn]
        missing = list(dict.fromkeys(z for names in needed.values() for z in names if z not in present))
        if missing and not unknown:
            yield (f"{label(endpoint)}: its private DNS zone groups do not link {', '.join(missing)} (sub-resource "
                   f"{', '.join(needed)})"), endpoint.urn
