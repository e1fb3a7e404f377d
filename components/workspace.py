"""``Workspace``: one team's Azure Machine Learning workspace with everything it depends on.

Creates, under one resource group: Application Insights (workspace-based, local auth off), a storage account, a Key
Vault, a container registry, two user-assigned identities (the workspace's, and one for the team's compute), their
least-privilege role assignments scoped to each resource, the ML workspace itself with managed network isolation,
diagnostic settings to Log Analytics, an optional private endpoint and, when ``lock`` is set, ``protect`` and
``retain_on_delete`` on every stateful resource plus CanNotDelete locks on all of them but the ML workspace (whose
lock would be inherited by its computes and block patching by recreation). A Log Analytics workspace is created
only when none is given (the ``Platform`` passes its shared one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import (
    applicationinsights,
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

from components.config import OutboundRuleConfig
from components.interfaces import Grant, grant, lock, log_analytics_workspace, send_diagnostics
from components.naming import Namer

#: Roles Azure documents for a workspace's user-assigned identity, each on the one resource it concerns
#: (https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication).
WORKSPACE_IDENTITY_ROLES: Mapping[str, tuple[str, ...]] = {
    "st": ("Contributor", "Storage Blob Data Contributor", "Storage File Data Privileged Contributor"),
    "kv": ("Contributor", "Key Vault Administrator"),
    "cr": ("Contributor",),
    "appi": ("Contributor",),
}
#: Data-plane roles for the team's compute identity: read/write data, read datastore secrets, pull images.
COMPUTE_IDENTITY_ROLES: Mapping[str, tuple[str, ...]] = {
    "st": ("Storage Blob Data Contributor",),
    "kv": ("Key Vault Secrets User",),
    "cr": ("AcrPull",),
}


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


class Workspace(pulumi.ComponentResource):
    """An Azure ML workspace and its supporting resources for one team (type ``mlops:ml:Workspace``)."""

    resource_group_name: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    workspace_principal_id: pulumi.Output[str]
    compute_identity_id: pulumi.Output[str]
    compute_identity_principal_id: pulumi.Output[str]
    storage_account_id: pulumi.Output[str]
    key_vault_id: pulumi.Output[str]
    container_registry_id: pulumi.Output[str]
    application_insights_id: pulumi.Output[str]
    log_analytics_workspace_id: pulumi.Output[str]

    def __init__(self, name: str, args: WorkspaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:ml:Workspace", name, None, opts)
        names = Namer(args.prefix, name, args.environment, args.location)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.lock, retain_on_delete=args.lock)
        default_action = "Deny" if args.network_default_deny else "Allow"

        rg = resources.ResourceGroup(
            f"{name}-rg", resource_group_name=names.resource_group(), location=args.location, tags=tags,
            opts=stateful,
        )

        locks: list[tuple[str, str, pulumi.Output[str]]] = []
        if args.log_analytics_workspace_id is None:
            log_name = names.log_analytics()
            law = log_analytics_workspace(self, name, log_name, rg.name, args.location, args.log_retention_days,
                                          tags, stateful)
            locks.append(("log", log_name, law.id))
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
            sas_policy=storage.SasPolicyArgs(sas_expiration_period="1.00:00:00", expiration_action="Log"),
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

        scopes = {"st": st.id, "kv": kv.id, "cr": cr.id, "appi": appi.id}
        ws_roles = grant(
            self, name, "workspace", ws_identity.principal_id, args.subscription_id,
            [Grant(role, target, scopes[target]) for target, roles in WORKSPACE_IDENTITY_ROLES.items()
             for role in roles],
            unique=names.identity,
        )
        grant(
            self, name, "compute", compute_identity.principal_id, args.subscription_id,
            [Grant(role, target, scopes[target]) for target, roles in COMPUTE_IDENTITY_ROLES.items()
             for role in roles],
            unique=names.identity,
        )

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
            # The identity needs its roles before the workspace is created, or creation fails its access checks.
            opts=pulumi.ResourceOptions(parent=self, protect=args.lock, retain_on_delete=args.lock,
                                        depends_on=ws_roles),
        )

        send_diagnostics(self, f"{name}-st", st.id, log_analytics_id, logs=False, metric_category="Transaction")
        send_diagnostics(self, f"{name}-st-blob", st.id.apply(lambda i: f"{i}/blobServices/default"),
                         log_analytics_id, metric_category="Transaction")
        send_diagnostics(self, f"{name}-kv", kv.id, log_analytics_id)
        send_diagnostics(self, f"{name}-cr", cr.id, log_analytics_id)
        send_diagnostics(self, f"{name}-mlw", mlw.id, log_analytics_id)
        # App Insights is workspace-based: its telemetry already lands in Log Analytics, so only metrics are sent;
        # its logs through a diagnostic setting would be ingested (and billed) a second time.
        send_diagnostics(self, f"{name}-appi", appi.id, log_analytics_id, logs=False)

        if args.private_endpoint_subnet_id is not None:
            # Clients reach a private workspace through its endpoint, and studio reaches the default storage
            # (data preview, notebooks) through blob and file endpoints. Private DNS comes from the hub network.
            targets = (("mlw", mlw.id, "amlworkspace"), ("st-blob", st.id, "blob"), ("st-file", st.id, "file"))
            for short, target_id, group in targets:
                network.PrivateEndpoint(
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

        if args.lock:
            # Not the ML workspace: a lock there is inherited by its computes and would block the recreation of
            # compute instances that patching depends on. The workspace is protected in Pulumi instead.
            locks += [("st", st_name, st.id), ("kv", kv_name, kv.id), ("cr", cr_name, cr.id)]
            for short, azure_name, scope in locks:
                lock(self, f"{name}-{short}", azure_name, scope)

        self.resource_group_name = rg.name
        self.workspace_name = mlw.name
        self.workspace_id = mlw.id
        self.workspace_principal_id = ws_identity.principal_id
        self.compute_identity_id = compute_identity.id
        self.compute_identity_principal_id = compute_identity.principal_id
        self.storage_account_id = st.id
        self.key_vault_id = kv.id
        self.container_registry_id = cr.id
        self.application_insights_id = appi.id
        self.log_analytics_workspace_id = log_analytics_id
        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "workspace_name": self.workspace_name,
                "workspace_id": self.workspace_id,
                "workspace_principal_id": self.workspace_principal_id,
                "compute_identity_id": self.compute_identity_id,
                "compute_identity_principal_id": self.compute_identity_principal_id,
                "storage_account_id": self.storage_account_id,
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
