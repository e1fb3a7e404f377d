"""``Workspace``: security-relevant inputs, interfaces (tags, diagnostics, roles, locks) and outputs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
from conftest import PROJECT, SUBSCRIPTION_ID, TENANT_ID, Records

from components.config import OutboundRuleConfig
from components.interfaces import BUILTIN_ROLES
from components.workspace import (
    COMPUTE_IDENTITY_ROLES,
    INSTANCE_IDENTITY_ROLES,
    USER_STORAGE_ROLES,
    WORKSPACE_IDENTITY_ROLES,
    Workspace,
    WorkspaceArgs,
)
from preflight.program import run_with_mocks

AN = "azure-native"
TAGS = {"owner": "team@contoso.com", "cost-center": "CC-1", "data-classification": "internal"}
LAW_ID = (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-shared/providers/Microsoft.OperationalInsights/"
          "workspaces/log-shared")
SUBNET_ID = (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/"
             "vnet-hub/subnets/snet-pe")
ZONE_IDS = {zone: f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-net/providers/Microsoft.Network/"
                  f"privateDnsZones/{zone}"
            for zone in ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net",
                         "privatelink.blob.core.windows.net", "privatelink.file.core.windows.net")}
USER = "11111111-2222-3333-4444-555555555555"


def minimal_args(**overrides: Any) -> WorkspaceArgs:
    """Only the required inputs: every other setting is the component's secure default."""
    values: dict[str, Any] = {"location": "westeurope", "prefix": "mlops", "environment": "prod",
                              "tenant_id": TENANT_ID, "subscription_id": SUBSCRIPTION_ID, "tags": TAGS}
    return WorkspaceArgs(**{**values, **overrides})


def complete_args() -> WorkspaceArgs:
    """Every input set, relaxed the way a dev environment is."""
    return minimal_args(
        environment="dev",
        log_analytics_workspace_id=LAW_ID,
        log_retention_days=30,
        isolation_mode="AllowInternetOutbound",
        outbound_rules=(OutboundRuleConfig("pypi", "fqdn", "pypi.org"),
                        OutboundRuleConfig("monitor", "service_tag", "AzureMonitor", "TCP", "443")),
        public_network_access=True,
        private_endpoint_subnet_id=SUBNET_ID,
        image_build_compute="cpu",
        network_default_deny=False,
        registry_premium=False,
        storage_sku="Standard_LRS",
        blob_retention_days=7,
        hbi_workspace=False,
        lock=False,
        private_dns_zone_ids=ZONE_IDS,
        users=(USER,),
        personal_compute=True,
    )


@pytest.fixture(scope="module")
def minimal() -> Records:
    """Built once for the module: the tests only read what was registered."""
    return Records(run_with_mocks(lambda: Workspace("fraud", minimal_args()), project=PROJECT, stack="prod"))


@pytest.fixture(scope="module")
def complete() -> Records:
    return Records(run_with_mocks(lambda: Workspace("fraud", complete_args()), project=PROJECT, stack="dev"))


def one(records: Records, token: str) -> dict[str, Any]:
    [record] = records.of_type(f"{AN}:{token}")
    return record.inputs


def ids(records: Records) -> dict[str, str]:
    """ARM id by short type token (``storage:StorageAccount``) for the types created once."""
    return {r.type.removeprefix(f"{AN}:"): r.id or "" for r in records.custom()}


