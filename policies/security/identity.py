"""Identities and roles, and protection of stateful resources (locks)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.graph import Links, label, of_type, peek
from ..lib.rules import Refs, Resource, setting
from ..lib.types import KEY_VAULT, LOCK, LOG_ANALYTICS, ML_WORKSPACE, REGISTRY, ROLE_ASSIGNMENT, STORAGE_ACCOUNT
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


@RULES.resource(
    "security-roleassignment-least-privilege",
    types=[ROLE_ASSIGNMENT],
    description="Workload identities get no access-management role, and no Contributor above a single resource.",
    severity="critical",
    remediation="Grant the narrowest built-in role on the one resource the identity needs (for example Storage "
                "Blob Data Contributor on a storage account); never Owner or User Access Administrator, and never "
                "Contributor at resource group, subscription or management group scope.",
    url="https://learn.microsoft.com/azure/role-based-access-control/best-practices",
    refs=Refs(mcsb=("PA-7",), checkov=("CKV_AZURE_39",), pulumi=("role assignment scope",)),
    config={"allowedPrivilegedPrincipalTypes": setting(
        "array", ["User", "Group"], "Principal types that may hold privileged roles (people, through PIM).",
        items={"type": "string"})},
)
def least_privilege(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    role_id = str(r.props.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower()
    role = PRIVILEGED_ROLES.get(role_id)
    principal_type = r.props.get("principalType", "ServicePrincipal")
    if role is None or principal_type in cfg["allowedPrivilegedPrincipalTypes"]:
        return
    level = _scope_level(str(r.props.get("scope", "")))
    if role != "Contributor":
        yield f"{role} is granted to a {principal_type} at {level} scope; workload identities must not manage access"
    elif level != "resource":
        yield f"Contributor is granted to a {principal_type} at {level} scope; scope it to a single resource"


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
    links = Links(resources)
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
