"""``OnlineEndpoint``: a managed online endpoint of a team with its deployments, code, environments and identity.

For one :class:`~components.serving_config.EndpointConfig` it creates, in the team's workspace:

- a user-assigned identity for the endpoint with exactly the roles Microsoft documents for pulling its model, code
  and image (``ENDPOINT_IDENTITY_ROLES``, each scoped to the one resource), and a pause for Azure to apply them before
  the endpoint and its deployments use the identity;
- a private blob container for the endpoint's scoring code, the deploying identity's data role on that container
  only, and one :class:`~components.code_upload.CodeUpload` per code folder (Entra ID, content-addressed);
- per deployment, a code version (version: the folder's content hash) and an environment version (version: the hash
  of the base image and the conda file, whose text goes into ``condaFile`` so the patching pack checks its pins);
  both are immutable and kept in the workspace when a new version replaces them (``retain_on_delete``);
- the endpoint (Microsoft Entra token auth by default, public network access as the environment allows);
- per deployment, a managed online deployment: Application Insights on, liveness and readiness probes and request
  settings from the configuration, instance count as ``sku.capacity``;
- :class:`~components.endpoint_traffic.InitialTraffic`, which sets the first traffic split once the deployments exist.

**What the component leaves alone after creation** (``ignore_changes``), because others own it at run time:
``properties.traffic`` and ``properties.mirrorTraffic`` of the endpoint (the release process moves traffic between
blue and green) and ``sku.capacity`` of each deployment (autoscale sets the instance count). Their configured values
apply at creation only; ``pulumi up --refresh`` keeps the live values in every later update of the endpoint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import managedidentity, storage

from components.code_upload import HASH_LENGTH, CodeUpload, content_hash
from components.endpoint_traffic import InitialTraffic
from components.interfaces import Grant, grant, propagation_wait
from components.serving_config import PROJECT_ROOT, DeploymentConfig, EndpointConfig, ProbeConfig

_ML_DOCS = "https://learn.microsoft.com/azure/machine-learning"

#: The roles of an endpoint's user-assigned identity (how-to-access-resources-from-endpoints-managed-identities,
#: "user-assigned identity": the identity needs "Storage Blob Data Reader" on the workspace's storage account to read
#: the model and code, and "AcrPull" on the workspace's container registry to pull the environment image).
ENDPOINT_IDENTITY_ROLES: tuple[tuple[str, str], ...] = (
    ("st", "Storage Blob Data Reader"),
    ("cr", "AcrPull"),
)
#: Models from an Azure ML registry. Microsoft documents no role for an endpoint identity on a registry; for users,
#: how-to-manage-registries ("Allow users to use assets from the registry") names registries/read and
#: registries/assets/read, both in the built-in "AzureML Registry User" role (built-in-roles/ai-machine-learning).
#: This is an inference from those pages, named as such in docs/serving.md.
REGISTRY_ROLE = "AzureML Registry User"
#: The deploying identity writes the code folders (``CodeUpload``) with this role, on the endpoint's container only.
DEPLOYER_CODE_ROLE = "Storage Blob Data Contributor"
#: Paths of the inputs owned at run time by others (camelCase, as the engine names them).
ENDPOINT_RUNTIME_FIELDS = ("properties.traffic", "properties.mirrorTraffic")
DEPLOYMENT_RUNTIME_FIELDS = ("sku.capacity",)


@dataclass(frozen=True)
class OnlineEndpointArgs:
    """Inputs of an :class:`OnlineEndpoint`. Defaults are the secure (production) settings."""

    config: EndpointConfig
    """The validated endpoint configuration."""
    endpoint_name: str
    """Azure name of the endpoint (unique in the region: ``components.naming.Namer.online_endpoint``)."""
    identity_name: str
    """Azure name of the endpoint's user-assigned identity."""
    location: str
    subscription_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    """Resource group of the team's workspace."""
    workspace_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    storage_account_id: pulumi.Input[str]
    """The workspace's default storage account: code and models are read from it."""
    storage_account_name: pulumi.Input[str]
    container_registry_id: pulumi.Input[str]
    """The workspace's container registry: environment images are built into it and pulled from it."""
    deployer_object_id: pulumi.Input[str]
    """Object id of the identity running ``pulumi up`` (it uploads the code)."""
    deployer_principal_type: str = "ServicePrincipal"
    """Its kind: ``ServicePrincipal`` (a pipeline's identity) or ``User`` (a person at a workstation)."""
    registries: Mapping[str, str] = field(default_factory=dict)
    """Registry name -> ARM id of every Azure ML registry a deployment's model comes from."""
    public_network_access: bool = False
    """Whether the endpoint accepts requests from public networks (dev); otherwise only through private endpoints."""
    root: Path = PROJECT_ROOT
    """Folder the configuration's code and conda paths are relative to."""
    tags: Mapping[str, str] = field(default_factory=dict)
    after: Sequence[pulumi.Resource] = ()
    """Resources the endpoint waits for (the workspace's outbound network and grants)."""