def test_storage_account_is_locked_down(minimal: Records) -> None:
    st = one(minimal, "storage:StorageAccount")
    assert st["enableHttpsTrafficOnly"] is True
    assert st["minimumTlsVersion"] == "TLS1_2"
    assert st["allowBlobPublicAccess"] is False
    assert st["allowSharedKeyAccess"] is False
    assert st["allowCrossTenantReplication"] is False
    assert st["defaultToOAuthAuthentication"] is True
    assert st["networkRuleSet"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    assert st["encryption"]["requireInfrastructureEncryption"] is True
    assert st["accountName"] == "stmlopsfraudprod" + st["accountName"][-4:]
    blob = one(minimal, "storage:BlobServiceProperties")
    assert blob["isVersioningEnabled"] is True
    assert blob["deleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert blob["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 30}


def test_key_vault_uses_rbac_soft_delete_purge_protection_and_default_deny(minimal: Records) -> None:
    props = one(minimal, "keyvault:Vault")["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True
    assert props["tenantId"] == TENANT_ID
    assert props["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}


def test_container_registry_has_no_admin_user_or_anonymous_pull_and_is_private(minimal: Records) -> None:
    cr = one(minimal, "containerregistry:Registry")
    assert cr["adminUserEnabled"] is False
    assert cr["anonymousPullEnabled"] is False
    assert cr["sku"] == {"name": "Premium"}
    assert cr["publicNetworkAccess"] == "Disabled"


def test_log_analytics_accepts_entra_authenticated_ingestion_only(minimal: Records) -> None:
    assert one(minimal, "operationalinsights:Workspace")["features"]["disableLocalAuth"] is True


def test_premium_registry_expires_untagged_manifests_and_blocks_export(minimal: Records, complete: Records) -> None:
    assert one(minimal, "containerregistry:Registry")["policies"] == {
        "retentionPolicy": {"status": "enabled", "days": 7}, "exportPolicy": {"status": "disabled"}}
    assert "policies" not in one(complete, "containerregistry:Registry")  # Basic registries have no such policies


def test_application_insights_is_workspace_based_without_local_auth(minimal: Records) -> None:
    appi = one(minimal, "applicationinsights:Component")
    assert appi["disableLocalAuth"] is True
    assert appi["ingestionMode"] == "LogAnalytics"
    [law] = minimal.of_type(f"{AN}:operationalinsights:Workspace")
    assert appi["workspaceResourceId"] == law.id


def test_ml_workspace_is_isolated_and_identity_based(minimal: Records) -> None:
    mlw = one(minimal, "machinelearningservices:Workspace")
    [identity] = [r for r in minimal.of_type(f"{AN}:managedidentity:UserAssignedIdentity") if r.name == "fraud-id"]
    assert mlw["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}
    assert mlw["primaryUserAssignedIdentity"] == identity.id
    assert mlw["v1LegacyMode"] is False
    assert mlw["systemDatastoresAuthMode"] == "Identity"
    assert mlw["publicNetworkAccess"] == "Disabled"
    assert mlw["allowPublicAccessWhenBehindVnet"] is False
    assert mlw["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert "outboundRules" not in mlw["managedNetwork"]
    assert mlw["hbiWorkspace"] is False
    by_type = ids(minimal)
    assert mlw["storageAccount"] == by_type["storage:StorageAccount"]
    assert mlw["keyVault"] == by_type["keyvault:Vault"]
    assert mlw["containerRegistry"] == by_type["containerregistry:Registry"]
    assert mlw["applicationInsights"] == by_type["applicationinsights:Component"]


def test_workspace_waits_for_its_identity_roles_to_apply(minimal: Records) -> None:
    [mlw] = minimal.of_type(f"{AN}:machinelearningservices:Workspace")
    [wait] = [r for r in minimal.of_type("time:index/sleep:Sleep") if r.urn in mlw.dependencies]
    before = {r.urn for r in minimal.of_type(f"{AN}:authorization:RoleAssignment")
              if r.name.startswith("fraud-workspace-") and not r.name.startswith("fraud-workspace-mlw-")}
    assert len(before) == len(WORKSPACE_IDENTITY_ROLES) - 1  # all but the grant on the workspace itself
    assert before <= set(wait.dependencies)
    assert wait.inputs["createDuration"] == "60s"
    # Replacing a grant changes its id, and with it the trigger: the pause runs again before anything relies on it.
    assert wait.inputs["triggers"]["role_assignments"].count(",") == len(before) - 1


def _assignments(records: Records) -> set[tuple[str, str, str, str]]:
    """(principal, target, role, principal type) of every role assignment, checking each scope and principal."""
    by_name = {r.name.removeprefix("fraud-"): r.id for r in records.custom()}
    principals = {"workspace": records.named("fraud-id").outputs["principalId"],
                  "compute": records.named("fraud-id-compute").outputs["principalId"], f"user-{USER}": USER}
    if any(r.name == "fraud-id-instance" for r in records):
        principals["instance"] = records.named("fraud-id-instance").outputs["principalId"]
    found = set()
    for ra in records.of_type(f"{AN}:authorization:RoleAssignment"):
        who = next(p for p in principals if ra.name.startswith(f"fraud-{p}-"))
        rest = ra.name.removeprefix(f"fraud-{who}-")
        target = "-".join(rest.split("-")[:3]) if rest.startswith("pep-") else rest.split("-")[0]
        role = next(name for name, guid in BUILTIN_ROLES.items() if ra.inputs["roleDefinitionId"].endswith(guid))
        found.add((who, target, role, ra.inputs["principalType"]))
        assert ra.inputs["scope"] == by_name[target], "a role is scoped to the one resource it concerns"
        assert ra.inputs["principalId"] == principals[who]
        assert ra.inputs["roleDefinitionId"].startswith(
            f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/")
    return found


#: Microsoft's documented requirements, written out here independently of the component's tables (each row's source
#: is quoted beside the table in components/workspace.py).
DOCUMENTED = {
    ("workspace", "mlw", "Contributor"), ("workspace", "st", "Contributor"),
    ("workspace", "st", "Storage Blob Data Contributor"), ("workspace", "kv", "Contributor"),
    ("workspace", "kv", "Key Vault Administrator"), ("workspace", "cr", "Contributor"),
    ("workspace", "appi", "Contributor"), ("workspace", "rg", "Azure AI Enterprise Network Connection Approver"),
    ("compute", "st", "Storage Blob Data Contributor"), ("compute", "kv", "Key Vault Secrets User"),
    ("compute", "cr", "AcrPull"),
}
INSTANCES = {
    ("instance", "st", "Storage Blob Data Contributor"), ("instance", "st", "Storage File Data Privileged Contributor"),
    ("instance", "kv", "Key Vault Secrets User"), ("instance", "cr", "AcrPull"),
    ("instance", "mlw", "Contributor"),  # idle shutdown works only with it
}


def test_identities_get_exactly_the_documented_roles(minimal: Records) -> None:
    found = _assignments(minimal)
    assert found == {(*row, "ServicePrincipal") for row in DOCUMENTED}
    assert {(who, target, role) for who, target, role, _ in found} == \
        {*(("workspace", t, r) for t, r in WORKSPACE_IDENTITY_ROLES), *(("compute", t, r) for t, r in
                                                                        COMPUTE_IDENTITY_ROLES)}
    # Only the approver role sits on the resource group; clusters' jobs never hold Contributor on the workspace.
    assert {(who, role) for who, target, role, _ in found if target == "rg"} == {
        ("workspace", "Azure AI Enterprise Network Connection Approver")}
    assert not any(who == "compute" and role == "Contributor" for who, _, role, _ in found)


def test_people_instances_endpoints_and_image_builds_get_their_documented_roles(complete: Records) -> None:
    extra = _assignments(complete) - {(*row, "ServicePrincipal") for row in DOCUMENTED}
    assert extra == {
        *((*row, "ServicePrincipal") for row in INSTANCES),
        *((f"user-{USER}", "st", role, "User") for role in USER_STORAGE_ROLES),
        ("workspace", "pep-st-blob", "Reader", "ServicePrincipal"),
        ("workspace", "pep-st-file", "Reader", "ServicePrincipal"),
        ("compute", "cr", "AcrPush", "ServicePrincipal"),  # images are built on a cluster (image_build_compute)
    }
    assert {(t, r) for t, r in INSTANCE_IDENTITY_ROLES} == {(t, r) for _, t, r in INSTANCES}


def test_compute_waits_for_its_grants_to_apply(complete: Records) -> None:
    [wait] = [r for r in complete.of_type("time:index/sleep:Sleep") if r.name == "fraud-compute-rbac-wait"]
    grants = {r.urn for r in complete.of_type(f"{AN}:authorization:RoleAssignment")
              if r.name.startswith(("fraud-compute-", "fraud-instance-", "fraud-workspace-mlw-"))}
    assert grants and grants <= set(wait.dependencies)


def test_private_endpoints_are_linked_to_their_private_dns_zones(complete: Records) -> None:
    endpoints = {r.outputs["name"]: r for r in complete.of_type(f"{AN}:network:PrivateEndpoint")}
    groups = {r.inputs["privateEndpointName"]: r.inputs for r in complete.of_type(f"{AN}:network:PrivateDnsZoneGroup")}
    assert set(groups) == set(endpoints)
    zones = {endpoints[name].inputs["privateLinkServiceConnections"][0]["groupIds"][0]:
             {c["privateDnsZoneId"] for c in group["privateDnsZoneConfigs"]} for name, group in groups.items()}
    assert zones == {
        "amlworkspace": {ZONE_IDS["privatelink.api.azureml.ms"], ZONE_IDS["privatelink.notebooks.azure.net"]},
        "blob": {ZONE_IDS["privatelink.blob.core.windows.net"]},
        "file": {ZONE_IDS["privatelink.file.core.windows.net"]},
    }


def test_no_zone_group_when_the_hub_policies_link_dns(build: Callable[..., Records]) -> None:
    records = build(lambda: Workspace("fraud", dataclasses.replace(complete_args(), private_dns_zone_ids={})))
    assert records.of_type(f"{AN}:network:PrivateEndpoint") and not records.of_type(f"{AN}:network:PrivateDnsZoneGroup")


def test_diagnostics_go_to_log_analytics_from_every_supporting_resource(minimal: Records) -> None:
    by_type = ids(minimal)
    law = by_type["operationalinsights:Workspace"]
    diags = {r.inputs["resourceUri"]: r.inputs for r in minimal.of_type(f"{AN}:monitor:DiagnosticSetting")}
    st = by_type["storage:StorageAccount"]
    appi = by_type["applicationinsights:Component"]
    services = {f"{st}/{service}/default" for service in ("blobServices", "fileServices", "queueServices",
                                                          "tableServices")}
    assert set(diags) == {st, *services, by_type["keyvault:Vault"], appi,
                          by_type["containerregistry:Registry"], by_type["machinelearningservices:Workspace"], law}
    assert all(d["workspaceId"] == law for d in diags.values())
    all_logs = [{"categoryGroup": "allLogs", "enabled": True}]
    for target in ("keyvault:Vault", "containerregistry:Registry", "machinelearningservices:Workspace"):
        assert diags[by_type[target]]["logs"] == all_logs, target
        assert diags[by_type[target]]["metrics"] == [{"category": "AllMetrics", "enabled": True}], target
    assert "logs" not in diags[st]  # the account itself only has metrics; logs come from its blob service
    assert diags[st]["metrics"] == [{"category": "Transaction", "enabled": True}]
    assert all(diags[service]["logs"] == all_logs for service in services)
    # Workspace-based App Insights already stores its telemetry in Log Analytics: metrics only, no second copy.
    assert "logs" not in diags[appi]
    assert diags[appi]["metrics"] == [{"category": "AllMetrics", "enabled": True}]


STATEFUL = ("storage:StorageAccount", "keyvault:Vault", "containerregistry:Registry",
            "machinelearningservices:Workspace", "operationalinsights:Workspace")


def test_locks_and_protection_on_stateful_resources(minimal: Records) -> None:
    stateful = {r.id for r in minimal.custom() if r.type.removeprefix(f"{AN}:") in STATEFUL}
    [mlw] = minimal.of_type(f"{AN}:machinelearningservices:Workspace")
    locks = minimal.of_type(f"{AN}:authorization:ManagementLockByScope")
    # The ML workspace is protected but not locked: its lock would be inherited by its computes and block the
    # delete-and-recreate that patches compute instances.
    assert {lk.inputs["scope"] for lk in locks} == stateful - {mlw.id}
    assert all(lk.inputs["level"] == "CanNotDelete" for lk in locks)
    # A CanNotDelete lock keeps the role assignments and diagnostic settings at its scope from being deleted: each
    # lock comes after them, so switching locks off or tearing down removes the lock first.
    for lk in locks:
        scope = lk.inputs["scope"]
        at_scope = {r.urn for r in minimal.of_type(f"{AN}:authorization:RoleAssignment") if r.inputs["scope"] == scope}
        at_scope |= {r.urn for r in minimal.of_type(f"{AN}:monitor:DiagnosticSetting")
                     if r.inputs["resourceUri"] in (scope, f"{scope}/blobServices/default")}
        assert at_scope and at_scope <= set(lk.dependencies), lk.name
    for record in minimal.custom():
        if record.id in stateful or record.type == f"{AN}:resources:ResourceGroup":
            assert record.protect and record.retain_on_delete, record.name


def test_every_child_is_parented_to_the_component(minimal: Records, complete: Records) -> None:
    for records in (minimal, complete):
        [component] = records.of_type("mlops:ml:Workspace")
        children = [r for r in records if r.urn != component.urn]
        assert children and all(r.parent == component.urn for r in children)


def test_every_taggable_child_carries_the_tags(minimal: Records, complete: Records,
                                               taggable: Callable[[str], bool]) -> None:
    for records in (minimal, complete):
        for record in records.custom():
            if taggable(record.type):
                assert record.inputs.get("tags") == TAGS, record.name


def test_complete_case_uses_the_given_log_analytics_and_relaxed_settings(complete: Records) -> None:
    assert not complete.of_type(f"{AN}:operationalinsights:Workspace")
    assert not complete.of_type(f"{AN}:authorization:ManagementLockByScope")
    assert not any(r.protect or r.retain_on_delete for r in complete)
    assert one(complete, "applicationinsights:Component")["workspaceResourceId"] == LAW_ID
    assert {d.inputs["workspaceId"] for d in complete.of_type(f"{AN}:monitor:DiagnosticSetting")} == {LAW_ID}
    mlw = one(complete, "machinelearningservices:Workspace")
    assert mlw["publicNetworkAccess"] == "Enabled"
    assert mlw["managedNetwork"]["isolationMode"] == "AllowInternetOutbound"
    assert mlw["managedNetwork"]["outboundRules"] == {
            "pypi": {"type": "FQDN", "category": "UserDefined", "destination": "pypi.org"},
            "monitor": {"type": "ServiceTag", "category": "UserDefined", "destination": {
                "serviceTag": "AzureMonitor", "protocol": "TCP", "portRanges": "443", "action": "Allow"}},
    }
    cr = one(complete, "containerregistry:Registry")
    assert (cr["sku"], cr["publicNetworkAccess"], cr["adminUserEnabled"]) == ({"name": "Basic"}, "Enabled", False)
    assert one(complete, "storage:StorageAccount")["networkRuleSet"]["defaultAction"] == "Allow"
    assert one(complete, "keyvault:Vault")["properties"]["enablePurgeProtection"] is True  # never relaxed
    by_type = ids(complete)
    endpoints = {(p.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"],
                  *p.inputs["privateLinkServiceConnections"][0]["groupIds"])
                 for p in complete.of_type(f"{AN}:network:PrivateEndpoint")}
    st = by_type["storage:StorageAccount"]
    assert endpoints == {(by_type["machinelearningservices:Workspace"], "amlworkspace"), (st, "blob"), (st, "file")}
    assert {p.inputs["subnet"]["id"] for p in complete.of_type(f"{AN}:network:PrivateEndpoint")} == {SUBNET_ID}
    assert mlw["imageBuildCompute"] == "cpu"
    assert mlw["provisionNetworkNow"] is True


def test_minimal_case_creates_no_private_endpoint(minimal: Records) -> None:
    assert not minimal.of_type(f"{AN}:network:PrivateEndpoint")


@pulumi.runtime.test
def test_outputs_are_registered(pulumi_mocks: Any) -> pulumi.Output[None]:
    ws = Workspace("fraud", complete_args())

    def check(values: list[Any]) -> None:
        name, rg, ws_id, principal, law = values
        assert name == "mlw-mlops-fraud-dev-weu"
        assert rg == "rg-mlops-fraud-dev-weu"
        assert ws_id.endswith("/providers/Microsoft.MachineLearningServices/workspaces/mlw-mlops-fraud-dev-weu")
        assert len(principal) == 36
        assert law == LAW_ID

    return pulumi.Output.all(ws.workspace_name, ws.resource_group_name, ws.workspace_id, ws.workspace_principal_id,
                             ws.log_analytics_workspace_id).apply(check)
