"""The project's one Pulumi mocks class, and a monitor that records every registration.

``PlatformMocks`` stands in for the azure-native provider: it returns realistic ARM ids
(``/subscriptions/<id>/resourceGroups/<rg>/providers/<namespace>/<type>/<name>``) and the outputs the program reads
(names, principal ids), and answers the invokes the program makes (``getClientConfig``). The tests
(``tests/conftest.py``) and the offline preflight both use it, so what the tests prove is what the plan shows.

``RecordingMonitor`` is Pulumi's own ``MockMonitor`` that also keeps, for every resource, what a policy or a plan
needs: type, name, URN, parent, inputs, dependencies, provider and options.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from pulumi.runtime.sync_await import _ensure_event_loop

SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444"
TENANT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CLIENT_OBJECT_ID = "99999999-8888-7777-6666-555555555555"

#: How azure-native type tokens map to ARM ids: (provider path, input holding the Azure name).
#: ``{parent}`` resources (role assignments, locks, diagnostic settings) are extensions of the resource in ``scope``.
_ARM: Mapping[str, tuple[str, str]] = {
    "resources:ResourceGroup": ("", "resourceGroupName"),
    "operationalinsights:Workspace": ("Microsoft.OperationalInsights/workspaces", "workspaceName"),
    "applicationinsights:Component": ("Microsoft.Insights/components", "resourceName"),
    "storage:StorageAccount": ("Microsoft.Storage/storageAccounts", "accountName"),
    "storage:BlobServiceProperties": ("Microsoft.Storage/storageAccounts/{accountName}/blobServices",
                                      "blobServicesName"),
    "keyvault:Vault": ("Microsoft.KeyVault/vaults", "vaultName"),
    "containerregistry:Registry": ("Microsoft.ContainerRegistry/registries", "registryName"),
    "managedidentity:UserAssignedIdentity": ("Microsoft.ManagedIdentity/userAssignedIdentities", "resourceName"),
    "machinelearningservices:Workspace": ("Microsoft.MachineLearningServices/workspaces", "workspaceName"),
    "machinelearningservices:Compute": ("Microsoft.MachineLearningServices/workspaces/{workspaceName}/computes",
                                        "computeName"),
    "network:PrivateEndpoint": ("Microsoft.Network/privateEndpoints", "privateEndpointName"),
    "monitor:ActionGroup": ("Microsoft.Insights/actionGroups", "actionGroupName"),
    "monitor:MetricAlert": ("Microsoft.Insights/metricAlerts", "ruleName"),
    "authorization:RoleAssignment": ("{scope}/providers/Microsoft.Authorization/roleAssignments",
                                     "roleAssignmentName"),
    "authorization:ManagementLockByScope": ("{scope}/providers/Microsoft.Authorization/locks", "lockName"),
    "monitor:DiagnosticSetting": ("{resourceUri}/providers/Microsoft.Insights/diagnosticSettings", "name"),
}


def arm_id(token: str, inputs: Mapping[str, Any], logical_name: str) -> tuple[str, str]:
    """The ARM id and Azure name a resource of type ``token`` with ``inputs`` gets."""
    short = token.removeprefix("azure-native:")
    path, name_key = _ARM.get(short, (f"Unknown.Provider/{short.replace(':', '.')}", "name"))
    name = str(inputs.get(name_key) or logical_name)
    if short == "resources:ResourceGroup":
        return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{name}", name
    if path.startswith("{"):
        anchor, _, rest = path.partition("}")
        return f"{inputs.get(anchor[1:], '')}{rest}/{name}", name
    path = path.format_map({k: v for k, v in inputs.items() if isinstance(v, str)})
    group = inputs.get("resourceGroupName", "rg-unknown")
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers/{path}/{name}", name


def _principal(resource_id: str) -> str:
    """A stable, realistic-looking object id for an identity."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, resource_id))


class PlatformMocks(pulumi.runtime.Mocks):
    """Provider and invoke answers for the azure-native resources the platform creates."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:
            return None, {}
        resource_id, name = arm_id(args.typ, args.inputs, args.name)
        outputs = {**args.inputs, "name": name, "id": resource_id}
        identity = args.inputs.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # The provider takes a list of identity ids and returns a map of id -> identity details.
            outputs["identity"] = {**identity, "userAssignedIdentities": {
                i: {"principalId": _principal(i), "clientId": _principal(i + "#client")}
                for i in identity["userAssignedIdentities"]
            }}
        if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            outputs["principalId"] = _principal(resource_id)
            outputs["clientId"] = _principal(resource_id + "#client")
            outputs["tenantId"] = TENANT_ID
        return resource_id, outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                "objectId": CLIENT_OBJECT_ID,
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": TENANT_ID,
            }, []
        raise NotImplementedError(f"PlatformMocks has no answer for invoke {args.token}; add one in preflight/mocks.py")


@dataclass
class ResourceRecord:
    """Everything registered about one resource, as the engine (and a policy analyzer) would see it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str
    version: str
    """Version of the provider package the resource was registered with (the SDK sends it)."""
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]
    replace_on_changes: list[str]
    aliases: int
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)


class RecordingMonitor(MockMonitor):
    """``MockMonitor`` that records each ``RegisterResource`` request in registration order."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[ResourceRecord] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        _ensure_event_loop()
        registration = self.resources[response.urn]
        self.records.append(
            ResourceRecord(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                inputs=rpc.deserialize_properties(request.object),
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                provider=request.provider,
                version=request.version,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=list(request.ignoreChanges),
                replace_on_changes=list(request.replaceOnChanges),
                aliases=len(request.aliases) + len(request.aliasURNs),
                id=registration.id or None,
                outputs=dict(registration.state),
            )
        )
        return response
