"""Azure Machine Learning: workspaces, compute, online endpoints and deployments."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.graph import UNKNOWN, Links, is_set, known_str, label, of_type, peek
from ..lib.props import expect, expect_one_of, get, managed_deployment
from ..lib.rules import Refs, Resource, setting
from ..lib.types import (
    LOAD_TEST,
    ML_COMPUTE,
    ML_DATASTORE,
    ML_ONLINE_DEPLOYMENT,
    ML_ONLINE_ENDPOINT,
    ML_REGISTRY,
    ML_WORKSPACE,
    ML_WORKSPACE_CONNECTION,
)
from . import RULES
from .network import private_endpoint_targets

DOCS = "https://learn.microsoft.com/azure/machine-learning"
SECRET_WORDS = ("secret", "password", "passwd", "token", "apikey", "api_key", "connectionstring",
                "connection_string", "accountkey", "account_key", "sas", "credential", "private_key")


@RULES.resource(
    "security-mlworkspace-public-network-disabled",
    types=[ML_WORKSPACE],
    description="Azure ML workspaces are not reachable from public networks.",
    severity="high",
    remediation="Set publicNetworkAccess to Disabled and allowPublicAccessWhenBehindVnet to false; reach the "
                "workspace through a private endpoint.",
    url=f"{DOCS}/how-to-configure-private-link",
    refs=Refs(mcsb=("NS-2",),
              azure_policy=("438c38d2-3772-465a-a9cc-7a6666a275ce", "a10ee784-7409-4941-b091-663697637c0f"),
              checkov=("CKV_AZURE_144", "CKV2_AZURE_49"), psrule=("Azure.ML.PublicAccess",)),
)
def workspace_public_network(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    yield from expect(r.props, "publicNetworkAccess", "Disabled")
    if r.props.get("allowPublicAccessWhenBehindVnet"):
        yield "allowPublicAccessWhenBehindVnet is true; set it to false"


@RULES.resource(
    "security-mlworkspace-approved-outbound-only",
    types=[ML_WORKSPACE],
    description="Azure ML workspaces use managed network isolation that allows only approved outbound traffic.",
    severity="high",
    remediation="Set managedNetwork.isolationMode to AllowOnlyApprovedOutbound and add FQDN, service tag or private "
                "endpoint outbound rules for what jobs need.",
    url=f"{DOCS}/how-to-managed-network",
    refs=Refs(mcsb=("NS-2",), azure_policy=("6ddb1705-c8cf-450e-aa4b-19ad6703c440",)),
)
def workspace_outbound(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    yield from expect(r.props, "managedNetwork.isolationMode", "AllowOnlyApprovedOutbound")


@RULES.resource(
    "security-mlworkspace-customer-managed-key",
    types=[ML_WORKSPACE],
    description="Azure ML workspaces encrypt their data with a customer-managed key where the config requires it.",
    severity="medium",
    remediation="Set encryption.status to Enabled with encryption.keyVaultProperties pointing at a key in a Key "
                "Vault with purge protection (a workspace cannot switch to a customer-managed key after creation).",
    url=f"{DOCS}/concept-customer-managed-keys",
    refs=Refs(mcsb=("DP-5",),
              azure_policy=("ba769a63-b8cc-4b2d-abf6-ac33c7204be8", "7f40cee6-e933-4d0f-a782-b96615e0f4a6"),
              pulumi=("ML workspace encryption",)),
    config={"required": setting("boolean", False, "Require a customer-managed key on every workspace.")},
)
def workspace_cmk(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if cfg["required"] and get(r.props, "encryption.status") != "Enabled":
        yield "encryption.status is not 'Enabled'; configure a customer-managed key"


@RULES.resource(
    "security-mlworkspace-hbi-private",
    types=[ML_WORKSPACE],
    description="High business impact (HBI) workspaces are never reachable from public networks.",
    severity="critical",
    remediation="An hbiWorkspace holds sensitive data: set publicNetworkAccess to Disabled.",
    url=f"{DOCS}/concept-data-encryption",
    refs=Refs(mcsb=("NS-2", "DP-1"), checkov=("CKV2_AZURE_50",)),
)
def workspace_hbi(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("hbiWorkspace") and r.props.get("publicNetworkAccess") != "Disabled":
        yield "hbiWorkspace is true but publicNetworkAccess is not 'Disabled'"


@RULES.resource(
    "security-mlworkspace-user-assigned-identity",
    types=[ML_WORKSPACE],
    description="Azure ML workspaces use a user-assigned managed identity as their primary identity.",
    severity="medium",
    remediation="Set identity.type to UserAssigned (with the identity in userAssignedIdentities) and "
                "primaryUserAssignedIdentity to its id; grant it the roles Azure documents, each on one resource.",
    url=f"{DOCS}/how-to-identity-based-service-authentication",
    refs=Refs(mcsb=("IM-3",), azure_policy=("5f0c7d88-c7de-45b8-ac49-db49e72eaa78",),
              psrule=("Azure.ML.UserManagedIdentity",)),
)
def workspace_identity(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    kind = str(get(r.props, "identity.type", ""))
    if "UserAssigned" not in kind:
        yield f"identity.type is {kind or 'missing'!r}; use a user-assigned identity"
    elif not is_set(r.props, "primaryUserAssignedIdentity"):  # unknown: an identity created in this deployment
        yield "primaryUserAssignedIdentity is not set"


@RULES.resource(
    "security-mlworkspace-identity-datastores",
    types=[ML_WORKSPACE],
    description="Azure ML workspaces reach their default storage with identity, not account keys, and do not run "
                "in v1 legacy mode.",
    severity="high",
    remediation="Set systemDatastoresAuthMode to Identity (so storage shared keys can stay off) and v1LegacyMode to "
                "false (v1 mode bypasses network isolation features).",
    url=f"{DOCS}/how-to-identity-based-service-authentication",
    refs=Refs(mcsb=("IM-1", "NS-2")),
)
def workspace_datastores(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    mode = r.props.get("systemDatastoresAuthMode")
    if str(mode).lower() != "identity":
        yield f"systemDatastoresAuthMode is {mode!r}; set it to 'Identity'"
    if r.props.get("v1LegacyMode"):
        yield "v1LegacyMode is true; set it to false"


def _compute_kind(r: Resource) -> str:
    return str(get(r.props, "properties.computeType", ""))


@RULES.resource(
    "security-mlcompute-local-auth-disabled",
    types=[ML_COMPUTE],
    description="Azure ML compute allows Microsoft Entra authentication only (no local accounts or keys).",
    severity="high",
    remediation="Set properties.disableLocalAuth to true.",
    url=f"{DOCS}/how-to-integrate-azure-policy",
    refs=Refs(mcsb=("IM-1",),
              azure_policy=("e96a9a5f-07ca-471b-9bc5-6a0f33cbd68f", "a6f9a2d0-cff7-4855-83ad-4cd750666512"),
              checkov=("CKV_AZURE_142",), psrule=("Azure.ML.DisableLocalAuth",)),
)
def compute_local_auth(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    local_auth_off = get(r.props, "properties.disableLocalAuth") is True
    if _compute_kind(r) in ("AmlCompute", "ComputeInstance") and not local_auth_off:
        yield "properties.disableLocalAuth is not true"


@RULES.resource(
    "security-mlcompute-no-public-ip",
    types=[ML_COMPUTE],
    description="Azure ML compute nodes have no public IP address.",
    severity="critical",
    remediation="Set properties.properties.enableNodePublicIp to false explicitly: the API defaults it to true.",
    url=f"{DOCS}/how-to-secure-training-vnet",
    refs=Refs(mcsb=("NS-2",), pulumi=("ML compute node public IP",)),
)
def compute_public_ip(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if _compute_kind(r) in ("AmlCompute", "ComputeInstance"):
        value = get(r.props, "properties.properties.enableNodePublicIp")
        if value is not False:
            yield ("properties.properties.enableNodePublicIp is not set (the API then defaults to true)"
                   if value is None else "properties.properties.enableNodePublicIp is true")


@RULES.resource(
    "security-mlcompute-ssh-closed",
    types=[ML_COMPUTE],
    description="Azure ML compute clusters and instances do not expose SSH publicly.",
    severity="high",
    remediation="Clusters: set properties.properties.remoteLoginPortPublicAccess to Disabled. Instances: set "
                "properties.properties.sshSettings.sshPublicAccess to Disabled.",
    url=f"{DOCS}/how-to-create-attach-compute-cluster",
    refs=Refs(mcsb=("NS-2", "PA-1")),
)
def compute_ssh(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    kind = _compute_kind(r)
    if kind == "AmlCompute":
        yield from expect(r.props, "properties.properties.remoteLoginPortPublicAccess", "Disabled")
    elif kind == "ComputeInstance":
        yield from expect(r.props, "properties.properties.sshSettings.sshPublicAccess", "Disabled")


@RULES.resource(
    "security-mlcompute-managed-identity",
    types=[ML_COMPUTE],
    description="Azure ML compute clusters and instances run with a managed identity.",
    severity="medium",
    remediation="Set identity.type to SystemAssigned or UserAssigned, and grant that identity data-plane roles "
                "instead of storing credentials in datastores.",
    url=f"{DOCS}/how-to-identity-based-service-authentication",
    refs=Refs(mcsb=("IM-3",)),
)
def compute_identity(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if _compute_kind(r) in ("AmlCompute", "ComputeInstance"):
        kind = str(get(r.props, "identity.type", "None"))
        if kind in ("", "None"):
            yield "identity is not set; give the compute a managed identity"


@RULES.stack(
    "security-mlcompute-network-isolated",
    description="Azure ML compute runs in a virtual network: its own subnet or the workspace's managed network.",
    severity="high",
    remediation="Give the compute a subnet (properties.properties.subnet.id) or create it in a workspace whose "
                "managedNetwork.isolationMode is not Disabled.",
    url=f"{DOCS}/how-to-managed-network",
    refs=Refs(mcsb=("NS-1",), azure_policy=("7804b5c7-01dc-4723-969b-ae300cc07ff1",), psrule=("Azure.ML.ComputeVnet",)),
)
def compute_network(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    workspaces = {w.urn: w for w in of_type(resources, ML_WORKSPACE)}
    links = Links.of(resources)
    for compute in of_type(resources, ML_COMPUTE):
        if is_set(compute.props, "properties.properties.subnet.id"):
            continue
        owners = [workspaces[urn] for urn in sorted(links.targets(compute) | links.containers(compute))
                  if urn in workspaces]
        isolated = [w for w in owners if get(w.props, "managedNetwork.isolationMode", "Disabled") != "Disabled"]
        if not isolated:
            yield (f"{label(compute)} has no subnet and its workspace has no managed network isolation"
                   if owners else f"{label(compute)} has no subnet and no workspace with managed network isolation "
                                  "in this stack", compute.urn)


@RULES.stack(
    "security-mlworkspace-private-endpoint",
    description="Every Azure ML workspace has a private endpoint (group amlworkspace).",
    severity="high",
    remediation="Create a network.PrivateEndpoint whose privateLinkServiceConnections target the workspace with "
                "groupIds [amlworkspace] (set mlops-platform:network.private_endpoint_subnet_id).",
    url=f"{DOCS}/how-to-configure-private-link",
    refs=Refs(mcsb=("NS-2",),
              azure_policy=("45e05259-1eb5-4f70-9574-baf73e9d219b", "7838fd83-5cbb-4b5d-888c-bfa240972597"),
              checkov=("CKV_AZURE_243",)),
)
def workspace_private_endpoint(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
                               ) -> Iterator[tuple[str, str | None]]:
    linked = private_endpoint_targets(resources, {"amlworkspace"})
    for ws in of_type(resources, ML_WORKSPACE):
        if ws.urn not in linked:
            yield f"{label(ws)} has no private endpoint with group amlworkspace", ws.urn


@RULES.resource(
    "security-onlineendpoint-public-network-disabled",
    types=[ML_ONLINE_ENDPOINT],
    description="Managed online endpoints accept no traffic from public networks.",
    severity="high",
    remediation="Set properties.publicNetworkAccess to Disabled and call the endpoint through the workspace's "
                "private endpoint.",
    url=f"{DOCS}/concept-secure-online-endpoint",
    refs=Refs(mcsb=("NS-2",)),
)
def endpoint_public(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    yield from expect(r.props, "properties.publicNetworkAccess", "Disabled")


@RULES.resource(
    "security-onlineendpoint-entra-auth",
    types=[ML_ONLINE_ENDPOINT],
    description="Managed online endpoints authenticate callers with Microsoft Entra tokens, not keys.",
    severity="high",
    remediation="Set properties.authMode to AADToken (keys cannot be scoped or audited per caller).",
    url=f"{DOCS}/how-to-authenticate-online-endpoint",
    refs=Refs(mcsb=("IM-1",)),
    config={"allowedAuthModes": setting("array", ["AADToken"], "Accepted properties.authMode values.",
                                        items={"type": "string"})},
)
def endpoint_auth(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    yield from expect_one_of(r.props, "properties.authMode", cfg["allowedAuthModes"])


@RULES.resource(
    "security-onlinedeployment-egress-disabled",
    types=[ML_ONLINE_DEPLOYMENT],
    description="Managed online deployments cannot send traffic to public networks.",
    severity="high",
    remediation="Set properties.egressPublicNetworkAccess to Disabled. With a workspace managed network the flag "
                "no longer applies (the network's outbound rules govern what the deployment reaches), but "
                "azure-native sends Enabled when it is left out, and under legacy network isolation Enabled opens "
                "the deployment to the internet.",
    url=f"{DOCS}/concept-secure-online-endpoint",
    refs=Refs(mcsb=("NS-2", "DP-2")),
)
def deployment_egress(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if managed_deployment(r.props):
        yield from expect(r.props, "properties.egressPublicNetworkAccess", "Disabled")


@RULES.resource(
    "security-onlinedeployment-app-insights",
    types=[ML_ONLINE_DEPLOYMENT],
    description="Online deployments send their logs and metrics to Application Insights.",
    severity="medium",
    remediation="Set properties.appInsightsEnabled to true.",
    url=f"{DOCS}/how-to-monitor-online-endpoints",
    refs=Refs(mcsb=("LT-3",)),
)
def deployment_app_insights(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if get(r.props, "properties.appInsightsEnabled") is not True:
        yield "properties.appInsightsEnabled is not true"


@RULES.resource(
    "security-onlinedeployment-no-plaintext-secrets",
    types=[ML_ONLINE_DEPLOYMENT],
    description="Online deployments keep no secrets in plain environment variables.",
    severity="critical",
    remediation="Read secrets at run time from Key Vault with the deployment's managed identity instead of passing "
                "them as properties.environmentVariables.",
    url=f"{DOCS}/how-to-access-resources-from-endpoints-managed-identities",
    refs=Refs(mcsb=("IM-8",)),
)
def deployment_secrets(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    variables = get(r.props, "properties.environmentVariables", {}) or {}
    for name, value in variables.items():
        if value and any(word in name.lower() for word in SECRET_WORDS):
            yield f"environment variable {name} looks like a secret and is set in plain text"


@RULES.resource(
    "security-mldatastore-identity-access",
    types=[ML_DATASTORE],
    description="Azure ML datastores use identity-based data access: no account keys, SAS tokens, service principal "
                "secrets or certificates stored in the workspace.",
    severity="high",
    remediation="Set properties.credentials to {credentialsType: None} and grant the users' and computes' "
                "identities data roles on the storage (for example Storage Blob Data Reader); studio then uses the "
                "workspace identity.",
    url=f"{DOCS}/how-to-datastore",
    refs=Refs(mcsb=("IM-1", "IM-8")),
    config={"allowedCredentialTypes": setting("array", ["None"], "Accepted properties.credentials.credentialsType "
                                              "values (None: identity-based access).", items={"type": "string"})},
)
def datastore_credentials(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    # azure-native Datastore keeps the nested properties object (AzureBlobDatastore, AzureFileDatastore, ...).
    kind = peek(r.props, "properties.credentials.credentialsType")
    if kind is not UNKNOWN and kind is not None and kind not in cfg["allowedCredentialTypes"]:
        yield (f"properties.credentials.credentialsType is {kind!r}; use one of {cfg['allowedCredentialTypes']} "
               "(identity-based access)")


@RULES.resource(
    "security-mlconnection-identity-access",
    types=[ML_WORKSPACE_CONNECTION],
    description="Azure ML workspace connections authenticate with Microsoft Entra or a managed identity, not keys, "
                "tokens or passwords.",
    severity="high",
    remediation="Set properties.authType to AAD or ManagedIdentity (or None for an anonymous public source) and "
                "grant the workspace or user identity a role on the target; keep keys out of the connection.",
    url=f"{DOCS}/how-to-connection",
    refs=Refs(mcsb=("IM-1", "IM-8")),
    # Identity-based types of the SDK's ConnectionAuthType (no key, token or password stored in the connection).
    config={"allowedAuthTypes": setting("array", ["AAD", "ManagedIdentity", "ProjectManagedIdentity",
                                                  "AccountManagedIdentity", "UserEntraToken", "None"],
                                        "Accepted properties.authType values.", items={"type": "string"})},
)
def connection_credentials(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    kind = peek(r.props, "properties.authType")
    if kind is not UNKNOWN and kind not in cfg["allowedAuthTypes"]:
        yield f"properties.authType is {kind!r}; use one of {cfg['allowedAuthTypes']}"


@RULES.resource(
    "security-mlregistry-public-network-disabled",
    types=[ML_REGISTRY],
    description="Azure ML registries are not reachable from public networks.",
    severity="high",
    remediation="Set publicNetworkAccess to Disabled and reach the registry through a private endpoint (group "
                "amlregistry) from the workspaces' managed networks.",
    url=f"{DOCS}/how-to-registry-network-isolation",
    refs=Refs(mcsb=("NS-2",)),
)
def registry_public(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    value = peek(r.props, "publicNetworkAccess")
    if value is not UNKNOWN and str(value or "").lower() != "disabled":
        yield f"publicNetworkAccess is {value or 'Enabled (default)'!r}; set it to 'Disabled'"


_REGISTRY_ARM = "/providers/microsoft.machinelearningservices/registries/"


def _registry_model(model: str) -> bool:
    lowered = model.lower()
    return lowered.startswith("azureml://registries/") or _REGISTRY_ARM in lowered


@RULES.resource(
    "security-mldeployment-approved-models",
    types=[ML_ONLINE_DEPLOYMENT, "azure-native:machinelearningservices:ServerlessEndpoint"],
    description="Online deployments and serverless endpoints deploy registry models only from approved registries "
                "or models.",
    severity="high",
    remediation="Deploy a model of the team's workspace or of a registry listed in allowedModels (prefixes such as "
                "azureml://registries/<registry>/ or azureml://registries/<registry>/models/<model>), or add the "
                "reviewed registry or model to allowedModels.",
    url="https://learn.microsoft.com/azure/ai-foundry/how-to/built-in-policy-model-deployment",
    refs=Refs(mcsb=("AM-5",), azure_policy=("12e5dd16-d201-47ff-849b-8454061c293d",
                                            "19539b54-c61e-4196-9a38-67598701be90")),
    config={
        "allowedModels": setting("array", [], "Registry model id prefixes allowed (azureml://registries/<name>/..."
                                 " or .../registries/<name>/models/...); [] allows no registry model.",
                                 items={"type": "string"}),
        "deniedModels": setting("array", [], "Registry model id prefixes never allowed.", items={"type": "string"}),
    },
)
def deployment_models(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    path = ("properties.modelSettings.modelId" if r.type.endswith(":ServerlessEndpoint") else "properties.model")
    model = known_str(peek(r.props, path))  # unknown (another resource's output) or unset: nothing to check
    if model is None or not _registry_model(model):
        return
    lowered = model.lower()
    if any(lowered.startswith(p.lower()) for p in cfg["deniedModels"]):
        yield f"{path} is {model!r}, a denied registry model"
    elif not any(lowered.startswith(p.lower()) for p in cfg["allowedModels"]):
        yield f"{path} is {model!r}, a registry model outside allowedModels {cfg['allowedModels']}"


@RULES.resource(
    "security-loadtest-managed-identity",
    types=[LOAD_TEST],
    description="Azure Load Testing resources carry a user-assigned managed identity, so that test engines reach "
                "the endpoints under test with Microsoft Entra tokens instead of keys kept as test secrets.",
    severity="medium",
    remediation="Set identity.type to UserAssigned with the engines' identity in userAssignedIdentities, grant that "
                "identity only what the test needs (onlineEndpoints/score/action on each endpoint), and name it in "
                "the test configuration's referenceIdentities (kind Engine).",
    url="https://learn.microsoft.com/azure/app-testing/load-testing/how-to-test-secured-endpoints",
    refs=Refs(mcsb=("IM-3",)),
)
def load_test_identity(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    kind = str(get(r.props, "identity.type", ""))
    if "UserAssigned" not in kind:
        yield f"identity.type is {kind or 'missing'!r}; attach the test engines' user-assigned identity"
    else:
        identities = peek(r.props, "identity.userAssignedIdentities")
        if identities is not UNKNOWN and not identities:  # unknown at preview: created in this deployment
            yield "identity.userAssignedIdentities is empty; list the test engines' identity"
