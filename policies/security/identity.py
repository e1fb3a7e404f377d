"""Identities and roles, and protection of stateful resources (locks)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.conditions import delegation_limits
from ..lib.graph import Links, known_str, label, of_type, peek, peek_items
from ..lib.rules import Refs, Resource, setting
from ..lib.types import (
    KEY_VAULT,
    LOCK,
    LOG_ANALYTICS,
    ML_WORKSPACE,
    REGISTRY,
    RESOURCE_GROUP,
    ROLE_ASSIGNMENT,
    ROLE_DEFINITION,
    STORAGE_ACCOUNT,
    canonical,
)
from . import RULES

#: Built-in roles that grant access management or everything (Owner, User Access Administrator, Role Based Access
#: Control Administrator, Contributor).
PRIVILEGED_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
}


def _scope_level(scope: str) -> str:
    parts = [p for p in scope.lower().split("/") if p]
    if "providers" in parts and parts.index("providers") > 1:
        return "resource"
    if "resourcegroups" in parts:
        return "resource group"
    if parts[:1] == ["providers"] and "managementgroups" in parts:
        return "management group"
    return "subscription"


#: Access-management roles a condition can constrain to delegating other roles only (Microsoft: "Delegate Azure
#: role assignment management to others with conditions"); Owner keeps every other right, so it never qualifies.
DELEGATING_ROLES = ("User Access Administrator", "Role Based Access Control Administrator")
#: Roles a constrained delegate must not be able to assign or remove (Microsoft's "privileged administrator roles").
NEVER_DELEGABLE = ["8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
                   "f58310d9-a9f6-439a-9e8d-f62e7b41a168"]
ABAC_DOCS = "https://learn.microsoft.com/azure/role-based-access-control/delegate-role-assignments-examples"


def _role_guid(props: Any) -> str:
    """The GUID of the assigned role; "" when unknown (a custom role defined in the same deployment: built-in role
    ids are known before anything is created, and the role definition rules judge custom roles)."""
    return (known_str(peek(props, "roleDefinitionId")) or "").rsplit("/", 1)[-1].lower()


def _constrained(props: Any, never: frozenset[str]) -> bool:
    """Whether the assignment's condition keeps its delegate from assigning or removing any of ``never``."""
    condition = props.get("condition")
    if not isinstance(condition, str) or not condition.strip():
        return False
    limits = delegation_limits(condition)
    return all(action in limits and not limits[action].allows_any_of(never) for action in ("write", "delete"))


