"""Compliant and violating cases for every policy rule, run through the packs by ``tests/test_policy_rules.py``.

``GOOD`` holds one resource per type that passes every rule of every pack; each violating case changes one thing and
names the exact message the rule must report.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policies.harness import UNKNOWN, Resource, Secret
from policies.lib import types as tokens
from policies.sdk_shapes import stack_view

SUB = "/subscriptions/00000000-1111-2222-3333-444444444444"
RG = f"{SUB}/resourceGroups/rg-mlops-fraud-prod-weu"
TAGS = {"owner": "ml@contoso.com", "cost-center": "CC-1", "data-classification": "internal"}
WHERE = {"location": "westeurope", "tags": TAGS}
AS_OF = "2026-11-21"
#: What a diagnostic setting sends: every log and every metric.
LOGGED = {"logs": [{"categoryGroup": "allLogs", "enabled": True}],
          "metrics": [{"category": "AllMetrics", "enabled": True}]}

CONDA = """\
name: train
channels: [conda-forge]
dependencies:
  - python=3.11
  - numpy=1.26.4
  - pip
  - pip:
      - torch==2.7.1
      - scikit-learn>=1.5.2
      - requests==2.32.5
"""

GOOD: dict[str, dict[str, Any]] = {
    "workspace": {
        **WHERE,
        "publicNetworkAccess": "Disabled",
        "allowPublicAccessWhenBehindVnet": False,
        "managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"},
        "hbiWorkspace": True,
        "identity": {"type": "UserAssigned", "userAssignedIdentities": [f"{RG}/providers/x/id-ws"]},
        "primaryUserAssignedIdentity": f"{RG}/providers/x/id-ws",
        "systemDatastoresAuthMode": "Identity",
        "v1LegacyMode": False,
    },
    "cluster": {
        **WHERE,
        "computeName": "cpu",
        "identity": {"type": "UserAssigned"},
        "properties": {
            "computeType": "AmlCompute",
            "disableLocalAuth": True,
            "properties": {
                "vmSize": "Standard_DS3_v2",
                "vmPriority": "LowPriority",
                "enableNodePublicIp": False,
                "remoteLoginPortPublicAccess": "Disabled",
                "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 4, "nodeIdleTimeBeforeScaleDown": "PT2M"},
            },
        },
    },
    "instance": {
        **WHERE,
        "tags": {**TAGS, "mlops-patch-date": "2026-11-10"},
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "computeType": "ComputeInstance",
            "disableLocalAuth": True,
            "properties": {
                "vmSize": "Standard_DS3_v2",
                "enableNodePublicIp": False,
                "sshSettings": {"sshPublicAccess": "Disabled"},
                "idleTimeBeforeShutdown": "PT30M",
            },
        },
    },
    "endpoint": {**WHERE, "properties": {"authMode": "AADToken", "publicNetworkAccess": "Disabled"}},
    "deployment": {
        **WHERE,
        "sku": {"name": "Default", "capacity": 3},
        "properties": {
            "endpointComputeType": "Managed",
            "egressPublicNetworkAccess": "Disabled",
            "appInsightsEnabled": True,
            "environmentId": "azureml:train-env:3",
            "instanceType": "Standard_DS3_v2",
            "environmentVariables": {"LOG_LEVEL": "info", "MODEL_NAME": "fraud"},
            "livenessProbe": {"initialDelay": "PT10S", "period": "PT10S", "timeout": "PT2S", "failureThreshold": 30},
            "readinessProbe": {"initialDelay": "PT10S", "period": "PT10S", "timeout": "PT2S", "failureThreshold": 30},
            "requestSettings": {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1},
        },
    },
    "environment": {
        "properties": {"image": "mcr.microsoft.com/azureml/openmpi5.0-ubuntu24.04:20251101.v1", "condaFile": CONDA}
    },
    "storage": {
        **WHERE,
        "enableHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "networkRuleSet": {"defaultAction": "Deny", "bypass": "AzureServices"},
        "allowSharedKeyAccess": False,
        "sasPolicy": {"sasExpirationPeriod": "1.00:00:00", "expirationAction": "Block"},
        "isLocalUserEnabled": False,
        "encryption": {"requireInfrastructureEncryption": True, "keySource": "Microsoft.Storage"},
        "allowCrossTenantReplication": False,
    },
    "blob": {
        "deleteRetentionPolicy": {"enabled": True, "days": 7},
        "containerDeleteRetentionPolicy": {"enabled": True, "days": 7},
        "isVersioningEnabled": True,
    },
    "container": {"publicAccess": "None"},
    "vault": {
        **WHERE,
        "properties": {
            "tenantId": "t",
            "enableSoftDelete": True,
            "enablePurgeProtection": True,
            "enableRbacAuthorization": True,
            "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"},
        },
    },
    "secret": {"tags": TAGS, "properties": {"value": Secret("s3cr3t"), "attributes": {"expires": 1893456000}}},
    "key": {
        "tags": TAGS,
        "properties": {
            "kty": "RSA-HSM",
            "attributes": {"expires": 1893456000},
            "rotationPolicy": {"lifetimeActions": [{"action": {"type": "rotate"}}]},
        },
    },
    "registry": {
        **WHERE,
        "sku": {"name": "Premium"},
        "adminUserEnabled": False,
        "anonymousPullEnabled": False,
        "publicNetworkAccess": "Disabled",
        "policies": {
            "retentionPolicy": {"status": "enabled", "days": 7},
            "trustPolicy": {"status": "enabled", "type": "Notary"},
            "quarantinePolicy": {"status": "enabled"},
            "exportPolicy": {"status": "disabled"},
        },
    },
    "appinsights": {
        **WHERE,
        "disableLocalAuth": True,
        "workspaceResourceId": f"{RG}/providers/x/log",
        "publicNetworkAccessForIngestion": "Disabled",
        "publicNetworkAccessForQuery": "Disabled",
        "forceCustomerStorageForProfiler": True,
    },
    "loganalytics": {
        **WHERE,
        "features": {"disableLocalAuth": True},
        "retentionInDays": 90,
        "publicNetworkAccessForIngestion": "Disabled",
        "publicNetworkAccessForQuery": "Disabled",
    },
    "role": {
        "scope": f"{RG}/providers/Microsoft.Storage/storageAccounts/st1",
        "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        "principalId": "p",
        "principalType": "ServicePrincipal",
    },
    "aks": {
        **WHERE,
        "kubernetesVersion": "1.33.2",
        "autoUpgradeProfile": {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"},
        "agentPoolProfiles": [{"name": "system", "vmSize": "Standard_D4s_v3"}],
    },
    "autoscale": {
        **WHERE,
        "enabled": True,
        "profiles": [
            {
                "name": "default",
                "capacity": {"minimum": "1", "default": "2", "maximum": "5"},
                "rules": [
                    {
                        "metricTrigger": {
                            "metricName": "CpuUtilizationPercentage",
                            "operator": "GreaterThan",
                            "threshold": 70,
                        },
                        "scaleAction": {
                            "direction": "Increase",
                            "type": "ChangeCount",
                            "value": "1",
                            "cooldown": "PT5M",
                        },
                    },
                    {
                        "metricTrigger": {
                            "metricName": "CpuUtilizationPercentage",
                            "operator": "LessThan",
                            "threshold": 30,
                        },
                        "scaleAction": {
                            "direction": "Decrease",
                            "type": "ChangeCount",
                            "value": "1",
                            "cooldown": "PT10M",
                        },
                    },
                ],
            }
        ],
    },
    "project": {"name": "ml", "visibility": "private"},
    "reviewers": {
        "enabled": True,
        "blocking": True,
        "settings": {
            "reviewerCount": 2,
            "onPushResetApprovedVotes": True,
            "submitterCanVote": False,
            "scopes": [{"repositoryId": "repo1", "repositoryRef": "refs/heads/main", "matchType": "Exact"}],
        },
    },
    "build": {
        "enabled": True,
        "blocking": True,
        "settings": {"buildDefinitionId": 7, "scopes": [{"repositoryId": "repo1", "repositoryRef": "refs/heads/main"}]},
    },
    "connection": {
        "serviceEndpointName": "azure",
        "serviceEndpointAuthenticationScheme": "WorkloadIdentityFederation",
        "credentials": {"serviceprincipalid": "app-id"},
    },
    "pipelineauth": {"pipelineId": 12, "resourceId": "endpoint-1", "type": "endpoint"},
    "resourceauth": {"authorized": True, "definitionId": 12, "resourceId": "endpoint-1"},
    "variables": {
        "name": "ml",
        "variables": [
            {"name": "API_TOKEN", "isSecret": True, "secretValue": Secret("x")},
            {"name": "REGION", "value": "westeurope"},
        ],
    },
}

TYPES = {
    "workspace": tokens.ML_WORKSPACE,
    "cluster": tokens.ML_COMPUTE,
    "instance": tokens.ML_COMPUTE,
    "endpoint": tokens.ML_ONLINE_ENDPOINT,
    "deployment": tokens.ML_ONLINE_DEPLOYMENT,
    "environment": tokens.ML_ENVIRONMENT_VERSION,
    "storage": tokens.STORAGE_ACCOUNT,
    "blob": tokens.BLOB_SERVICE,
    "container": tokens.BLOB_CONTAINER,
    "vault": tokens.KEY_VAULT,
    "secret": tokens.KEY_VAULT_SECRET,
    "key": tokens.KEY_VAULT_KEY,
    "registry": tokens.REGISTRY,
    "appinsights": tokens.APP_INSIGHTS,
    "loganalytics": tokens.LOG_ANALYTICS,
    "role": tokens.ROLE_ASSIGNMENT,
    "aks": tokens.AKS,
    "autoscale": tokens.AUTOSCALE_SETTING,
    "project": tokens.ADO_PROJECT,
    "reviewers": tokens.ADO_MIN_REVIEWERS,
    "build": tokens.ADO_BUILD_VALIDATION,
    "connection": tokens.ADO_SERVICE_ENDPOINT_AZURERM,
    "pipelineauth": tokens.ADO_PIPELINE_AUTHORIZATION,
    "resourceauth": tokens.ADO_RESOURCE_AUTHORIZATION,
    "variables": tokens.ADO_VARIABLE_GROUP,
}


ROLE_DEFS = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
OWNER, UAA, RBAC_ADMIN = ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
                          "f58310d9-a9f6-439a-9e8d-f62e7b41a168")
CONTRIBUTOR, BLOB_READER = "b24988ac-6180-42a0-ab88-20f7382dd24c", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
NEVER = (OWNER, UAA, RBAC_ADMIN)
NOT_LIMITED = " without a condition that keeps it from assigning and removing privileged roles"


def constrain(*roles: str, negate: bool = False) -> str:
    """A delegation condition in the shape of Microsoft's examples ("Examples to delegate Azure role assignment
    management with conditions"): write and delete limited to ``roles``, or to every role but them."""
    test = "ForAnyOfAllValues:GuidNotEquals" if negate else "ForAnyOfAnyValues:GuidEquals"
    guids = ", ".join(roles)
    return (
        "(\n(\n!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})\n)\nOR\n(\n"
        f"@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] {test} {{{guids}}}\nAND\n"
        "@Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase "
        "{'ServicePrincipal'}\n)\n)\nAND\n(\n(\n!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})"
        f"\n)\nOR\n(\n@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] {test} {{{guids}}}\n)\n)"
    )


