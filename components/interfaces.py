"""Cross-cutting building blocks every component uses the same way (Azure Verified Modules' shared interfaces).

- :func:`grant` creates a role assignment scoped to one resource (never a resource group or subscription);
- :func:`send_diagnostics` wires a resource's logs and metrics to a Log Analytics workspace it is given (it never
  creates one);
- :func:`lock` puts a ``CanNotDelete`` management lock on one resource;
- :func:`log_analytics_workspace` creates a Log Analytics workspace that audits its own queries.

Each creates its resource as a child of the calling component (``parent=component``), never of another azure-native
resource, and names it from the calling component's name.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, monitor, operationalinsights

from components.naming import role_assignment_name

#: Built-in role definition GUIDs (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BUILTIN_ROLES: Mapping[str, str] = {
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage File Data Privileged Contributor": "69566ab7-960f-475b-8e7c-b3118f30c6bd",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
}


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    """The full ARM id of a built-in role in the deployment's subscription."""
    guid = BUILTIN_ROLES[role]
    return pulumi.Output.from_input(subscription_id).apply(
        lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    )


@dataclass(frozen=True)
class Grant:
    """One role for one principal on one resource."""

    role: str
    """Built-in role name, a key of ``BUILTIN_ROLES``."""
    scope_name: str
    """Short logical name of the target (``st``, ``kv``); used in the Pulumi name and the deterministic GUID."""
    scope: pulumi.Input[str]
    """ARM id of the target resource."""


def _tenant_unique_name(parts: tuple[str, ...], subscription_id: str) -> str:
    return role_assignment_name(subscription_id, *parts)


def grant(
    component: pulumi.ComponentResource,
    name: str,
    principal_label: str,
    principal_id: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    grants: Sequence[Grant],
    unique: str,
    depends_on: Sequence[pulumi.Resource] = (),
) -> list[authorization.RoleAssignment]:
    """Assign each of ``grants`` to a managed identity (``principal_type`` ServicePrincipal, as Azure advises for
    identities created in the same deployment, so that replication delay cannot fail the assignment).

    Role assignment names are GUIDs that must be unique in the whole Microsoft Entra tenant, so they are derived from
    the subscription and ``unique`` (the workload's naming identity, which differs per stack and region) as well as
    from the principal, target and role: dev and prod in one tenant never collide, and re-runs never duplicate.
    """
    assignments = []
    for g in grants:
        slug = g.role.lower().replace(" ", "-")
        parts = (unique, principal_label, g.scope_name, g.role)
        assignments.append(
            authorization.RoleAssignment(
                f"{name}-{principal_label}-{g.scope_name}-{slug}",
                role_assignment_name=pulumi.Output.from_input(subscription_id).apply(
                    functools.partial(_tenant_unique_name, parts)
                ),
                scope=g.scope,
                principal_id=principal_id,
                principal_type="ServicePrincipal",
                role_definition_id=role_definition_id(subscription_id, g.role),
                description=f"{g.role} for {name} {principal_label} identity (managed by Pulumi)",
                opts=pulumi.ResourceOptions(parent=component, depends_on=list(depends_on)),
            )
        )
    return assignments


def send_diagnostics(
    component: pulumi.ComponentResource,
    name: str,
    resource_uri: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    *,
    logs: bool = True,
    metric_category: str | None = "AllMetrics",
) -> monitor.DiagnosticSetting:
    """Send a resource's logs (category group ``allLogs``) and metrics to Log Analytics (resource-specific tables)."""
    return monitor.DiagnosticSetting(
        f"{name}-diag",
        name="diag-log-analytics",
        resource_uri=resource_uri,
        workspace_id=workspace_id,
        log_analytics_destination_type="Dedicated",
        logs=[monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)] if logs else None,
        metrics=(
            [monitor.DiagnosticsMetricSettingsArgs(category=metric_category, enabled=True)]
            if metric_category
            else None
        ),
        opts=pulumi.ResourceOptions(parent=component),
    )


def lock(component: pulumi.ComponentResource, name: str, azure_name: str, scope: pulumi.Input[str]
         ) -> authorization.ManagementLockByScope:
    """A ``CanNotDelete`` lock on one resource. Locks go on stateful resources, not on resource groups: a group lock
    would also stop the recreation of compute instances that patching depends on."""
    return authorization.ManagementLockByScope(
        f"{name}-lock",
        lock_name=f"lock-{azure_name}",
        level="CanNotDelete",
        scope=scope,
        notes="Stateful resource of the ML platform; remove the lock through the stack config (locks: false).",
        opts=pulumi.ResourceOptions(parent=component),
    )


def log_analytics_workspace(
    component: pulumi.ComponentResource,
    name: str,
    azure_name: str,
    resource_group_name: pulumi.Input[str],
    location: str,
    retention_days: int,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> operationalinsights.Workspace:
    """A pay-as-you-go Log Analytics workspace (``{name}-log``) that accepts Microsoft Entra authenticated
    ingestion only, and whose own audit logs and metrics go to itself."""
    law = operationalinsights.Workspace(
        f"{name}-log",
        workspace_name=azure_name,
        resource_group_name=resource_group_name,
        location=location,
        sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
        features=operationalinsights.WorkspaceFeaturesArgs(disable_local_auth=True),
        retention_in_days=retention_days,
        tags=dict(tags),
        opts=opts,
    )
    send_diagnostics(component, f"{name}-log", law.id, law.id)
    return law
