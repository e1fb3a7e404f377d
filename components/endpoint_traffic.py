"""``InitialTraffic``: an online endpoint's first traffic split, set once after its deployments exist.

Azure ML refuses traffic on an endpoint whose deployments do not exist yet ("you can't set this field during online
endpoint creation, as the deployments under that endpoint must be created before traffic can be set":
reference-yaml-endpoint-online), and the endpoint must exist before its deployments, so the split cannot be an input
of the endpoint resource. This dynamic resource applies it once, after the deployments: it reads the endpoint (ARM
GET), sets ``properties.traffic`` and ``properties.mirrorTraffic`` and writes it back (PUT, the way ``az ml
online-endpoint update --traffic`` does), with the deploying identity's Entra token. It never acts again: from then
on the release process owns traffic (docs/serving.md), and a change of the configured split does nothing on the next
``pulumi up`` (it is the initial split).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider

#: The REST API version of the endpoint read and written (the one pulumi-azure-native 3.29 uses for OnlineEndpoint).
API_VERSION = "2025-12-01"


#: Properties of the endpoint the service computes; the PUT leaves them out.
READ_ONLY_PROPERTIES = ("provisioningState", "scoringUri", "swaggerUri", "openaiEndpoints")


def set_initial_traffic(client: Any, endpoint_id: str, traffic: Mapping[str, int], mirror: Mapping[str, int]) -> None:
    """Read the endpoint with ``client`` (a ``ResourceManagementClient``), set its traffic and mirrored traffic, write
    it back and wait for the long-running PUT to finish."""
    current = client.resources.get_by_id(endpoint_id, api_version=API_VERSION).as_dict()
    body: dict[str, Any] = {key: current[key] for key in ("location", "kind", "sku", "tags") if current.get(key)}
    identity = current.get("identity") or {}
    if identity:
        # principalId, tenantId and clientId are read-only; the PUT names the identity by its ARM id only.
        body["identity"] = {"type": identity["type"], **({"userAssignedIdentities": {
            key: {} for key in identity["userAssignedIdentities"]}} if identity.get("userAssignedIdentities") else {})}
    properties = {key: value for key, value in current.get("properties", {}).items()
                  if key not in READ_ONLY_PROPERTIES}
    body["properties"] = {**properties, "traffic": dict(traffic), "mirrorTraffic": dict(mirror)}
    client.resources.begin_create_or_update_by_id(endpoint_id, body, api_version=API_VERSION).result()


def _client(subscription: str) -> Any:
    # Imported here: only ``pulumi up`` runs the provider; the program and the offline preflight never need them.
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.resource.resources import ResourceManagementClient

    return ResourceManagementClient(DefaultAzureCredential(), subscription)


class InitialTrafficProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        endpoint_id: str = props["endpoint_id"]
        set_initial_traffic(_client(endpoint_id.split("/")[2]), endpoint_id, props["traffic"],
                            props.get("mirror") or {})
        return CreateResult(id_=f"{endpoint_id}/initialTraffic", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Only a new endpoint gets an initial split again; a changed split in the config is the release's business.
        replaced = olds.get("endpoint_id") != news.get("endpoint_id")
        return DiffResult(changes=replaced, replaces=["endpoint_id"] if replaced else [])

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Nothing to undo: the traffic goes with the endpoint."""


class InitialTraffic(Resource, module="mlops", name="InitialTraffic"):
    """The first ``traffic`` and ``mirror`` split of an online endpoint."""

    def __init__(self, name: str, *, endpoint_id: pulumi.Input[str], traffic: dict[str, int],
                 mirror: dict[str, int], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(InitialTrafficProvider(), name, {"endpoint_id": endpoint_id, "traffic": traffic,
                                                          "mirror": mirror}, opts)
