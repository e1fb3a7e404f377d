"""``Workspace``: one team's Azure Machine Learning workspace with everything it depends on.

Creates, under one resource group: Application Insights (workspace-based, local auth off), a storage account, a Key
Vault, a container registry, user-assigned identities (the workspace's, the clusters', and the instances' where the
team has instances), the role assignments Microsoft documents for them (each on the one resource it concerns, tables
below), a pause for Azure to apply them, the ML workspace itself with managed network isolation, diagnostic settings
to Log Analytics, optional private endpoints with their private DNS zone groups and, when ``lock`` is set, ``protect``
and ``retain_on_delete`` on every stateful resource plus CanNotDelete locks on all of them but the ML workspace (whose
lock would be inherited by its computes and block patching by recreation). The team's users get the storage data roles
Microsoft lists for compute instances, notebooks and datastores when shared-key access is off. A Log Analytics
workspace is created only when none is given (the ``Platform`` passes its shared one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumiverse_time
from pulumi_azure_native import (
    applicationinsights,
    authorization,
    containerregistry,
    keyvault,
    managedidentity,
    network,
    resources,
    storage,
)
from pulumi_azure_native import (
    machinelearningservices as ml,
)

from components.config import PRIVATE_DNS_ZONES, OutboundRuleConfig
from components.interfaces import Grant, grant, lock, log_analytics_workspace, propagation_wait, send_diagnostics
from components.naming import Namer

_ML_DOCS = "https://learn.microsoft.com/azure/machine-learning"

#: The roles Microsoft documents for a workspace's user-assigned identity: (target, role), one row per documented
#: requirement. Targets: ``rg`` the team's resource group, ``st`` storage, ``kv`` Key Vault, ``cr`` registry, ``appi``
#: Application Insights (created before the workspace), ``mlw`` the workspace itself (granted once it exists).
WORKSPACE_IDENTITY_ROLES: tuple[tuple[str, str], ...] = (
    # how-to-identity-based-service-authentication, "User-assigned managed identity", the table of roles "required on
    # your user-assigned managed identity": "Azure Machine Learning workspace | Contributor".
    ("mlw", "Contributor"),
    # ...: "Azure Storage | Contributor (control plane) + Storage Blob Data Contributor (data plane ...)".
    ("st", "Contributor"),
    ("st", "Storage Blob Data Contributor"),
    # ...: "Azure Key Vault (when using RBAC permission model) | Contributor (control plane) + Key Vault
    # Administrator (data plane)".
    ("kv", "Contributor"),
    ("kv", "Key Vault Administrator"),
    # ...: "Azure Container Registry | Contributor"; "Azure Application Insights | Contributor".
    ("cr", "Contributor"),
    ("appi", "Contributor"),
    # how-to-managed-network, prerequisites: after 2025-04-30 the workspace identity must be able to approve the
    # managed network's private endpoints on its targets (storage, Key Vault, registry and the workspace itself);
    # Microsoft recommends "Azure AI Enterprise Network Connection Approver". The workspace does not exist yet when
    # its network is provisioned with it, so the role is on the resource group that holds all the targets.
    ("rg", "Azure AI Enterprise Network Connection Approver"),
)
#: Granted to the workspace identity on each private endpoint to the storage account in the client network
#: (how-to-managed-network: "ensure the private endpoint created in the client virtual network is granted the Reader
#: role to your workspace managed identity. This applies to both blob and file storage private endpoints").
STORAGE_ENDPOINT_ROLE = "Reader"
#: The roles Microsoft documents for the clusters' identity: (target, role).
COMPUTE_IDENTITY_ROLES: tuple[tuple[str, str], ...] = (
    # how-to-disable-local-auth-storage, "Model Registry and ML Flow | User-assigned managed identity | Storage Blob
    # Data Contributor" (jobs read and write data; how-to-create-compute-instance asks for Blob Data Reader at least).
    ("st", "Storage Blob Data Contributor"),
    # how-to-identity-based-service-authentication: compute "uses a managed identity to retrieve connection
    # information for datastores from Azure Key Vault" (read secrets only).
    ("kv", "Key Vault Secrets User"),
    # ...: "Pulling images from ACR | ACRPull on the container registry".
    ("cr", "AcrPull"),
)
#: The roles Microsoft documents for the compute instances' identity: the clusters' plus two that only instances
#: need. They have an identity of their own so that jobs on clusters never hold Contributor on the workspace (which
#: could rewrite the managed network's outbound rules).
INSTANCE_IDENTITY_ROLES: tuple[tuple[str, str], ...] = (
    *COMPUTE_IDENTITY_ROLES,
    # how-to-disable-local-auth-storage, limitations: with identity-based storage, "Use user assigned identity to
    # create the compute instance, and make sure the user-assigned identity has Storage File Data Privileged
    # Contributor on the storage account".
    ("st", "Storage File Data Privileged Contributor"),
    # how-to-create-compute-instance, idle shutdown: an instance with a managed identity "won't shut down due to
    # inactivity unless the managed identity has contributor access to the Azure Machine Learning workspace".
    ("mlw", "Contributor"),
)
#: With ``image_build_compute`` the environment images are built on a compute cluster of the workspace and pushed to
#: the registry from there (how-to-managed-network, "Configure image builds"). Microsoft does not name the identity
#: that pushes; the cluster runs as the compute identity, so it gets push rights, only where image builds are on.
IMAGE_BUILD_ROLE = ("cr", "AcrPush")
#: The storage data roles Microsoft lists for people when shared-key access is off (how-to-disable-local-auth-storage:
#: "Assign these users the Storage Blob Data Contributor and Storage File Data Privileged Contributor roles"; compute
#: instances, notebooks and the file explorer need the file role, datastores and data browsing the blob role).
USER_STORAGE_ROLES = ("Storage Blob Data Contributor", "Storage File Data Privileged Contributor")


@dataclass(frozen=True)
class WorkspaceArgs:
    """Inputs of a :class:`Workspace`. Defaults are the secure (production) settings; relax them explicitly."""

    location: str
    """Azure region (ARM location name) of every resource."""
    prefix: str
    """Naming prefix (2-8 lowercase letters and digits) used in every Azure name."""
    environment: str
    """``dev`` or ``prod``; part of every Azure name."""
    tenant_id: pulumi.Input[str]
    """Microsoft Entra tenant of the Key Vault."""
    subscription_id: pulumi.Input[str]
    """Subscription the role definitions are resolved in."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags put on every taggable child resource."""
    log_analytics_workspace_id: pulumi.Input[str] | None = None
    """Existing Log Analytics workspace for diagnostics and App Insights; ``None`` creates one for this workspace."""
    log_retention_days: int = 90
    """Retention of a Log Analytics workspace created here."""
    isolation_mode: str = "AllowOnlyApprovedOutbound"
    """Managed network isolation: ``AllowOnlyApprovedOutbound`` or ``AllowInternetOutbound``."""
    outbound_rules: Sequence[OutboundRuleConfig] = ()
    """User-defined outbound rules of the managed network (FQDN or service tag)."""
    public_network_access: bool = False
    """Whether the workspace is reachable from public networks."""
    private_endpoint_subnet_id: pulumi.Input[str] | None = None
    """Subnet for private endpoints to the workspace and its storage (blob, file); ``None`` creates none."""
    image_build_compute: str | None = None
    """Compute target that builds environment images; needed when the registry has no public network access."""
    network_default_deny: bool = True
    """Storage account and Key Vault deny network access by default (trusted Azure services bypass)."""
    registry_premium: bool = True
    """Premium container registry with public network access off (private link); ``False`` uses Basic."""
    storage_sku: str = "Standard_GRS"
    """Storage redundancy SKU."""
    blob_retention_days: int = 30
    """Soft-delete retention of blobs and containers."""
    hbi_workspace: bool = False
    """High business impact workspace (reduces diagnostic data Microsoft collects)."""
    lock: bool = True
    """CanNotDelete locks and ``protect``/``retain_on_delete`` on stateful resources."""
    private_dns_zone_ids: Mapping[str, str] = field(default_factory=dict)
    """Zone name -> private DNS zone id (``components.config.PRIVATE_DNS_ZONES``): each private endpoint gets a DNS
    zone group linking it to its zones. Empty: the hub's policies link them (or there are no private endpoints)."""
    users: Sequence[str] = ()
    """Microsoft Entra object ids of the team's people (compute instance users): the storage data roles."""
    personal_compute: bool = False
    """The team has compute instances: an identity for them (``INSTANCE_IDENTITY_ROLES``), apart from the clusters'."""
    generation: int = 1
    """Generation of the names Azure keeps reserved after a delete (``components.naming``)."""


