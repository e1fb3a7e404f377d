"""The whole program (``__main__.py``) for the dev and prod stacks: resource types and counts, dev/prod differences,
tags, parenting, role scopes, and a bad configuration stopped before anything is registered."""

from __future__ import annotations

import dataclasses
import functools
import json
import runpy
from collections.abc import Callable, Mapping

import pulumi
import pytest
from conftest import PROJECT, ROOT, Records

from preflight.mocks import PlatformMocks, RecordingMonitor
from preflight.program import evaluate, run_with_mocks
from preflight.stack_config import load_stack_config

AN = "azure-native"


@functools.cache
def run_stack(stack: str) -> Records:
    return Records(evaluate(ROOT, load_stack_config(ROOT, stack)))


def serving(endpoints: int, deployments: int, public: int) -> dict[str, int]:
    """What ``endpoints`` online endpoints with ``deployments`` deployments in all (``public`` of the endpoints
    reachable from the internet) add, in one team, each endpoint with one code folder."""
    return {
        "mlops:serving:OnlineEndpoint": endpoints,
        "mlops:serving:Autoscale": deployments,
        "mlops:apm:ServiceMonitoring": 1,
        f"{AN}:machinelearningservices:OnlineEndpoint": endpoints,
        f"{AN}:machinelearningservices:OnlineDeployment": deployments,
        f"{AN}:machinelearningservices:CodeVersion": deployments,
        f"{AN}:machinelearningservices:EnvironmentVersion": deployments,
        f"{AN}:storage:BlobContainer": endpoints,  # the endpoint's code container
        "pulumi-python:dynamic/mlops:CodeUpload": endpoints,
        "pulumi-python:dynamic/mlops:InitialTraffic": endpoints,
        f"{AN}:managedidentity:UserAssignedIdentity": endpoints,
        # the endpoint identity's Storage Blob Data Reader and AcrPull, the deployer's role on the code container
        f"{AN}:authorization:RoleAssignment": 3 * endpoints,
        "time:index/sleep:Sleep": endpoints,
        f"{AN}:monitor:AutoscaleSetting": deployments,
        f"{AN}:monitor:DiagnosticSetting": endpoints + deployments,  # each endpoint's logs, each autoscale's
        # per endpoint p95 latency and 429s, per deployment cpu, memory, disk and capacity at max; availability
        f"{AN}:monitor:MetricAlert": 2 * endpoints + 4 * deployments + public,
        f"{AN}:monitor:ScheduledQueryRule": 3 * endpoints,  # error rate, fast burn, slow burn
        f"{AN}:applicationinsights:WebTest": public,
        f"{AN}:monitor:ActionGroup": 1,
        f"{AN}:monitor:ActivityLogAlert": 1,
        f"{AN}:applicationinsights:Workbook": 1,
    }


def load_testing(endpoints: int) -> dict[str, int]:
    """Azure Load Testing, once per stack whose endpoints declare their load: the resource, the engines' identity,
    the scorer role (and the pause for it to replicate) and the engines' role on each endpoint."""
    return {"mlops:loadtest:LoadTesting": 1, f"{AN}:loadtestservice:LoadTest": 1,
            f"{AN}:managedidentity:UserAssignedIdentity": 1, f"{AN}:authorization:RoleDefinition": 1,
            "time:index/sleep:Sleep": 1, f"{AN}:authorization:RoleAssignment": endpoints}