@RULES.resource(
    "security-roleassignment-least-privilege",
    types=[ROLE_ASSIGNMENT],
    description="Workload identities get no access-management role (unless a condition limits it to delegating "
                "non-privileged roles), and no Contributor above a single resource.",
    severity="critical",
    remediation="Grant the narrowest built-in role on the one resource the identity needs (for example Storage "
                "Blob Data Contributor on a storage account); never Owner, and never Contributor at resource group, "
                "subscription or management group scope. An identity that must assign roles gets Role Based Access "
                "Control Administrator with a condition (conditionVersion 2.0) that limits roleAssignments/write "
                "and /delete to the roles it hands out, as in Microsoft's 'Constrain roles' example.",
    url="https://learn.microsoft.com/azure/role-based-access-control/best-practices",
    refs=Refs(mcsb=("PA-7",), pulumi=("role assignment scope",)),
    config={
        "allowedPrivilegedPrincipalTypes": setting(
            "array", ["User", "Group"], "Principal types that may hold privileged roles (people, through PIM).",
            items={"type": "string"}),
        "neverDelegable": setting("array", NEVER_DELEGABLE, "Role definition GUIDs a constrained delegation must not "
                                  "be able to assign or remove.", items={"type": "string"}),
    },
)
def least_privilege(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    role = PRIVILEGED_ROLES.get(_role_guid(r.props))
    principal_type = r.props.get("principalType", "ServicePrincipal")
    if role is None or principal_type in cfg["allowedPrivilegedPrincipalTypes"]:
        return
    scope = peek(r.props, "scope")
    if role == "Contributor":
        # A scope created in this deployment is unknown on a first preview: security-roleassignment-scope resolves
        # it through the graph. A known one is judged here, before the assignment exists.
        level = _scope_level(scope) if isinstance(scope, str) else None
        if level is not None and level != "resource":
            yield f"Contributor is granted to a {principal_type} at {level} scope; scope it to a single resource"
        return
    if role in DELEGATING_ROLES and _constrained(r.props, frozenset(g.lower() for g in cfg["neverDelegable"])):
        return
    where = f"{_scope_level(scope)} scope" if isinstance(scope, str) else "a scope created in this deployment"
    limit = (" without a condition that keeps it from assigning and removing privileged roles"
             if role in DELEGATING_ROLES else "")
    yield f"{role} is granted to a {principal_type} at {where}{limit}; workload identities must not manage access"


@RULES.stack(
    "security-roleassignment-scope",
    description="A team's identities get roles only in their own team's resources (or shared ones), and "
                "Contributor only on a single resource, also where the scope is created in the same deployment.",
    severity="critical",
    remediation="Grant the identity on its own team's resource (the platform tags every resource with its team), or "
                "on a resource tagged with a shared team; grant Contributor on the one resource that needs it, "
                "never on a resource group.",
    url="https://learn.microsoft.com/azure/role-based-access-control/best-practices",
    refs=Refs(mcsb=("PA-7", "AM-2")),
    config={
        "teamTag": setting("string", "team", "Tag that names the team owning a resource."),
        "sharedTeams": setting("array", ["shared"], "Team tag values of resources every team may be granted on, and "
                               "of platform identities that may be granted on every team.", items={"type": "string"}),
    },
)
def assignment_scope(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    links = Links.of(resources)
    by_urn = {r.urn: r for r in resources}
    principals: dict[str, str] = {}  # known principal id -> URN of the identity (or resource) it belongs to
    for resource in resources:
        for path in ("principalId", "identity.principalId"):
            principal = known_str(peek(resource.props, path))
            if principal:
                principals.setdefault(principal.lower(), resource.urn)

    owners: dict[str, str | None] = {}

    def owner(urn: str) -> str | None:
        """The team tag of ``urn``, or else of the first resource it lives in that has one (once per resource)."""
        if urn not in owners:
            owners[urn] = None
            for candidate in (urn, *sorted(links.containers(by_urn[urn]) & by_urn.keys())):
                value = known_str(peek(peek(by_urn[candidate].props, "tags"), cfg["teamTag"]))
                if value:
                    owners[urn] = value
                    break
        return owners[urn]

    def team(urns: set[str]) -> str | None:
        """The team of the first of ``urns`` that has one."""
        return next((t for t in map(owner, sorted(u for u in urns if u in by_urn)) if t), None)

    shared = set(cfg["sharedTeams"])
    for assignment in of_type(resources, ROLE_ASSIGNMENT):
        scope = peek(assignment.props, "scope")
        targets = links.targets(assignment, [scope], prop="scope", fallback=False)
        principal = known_str(peek(assignment.props, "principalId"))
        sources = links.targets(assignment, prop="principalId", fallback=False)
        if principal and principal.lower() in principals:
            sources.add(principals[principal.lower()])
        target_team, source_team = team(targets), team(sources)
        if target_team and source_team and target_team != source_team and not {target_team, source_team} & shared:
            yield (f"{label(assignment)} grants an identity of team {source_team} a role on a resource of team "
                   f"{target_team}", assignment.urn)
        role = PRIVILEGED_ROLES.get(_role_guid(assignment.props))
        if role == "Contributor" and not isinstance(scope, str) and any(
                canonical(by_urn[u].resource_type) == RESOURCE_GROUP for u in targets if u in by_urn):
            yield (f"{label(assignment)} grants Contributor on a resource group created in this deployment; scope it "
                   "to a single resource", assignment.urn)


#: Operations a custom role must not grant, whatever pattern grants them: access management (assigning roles,
#: writing role definitions, elevating to User Access Administrator) and the guardrails around it (policy
#: assignments, definitions and exemptions, locks, deployment stack deny settings). Contributor's notActions
#: (Microsoft.Authorization/*/Write, */Delete, elevateAccess/Action) take these away. Azure expands ``*`` in an
#: action string and subtracts notActions (https://learn.microsoft.com/azure/role-based-access-control/
#: role-definitions, "Wildcard permissions", "NotActions"), so ``Microsoft.Authorization/role*/write`` grants them.
SENSITIVE_ACTIONS = [
    "Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete",
    "Microsoft.Authorization/roleDefinitions/write", "Microsoft.Authorization/roleDefinitions/delete",
    "Microsoft.Authorization/elevateAccess/action", "Microsoft.Authorization/policyAssignments/write",
    "Microsoft.Authorization/policyExemptions/write", "Microsoft.Authorization/locks/delete",
    "Microsoft.Authorization/policyAssignments/delete", "Microsoft.Authorization/policyDefinitions/write",
    "Microsoft.Authorization/policySetDefinitions/write", "Microsoft.Authorization/roleManagementPolicies/write",
    "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
]
#: Operations of providers no role names, inside and outside the Microsoft namespace: a pattern that grants them
#: spans every resource provider (Owner or Contributor, or every data operation; ``*/read`` is Reader and passes).
PROVIDER_WIDE = tuple(f"{namespace}/resources/{verb}" for namespace in ("Unnamed.Provider", "Microsoft.UnnamedProvider")
                      for verb in ("write", "delete", "action"))
PERMISSION_LISTS = (("actions", "notActions", "sensitiveActions"),
                    ("dataActions", "notDataActions", "sensitiveDataActions"))


def _matches(action: str, operation: str) -> bool:
    """Whether ``action`` grants ``operation`` as Azure matches them: case-insensitive, ``*`` standing for any
    characters (fnmatch, as the registry rules match sources; its patterns do not backtrack exponentially, and ARM
    action strings hold no ``?`` or ``[``)."""
    return fnmatchcase(operation.lower(), action.lower())


def _granted(operations: Sequence[str], action: str, excluded: Sequence[str]) -> list[str]:
    """Those of ``operations`` that ``action`` grants and no notActions pattern in ``excluded`` takes away."""
    return [op for op in operations if _matches(action, op) and not any(_matches(n, op) for n in excluded)]


def _assignable_level(scope: str) -> str:
    """``root``, ``management group``, ``subscription``, ``resource group`` or ``resource``."""
    parts = [p for p in scope.lower().split("/") if p]
    if not parts:
        return "root"
    return _scope_level(scope)


@RULES.resource(
    "security-roledefinition-least-privilege",
    types=[ROLE_DEFINITION],
    description="Custom roles grant neither every provider's operations (Owner- or Contributor-equivalent) nor "
                "access management, whatever wildcards they use, and are assignable only below the subscription.",
    severity="critical",
    remediation="List the specific actions the role needs in permissions[].actions (never '*' or "
                "Microsoft.Authorization/* writes; a role that must assign roles is the built-in Role Based Access "
                "Control Administrator with a condition), and set assignableScopes to the resource groups or "
                "resources where it is assigned, as the platform's compute instance user role does.",
    url="https://learn.microsoft.com/azure/role-based-access-control/custom-roles",
    refs=Refs(mcsb=("PA-7",), azure_policy=("a451c1ef-c6ca-483d-87ed-f49761e3ffb5",), checkov=("CKV_AZURE_39",)),
    config={
        "sensitiveActions": setting("array", SENSITIVE_ACTIONS, "Operations no permissions[].actions pattern may "
                                    "grant (after notActions; * in a pattern matches any characters, "
                                    "case-insensitive).", items={"type": "string"}),
        "sensitiveDataActions": setting("array", [], "Data operations no permissions[].dataActions pattern may "
                                        "grant (after notDataActions).", items={"type": "string"}),
        "allowedScopeLevels": setting("array", ["resource group", "resource"], "Levels assignableScopes may name: "
                                      "root, management group, subscription, resource group, resource.",
                                      items={"type": "string"}),
        "customRolesAllowed": setting("boolean", True, "Whether the stack may define custom roles at all (false: "
                                      "every role definition is reported, as Azure Policy's audit of custom roles "
                                      "does)."),
    },
)
def role_definition(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not cfg["customRolesAllowed"]:
        yield "the stack defines a custom role; custom roles are not allowed here (use a built-in role)"
        return
    for index, permission in enumerate(peek_items(r.props, "permissions")):
        for key, not_key, setting_name in PERMISSION_LISTS:
            excluded = [a for a in peek_items(permission, not_key) if isinstance(a, str)]
            for action in peek_items(permission, key):
                if not isinstance(action, str):
                    continue
                if _granted(PROVIDER_WIDE, action, excluded):
                    spans = ("every resource provider (Owner or Contributor)" if key == "actions" else
                             "every data operation of every resource provider")
                    yield (f"permissions[{index}].{key} grants {action!r}, which spans {spans}; list the specific "
                           "actions the role needs")
                elif sensitive := _granted(cfg[setting_name], action, excluded):
                    yield (f"permissions[{index}].{key} grants {action!r}, which includes {', '.join(sensitive)}; "
                           "list the specific actions the role needs")
    allowed = set(cfg["allowedScopeLevels"])
    for scope in peek_items(r.props, "assignableScopes"):
        # A scope created in the same deployment is unknown on a first preview, and always a resource group or
        # resource: subscriptions and management groups are not created by a workload stack.
        if isinstance(scope, str) and (level := _assignable_level(scope)) not in allowed:
            yield (f"assignableScopes holds {scope!r} ({level} scope); make the role assignable only at "
                   f"{' or '.join(sorted(allowed))} scope")


LOCKED = {"storage account": STORAGE_ACCOUNT, "Key Vault": KEY_VAULT, "container registry": REGISTRY,
          "Log Analytics": LOG_ANALYTICS}


@RULES.stack(
    "security-stateful-resources-protected",
    description="In protected environments, stateful resources carry a CanNotDelete lock and Pulumi protection.",
    severity="high",
    remediation="Create an authorization.ManagementLockByScope (level CanNotDelete, scope the resource) for each "
                "storage account, Key Vault, registry and Log Analytics workspace, and set protect on them and on "
                "ML workspaces (which are protected but not locked: their lock would block compute recreation). "
                "The platform does this when mlops-platform:locks is true.",
    url="https://learn.microsoft.com/azure/azure-resource-manager/management/lock-resources",
    refs=Refs(mcsb=("BR-1", "AM-3")),
    config={
        "required": setting("boolean", False, "Enforce locks (set true in production configs)."),
        "lockedTypes": setting("array", sorted(LOCKED.values()), "Types that need a CanNotDelete lock.",
                               items={"type": "string"}),
        "protectedTypes": setting("array", sorted([*LOCKED.values(), ML_WORKSPACE]),
                                  "Types that need Pulumi's protect option.", items={"type": "string"}),
    },
)
def protected(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    if not cfg["required"]:
        return
    links = Links.of(resources)
    locks = [lk for lk in of_type(resources, LOCK) if lk.props.get("level") == "CanNotDelete"]
    # scope is a path parameter (no output): linked through its property dependency, or the lock's own id.
    locked = links.referenced(locks, lambda lk: [peek(lk.props, "scope")], prop="scope", own_id=True)
    for resource in of_type(resources, *cfg["lockedTypes"]):
        # A lock on the resource group (or any resource above) protects everything in it.
        if resource.urn not in locked and not links.containers(resource) & locked:
            yield f"{label(resource)} has no CanNotDelete lock", resource.urn
    for resource in of_type(resources, *cfg["protectedTypes"]):
        if not resource.opts.protect:
            yield f"{label(resource)} is not protected (protect option)", resource.urn