class Workspace(pulumi.ComponentResource):
    """An Azure ML workspace and its supporting resources for one team (type ``mlops:ml:Workspace``)."""

    resource_group_name: pulumi.Output[str]
    resource_group_id: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    workspace_principal_id: pulumi.Output[str]
    compute_identity_id: pulumi.Output[str]
    compute_identity_principal_id: pulumi.Output[str]
    instance_identity_id: pulumi.Output[str] | None
    """The compute instances' identity (``None`` without ``personal_compute``)."""
    compute_ready: pulumiverse_time.Sleep
    """A dependency for the team's compute: done once the compute identities' grants are applied."""
    storage_account_id: pulumi.Output[str]
    storage_account_name: pulumi.Output[str]
    key_vault_id: pulumi.Output[str]
    container_registry_id: pulumi.Output[str]
    application_insights_id: pulumi.Output[str]
    log_analytics_workspace_id: pulumi.Output[str]

    def __init__(self, name: str, args: WorkspaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:ml:Workspace", name, None, opts)
        names = Namer(args.prefix, name, args.environment, args.location, args.generation)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.lock, retain_on_delete=args.lock)
        default_action = "Deny" if args.network_default_deny else "Allow"

        rg = resources.ResourceGroup(
            f"{name}-rg", resource_group_name=names.resource_group(), location=args.location, tags=tags,
            opts=stateful,
        )

        locks: list[tuple[str, str, pulumi.Output[str], list[pulumi.Resource]]] = []
        if args.log_analytics_workspace_id is None:
            log_name = names.log_analytics()
            law, law_diagnostics = log_analytics_workspace(self, name, log_name, rg.name, args.location,
                                                           args.log_retention_days, tags, stateful)
            locks.append(("log", log_name, law.id, [law_diagnostics]))
            log_analytics_id: pulumi.Output[str] = law.id
        else:
            log_analytics_id = pulumi.Output.from_input(args.log_analytics_workspace_id)

        appi = applicationinsights.Component(
            f"{name}-appi",
            resource_name_=names.application_insights(),
            resource_group_name=rg.name,
            location=args.location,
            kind="web",
            application_type="web",
            workspace_resource_id=log_analytics_id,
            ingestion_mode="LogAnalytics",
            disable_local_auth=True,
            tags=tags,
            opts=child,
        )

        st_name = names.storage_account()
        st = storage.StorageAccount(
            f"{name}-st",
            account_name=st_name,
            resource_group_name=rg.name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=args.storage_sku),
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            is_hns_enabled=False,
            public_network_access="Enabled",
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY if args.network_default_deny else storage.DefaultAction.ALLOW,
                bypass="AzureServices",
            ),
            # No local users (SFTP/NFS passwords, SSH keys and their own shared keys bypass Entra authorization), and
            # SAS tokens valid longer than the policy are refused, not only logged (security-storage-*).
            is_local_user_enabled=False,
            sas_policy=storage.SasPolicyArgs(sas_expiration_period="1.00:00:00", expiration_action="Block"),
            encryption=storage.EncryptionArgs(
                key_source="Microsoft.Storage",
                require_infrastructure_encryption=True,
                services=storage.EncryptionServicesArgs(
                    blob=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                    file=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                ),
            ),
            tags=tags,
            opts=stateful,
        )
        storage.BlobServiceProperties(
            f"{name}-st-blob",
            account_name=st.name,
            resource_group_name=rg.name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=args.blob_retention_days),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.blob_retention_days
            ),
            opts=child,
        )

        kv_name = names.key_vault()
        kv = keyvault.Vault(
            f"{name}-kv",
            vault_name=kv_name,
            resource_group_name=rg.name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=90,
                enable_purge_protection=True,
                public_network_access="Enabled",
                network_acls=keyvault.NetworkRuleSetArgs(default_action=default_action, bypass="AzureServices"),
            ),
            tags=tags,
            opts=stateful,
        )

        cr_name = names.container_registry()
        cr = containerregistry.Registry(
            f"{name}-cr",
            registry_name=cr_name,
            resource_group_name=rg.name,
            location=args.location,
            sku=containerregistry.SkuArgs(name="Premium" if args.registry_premium else "Basic"),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access="Disabled" if args.registry_premium else "Enabled",
            # Premium only: layers come from <name>.<region>.data.azurecr.io, not the *.blob.core.windows.net
            # wildcard (a private endpoint enables it anyway; container-registry-dedicated-data-endpoints).
            data_endpoint_enabled=True if args.registry_premium else None,
            network_rule_bypass_options="AzureServices",
            # Premium-only policies: untagged manifests expire, and artifacts cannot be exported (exfiltration).
            policies=containerregistry.PoliciesArgs(
                retention_policy=containerregistry.RetentionPolicyArgs(status="enabled", days=7),
                export_policy=containerregistry.ExportPolicyArgs(status="disabled"),
            ) if args.registry_premium else None,
            tags=tags,
            opts=stateful,
        )

        ws_identity = managedidentity.UserAssignedIdentity(
            f"{name}-id", resource_name_=names.workspace_identity(), resource_group_name=rg.name,
            location=args.location, tags=tags, opts=child,
        )
        compute_identity = managedidentity.UserAssignedIdentity(
            f"{name}-id-compute", resource_name_=names.compute_identity(), resource_group_name=rg.name,
            location=args.location, tags=tags, opts=child,
        )
        instance_identity = managedidentity.UserAssignedIdentity(
            f"{name}-id-instance", resource_name_=names.instance_identity(), resource_group_name=rg.name,
            location=args.location, tags=tags, opts=child,
        ) if args.personal_compute else None

        scopes: dict[str, pulumi.Input[str]] = {"rg": rg.id, "st": st.id, "kv": kv.id, "cr": cr.id,
                                                "appi": appi.id}
        #: Target -> the role assignments and diagnostic settings at its scope (what its lock must come after).
        extensions: dict[str, list[pulumi.Resource]] = defaultdict(list)

        def assign(label: str, principal: pulumi.Input[str], rows: Sequence[tuple[str, str]],
                   principal_type: str = "ServicePrincipal", unique: str = names.identity,
                   ) -> list[authorization.RoleAssignment]:
            made = grant(self, name, label, principal, args.subscription_id,
                         [Grant(role, target, scopes[target]) for target, role in rows], unique=unique,
                         principal_type=principal_type)
            for (target, _), assignment in zip(rows, made, strict=True):
                extensions[target].append(assignment)
            return made

        ws_roles = assign("workspace", ws_identity.principal_id,
                          [row for row in WORKSPACE_IDENTITY_ROLES if row[0] != "mlw"])
        compute_roles = assign("compute", compute_identity.principal_id,
                               [*COMPUTE_IDENTITY_ROLES,
                                *([IMAGE_BUILD_ROLE] if args.image_build_compute is not None else [])])
        if instance_identity is not None:
            compute_roles += assign("instance", instance_identity.principal_id,
                                    [row for row in INSTANCE_IDENTITY_ROLES if row[0] != "mlw"])
        for object_id in args.users:
            assign(f"user-{object_id}", object_id, [("st", role) for role in USER_STORAGE_ROLES],
                   principal_type="User", unique=f"{names.identity}|{object_id}")
        # The workspace checks its identity's access when it is created: wait for Azure to apply the grants.
        ws_roles_applied = propagation_wait(self, f"{name}-workspace", ws_roles)

        mlw_name = names.ml_workspace()
        mlw = ml.Workspace(
            f"{name}-mlw",
            workspace_name=mlw_name,
            resource_group_name=rg.name,
            location=args.location,
            friendly_name=f"{name} ({args.environment})",
            description=f"Azure ML workspace of team {name} in {args.environment}, managed by Pulumi",
            kind="Default",
            sku=ml.SkuArgs(name="Basic", tier=ml.SkuTier.BASIC),
            identity=ml.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=[ws_identity.id]),
            primary_user_assigned_identity=ws_identity.id,
            storage_account=st.id,
            key_vault=kv.id,
            container_registry=cr.id,
            application_insights=appi.id,
            v1_legacy_mode=False,
            system_datastores_auth_mode="Identity",
            public_network_access="Enabled" if args.public_network_access else "Disabled",
            allow_public_access_when_behind_vnet=args.public_network_access,
            hbi_workspace=args.hbi_workspace,
            # A registry without public access cannot build images itself; a compute target of the workspace does.
            image_build_compute=args.image_build_compute,
            # Provision the managed network with the workspace, not with the first compute (which may time out).
            provision_network_now=True,
            managed_network=ml.ManagedNetworkSettingsArgs(
                isolation_mode=args.isolation_mode,
                outbound_rules={rule.name: _outbound_rule(rule) for rule in args.outbound_rules} or None,
            ),
            tags=tags,
            # The identity needs its roles, applied, before the workspace is created, or creation fails its checks.
            opts=pulumi.ResourceOptions(parent=self, protect=args.lock, retain_on_delete=args.lock,
                                        depends_on=[ws_roles_applied]),
        )
        scopes["mlw"] = mlw.id
        compute_roles += assign("workspace", ws_identity.principal_id,
                                [row for row in WORKSPACE_IDENTITY_ROLES if row[0] == "mlw"])
        if instance_identity is not None:
            compute_roles += assign("instance", instance_identity.principal_id,
                                    [row for row in INSTANCE_IDENTITY_ROLES if row[0] == "mlw"])
        # Compute (instances mount the file share, and shut down when idle) needs these grants applied first: every
        # compute of the team depends on this pause (``compute_ready``).
        compute_ready = propagation_wait(self, f"{name}-compute", compute_roles)

        extensions["st"] += [
            send_diagnostics(self, f"{name}-st", st.id, log_analytics_id, logs=False, metric_category="Transaction"),
            send_diagnostics(self, f"{name}-st-blob", st.id.apply(lambda i: f"{i}/blobServices/default"),
                             log_analytics_id, metric_category="Transaction"),
        ]
        # Every storage service logs its reads, writes and deletes (Azure Policy's "Configure diagnostic settings for
        # File/Queue/Table Services to Log Analytics workspace"; security-diagnostics-enabled).
        extensions["st"] += [
            send_diagnostics(self, f"{name}-st-{service}", st.id.apply(lambda i, s=service: f"{i}/{s}Services/default"),
                             log_analytics_id, metric_category="Transaction")
            for service in ("file", "queue", "table")
        ]
        extensions["kv"].append(send_diagnostics(self, f"{name}-kv", kv.id, log_analytics_id))
        extensions["cr"].append(send_diagnostics(self, f"{name}-cr", cr.id, log_analytics_id))
        send_diagnostics(self, f"{name}-mlw", mlw.id, log_analytics_id)
        # App Insights is workspace-based: its telemetry already lands in Log Analytics, so only metrics are sent;
        # its logs through a diagnostic setting would be ingested (and billed) a second time.
        send_diagnostics(self, f"{name}-appi", appi.id, log_analytics_id, logs=False)

        if args.private_endpoint_subnet_id is not None:
            # Clients reach a private workspace through its endpoint, and studio reaches the default storage
            # (data preview, notebooks) through blob and file endpoints. Private DNS: a zone group per endpoint
            # from the given zone ids, or the hub's DeployIfNotExists policies (docs/configuration.md).
            targets = (("mlw", mlw.id, "amlworkspace"), ("st-blob", st.id, "blob"), ("st-file", st.id, "file"))
            for short, target_id, group in targets:
                endpoint = network.PrivateEndpoint(
                    f"{name}-pep-{short}",
                    private_endpoint_name=names.private_endpoint(short),
                    resource_group_name=rg.name,
                    location=args.location,
                    subnet=network.SubnetArgs(id=args.private_endpoint_subnet_id),
                    private_link_service_connections=[
                        network.PrivateLinkServiceConnectionArgs(
                            name=f"{names.private_endpoint(short)}-{group}", private_link_service_id=target_id,
                            group_ids=[group],
                        )
                    ],
                    tags=tags,
                    opts=child,
                )
                if args.private_dns_zone_ids:
                    network.PrivateDnsZoneGroup(
                        f"{name}-pep-{short}-dns",
                        private_dns_zone_group_name="default",
                        private_endpoint_name=endpoint.name,
                        resource_group_name=rg.name,
                        private_dns_zone_configs=[
                            network.PrivateDnsZoneConfigArgs(name=zone.replace(".", "-"),
                                                             private_dns_zone_id=args.private_dns_zone_ids[zone])
                            for zone in PRIVATE_DNS_ZONES[group]
                        ],
                        opts=child,
                    )
                if group in ("blob", "file"):
                    scopes[f"pep-{short}"] = endpoint.id
                    assign("workspace", ws_identity.principal_id, [(f"pep-{short}", STORAGE_ENDPOINT_ROLE)])

        if args.lock:
            # Not the ML workspace: a lock there is inherited by its computes and would block the recreation of
            # compute instances that patching depends on. The workspace is protected in Pulumi instead. Each lock
            # comes after the role assignments and diagnostic settings at its scope (see interfaces.lock).
            locks += [("st", st_name, st.id, extensions["st"]), ("kv", kv_name, kv.id, extensions["kv"]),
                      ("cr", cr_name, cr.id, extensions["cr"])]
            for short, azure_name, scope, at_scope in locks:
                lock(self, f"{name}-{short}", azure_name, scope, at_scope)

        self.resource_group_name = rg.name
        self.resource_group_id = rg.id
        self.workspace_name = mlw.name
        self.workspace_id = mlw.id
        self.workspace_principal_id = ws_identity.principal_id
        self.compute_identity_id = compute_identity.id
        self.compute_identity_principal_id = compute_identity.principal_id
        self.instance_identity_id = instance_identity.id if instance_identity is not None else None
        self.compute_ready = compute_ready
        self.storage_account_id = st.id
        self.storage_account_name = st.name
        self.key_vault_id = kv.id
        self.container_registry_id = cr.id
        self.application_insights_id = appi.id
        self.log_analytics_workspace_id = log_analytics_id
        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "resource_group_id": self.resource_group_id,
                "workspace_name": self.workspace_name,
                "workspace_id": self.workspace_id,
                "workspace_principal_id": self.workspace_principal_id,
                "compute_identity_id": self.compute_identity_id,
                "compute_identity_principal_id": self.compute_identity_principal_id,
                "instance_identity_id": self.instance_identity_id,
                "storage_account_id": self.storage_account_id,
                "storage_account_name": self.storage_account_name,
                "key_vault_id": self.key_vault_id,
                "container_registry_id": self.container_registry_id,
                "application_insights_id": self.application_insights_id,
                "log_analytics_workspace_id": self.log_analytics_workspace_id,
            }
        )


def _outbound_rule(rule: OutboundRuleConfig) -> ml.FqdnOutboundRuleArgs | ml.ServiceTagOutboundRuleArgs:
    if rule.type == "fqdn":
        return ml.FqdnOutboundRuleArgs(type="FQDN", category="UserDefined", destination=rule.destination)
    return ml.ServiceTagOutboundRuleArgs(
        type="ServiceTag",
        category="UserDefined",
        destination=ml.ServiceTagDestinationArgs(
            service_tag=rule.destination, protocol=rule.protocol, port_ranges=rule.port_ranges, action="Allow"
        ),
    )