def combined(*parts: dict[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for key, count in part.items():
            total[key] = total.get(key, 0) + count
    return total


def per_team(teams: int, clusters: int, instances: int, prod: bool, with_instances: int = 1,
             endpoints: Mapping[str, int] | None = None) -> dict[str, int]:
    """What the platform creates: shared pieces once, a workspace's resources per team, compute per entry (each
    instance's user distinct, every team with a cluster in prod building images on it), and ``endpoints``
    (:func:`serving`)."""
    # Per team: 8 documented roles for the workspace identity, 3 for the clusters' (+ AcrPush where it builds images,
    # in prod) and Reader on the two storage private endpoints (prod); per team with instances, 5 for the instances'
    # identity; per instance: its user's role on it and two storage data roles.
    role_assignments = 11 * teams + 5 * with_instances + 3 * instances + (3 * teams if prod else 0)
    counts = {
        "mlops:platform:Platform": 1,
        "mlops:ml:Workspace": teams,
        "mlops:ml:ComputeCluster": clusters,
        "mlops:ml:ComputeInstance": instances,
        f"{AN}:resources:ResourceGroup": 1 + teams,
        f"{AN}:operationalinsights:Workspace": 1,
        f"{AN}:monitor:DiagnosticSetting": 1 + 9 * teams,  # LA; storage + 4 services, vault, registry, appi, workspace
        f"{AN}:applicationinsights:Component": teams,
        f"{AN}:storage:StorageAccount": teams,
        f"{AN}:storage:BlobServiceProperties": teams,
        f"{AN}:keyvault:Vault": teams,
        f"{AN}:containerregistry:Registry": teams,
        f"{AN}:managedidentity:UserAssignedIdentity": 2 * teams + with_instances,
        f"{AN}:authorization:RoleAssignment": role_assignments,
        f"{AN}:authorization:RoleDefinition": 1,  # the compute instance user role, once per stack
        # after the workspace identity's grants and the compute grants; after the custom role
        "time:index/sleep:Sleep": 2 * teams + 1,
        f"{AN}:machinelearningservices:Workspace": teams,
        f"{AN}:machinelearningservices:Compute": clusters + instances,
        f"{AN}:monitor:ActionGroup": 1,
        f"{AN}:monitor:MetricAlert": clusters,  # one per cluster, on the workspace's ClusterName dimension
    }
    if prod:
        counts[f"{AN}:authorization:ManagementLockByScope"] = 1 + 3 * teams  # LA; storage, vault, registry
        counts[f"{AN}:network:PrivateEndpoint"] = 3 * teams  # workspace, storage blob, storage file
        counts[f"{AN}:network:PrivateDnsZoneGroup"] = 3 * teams  # one per endpoint, from the zone ids
    for key, count in (endpoints or {}).items():
        if count:
            counts[key] = counts.get(key, 0) + count
    return counts


def test_dev_resource_types_and_counts() -> None:
    counts = run_stack("dev").counts()
    # fraud-detection serves one endpoint with one deployment, public in dev
    assert counts == per_team(teams=2, clusters=2, instances=1, prod=False,
                              endpoints=combined(serving(endpoints=1, deployments=1, public=1), load_testing(1)))
    assert sum(n for t, n in counts.items() if t.startswith(AN)) == 107


def test_prod_resource_types_and_counts() -> None:
    counts = run_stack("prod").counts()
    # fraud-detection serves one private endpoint with blue and green
    assert counts == per_team(teams=2, clusters=3, instances=2, prod=True,
                              endpoints=combined(serving(endpoints=1, deployments=2, public=0), load_testing(1)))
    assert sum(n for t, n in counts.items() if t.startswith(AN)) == 145


def _workspaces(records: Records) -> list[dict[str, object]]:
    return [r.inputs for r in records.of_type(f"{AN}:machinelearningservices:Workspace")]


def test_dev_and_prod_differ_where_they_should() -> None:
    dev, prod = run_stack("dev"), run_stack("prod")
    for ws in _workspaces(dev):
        assert ws["publicNetworkAccess"] == "Enabled"
        assert ws["managedNetwork"]["isolationMode"] == "AllowInternetOutbound"  # type: ignore[index]
        assert ws["hbiWorkspace"] is False
    for ws in _workspaces(prod):
        assert ws["publicNetworkAccess"] == "Disabled"
        assert ws["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"  # type: ignore[index]
        assert set(ws["managedNetwork"]["outboundRules"]) == {  # type: ignore[index]
            "pypi", "pypi-files", "conda", "conda-hosts", "conda-repodata", "azure-monitor"}
        assert ws["hbiWorkspace"] is True
    assert {r.inputs["sku"]["name"] for r in dev.of_type(f"{AN}:containerregistry:Registry")} == {"Basic"}
    assert {r.inputs["sku"]["name"] for r in prod.of_type(f"{AN}:containerregistry:Registry")} == {"Premium"}
    assert {r.inputs["properties"]["networkAcls"]["defaultAction"] for r in dev.of_type(f"{AN}:keyvault:Vault")} \
        == {"Allow"}
    assert {r.inputs["properties"]["networkAcls"]["defaultAction"] for r in prod.of_type(f"{AN}:keyvault:Vault")} \
        == {"Deny"}
    assert not any(r.protect for r in dev)
    protected = {r.type for r in prod if r.protect}
    assert protected == {f"{AN}:{t}" for t in ("resources:ResourceGroup", "operationalinsights:Workspace",
                                                "storage:StorageAccount", "keyvault:Vault",
                                                "containerregistry:Registry", "machinelearningservices:Workspace")}
    assert all(r.retain_on_delete for r in prod if r.protect)
    assert {r.inputs["retentionInDays"] for r in dev.of_type(f"{AN}:operationalinsights:Workspace")} == {30}
    assert {r.inputs["retentionInDays"] for r in prod.of_type(f"{AN}:operationalinsights:Workspace")} == {90}


def test_every_taggable_resource_is_tagged(stack: str, taggable: Callable[[str], bool]) -> None:
    records = run_stack(stack)
    environment = stack
    tagged = 0
    for record in records.custom():
        if not taggable(record.type):
            continue
        tags = record.inputs.get("tags") or {}
        for key in ("owner", "cost-center", "data-classification"):
            assert tags.get(key), f"{record.name} lacks tag {key}"
        assert tags["environment"] == environment and tags["managed-by"] == "pulumi", record.name
        assert tags["team"] in ("shared", "fraud-detection", "churn"), record.name
        tagged += 1
    assert tagged >= 20


def test_team_tag_matches_the_owning_team(stack: str) -> None:
    records = run_stack(stack)
    by_urn = records.by_urn()
    for record in records.custom():
        tags = record.inputs.get("tags")
        if not tags:
            continue
        owner = by_urn[record.parent]
        if owner.type == "mlops:ml:Workspace":
            assert tags["team"] == owner.name
        elif owner.type in ("mlops:ml:ComputeCluster", "mlops:ml:ComputeInstance"):
            assert owner.name.startswith(tags["team"] + "-")


def test_every_azure_resource_is_parented_to_a_component(stack: str) -> None:
    records = run_stack(stack)
    by_urn = records.by_urn()
    [platform] = records.of_type("mlops:platform:Platform")
    for record in records:
        if record is platform:
            continue
        parent = by_urn[record.parent]
        assert not parent.custom, f"{record.name} is parented to an Azure resource"
        if not record.custom:
            assert parent is platform, f"component {record.name} is not under the platform"


#: The one documented grant above a single resource: approving the managed network's private endpoints to the
#: workspace, which does not exist yet when the role is needed (how-to-managed-network).
APPROVER = "b556d68e-0be0-4f35-a333-ad7ee1ce17ea"


def test_role_assignments_are_never_broader_than_a_resource(stack: str) -> None:
    records = run_stack(stack)
    groups = {r.id for r in records.of_type(f"{AN}:resources:ResourceGroup")}
    targets = {r.id for r in records.custom()}
    at_group = []
    for ra in records.of_type(f"{AN}:authorization:RoleAssignment"):
        scope = ra.inputs["scope"]
        assert scope in targets, ra.name
        assert scope.count("/") > 2, f"{ra.name} is scoped to a subscription"
        if scope in groups:
            assert ra.inputs["roleDefinitionId"].endswith(APPROVER), ra.name
            at_group.append(ra)
    assert len(at_group) == len(records.of_type(f"{AN}:machinelearningservices:Workspace"))


def test_compute_instances_carry_their_patch_date(stack: str) -> None:
    for ci in [r for r in run_stack(stack).of_type(f"{AN}:machinelearningservices:Compute")
               if r.inputs["properties"]["computeType"] == "ComputeInstance"]:
        assert ci.inputs["tags"]["mlops-patch-date"] == "2026-11-02"
        assert ci.replace_on_changes == ["properties", "identity", "tags"] and ci.delete_before_replace
        assert ci.inputs["properties"]["description"].endswith("OS image of 2026-11-02")


def test_role_assignment_names_are_unique_across_stacks() -> None:
    # Azure requires role assignment names (GUIDs) to be unique in the whole tenant, and dev and prod usually share one.
    names = [ra.inputs["roleAssignmentName"] for stack in ("dev", "prod")
             for ra in run_stack(stack).of_type(f"{AN}:authorization:RoleAssignment")]
    assert len(names) == 34 + 43 and len(set(names)) == len(names)


def test_every_compute_waits_for_its_teams_grants(stack: str) -> None:
    records = run_stack(stack)
    waits = {r.name.removesuffix("-compute-rbac-wait"): r.urn for r in records.of_type("time:index/sleep:Sleep")
             if r.name.endswith("-compute-rbac-wait")}
    [role_wait] = [r.urn for r in records.of_type("time:index/sleep:Sleep") if "instance-user-role" in r.name]
    for compute in records.of_type(f"{AN}:machinelearningservices:Compute"):
        team = compute.inputs["tags"]["team"]
        assert waits[team] in compute.dependencies, compute.name
        if compute.inputs["properties"]["computeType"] == "ComputeInstance":
            assert role_wait in compute.dependencies, compute.name
            assert compute.inputs["identity"]["userAssignedIdentities"][0].endswith("-instance-" + (
                "dev-weu" if stack == "dev" else "prod-weu"))


def test_prod_builds_images_on_a_cluster_and_provisions_the_network_with_the_workspace() -> None:
    for stack, build_compute in (("dev", None), ("prod", "cpu")):
        for ws in _workspaces(run_stack(stack)):
            assert ws.get("imageBuildCompute") == build_compute
            assert ws["provisionNetworkNow"] is True


def test_a_bad_config_stops_the_program_before_any_resource() -> None:
    config = load_stack_config(ROOT, "prod")
    teams = json.loads(config.values[f"{PROJECT}:teams"])
    teams[0]["clusters"][0]["max_nodes"] = 0
    broken = dataclasses.replace(config, values={**config.values, f"{PROJECT}:teams": json.dumps(teams)})
    monitor = RecordingMonitor(PlatformMocks())
    with pytest.raises(pulumi.RunError) as caught:
        run_with_mocks(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"), project=PROJECT,
                       stack="prod", config=broken.values, monitor=monitor)
    assert "mlops-platform:teams[0].clusters[0].max_nodes: 0 is not allowed; use a whole number at least 1" \
        in str(caught.value)
    assert not [r for r in monitor.records if r.custom]
