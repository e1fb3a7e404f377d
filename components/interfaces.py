"""Cross-cutting building blocks every component uses the same way (Azure Verified Modules' shared interfaces).

- :func:`grant` creates a role assignment scoped to one resource (never a resource group or subscription);
- :func:`send_diagnostics` wires a resource's logs and metrics to a Log Analytics workspace it is given (it never
  creates one);
- :func:`lock` puts a ``CanNotDelete`` management lock on one resource, after (and, on teardown, before) the role
  assignments and diagnostic settings at that scope, which the lock would otherwise keep from being deleted;
- :func:`propagation_wait` waits after role assignments for Azure to apply them, before what depends on them;
- :func:`log_analytics_workspace` creates a Log Analytics workspace that audits its own queries.

Each creates its resource as a child of the calling component (``parent=component``), never of another azure-native
resource, and names it from the calling component's name.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumiverse_time
from pulumi_azure_native import authorization, monitor, operationalinsights

from components.naming import role_assignment_name

#: Built-in role definition GUIDs (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BUILTIN_ROLES: Mapping[str, str] = {
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage File Data Privileged Contributor": "69566ab7-960f-475b-8e7c-b3118f30c6bd",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    # built-in-roles/ai-machine-learning: "Allows you to use assets from a machine learning registry".
    "AzureML Registry User": "1823dd4f-9b8c-4ab6-ab4e-7397a3684615",
    # built-in-roles/devops: "View, create, update, delete and execute load tests" (data actions
    # Microsoft.LoadTestService/loadtests/*; control plane read only: it cannot change or delete the resource).
    "Load Test Contributor": "749a398d-560b-491b-bb21-08924219302e",
    # built-in-roles/ai-machine-learning: "Can approve private endpoint connections to Azure AI common dependency
    # resources" (storage, Key Vault, registry, ML workspaces ...); no data actions.
    "Azure AI Enterprise Network Connection Approver": "b556d68e-0be0-4f35-a333-ad7ee1ce17ea",
}
#: How long Azure may take to apply a new role assignment before the service that relies on it checks it. Microsoft
#: states "up to 10 minutes" (role-based-access-control/troubleshooting); in practice a minute covers the same-region
#: case, and a failed first attempt is retried by the next ``pulumi up``.
PROPAGATION_WAIT = "60s"


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
    """Built-in role name, a key of ``BUILTIN_ROLES``, or the name of the custom role ``definition_id`` names."""
    scope_name: str
    """Short logical name of the target (``st``, ``kv``); used in the Pulumi name and the deterministic GUID."""
    scope: pulumi.Input[str]
    """ARM id of the target resource."""
    definition_id: pulumi.Input[str] | None = None
    """Full id of a custom role definition; ``None`` for the built-in role ``role``."""


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
    principal_type: str = "ServicePrincipal",
) -> list[authorization.RoleAssignment]:
    """Assign each of ``grants`` to a principal: a managed identity or service principal by default
    (``principal_type`` ServicePrincipal, as Azure advises for identities created in the same deployment, so that
    replication delay cannot fail the assignment), or a person (``User``). The type must match the principal's:
    Azure refuses a mismatch (UnmatchedPrincipalType), and azure-native sends ``User`` when none is given.

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
                principal_type=principal_type,
                role_definition_id=g.definition_id or role_definition_id(subscription_id, g.role),
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


def lock(component: pulumi.ComponentResource, name: str, azure_name: str, scope: pulumi.Input[str],
         extensions: Sequence[pulumi.Resource] = ()) -> authorization.ManagementLockByScope:
    """A ``CanNotDelete`` lock on one resource. Locks go on stateful resources, not on resource groups: a group lock
    would also stop the recreation of compute instances that patching depends on, and cluster autoscaling.

    A CanNotDelete lock also keeps the role assignments and diagnostic settings at its scope from being deleted
    ("A cannot-delete lock on a resource ... prevents the deletion of Azure RBAC assignments"; extension resources
    such as diagnostic settings inherit the lock: azure-resource-manager/management/lock-resources). The lock
    therefore depends on ``extensions`` (those at its scope): created after them, and deleted before them when the
    locks are switched off or the stack is torn down. Replacing one of them while the lock stays is refused by Azure;
    docs/design.md ("Locks") gives the procedure."""
    return authorization.ManagementLockByScope(
        f"{name}-lock",
        lock_name=f"lock-{azure_name}",
        level="CanNotDelete",
        scope=scope,
        notes="Stateful resource of the ML platform; remove the lock through the stack config (locks: false).",
        opts=pulumi.ResourceOptions(parent=component, depends_on=list(extensions)),
    )


def propagation_wait(component: pulumi.ComponentResource, name: str,
                     assignments: Sequence[pulumi.CustomResource]) -> pulumiverse_time.Sleep:
    """A pause of :data:`PROPAGATION_WAIT` after ``assignments`` (role assignments, or a role definition) are
    created, for what must only start once Azure applies them (a workspace checks its identity's access when it is
    created; a new custom role must replicate before it can be assigned). It waits again whenever one of them is
    replaced (their ids are its triggers), and costs nothing on later updates."""
    ids = pulumi.Output.all(*[a.id for a in assignments]).apply(lambda values: ",".join(sorted(values)))
    return pulumiverse_time.Sleep(
        f"{name}-rbac-wait",
        create_duration=PROPAGATION_WAIT,
        triggers={"role_assignments": ids},
        opts=pulumi.ResourceOptions(parent=component, depends_on=list(assignments)),
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
) -> tuple[operationalinsights.Workspace, monitor.DiagnosticSetting]:
    """A pay-as-you-go Log Analytics workspace (``{name}-log``) that accepts Microsoft Entra authenticated
    ingestion only, and the diagnostic setting that sends its own audit logs and metrics to itself."""
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
    return law, send_diagnostics(component, f"{name}-log", law.id, law.id)
