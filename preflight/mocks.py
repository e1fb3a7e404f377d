"""The project's one Pulumi mocks class, and a monitor that records every registration.

``PlatformMocks`` stands in for the azure-native provider: it returns realistic ARM ids
(``/subscriptions/<id>/resourceGroups/<rg>/providers/<namespace>/<type>/<name>``) and the outputs the program reads
(names, principal ids), and answers the invokes the program makes (``getClientConfig``). The tests
(``tests/conftest.py``) and the offline preflight both use it, so what the tests prove is what the plan shows.

``RecordingMonitor`` is Pulumi's own ``MockMonitor`` that also keeps, for every resource, what a policy or a plan
needs: type, name, URN, parent, inputs, dependencies, provider and options.

With ``is_new`` (a preview: the SDK runs with ``dry_run``), a resource it names does not exist yet and is answered as
a provider answers a preview of a create: no id, and only the outputs that are also inputs. The SDK then makes every
other output unknown, and every input computed from one is unknown in the registrations that follow, exactly where
``pulumi preview`` has unknowns. Those inputs are recorded with the engine's unknown marker.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pulumi
from google.protobuf import struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, _resolve_callbacks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from policies.lib.types import canonical
from policies.sdk_shapes import shape_of

#: The engine's marker for a value unknown during a preview (pulumi/sdk ``rpc.UNKNOWN``), as analyzers receive it.
UNKNOWN = rpc.UNKNOWN
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
    "network:PrivateDnsZoneGroup": ("Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups",
                                    "privateDnsZoneGroupName"),
    "monitor:ActionGroup": ("Microsoft.Insights/actionGroups", "actionGroupName"),
    "monitor:MetricAlert": ("Microsoft.Insights/metricAlerts", "ruleName"),
    "authorization:RoleAssignment": ("{scope}/providers/Microsoft.Authorization/roleAssignments",
                                     "roleAssignmentName"),
    "authorization:ManagementLockByScope": ("{scope}/providers/Microsoft.Authorization/locks", "lockName"),
    "authorization:RoleDefinition": ("{scope}/providers/Microsoft.Authorization/roleDefinitions", "roleDefinitionId"),
    "monitor:DiagnosticSetting": ("{resourceUri}/providers/Microsoft.Insights/diagnosticSettings", "name"),
    "storage:BlobContainer": ("Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers",
                              "containerName"),
    "machinelearningservices:OnlineEndpoint": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/onlineEndpoints", "endpointName"),
    "machinelearningservices:OnlineDeployment": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/onlineEndpoints/{endpointName}/deployments",
        "deploymentName"),
    "machinelearningservices:CodeVersion": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/codes/{name}/versions", "version"),
    "machinelearningservices:EnvironmentVersion": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/environments/{name}/versions", "version"),
    "monitor:AutoscaleSetting": ("Microsoft.Insights/autoscalesettings", "autoscaleSettingName"),
    "monitor:ScheduledQueryRule": ("Microsoft.Insights/scheduledQueryRules", "ruleName"),
    "monitor:ActivityLogAlert": ("Microsoft.Insights/activityLogAlerts", "activityLogAlertName"),
    "applicationinsights:WebTest": ("Microsoft.Insights/webtests", "webTestName"),
    "applicationinsights:Workbook": ("Microsoft.Insights/workbooks", "resourceName"),
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
        if args.typ.endswith("/mlops:CodeUpload"):  # components.code_upload: the folder's blob URI is its id
            i = args.inputs
            uri = (f"https://{i['account']}.blob.core.windows.net/{i['container']}/{i['prefix']}/"
                   f"{str(i['hash'])[:16]}")
            return uri, {**i, "uri": uri}
        if args.typ.endswith("/mlops:InitialTraffic"):  # components.endpoint_traffic
            return f"{args.inputs['endpoint_id']}/initialTraffic", dict(args.inputs)
        resource_id, name = arm_id(args.typ, args.inputs, args.name)
        outputs = {**args.inputs, "name": name, "id": resource_id}
        identity = args.inputs.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # The provider takes a list of identity ids and returns a map of id -> identity details.
            outputs["identity"] = {**identity, "userAssignedIdentities": {
                i: {"principalId": _principal(i), "clientId": _principal(i + "#client")}
                for i in identity["userAssignedIdentities"]
            }}
        if args.typ == "azure-native:machinelearningservices:OnlineEndpoint":
            # The service answers with the scoring URI: https://<name>.<region>.inference.ml.azure.com/score.
            region = str(args.inputs.get("location", "westeurope"))
            outputs["properties"] = {**(args.inputs.get("properties") or {}),
                                     "scoringUri": f"https://{name}.{region}.inference.ml.azure.com/score"}
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


def _alias(alias: Any) -> str:
    """One alias of a registration request, readable: ``urn=...`` or ``type=... name=... parent=...``."""
    if alias.WhichOneof("alias") == "urn":
        return f"urn={alias.urn}"
    spec = alias.spec
    fields = [("type", spec.type), ("name", spec.name), ("stack", spec.stack), ("project", spec.project),
              ("parent", spec.parentUrn)]
    text = " ".join(f"{key}={value}" for key, value in fields if value)
    return f"{text} noParent" if spec.noParent else text


def _source(position: Any) -> tuple[str, int] | None:
    """The file and line the SDK reports as the place the resource was constructed (``sourcePosition``)."""
    if not position.uri:
        return None
    try:
        return str(Path(url2pathname(urlparse(position.uri).path))), int(position.line)
    except ValueError:
        return None


_SCALARS = (str, int, float, bool, type(None))


def _is_plain(value: Any) -> bool:
    """True when ``value`` is JSON-like (what a protobuf ``Struct`` holds without the SDK's serializer)."""
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    return False


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
    aliases: list[str]
    """Aliases as sent (``type=... name=...`` or ``urn=...``): what ``greenfield`` removes shows here."""
    source: tuple[str, int] | None = None
    """Absolute file and line where the program constructed the resource, as the SDK reports it."""
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    new: bool = False
    """Evaluated as not existing yet (a preview): no id, and computed outputs unknown."""


def _marked(value: Any) -> Any:
    """``value`` with the SDK's ``Unknown`` objects replaced by the engine's unknown marker."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _marked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_marked(v) for v in value]
    return value


def _known(value: Any) -> bool:
    if isinstance(value, str):
        return value != UNKNOWN
    if isinstance(value, dict):
        return all(_known(v) for v in value.values())
    if isinstance(value, list):
        return all(_known(v) for v in value)
    return True


def preview_state(token: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What a provider answers for the preview of a create: the outputs that are also inputs (when known), for
    azure-native by the SDK's output shape (pulumi-azure-native ``provider/pkg/convert/previewOutputs.go``); every
    other output, ``id`` included, is left unknown."""
    shape = shape_of(canonical(token)) if token.startswith("azure-native") else None
    names = shape.outputs if shape is not None else inputs.keys()
    return {name: inputs[name] for name in names if name in inputs and _known(inputs[name])}


class RecordingMonitor(MockMonitor):
    """``MockMonitor`` that records each ``RegisterResource`` request in registration order.

    It answers registrations itself rather than through ``MockMonitor.RegisterResource``: the request's properties
    are deserialized once (the base class would do it a second time) and the mock state, when it is plain JSON-like
    data, goes straight into the response ``Struct`` instead of through the SDK's asynchronous serializer. Anything
    else (resource references, assets) takes the SDK's path, so the answer is the same either way.
    """

    def __init__(self, mocks: pulumi.runtime.Mocks, progress: Callable[[int], None] | None = None,
                 is_new: Callable[[str], bool] | None = None) -> None:
        super().__init__(mocks)
        self.records: list[ResourceRecord] = []
        self.progress = progress
        """Called with the number of registrations so far, every 100 registrations (progress displays)."""
        self.is_new = is_new
        """For a preview (the runtime in dry-run mode): whether the resource with this URN does not exist yet."""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives the resource: its type qualified by the parent's whole type chain, without the
        root stack's type (``MockMonitor`` keeps only the direct parent's type and includes the stack's). Reports,
        baselines and the greenfield check compare these URNs with real ones."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        # The SDK calls monitors from a worker thread; deserializing resource references needs an event loop there.
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        new = bool(request.custom) and self.is_new is not None and self.is_new(urn)
        if self.is_new is not None:
            inputs = _marked(inputs)
        resource_id: str | None
        if new:
            resource_id, state = "", preview_state(request.type, inputs)
        else:
            resource_id, state = self.mocks.new_resource(MockResourceArgs(
                typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
                resource_id=request.importId, custom=request.custom or False,
                transforms=_resolve_callbacks(request.transforms),
            ))
        if _is_plain(state):
            response_state = struct_pb2.Struct()
            response_state.update(state)
        else:
            response_state = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id or "", state)
        self.records.append(
            ResourceRecord(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                inputs=inputs,
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                provider=request.provider,
                version=request.version,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=list(request.ignoreChanges),
                replace_on_changes=list(request.replaceOnChanges),
                aliases=[_alias(a) for a in request.aliases] + [f"urn={u}" for u in request.aliasURNs],
                source=_source(request.sourcePosition),
                id=resource_id or None,
                outputs=dict(state),
                new=new,
            )
        )
        if self.progress is not None and len(self.records) % 100 == 0:
            self.progress(len(self.records))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id or "", object=response_state)