def asset_version(*parts: str | bytes) -> str:
    """A content-derived asset version: the first ``HASH_LENGTH`` hex digits of the SHA-256 of ``parts``."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:HASH_LENGTH]


def model_id(deployment: DeploymentConfig, workspace_id: pulumi.Input[str]) -> pulumi.Input[str]:
    """The deployment's ``model``: a registry asset id as given, or the workspace model's ARM id."""
    model = deployment.model
    if model.registry is not None:
        return model.uri
    return pulumi.Output.from_input(workspace_id).apply(
        lambda ws: f"{ws}/models/{model.name}/versions/{model.version}")


def _probe(probe: ProbeConfig) -> ml.ProbeSettingsArgs:
    return ml.ProbeSettingsArgs(initial_delay=probe.initial_delay, period=probe.period, timeout=probe.timeout,
                                failure_threshold=probe.failure_threshold, success_threshold=probe.success_threshold)


class OnlineEndpoint(pulumi.ComponentResource):
    """A managed online endpoint and its deployments (type ``mlops:serving:OnlineEndpoint``)."""

    endpoint_id: pulumi.Output[str]
    endpoint_name: pulumi.Output[str]
    scoring_uri: pulumi.Output[str]
    identity_principal_id: pulumi.Output[str]
    deployment_ids: dict[str, pulumi.Output[str]]
    """Deployment name -> ARM id (autoscale and alerts target them)."""

    def __init__(self, name: str, args: OnlineEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:serving:OnlineEndpoint", name, None, opts)
        config = args.config
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)

        identity = managedidentity.UserAssignedIdentity(
            f"{name}-id", resource_name_=args.identity_name, resource_group_name=args.resource_group_name,
            location=args.location, tags=tags, opts=child,
        )
        grants = [Grant(role, short, {"st": args.storage_account_id, "cr": args.container_registry_id}[short])
                  for short, role in ENDPOINT_IDENTITY_ROLES]
        for registry in sorted({d.model.registry for d in config.deployments if d.model.registry}):
            grants.append(Grant(REGISTRY_ROLE, f"registry-{registry}", args.registries[registry]))
        roles = grant(self, name, "endpoint", identity.principal_id, args.subscription_id, grants,
                      unique=args.endpoint_name)

        container = storage.BlobContainer(
            f"{name}-code", account_name=args.storage_account_name, resource_group_name=args.resource_group_name,
            container_name=f"code-{config.name}", public_access=storage.PublicAccess.NONE, opts=child,
        )
        roles += grant(self, name, "deployer",
                       args.deployer_object_id, args.subscription_id,
                       [Grant(DEPLOYER_CODE_ROLE, "code", container.id)], unique=args.endpoint_name,
                       principal_type=args.deployer_principal_type)
        ready = propagation_wait(self, name, roles)

        endpoint = ml.OnlineEndpoint(
            f"{name}-endpoint",
            endpoint_name=args.endpoint_name,
            resource_group_name=args.resource_group_name,
            workspace_name=args.workspace_name,
            location=args.location,
            identity=ml.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=[identity.id]),
            properties=ml.OnlineEndpointPropertiesArgs(
                auth_mode=config.auth_mode,
                public_network_access="Enabled" if args.public_network_access else "Disabled",
                description=f"Online endpoint {config.name}, managed by Pulumi",
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ready, *args.after],
                                        ignore_changes=list(ENDPOINT_RUNTIME_FIELDS)),
        )

        # Asset versions are immutable and named by content: a replaced one stays in the workspace (the CLI archives
        # rather than deletes them, and a deleted version may never be recreated), so a rollback to earlier code or
        # an earlier environment finds its version again.
        retained = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        # One upload, and one hash of its files, per code folder: blue and green usually share theirs.
        uploads: dict[str, tuple[str, CodeUpload]] = {}
        deployments: dict[str, ml.OnlineDeployment] = {}
        for deployment in config.deployments:
            folder = args.root / deployment.code.path
            if deployment.code.path not in uploads:
                code_hash = content_hash(folder)
                uploads[deployment.code.path] = code_hash, CodeUpload(
                    f"{name}-upload-{asset_version(deployment.code.path)[:8]}",
                    source=str(folder), content_sha256=code_hash, account=args.storage_account_name,
                    container=container.name, prefix=deployment.code.path.replace("/", "-"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[ready]),
                )
            code_hash, upload = uploads[deployment.code.path]
            code = ml.CodeVersion(
                f"{name}-{deployment.name}-code",
                name=f"{config.name}-{deployment.name}",
                version=code_hash[:HASH_LENGTH],
                resource_group_name=args.resource_group_name,
                workspace_name=args.workspace_name,
                properties=ml.CodeVersionPropertiesArgs(
                    code_uri=upload.uri,
                    description=f"Scoring code {deployment.code.path} of {config.name}/{deployment.name}",
                ),
                opts=retained,
            )
            conda = (args.root / deployment.environment.conda_file).read_text(encoding="utf-8")
            environment = ml.EnvironmentVersion(
                f"{name}-{deployment.name}-env",
                name=f"{config.name}-{deployment.name}",
                version=asset_version(deployment.environment.image, conda),
                resource_group_name=args.resource_group_name,
                workspace_name=args.workspace_name,
                properties=ml.EnvironmentVersionPropertiesArgs(
                    image=deployment.environment.image,
                    conda_file=conda,
                    os_type="Linux",
                    description=f"{deployment.environment.image} with {deployment.environment.conda_file}",
                ),
                opts=retained,
            )
            deployments[deployment.name] = ml.OnlineDeployment(
                f"{name}-{deployment.name}",
                deployment_name=deployment.name,
                endpoint_name=endpoint.name,
                resource_group_name=args.resource_group_name,
                workspace_name=args.workspace_name,
                location=args.location,
                sku=ml.SkuArgs(name="Default", capacity=deployment.instances.default),
                properties=ml.ManagedOnlineDeploymentArgs(
                    endpoint_compute_type="Managed",
                    description=f"Deployment {deployment.name} of {config.name}, managed by Pulumi",
                    model=model_id(deployment, args.workspace_id),
                    environment_id=environment.id,
                    code_configuration=ml.CodeConfigurationArgs(code_id=code.id,
                                                                scoring_script=deployment.code.scoring_script),
                    instance_type=deployment.instance_type,
                    app_insights_enabled=True,
                    # The workspace's managed network governs the deployments' outbound traffic; with it, the
                    # egress flag "no longer applies" (concept-secure-online-endpoint, "Secure outbound access with
                    # workspace managed virtual network"). The SDK sends "Enabled" when the flag is left out, so it
                    # is set to the value that means the same as the managed network, in every environment.
                    egress_public_network_access="Disabled",
                    liveness_probe=_probe(deployment.liveness),
                    readiness_probe=_probe(deployment.readiness),
                    request_settings=ml.OnlineRequestSettingsArgs(
                        request_timeout=deployment.request.timeout,
                        max_concurrent_requests_per_instance=deployment.request.max_concurrent_requests_per_instance,
                    ),
                    scale_settings=ml.DefaultScaleSettingsArgs(scale_type="Default"),
                ),
                tags=tags,
                # One deployment operation on an endpoint at a time: green after blue, as the Azure ML CLI runs them.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[ready, *deployments.values()],
                                            ignore_changes=list(DEPLOYMENT_RUNTIME_FIELDS)),
            )

        InitialTraffic(f"{name}-traffic", endpoint_id=endpoint.id, traffic=dict(config.traffic),
                       mirror=dict(config.mirror),
                       opts=pulumi.ResourceOptions(parent=self, depends_on=list(deployments.values())))

        self.endpoint_id = endpoint.id
        self.endpoint_name = endpoint.name
        self.scoring_uri = endpoint.properties.apply(lambda p: p.scoring_uri)
        self.identity_principal_id = identity.principal_id
        self.deployment_ids = {key: d.id for key, d in deployments.items()}
        self.register_outputs({
            "endpoint_id": self.endpoint_id,
            "endpoint_name": self.endpoint_name,
            "scoring_uri": self.scoring_uri,
            "identity_principal_id": self.identity_principal_id,
            "deployment_ids": self.deployment_ids,
        })