def good(kind: str, name: str | None = None, **extra: Any) -> Resource:
    """The compliant resource of ``kind`` (extra keyword arguments set Resource fields)."""
    return Resource(TYPES[kind], name or kind, copy.deepcopy(GOOD[kind]), **extra)


def bad(kind: str, change: Callable[[dict[str, Any]], Any], condition: str | None = None, **extra: Any) -> Resource:
    """The compliant resource of ``kind`` with one change applied to its properties (and a role assignment
    ``condition``, with conditionVersion 2.0)."""
    props = copy.deepcopy(GOOD[kind])
    change(props)
    if condition is not None:
        props.update(condition=condition, conditionVersion="2.0")
    return Resource(TYPES[kind], kind, props, **extra)


def put(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change setting ``path`` (dotted; ``None`` deletes the key)."""

    def change(props: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = props
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value

    return change


@dataclass(frozen=True)
class Case:
    rule: str
    resources: Sequence[Resource]
    messages: Sequence[str] = ()
    """Exact messages the rule reports (empty: compliant)."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """The rule's config properties for this case."""
    stack: bool = False
    phases: Sequence[str] = ("preview", "deployed", "ids-only")
    """For stack cases: the phases (:data:`PHASES`) the case runs in and must report ``messages`` in."""

    @property
    def pack(self) -> str:
        return self.rule.split("-", 1)[0]

    @property
    def id(self) -> str:
        return f"{self.rule}:{'violating' if self.messages else 'compliant'}:{len(self.messages)}"


def urn(kind: str, name: str) -> str:
    return f"urn:pulumi:test::test::{TYPES.get(kind, kind)}::{name}"


@dataclass(frozen=True)
class Ref:
    """An input taken from another resource's output (its ``id`` or ``name``, with ``suffix`` appended): unknown on
    a first preview, the value after ``up``. Where a ``Ref`` stands, the input depends on that resource."""

    target: str
    """URN of the resource the value comes from."""
    attr: str = "id"
    suffix: str = ""


#: ARM id (or Azure DevOps id) and Azure name of every resource built by :func:`linked`, by URN.
_IDS: dict[str, tuple[str, str]] = {}
_ARM_TYPES = {
    tokens.REGISTRY: "Microsoft.ContainerRegistry/registries",
    "azure-native:managedidentity:UserAssignedIdentity": "Microsoft.ManagedIdentity/userAssignedIdentities",
    tokens.ML_WORKSPACE: "Microsoft.MachineLearningServices/workspaces",
    tokens.STORAGE_ACCOUNT: "Microsoft.Storage/storageAccounts",
    tokens.KEY_VAULT: "Microsoft.KeyVault/vaults",
    tokens.LOG_ANALYTICS: "Microsoft.OperationalInsights/workspaces",
    tokens.ML_ONLINE_ENDPOINT: "Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints",
    tokens.ML_ONLINE_DEPLOYMENT: "Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/ep/deployments",
    tokens.ML_ENVIRONMENT_VERSION: "Microsoft.MachineLearningServices/workspaces/ws/environments/serve/versions",
    tokens.PRIVATE_ENDPOINT: "Microsoft.Network/privateEndpoints",
    tokens.METRIC_ALERT: "Microsoft.Insights/metricAlerts",
    tokens.BUDGET: "Microsoft.Consumption/budgets",
    "azure-native:privatedns:PrivateZone": "Microsoft.Network/privateDnsZones",
}
_EXTENSIONS = {tokens.DIAGNOSTIC_SETTING: "Microsoft.Insights/diagnosticSettings",
               tokens.LOCK: "Microsoft.Authorization/locks",
               tokens.ROLE_ASSIGNMENT: "Microsoft.Authorization/roleAssignments"}


def _principal(resource_id: str) -> str:
    """The object id an identity gets (the same for the same resource)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, resource_id))


def _refs(value: Any) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, Mapping):
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _refs(v)]
    return []


def linked(
    kind: str,
    name: str,
    props: dict[str, Any] | None = None,
    protect: bool = False,
    azure_name: str | None = None,
    extends: Ref | None = None,
    under: tuple[Resource, str] | None = None,
) -> Resource:
    """A resource for stack cases. Its inputs may hold :class:`Ref` values; the dependencies and property
    dependencies (input name -> URNs) follow from them. ``extends`` makes it an extension resource of that target
    (a diagnostic setting or a lock): its own id then starts with the target's id. ``under`` = (parent, path) makes
    it a child resource, with the id Azure gives it: ``<parent id>/<path>`` (``blobServices/default``)."""
    props = props if props is not None else copy.deepcopy(GOOD.get(kind, {}))
    deps = {key: sorted({r.target for r in _refs(value)}) for key, value in props.items() if _refs(value)}
    token = TYPES.get(kind, kind)
    resource = Resource(token, name, props, urn=urn(kind, name),
                        dependencies=sorted({u for v in deps.values() for u in v}), property_dependencies=deps,
                        protect=protect)
    azure_name = azure_name or str(props.get("computeName") or name)
    if extends is not None:
        resource_id = f"{_IDS[extends.target][0]}{extends.suffix}/providers/{_EXTENSIONS[token]}/{azure_name}"
    elif under is not None:
        resource_id, azure_name = f"{_IDS[under[0].resolved_urn][0]}/{under[1]}", under[1].rsplit("/", 1)[-1]
    elif token == "azure-native:resources:ResourceGroup":
        resource_id = f"{SUB}/resourceGroups/{azure_name}"
    elif token == tokens.ML_COMPUTE:
        resource_id = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws/computes/{azure_name}"
    elif token.startswith("azure-native:"):
        resource_id = f"{RG}/providers/{_ARM_TYPES.get(token, token.split(':', 1)[1])}/{azure_name}"
    else:
        resource_id = str(100 + len(_IDS))
    _IDS[resource.resolved_urn] = (resource_id, azure_name)
    return resource


#: How a stack case is shown to ``AnalyzeStack``: on a first preview (every id and computed output unknown), after
#: ``up`` (ids known, the graph as the engine records it), and with known ids but no graph (a stack that refers to
#: resources by id strings, which only the ids can link).
PHASES = ("preview", "deployed", "ids-only")


def _resolve(value: Any, phase: str) -> Any:
    if isinstance(value, Ref):
        if phase == "preview":
            return UNKNOWN
        resource_id, name = _IDS[value.target]
        return {"id": resource_id, "name": name, "principalId": _principal(resource_id)}[value.attr] + value.suffix
    if isinstance(value, dict):
        return {k: _resolve(v, phase) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, phase) for v in value]
    return value


def as_engine_sends(resources: Sequence[Resource], phase: str) -> list[Resource]:
    """The stack case's resources as the engine would send them to ``AnalyzeStack`` in ``phase``: each resource's
    outputs (for azure-native types, the SDK's output shape: path parameters dropped, ``id`` and ``name`` unknown
    on a preview), with or without the graph."""
    out = []
    for resource in resources:
        inputs = _resolve(dict(resource.properties), phase)
        resource_id, name = _IDS[resource.resolved_urn]
        state: dict[str, str] | None = None
        if phase != "preview":
            # What the provider returns: azure-native the ARM response (name, identity), Azure DevOps the inputs
            # and its id.
            state = ({"id": resource_id, "name": name, "principalId": _principal(resource_id)}
                     if resource.type.startswith("azure-native:") else {"id": resource_id})
        props = stack_view(resource.type, inputs, state, UNKNOWN)
        graph = phase != "ids-only"
        out.append(dataclasses.replace(
            resource, properties=props, dependencies=resource.dependencies if graph else (),
            property_dependencies=resource.property_dependencies if graph else {}))
    return out


def resource_cases() -> list[Case]:
    c = Case
    return [
        # --- security: Azure ML ---
        c("security-mlworkspace-public-network-disabled", [good("workspace")]),
        c(
            "security-mlworkspace-public-network-disabled",
            [
                bad(
                    "workspace",
                    lambda p: p.update(
                        publicNetworkAccess="Enabled", allowPublicAccessWhenBehindVnet=True, hbiWorkspace=False
                    ),
                )
            ],
            [
                "publicNetworkAccess is 'Enabled'; set it to 'Disabled'",
                "allowPublicAccessWhenBehindVnet is true; set it to false",
            ],
        ),
        c("security-mlworkspace-approved-outbound-only", [good("workspace")]),
        c(
            "security-mlworkspace-approved-outbound-only",
            [bad("workspace", put("managedNetwork.isolationMode", "AllowInternetOutbound"))],
            ["managedNetwork.isolationMode is 'AllowInternetOutbound'; set it to 'AllowOnlyApprovedOutbound'"],
        ),
        c("security-mlworkspace-customer-managed-key", [good("workspace")]),
        c(
            "security-mlworkspace-customer-managed-key",
            [bad("workspace", put("encryption", {"status": "Enabled"}))],
            config={"required": True},
        ),
        c(
            "security-mlworkspace-customer-managed-key",
            [good("workspace")],
            ["encryption.status is not 'Enabled'; configure a customer-managed key"],
            config={"required": True},
        ),
        c("security-mlworkspace-hbi-private", [good("workspace")]),
        c(
            "security-mlworkspace-hbi-private",
            [bad("workspace", put("publicNetworkAccess", "Enabled"))],
            ["hbiWorkspace is true but publicNetworkAccess is not 'Disabled'"],
        ),
        c("security-mlworkspace-user-assigned-identity", [good("workspace")]),
        c(
            "security-mlworkspace-user-assigned-identity",
            [bad("workspace", put("identity", {"type": "SystemAssigned"}))],
            ["identity.type is 'SystemAssigned'; use a user-assigned identity"],
        ),
        c(
            "security-mlworkspace-user-assigned-identity",
            [bad("workspace", put("primaryUserAssignedIdentity", None))],
            ["primaryUserAssignedIdentity is not set"],
        ),
        c("security-mlworkspace-identity-datastores", [good("workspace")]),
        c(
            "security-mlworkspace-identity-datastores",
            [bad("workspace", lambda p: p.update(systemDatastoresAuthMode="AccessKey", v1LegacyMode=True))],
            ["systemDatastoresAuthMode is 'AccessKey'; set it to 'Identity'", "v1LegacyMode is true; set it to false"],
        ),
        c("security-mlcompute-local-auth-disabled", [good("cluster"), good("instance")]),
        c(
            "security-mlcompute-local-auth-disabled",
            [bad("cluster", put("properties.disableLocalAuth", False))],
            ["properties.disableLocalAuth is not true"],
        ),
        c("security-mlcompute-no-public-ip", [good("cluster"), good("instance")]),
        c(
            "security-mlcompute-no-public-ip",
            [bad("cluster", put("properties.properties.enableNodePublicIp", None))],
            ["properties.properties.enableNodePublicIp is not set (the API then defaults to true)"],
        ),
        c(
            "security-mlcompute-no-public-ip",
            [bad("instance", put("properties.properties.enableNodePublicIp", True))],
            ["properties.properties.enableNodePublicIp is true"],
        ),
        c("security-mlcompute-ssh-closed", [good("cluster"), good("instance")]),
        c(
            "security-mlcompute-ssh-closed",
            [bad("cluster", put("properties.properties.remoteLoginPortPublicAccess", "NotSpecified"))],
            ["properties.properties.remoteLoginPortPublicAccess is 'NotSpecified'; set it to 'Disabled'"],
        ),
        c(
            "security-mlcompute-ssh-closed",
            [bad("instance", put("properties.properties.sshSettings.sshPublicAccess", "Enabled"))],
            ["properties.properties.sshSettings.sshPublicAccess is 'Enabled'; set it to 'Disabled'"],
        ),
        c("security-mlcompute-managed-identity", [good("cluster"), good("instance")]),
        c(
            "security-mlcompute-managed-identity",
            [bad("cluster", put("identity", None))],
            ["identity is not set; give the compute a managed identity"],
        ),
        c("security-onlineendpoint-public-network-disabled", [good("endpoint")]),
        c(
            "security-onlineendpoint-public-network-disabled",
            [bad("endpoint", put("properties.publicNetworkAccess", None))],
            ["properties.publicNetworkAccess is None; set it to 'Disabled'"],
        ),
        c("security-onlineendpoint-entra-auth", [good("endpoint")]),
        c(
            "security-onlineendpoint-entra-auth",
            [bad("endpoint", put("properties.authMode", "Key"))],
            ["properties.authMode is 'Key'; use one of AADToken"],
        ),
        c("security-onlinedeployment-egress-disabled", [good("deployment")]),
        c(
            "security-onlinedeployment-egress-disabled",
            [bad("deployment", put("properties.egressPublicNetworkAccess", "Enabled"))],
            ["properties.egressPublicNetworkAccess is 'Enabled'; set it to 'Disabled'"],
        ),
        c("security-onlinedeployment-app-insights", [good("deployment")]),
        c(
            "security-onlinedeployment-app-insights",
            [bad("deployment", put("properties.appInsightsEnabled", False))],
            ["properties.appInsightsEnabled is not true"],
        ),
        c("security-onlinedeployment-no-plaintext-secrets", [good("deployment")]),
        c(
            "security-onlinedeployment-no-plaintext-secrets",
            [bad("deployment", put("properties.environmentVariables.DB_PASSWORD", "hunter2"))],
            ["environment variable DB_PASSWORD looks like a secret and is set in plain text"],
        ),
        # --- security: storage ---
        c("security-storage-https-only", [good("storage")]),
        c(
            "security-storage-https-only",
            [bad("storage", put("enableHttpsTrafficOnly", False))],
            ["enableHttpsTrafficOnly is false"],
        ),
        c("security-storage-no-public-blob-access", [good("storage")]),
        c(
            "security-storage-no-public-blob-access",
            [bad("storage", put("allowBlobPublicAccess", True))],
            ["allowBlobPublicAccess is not false"],
        ),
        c("security-storage-container-private", [good("container")]),
        c(
            "security-storage-container-private",
            [bad("container", put("publicAccess", "Blob"))],
            ["publicAccess is 'Blob'; set it to 'None'"],
        ),
        c("security-storage-network-restricted", [good("storage")]),
        c(
            "security-storage-network-restricted",
            [bad("storage", lambda p: p.update(networkRuleSet=None, publicNetworkAccess="Disabled"))],
        ),
        c(
            "security-storage-network-restricted",
            [bad("storage", put("networkRuleSet.defaultAction", "Allow"))],
            ["networkRuleSet.defaultAction is 'Allow' and public network access is enabled; use 'Deny'"],
        ),
        c(
            "security-storage-network-restricted",
            [bad("storage", put("networkRuleSet.bypass", "None"))],
            ["networkRuleSet.bypass does not include AzureServices; trusted services such as Azure ML are blocked"],
        ),
        c("security-storage-shared-key-disabled", [good("storage")]),
        c(
            "security-storage-shared-key-disabled",
            [bad("storage", put("allowSharedKeyAccess", None))],
            ["allowSharedKeyAccess is not false"],
        ),
        c("security-storage-sas-expiry-policy", [good("storage")]),
        c(
            "security-storage-sas-expiry-policy",
            [bad("storage", put("sasPolicy", None))],
            ["sasPolicy.sasExpirationPeriod is not set"],
        ),
        c(
            "security-storage-sas-expiry-policy",
            [bad("storage", put("sasPolicy.sasExpirationPeriod", "30.00:00:00"))],
            ["sasPolicy.sasExpirationPeriod is 30.00:00:00; at most 7 days are allowed"],
        ),
        c("security-storage-infrastructure-encryption", [good("storage")]),
        c(
            "security-storage-infrastructure-encryption",
            [bad("storage", put("encryption.requireInfrastructureEncryption", False))],
            ["neither infrastructure encryption nor a customer-managed key is configured"],
        ),
        c("security-storage-no-cross-tenant-replication", [good("storage")]),
        c(
            "security-storage-no-cross-tenant-replication",
            [bad("storage", put("allowCrossTenantReplication", True))],
            ["allowCrossTenantReplication is not false"],
        ),
        c("security-storage-blob-soft-delete", [good("blob")]),
        c(
            "security-storage-blob-soft-delete",
            [
                bad(
                    "blob",
                    lambda p: p.update(
                        deleteRetentionPolicy={"enabled": False},
                        containerDeleteRetentionPolicy={"enabled": True, "days": 3},
                    ),
                )
            ],
            ["deleteRetentionPolicy is not enabled", "containerDeleteRetentionPolicy.days is 3; keep at least 7 days"],
        ),
        c("security-storage-blob-versioning", [good("blob")]),
        c(
            "security-storage-blob-versioning",
            [bad("blob", put("isVersioningEnabled", None))],
            ["isVersioningEnabled is not true"],
        ),
        # --- security: Key Vault ---
        c("security-keyvault-soft-delete-purge-protection", [good("vault")]),
        c(
            "security-keyvault-soft-delete-purge-protection",
            [bad("vault", put("properties.enablePurgeProtection", None))],
            ["properties.enablePurgeProtection is not true"],
        ),
        c("security-keyvault-rbac", [good("vault")]),
        c(
            "security-keyvault-rbac",
            [bad("vault", put("properties.enableRbacAuthorization", False))],
            ["properties.enableRbacAuthorization is not true"],
        ),
        c("security-keyvault-network-restricted", [good("vault")]),
        c(
            "security-keyvault-network-restricted",
            [bad("vault", put("properties.networkAcls", None))],
            ["properties.networkAcls.defaultAction is None and public network access is enabled; use 'Deny'"],
        ),
        c("security-keyvault-secret-expiry", [good("secret")]),
        c(
            "security-keyvault-secret-expiry",
            [bad("secret", put("properties.attributes", None))],
            ["properties.attributes.expires is not set"],
        ),
        c("security-keyvault-key-expiry-rotation", [good("key")]),
        c(
            "security-keyvault-key-expiry-rotation",
            [bad("key", lambda p: p["properties"].pop("rotationPolicy"))],
            ["properties.rotationPolicy is not set"],
        ),
        c("security-keyvault-key-hsm", [good("key")]),
        c(
            "security-keyvault-key-hsm",
            [bad("key", put("properties.kty", "RSA"))],
            ["properties.kty is 'RSA'; use RSA-HSM or EC-HSM"],
        ),
        c("security-keyvault-key-hsm", [bad("key", put("properties.kty", "RSA"))], config={"required": False}),
        # --- security: registry ---
        c("security-acr-admin-user-disabled", [good("registry")]),
        c(
            "security-acr-admin-user-disabled",
            [bad("registry", put("adminUserEnabled", True))],
            ["adminUserEnabled is true"],
        ),
        c("security-acr-anonymous-pull-disabled", [good("registry")]),
        c(
            "security-acr-anonymous-pull-disabled",
            [bad("registry", put("anonymousPullEnabled", True))],
            ["anonymousPullEnabled is true"],
        ),
        c("security-acr-public-network-disabled", [good("registry")]),
        c(
            "security-acr-public-network-disabled",
            [bad("registry", lambda p: p.update(sku={"name": "Basic"}, publicNetworkAccess="Enabled"))],
            [
                "sku.name is 'Basic'; only Premium supports private link",
                "publicNetworkAccess is 'Enabled'; set it to 'Disabled'",
            ],
        ),
        c("security-acr-retention-policy", [good("registry")]),
        c(
            "security-acr-retention-policy",
            [bad("registry", put("policies.retentionPolicy.days", 90))],
            ["policies.retentionPolicy.days is above 30"],
        ),
        c("security-acr-content-trust", [good("registry")]),
        c(
            "security-acr-content-trust",
            [bad("registry", put("policies.trustPolicy", None))],
            ["policies.trustPolicy.status is not 'enabled'"],
        ),
        c("security-acr-quarantine", [good("registry")]),
        c(
            "security-acr-quarantine",
            [bad("registry", put("policies.quarantinePolicy.status", "disabled"))],
            ["policies.quarantinePolicy.status is not 'enabled'"],
        ),
        c("security-acr-export-disabled", [good("registry")]),
        c(
            "security-acr-export-disabled",
            [bad("registry", put("policies.exportPolicy", None))],
            ["policies.exportPolicy.status is not 'disabled'"],
        ),
        # --- security: monitoring ---
        c("security-appinsights-local-auth-disabled", [good("appinsights")]),
        c(
            "security-appinsights-local-auth-disabled",
            [bad("appinsights", put("disableLocalAuth", False))],
            ["disableLocalAuth is not true"],
        ),
        c("security-appinsights-workspace-based", [good("appinsights")]),
        c(
            "security-appinsights-workspace-based",
            [bad("appinsights", put("workspaceResourceId", None))],
            ["workspaceResourceId is not set"],
        ),
        c("security-appinsights-public-access-disabled", [good("appinsights")]),
        c(
            "security-appinsights-public-access-disabled",
            [bad("appinsights", put("publicNetworkAccessForQuery", None))],
            ["publicNetworkAccessForQuery is 'Enabled (default)'; set it to 'Disabled'"],
        ),
        c("security-loganalytics-local-auth-disabled", [good("loganalytics")]),
        c(
            "security-loganalytics-local-auth-disabled",
            [bad("loganalytics", put("features", None))],
            ["features.disableLocalAuth is not true"],
        ),
        c("security-loganalytics-public-access-disabled", [good("loganalytics")]),
        c(
            "security-loganalytics-public-access-disabled",
            [bad("loganalytics", put("publicNetworkAccessForIngestion", "Enabled"))],
            ["publicNetworkAccessForIngestion is 'Enabled'; set it to 'Disabled'"],
        ),
        c("security-loganalytics-retention", [good("loganalytics")]),
        c(
            "security-loganalytics-retention",
            [bad("loganalytics", put("retentionInDays", 30))],
            ["retentionInDays is 30; keep at least 90 days"],
            config={"minDays": 90},
        ),
        # --- security: identity ---
        c("security-roleassignment-least-privilege", [good("role")]),
        c(
            "security-roleassignment-least-privilege",
            [
                bad(
                    "role",
                    lambda p: p.update(
                        scope=SUB,
                        roleDefinitionId=f"{SUB}/providers/Microsoft.Authorization/"
                        "roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                    ),
                )
            ],
            [
                "Owner is granted to a ServicePrincipal at subscription scope; "
                "workload identities must not manage access"
            ],
        ),
        c(
            "security-roleassignment-least-privilege",
            [
                bad(
                    "role",
                    lambda p: p.update(
                        scope=RG,
                        roleDefinitionId=f"{SUB}/providers/Microsoft.Authorization/"
                        "roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
                    ),
                )
            ],
            ["Contributor is granted to a ServicePrincipal at resource group scope; scope it to a single resource"],
        ),
        c(
            "security-roleassignment-least-privilege",
            [
                bad(
                    "role",
                    lambda p: p.update(
                        principalType="Group",
                        scope=SUB,
                        roleDefinitionId=f"{SUB}/providers/"
                        "Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                    ),
                )
            ],
        ),
        # Access management constrained by a condition (Microsoft's "Constrain roles" example, and "all roles but the
        # privileged ones"), and conditions that do not constrain it.
        c("security-roleassignment-least-privilege", [
            bad("role", put("roleDefinitionId", ROLE_DEFS + RBAC_ADMIN), condition=constrain(BLOB_READER)),
            bad("role", put("roleDefinitionId", ROLE_DEFS + UAA), condition=constrain(*NEVER, negate=True)),
        ]),
        c(
            "security-roleassignment-least-privilege",
            [
                bad("role", lambda p: p.update(roleDefinitionId=ROLE_DEFS + RBAC_ADMIN, scope=RG)),
                bad("role", put("roleDefinitionId", ROLE_DEFS + RBAC_ADMIN), condition=constrain(BLOB_READER, OWNER)),
                bad("role", put("roleDefinitionId", ROLE_DEFS + RBAC_ADMIN), condition=constrain(BLOB_READER).replace(
                    "GuidEquals {" + BLOB_READER + "}\nAND", "GuidEquals {" + BLOB_READER + "}\nOR", 1)),
                bad("role", put("roleDefinitionId", ROLE_DEFS + RBAC_ADMIN),
                    condition=constrain(BLOB_READER).split("\nAND\n(\n(\n!(ActionMatches{'Microsoft.Authorization/"
                                                          "roleAssignments/delete'})")[0] + "\n)"),
                bad("role", put("roleDefinitionId", ROLE_DEFS + UAA), condition=constrain(OWNER, negate=True)),
                bad("role", put("roleDefinitionId", ROLE_DEFS + OWNER), condition=constrain(BLOB_READER)),
            ],
            [f"Role Based Access Control Administrator is granted to a ServicePrincipal at {level}{NOT_LIMITED}; "
             "workload identities must not manage access"
             for level in ("resource group scope", "resource scope", "resource scope", "resource scope")]
            + [f"User Access Administrator is granted to a ServicePrincipal at resource scope{NOT_LIMITED}; "
               "workload identities must not manage access",
               "Owner is granted to a ServicePrincipal at resource scope; workload identities must not manage access"],
        ),
        # A scope created in the same deployment is unknown on a first preview: Owner is still refused, Contributor
        # is left to security-roleassignment-scope (which resolves the scope through the graph).
        c("security-roleassignment-least-privilege", [
            bad("role", lambda p: p.update(roleDefinitionId=ROLE_DEFS + CONTRIBUTOR, scope=UNKNOWN))]),
        c(
            "security-roleassignment-least-privilege",
            [bad("role", lambda p: p.update(roleDefinitionId=ROLE_DEFS + OWNER, scope=UNKNOWN))],
            ["Owner is granted to a ServicePrincipal at a scope created in this deployment; workload identities must "
             "not manage access"],
        ),
        # --- security: Azure DevOps ---
        c("security-ado-project-private", [good("project")]),
        c(
            "security-ado-project-private",
            [bad("project", put("visibility", "public"))],
            ["visibility is 'public'; set it to 'private'"],
        ),
        c("security-ado-branch-reviewers", [good("reviewers")]),
        c(
            "security-ado-branch-reviewers",
            [
                bad(
                    "reviewers",
                    lambda p: p["settings"].update(
                        reviewerCount=1, onPushResetApprovedVotes=False, submitterCanVote=True
                    ),
                )
            ],
            [
                "settings.reviewerCount is 1; require at least 2",
                "votes are not reset on push (settings.onPushResetApprovedVotes)",
                "settings.submitterCanVote is true",
            ],
        ),
        c("security-ado-service-connection-federated", [good("connection")]),
        c(
            "security-ado-service-connection-federated",
            [
                bad(
                    "connection",
                    lambda p: p.update(
                        serviceEndpointAuthenticationScheme="ServicePrincipal",
                        credentials={"serviceprincipalid": "a", "serviceprincipalkey": "k"},
                    ),
                )
            ],
            [
                "serviceEndpointAuthenticationScheme is 'ServicePrincipal'; use 'WorkloadIdentityFederation'",
                "credentials.serviceprincipalkey is set; a federated connection stores no secret",
            ],
        ),
        c("security-ado-resource-not-open", [good("pipelineauth"), good("resourceauth")]),
        c(
            "security-ado-resource-not-open",
            [bad("pipelineauth", put("pipelineId", None))],
            ["no pipelineId: the resource would be open to every pipeline in the project"],
        ),
        c(
            "security-ado-resource-not-open",
            [bad("resourceauth", put("definitionId", None))],
            ["authorized without definitionId: the resource would be open to every pipeline in the project"],
        ),
        c("security-ado-variable-group-secrets", [good("variables")]),
        c(
            "security-ado-variable-group-secrets",
            [bad("variables", lambda p: p["variables"].append({"name": "DB_PASSWORD", "value": "hunter2"}))],
            ["variable DB_PASSWORD looks like a secret and is stored in plain text"],
        ),
        # --- patching ---
        c("patching-mlinstance-recreated-recently", [good("instance")], config={"asOf": AS_OF}),
        c(
            "patching-mlinstance-recreated-recently",
            [good("instance")],
            ["the OS image is from 2026-11-10, 42 days old; recreate it (at most 30 days)"],
            config={"asOf": "2026-12-22"},
        ),
        c(
            "patching-mlinstance-recreated-recently",
            [bad("instance", put("tags.mlops-patch-date", None))],
            ["no mlops-patch-date tag: the OS image date is unknown, so patching cannot be checked"],
        ),
        c("patching-mlcluster-scale-to-zero", [good("cluster")]),
        c(
            "patching-mlcluster-scale-to-zero",
            [bad("cluster", put("properties.properties.scaleSettings.minNodeCount", 2))],
            ["scaleSettings.minNodeCount is 2; allow scaling to 0"],
        ),
        c("patching-mlenvironment-image-pinned", [good("environment")]),
        c(
            "patching-mlenvironment-image-pinned",
            [
                good("environment"),
                bad(
                    "environment",
                    put("properties.image", "mcr.microsoft.com/azureml/openmpi5.0-ubuntu24.04@sha256:" + "a" * 64),
                ),
            ],
        ),
        c(
            "patching-mlenvironment-image-pinned",
            [bad("environment", put("properties.image", "mcr.microsoft.com/azureml/openmpi5.0-ubuntu24.04:latest"))],
            [
                "properties.image 'mcr.microsoft.com/azureml/openmpi5.0-ubuntu24.04:latest' is not pinned; "
                "use a version tag or digest"
            ],
        ),
        c(
            "patching-mlenvironment-image-pinned",
            [bad("environment", put("properties.image", "myreg.io:5000/base"))],
            ["properties.image 'myreg.io:5000/base' is not pinned; use a version tag or digest"],
        ),
        c("patching-mlenvironment-base-os-supported", [good("environment")]),
        c(
            "patching-mlenvironment-base-os-supported",
            [bad("environment", put("properties.image", "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:1"))],
            ["properties.image is based on ubuntu20.04, which is end of life"],
        ),
        c("patching-mlenvironment-framework-minimums", [good("environment")]),
        c(
            "patching-mlenvironment-framework-minimums",
            [
                bad(
                    "environment",
                    put(
                        "properties.condaFile",
                        CONDA.replace("torch==2.7.1", "torch==2.5.1").replace("numpy=1.26.4", "numpy=1.21.6"),
                    ),
                )
            ],
            [
                "numpy =1.21.6 allows versions below the patched minimum 1.22.0",
                "torch ==2.5.1 allows versions below the patched minimum 2.6.0",
            ],
        ),
        c(
            "patching-mlenvironment-framework-minimums",
            [bad("environment", put("properties.condaFile", "dependencies: not-a-list"))],
            ["condaFile has no 'dependencies' list"],
        ),
        c("patching-mlenvironment-frameworks-pinned", [good("environment")]),
        c(
            "patching-mlenvironment-frameworks-pinned",
            [bad("environment", put("properties.condaFile", CONDA.replace("torch==2.7.1", "torch")))],
            ["torch has no version constraint"],
        ),
        c(
            "patching-mlenvironment-frameworks-pinned",
            [good("environment")],
            ["scikit-learn >=1.5.2 is not pinned to one version"],
            config={"exactPins": True},
        ),
        c("patching-aks-upgrade-channels", [good("aks")]),
        c(
            "patching-aks-upgrade-channels",
            [bad("aks", put("autoUpgradeProfile", {"upgradeChannel": "none"}))],
            [
                "autoUpgradeProfile.upgradeChannel is 'none'; use one of patch, stable, rapid",
                "autoUpgradeProfile.nodeOSUpgradeChannel is None; use one of NodeImage, SecurityPatch",
            ],
        ),
        c("patching-aks-kubernetes-version", [good("aks")]),
        c(
            "patching-aks-kubernetes-version",
            [bad("aks", put("kubernetesVersion", "1.29.4"))],
            ["kubernetesVersion is 1.29.4; at least 1.32.0 is required"],
        ),
        c("patching-tls-minimum", [good("storage"), good("workspace")]),
        c(
            "patching-tls-minimum",
            [bad("storage", put("minimumTlsVersion", "TLS1_0"))],
            ["minimumTlsVersion is 'TLS1_0'; require TLS 1.2 or later"],
        ),
        c(
            "patching-tls-minimum",
            [Resource("azure-native:cache:Redis", "redis", {"minimumTlsVersion": "1.1"})],
            ["minimumTlsVersion is '1.1'; require TLS 1.2 or later"],
        ),
        c(
            "patching-provider-version-floor",
            [good("storage", provider_type="pulumi:providers:azure-native", provider_properties={"version": "3.29.0"})],
        ),
        c(
            "patching-provider-version-floor",
            [good("storage", provider_type="pulumi:providers:azure-native", provider_properties={"version": "2.90.0"})],
            ["the azure-native provider is version 2.90.0; at least 3.0.0 is required"],
        ),
        # --- governance ---
        c("governance-tags-required", [good("storage"), good("role"), good("project")]),
        # Types that take no tags input (from the SDK) are never reported: a compliant stack stays compliant.
        c("governance-tags-required", [
            Resource("azure-native:machinelearningservices:Datastore", "ds", {"properties": {}}),
            Resource("azure-native:machinelearningservices:WorkspaceConnection", "conn", {"properties": {}}),
            Resource("azure-native:machinelearningservices:ModelVersion", "model", {"modelVersionProperties": {}}),
            Resource(tokens.ROLE_DEFINITION, "role", {"roleName": "ml", "permissions": []}),
            Resource("azure-native:network:PrivateDnsZoneGroup", "dns", {}),
            Resource("azure-native:futureservice:Widget", "widget", {"size": 1}),
        ]),
        c(
            "governance-tags-required",
            [bad("vault", put("tags", {"owner": "me"}))],
            ["missing tags: cost-center, data-classification"],
        ),
        # Any API version of a taggable type (v3 local packages, v2 versioned modules), and a type newer than the
        # SDK the list came from when it is given tags.
        c(
            "governance-tags-required",
            [Resource("azure-native_storage_v20220901:storage/v20220901:StorageAccount", "st", {"location": "x"}),
             Resource("azure-native:keyvault/v20230701:Vault", "kv", {"tags": {"owner": "me"}}),
             Resource("azure-native:futureservice:Widget", "widget", {"tags": {}})],
            ["missing tags: owner, cost-center, data-classification",
             "missing tags: cost-center, data-classification",
             "missing tags: owner, cost-center, data-classification"],
        ),
        c("governance-region-allowed", [good("storage"), Resource(tokens.METRIC_ALERT, "a", {"location": "global"})]),
        c(
            "governance-region-allowed",
            [bad("storage", put("location", "East US")),
             bad("loganalytics", put("replication", {"enabled": True, "location": "eastus"}))],
            ["location 'East US' is not allowed; use one of westeurope, northeurope, swedencentral",
             "replication.location 'eastus' is not allowed; use one of westeurope, northeurope, swedencentral"],
        ),
        c("governance-region-allowed", [bad("loganalytics", put("replication", {"enabled": True,
                                                                               "location": "northeurope"}))]),
        c("governance-vmsize-allowed", [good("cluster"), good("instance"), good("deployment"), good("aks")]),
        c(
            "governance-vmsize-allowed",
            [bad("cluster", put("properties.properties.vmSize", "Standard_ND96amsr_A100_v4"))],
            ["properties.properties.vmSize 'Standard_ND96amsr_A100_v4' is not allowed here"],
        ),
        c(
            "governance-vmsize-allowed",
            [good("aks")],
            ["agentPoolProfiles[0].vmSize 'Standard_D4s_v3' is not allowed here"],
            config={"allowedVmSizes": ["Standard_DS3_v2"]},
        ),
        c("governance-mlcluster-max-nodes", [good("cluster")]),
        c(
            "governance-mlcluster-max-nodes",
            [bad("cluster", put("properties.properties.scaleSettings.maxNodeCount", 50))],
            ["scaleSettings.maxNodeCount is 50; the ceiling is 10"],
        ),
        c("governance-mlcluster-low-priority", [good("cluster")], config={"required": True}),
        c(
            "governance-mlcluster-low-priority",
            [bad("cluster", put("properties.properties.vmPriority", "Dedicated"))],
            ["vmPriority is 'Dedicated'; use 'LowPriority'"],
            config={"required": True},
        ),
        c("governance-mlinstance-idle-shutdown", [good("instance")]),
        c(
            "governance-mlinstance-idle-shutdown",
            [bad("instance", put("properties.properties.idleTimeBeforeShutdown", None))],
            ["properties.properties.idleTimeBeforeShutdown is not set"],
        ),
        c(
            "governance-mlinstance-idle-shutdown",
            [bad("instance", put("properties.properties.idleTimeBeforeShutdown", "P1D"))],
            ["idleTimeBeforeShutdown is P1D; at most PT3H is allowed"],
        ),
        c("governance-autoscale-capacity", [good("autoscale")]),
        c(
            "governance-autoscale-capacity",
            [bad("autoscale", put("profiles.0.capacity", {"minimum": "3", "default": "2", "maximum": "40"}))],
            [
                "profile default: capacity minimum 3, default 2, maximum 40 are not in order",
                "profile default: maximum 40 is above 20",
            ],
        ),
        c("governance-autoscale-no-flapping", [good("autoscale")]),
        c(
            "governance-autoscale-no-flapping",
            [bad("autoscale", put("profiles.0.rules.1.metricTrigger.threshold", 60))],
            ["profile default: CpuUtilizationPercentage scales out at 70 and in at 60; keep them at least 20 apart"],
        ),
        c(
            "governance-autoscale-no-flapping",
            [bad("autoscale", lambda p: p["profiles"][0]["rules"].pop())],
            ["profile default: scales out but never scales in"],
        ),
        c("governance-autoscale-cooldowns", [good("autoscale")]),
        c(
            "governance-autoscale-cooldowns",
            [bad("autoscale", put("profiles.0.rules.0.scaleAction.cooldown", "PT1M"))],
            ["profile default rule 0: cooldown is 'PT1M'; use at least PT5M"],
        ),
    ]


def stack_cases() -> list[Case]:
    """Whole-stack cases; each runs in every phase of :data:`PHASES` and must report the same."""
    c = Case
    rg = linked("azure-native:resources:ResourceGroup", "rg", {"location": "westeurope", "tags": TAGS},
                azure_name=RG.rsplit("/", 1)[-1])
    ws = linked("workspace", "ws", {**GOOD["workspace"], "resourceGroupName": Ref(rg.resolved_urn, "name")})
    ws_open = linked("workspace", "ws", {**GOOD["workspace"], "managedNetwork": {"isolationMode": "Disabled"}})
    cluster = linked("cluster", "cpu", {**GOOD["cluster"], "workspaceName": Ref(ws.resolved_urn, "name")})
    subnet = linked("azure-native:network:Subnet", "snet", {"addressPrefix": "10.0.0.0/24"})
    cluster_in_subnet = linked("cluster", "cpu", {
        **GOOD["cluster"], "workspaceName": Ref(ws.resolved_urn, "name"),
        "properties": {**GOOD["cluster"]["properties"], "properties": {
            **GOOD["cluster"]["properties"]["properties"], "subnet": {"id": Ref(subnet.resolved_urn)}}}})

    def endpoint_to(name: str, group: str, key: str = "privateLinkServiceConnections") -> Resource:
        return linked(tokens.PRIVATE_ENDPOINT, name, {
            **WHERE, key: [{"name": name, "groupIds": [group], "privateLinkServiceId": Ref(ws.resolved_urn)}]})

    law = linked("loganalytics", "law")
    vault = linked("vault", "kv")
    diag_kv = linked(tokens.DIAGNOSTIC_SETTING, "kv-diag",
                     {"resourceUri": Ref(vault.resolved_urn), "workspaceId": Ref(law.resolved_urn), **LOGGED},
                     extends=Ref(vault.resolved_urn))
    diag_law = linked(tokens.DIAGNOSTIC_SETTING, "law-diag",
                      {"resourceUri": Ref(law.resolved_urn), "workspaceId": Ref(law.resolved_urn), **LOGGED},
                      extends=Ref(law.resolved_urn))
    storage = linked("storage", "st", {**GOOD["storage"], "resourceGroupName": Ref(rg.resolved_urn, "name")},
                     protect=True)
    lock = linked(tokens.LOCK, "st-lock", {"level": "CanNotDelete", "scope": Ref(storage.resolved_urn)},
                  extends=Ref(storage.resolved_urn))
    rg_lock = linked(tokens.LOCK, "rg-lock", {"level": "CanNotDelete", "scope": Ref(rg.resolved_urn)},
                     extends=Ref(rg.resolved_urn))
    read_only_lock = linked(tokens.LOCK, "st-lock", {"level": "ReadOnly", "scope": Ref(storage.resolved_urn)},
                            extends=Ref(storage.resolved_urn))
    repo = linked("azuredevops:index/git:Git", "repo", {"name": "ml"})
    other_repo = linked("azuredevops:index/git:Git", "other", {"name": "other"})

    def branch_policy(kind: str, name: str, target: Resource) -> Resource:
        settings = copy.deepcopy(GOOD[kind]["settings"])
        settings["scopes"][0]["repositoryId"] = Ref(target.resolved_urn)
        return linked(kind, name, {**GOOD[kind], "settings": settings})

    reviewers = branch_policy("reviewers", "main-reviewers", repo)
    build = branch_policy("build", "main-build", repo)
    build_elsewhere = branch_policy("build", "other-build", other_repo)
    env = linked(tokens.ADO_ENVIRONMENT, "prod", {"name": "ml-prod"})
    approval = linked(tokens.ADO_CHECK_APPROVAL, "approval", {
        "requesterCanApprove": False, "targetResourceType": "environment", "targetResourceId": Ref(env.resolved_urn)})
    branch = linked(tokens.ADO_CHECK_BRANCH_CONTROL, "branch", {
        "verifyBranchProtection": True, "targetResourceType": "environment", "allowedBranches": "refs/heads/main",
        "targetResourceId": Ref(env.resolved_urn)})
    group = linked(tokens.ACTION_GROUP, "ag", {**WHERE, "groupShortName": "ml", "enabled": True,
                                              "emailReceivers": [{"name": "e", "emailAddress": "ml@contoso.com"}]})
    actions = [{"actionGroupId": Ref(group.resolved_urn)}]
    endpoint = linked("endpoint", "ep")
    alert_ep = linked(tokens.METRIC_ALERT, "ep-alert",
                      {**WHERE, "enabled": True, "actions": actions, "scopes": [Ref(endpoint.resolved_urn)]})
    alert_cluster = linked(tokens.METRIC_ALERT, "cpu-alert", {
        **WHERE, "enabled": True, "actions": actions, "scopes": [Ref(ws.resolved_urn)],
        "criteria": {"allOf": [{"dimensions": [
            {"name": "ClusterName", "operator": "Include", "values": [Ref(cluster.resolved_urn, "name")]}]}]}})
    budget = linked(tokens.BUDGET, "budget", {"amount": 500, "notifications": {"80": {"enabled": True}}})

    def team(name: str) -> dict[str, Any]:
        return {"location": "westeurope", "tags": {**TAGS, "team": name}}

    identity = linked("azure-native:managedidentity:UserAssignedIdentity", "id-fraud", team("fraud"))
    st_fraud = linked("storage", "st-fraud", {**GOOD["storage"], **team("fraud")})
    st_churn = linked("storage", "st-churn", {**GOOD["storage"], **team("churn")})
    acr_shared = linked("registry", "cr-shared", {**GOOD["registry"], **team("shared")})
    rg_fraud = linked("azure-native:resources:ResourceGroup", "rg-fraud", team("fraud"))

    def grant(name: str, target: Resource, role: str = BLOB_READER) -> Resource:
        return linked("role", name, {"principalId": Ref(identity.resolved_urn, "principalId"),
                                     "principalType": "ServicePrincipal", "roleDefinitionId": ROLE_DEFS + role,
                                     "scope": Ref(target.resolved_urn)}, extends=Ref(target.resolved_urn))

    return [
        c("security-roleassignment-scope", [identity, st_fraud, acr_shared, grant("ra-own", st_fraud),
                                            grant("ra-shared", acr_shared, "7f951dda-4ed3-4680-a7ca-43fe172d538d")],
          stack=True),
        c(
            "security-roleassignment-scope",
            [identity, st_fraud, st_churn, grant("ra-own", st_fraud), grant("ra-other", st_churn)],
            ["ra-other (RoleAssignment) grants an identity of team fraud a role on a resource of team churn"],
            stack=True,
        ),
        # Contributor on a resource group created in the same deployment: only this rule can tell on a first
        # preview; once the scope is known, security-roleassignment-least-privilege reports it before it exists.
        c(
            "security-roleassignment-scope",
            [identity, rg_fraud, grant("ra-rg", rg_fraud, CONTRIBUTOR)],
            ["ra-rg (RoleAssignment) grants Contributor on a resource group created in this deployment; scope it to "
             "a single resource"],
            stack=True, phases=("preview",),
        ),
        c("security-roleassignment-scope", [identity, rg_fraud, grant("ra-rg", rg_fraud, CONTRIBUTOR)],
          stack=True, phases=("deployed", "ids-only")),
        c("security-mlcompute-network-isolated", [rg, ws, cluster], stack=True),
        c("security-mlcompute-network-isolated", [rg, ws_open, subnet, cluster_in_subnet], stack=True),
        c(
            "security-mlcompute-network-isolated",
            [ws_open, cluster],
            ["cpu (Compute) has no subnet and its workspace has no managed network isolation"],
            stack=True,
        ),
        c("security-mlworkspace-private-endpoint", [ws, endpoint_to("pep", "amlworkspace")], stack=True),
        c("security-mlworkspace-private-endpoint",
          [ws, endpoint_to("pep", "amlworkspace", "manualPrivateLinkServiceConnections")], stack=True),
        c(
            "security-mlworkspace-private-endpoint",
            [ws, endpoint_to("pep-blob", "blob")],
            ["ws (Workspace) has no private endpoint with group amlworkspace"],
            stack=True,
        ),
        c("security-diagnostics-enabled", [law, vault, diag_kv, diag_law], stack=True),
        c(
            "security-diagnostics-enabled",
            [law, vault, diag_kv],
            ["law (Workspace) has no diagnostic setting sending to Log Analytics"],
            stack=True,
        ),
        c("security-stateful-resources-protected", [rg, storage, lock], config={"required": True}, stack=True),
        c("security-stateful-resources-protected", [rg, storage, rg_lock], config={"required": True}, stack=True),
        c(
            "security-stateful-resources-protected",
            [rg, linked("storage", "st", {**GOOD["storage"], "resourceGroupName": Ref(rg.resolved_urn, "name")}),
             read_only_lock],
            ["st (StorageAccount) has no CanNotDelete lock", "st (StorageAccount) is not protected (protect option)"],
            config={"required": True},
            stack=True,
        ),
        c("security-stateful-resources-protected", [linked("storage", "st")], stack=True),
        c("security-ado-build-validation", [repo, reviewers, build], stack=True),
        c(
            "security-ado-build-validation",
            [repo, other_repo, reviewers, build_elsewhere],
            ["main-reviewers (BranchPolicyMinReviewers): branch refs/heads/main has no build validation policy"],
            stack=True,
        ),
        c("security-ado-prod-environment-checks", [env, approval, branch], stack=True),
        c(
            "security-ado-prod-environment-checks",
            [env],
            ["prod (Environment) has no approval check", "prod (Environment) has no branch control check"],
            stack=True,
        ),
        c("governance-alerts-wired", [group, endpoint, alert_ep, ws, cluster, alert_cluster], stack=True),
        c(
            "governance-alerts-wired",
            [group, ws, cluster, endpoint, alert_ep],
            ["cpu (Compute) has no alert with an action group"],
            stack=True,
        ),
        c("governance-budget-per-environment", [budget], config={"required": True}, stack=True),
        c(
            "governance-budget-per-environment",
            [ws],
            ["the stack has no budget with an amount and notifications"],
            config={"required": True},
            stack=True,
        ),
    ]


#: Cases by area, one module each (``tests/policy_cases_<area>.py``): each adds its compliant resources to ``GOOD`` and
#: ``TYPES`` and has ``resource_cases()`` and ``stack_cases()`` (stack cases run in every phase, as above).
AREAS = tuple(importlib.import_module(f"policy_cases_{area}")
              for area in ("storage", "keyvault_registry", "ml_monitor", "governance", "devops"))
for _area in AREAS:
    GOOD.update(_area.GOOD)
    TYPES.update(_area.TYPES)


def all_cases() -> list[Case]:
    return [*resource_cases(), *stack_cases(),
            *(case for area in AREAS for case in (*area.resource_cases(), *area.stack_cases()))]
