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

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider

#: The REST API version of the endpoint read and written (the one pulumi-azure-native 3.29 uses for OnlineEndpoint).
API_VERSION = "2025-12-01"


class InitialTrafficProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        from azure.identity import DefaultAzureCredential
        from azure.mgmt.resource.resources import ResourceManagementClient

        endpoint_id: str = props["endpoint_id"]
        subscription = endpoint_id.split("/")[2]
        client = ResourceManagementClient(DefaultAzureCredential(), subscription)
        current = client.resources.get_by_id(endpoint_id, API_VERSION).as_dict()
        body = {key: current[key] for key in ("location", "identity", "kind", "sku", "tags") if current.get(key)}
        body["properties"] = {**current.get("properties", {}), "traffic": dict(props["traffic"]),
                              "mirrorTraffic": dict(props.get("mirror") or {})}
        for read_only in ("provisioningState", "scoringUri", "swaggerUri", "openaiEndpoints"):
            body["properties"].pop(read_only, None)
        client.resources.begin_create_or_update_by_id(endpoint_id, API_VERSION, body).result()
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
