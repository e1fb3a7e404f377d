"""``ComputeCluster`` and ``ComputeInstance``: secure inputs, scale-to-zero, idle shutdown and patch-by-recreation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
from conftest import SUBSCRIPTION_ID, TENANT_ID, Records

from components.compute_cluster import RECREATE_ON as CLUSTER_RECREATE_ON
from components.compute_cluster import ComputeCluster, ComputeClusterArgs
from components.compute_instance import PATCH_DATE_TAG, ComputeInstance, ComputeInstanceArgs
from components.config import ScheduleConfig

COMPUTE = "azure-native:machinelearningservices:Compute"
IDENTITY = (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-x/providers/Microsoft.ManagedIdentity/"
            "userAssignedIdentities/id-x-compute")
USER = "11111111-2222-3333-4444-555555555555"
TAGS = {"owner": "o", "team": "fraud"}


def cluster_args(**overrides: Any) -> ComputeClusterArgs:
    values: dict[str, Any] = {"resource_group_name": "rg-x", "workspace_name": "mlw-x", "location": "westeurope",
                              "vm_size": "Standard_DS3_v2", "tags": TAGS}
    return ComputeClusterArgs(**{**values, **overrides})


def instance_args(**overrides: Any) -> ComputeInstanceArgs:
    values: dict[str, Any] = {"resource_group_name": "rg-x", "workspace_name": "mlw-x", "location": "westeurope",
                              "compute_name": "ci-alice-1a2b3", "user_object_id": USER, "tenant_id": TENANT_ID,
                              "vm_size": "Standard_DS3_v2", "patch_date": dt.date(2026, 11, 2), "tags": TAGS}
    return ComputeInstanceArgs(**{**values, **overrides})


def compute(records: Records) -> Any:
    [record] = records.of_type(COMPUTE)
    return record


def test_cluster_defaults_scale_to_zero_with_no_public_exposure(build: Callable[..., Records]) -> None:
    record = compute(build(lambda: ComputeCluster("cpu", cluster_args())))
    props = record.inputs["properties"]
    assert props["computeType"] == "AmlCompute"
    assert props["disableLocalAuth"] is True
    inner = props["properties"]
    # The API defaults enableNodePublicIp to true, so it must be sent explicitly.
    assert inner["enableNodePublicIp"] is False
    assert inner["remoteLoginPortPublicAccess"] == "Disabled"
    assert inner["scaleSettings"] == {"minNodeCount": 0, "maxNodeCount": 2, "nodeIdleTimeBeforeScaleDown": "PT2M"}
    assert inner["vmPriority"] == "Dedicated"
    assert record.inputs["computeName"] == "cpu"
    assert record.inputs["identity"] == {"type": "SystemAssigned"}
    assert record.inputs["tags"] == TAGS


def test_cluster_is_replaced_when_a_setting_azure_cannot_update_changes(build: Callable[..., Records]) -> None:
    record = compute(build(lambda: ComputeCluster("cpu", cluster_args())))
    # Azure updates an existing AmlCompute only in its scale settings: everything else must recreate it, and the
    # reused compute name means the old one goes first.
    assert record.replace_on_changes == list(CLUSTER_RECREATE_ON)
    assert {"properties.properties.vmSize", "properties.properties.vmPriority", "identity",
            "properties.properties.enableNodePublicIp"} <= set(record.replace_on_changes)
    assert not any("scaleSettings" in path for path in record.replace_on_changes)
    assert record.delete_before_replace
    for path in record.replace_on_changes:  # every path names an input that is really sent
        node: Any = record.inputs
        for key in path.split("."):
            assert key in node, path
            node = node[key]


def test_cluster_complete_case(build: Callable[..., Records]) -> None:
    args = cluster_args(compute_name="gpu", vm_priority="LowPriority", min_nodes=1, max_nodes=6,
                        idle_scale_down="PT10M", identity_id=IDENTITY, vm_size="Standard_NC4as_T4_v3")
    records = build(lambda: ComputeCluster("fraud-gpu", args))
    record = compute(records)
    inner = record.inputs["properties"]["properties"]
    assert inner["scaleSettings"] == {"minNodeCount": 1, "maxNodeCount": 6, "nodeIdleTimeBeforeScaleDown": "PT10M"}
    assert (inner["vmPriority"], inner["vmSize"]) == ("LowPriority", "Standard_NC4as_T4_v3")
    assert record.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [IDENTITY]}
    assert record.inputs["computeName"] == "gpu"
    [component] = records.of_type("mlops:ml:ComputeCluster")
    assert record.parent == component.urn


def test_cluster_alert_watches_unusable_nodes(build: Callable[..., Records]) -> None:
    workspace = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-x/providers/Microsoft.MachineLearningServices/" \
                "workspaces/mlw-x"
    group = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-x/providers/Microsoft.Insights/actionGroups/ag-x"
    records = build(lambda: ComputeCluster("fraud-cpu", cluster_args(compute_name="cpu", workspace_id=workspace,
                                                                     action_group_id=group)))
    [alert] = records.of_type("azure-native:monitor:MetricAlert")
    [compute_record] = records.of_type(COMPUTE)
    assert alert.inputs["scopes"] == [workspace]
    assert alert.inputs["actions"] == [{"actionGroupId": group}]
    [criterion] = alert.inputs["criteria"]["allOf"]
    assert (criterion["metricName"], criterion["operator"], criterion["threshold"]) == ("Unusable Nodes",
                                                                                        "GreaterThan", 0)
    assert criterion["dimensions"] == [{"name": "ClusterName", "operator": "Include", "values": ["cpu"]}]
    assert compute_record.urn in alert.property_dependencies["criteria"]  # the alert follows the cluster
    assert alert.inputs["tags"] == TAGS and alert.parent == compute_record.parent
    without = build(lambda: ComputeCluster("cpu", cluster_args()))
    assert not without.of_type("azure-native:monitor:MetricAlert")


@pytest.mark.parametrize(("low", "high"), [(3, 2), (0, 0), (-1, 2)])
def test_cluster_refuses_impossible_node_counts(build: Callable[..., Records], low: int, high: int) -> None:
    with pytest.raises(ValueError, match=f"min_nodes={low} max_nodes={high}"):
        build(lambda: ComputeCluster("cpu", cluster_args(min_nodes=low, max_nodes=high)))


def test_instance_is_personal_private_and_shuts_down_when_idle(build: Callable[..., Records]) -> None:
    record = compute(build(lambda: ComputeInstance("fraud-alice", instance_args())))
    props = record.inputs["properties"]
    assert props["computeType"] == "ComputeInstance"
    assert props["disableLocalAuth"] is True
    inner = props["properties"]
    assert inner["sshSettings"] == {"sshPublicAccess": "Disabled"}
    assert inner["enableNodePublicIp"] is False
    assert inner["idleTimeBeforeShutdown"] == "PT60M"
    assert inner["computeInstanceAuthorizationType"] == "personal"
    assert inner["personalComputeInstanceSettings"] == {"assignedUser": {"objectId": USER, "tenantId": TENANT_ID}}
    assert "schedules" not in inner
    assert record.inputs["computeName"] == "ci-alice-1a2b3"


def test_instance_schedules(build: Callable[..., Records]) -> None:
    schedule = ScheduleConfig(start="0 8 * * 1-5", stop="0 19 * * 1-5", time_zone="W. Europe Standard Time")
    record = compute(build(lambda: ComputeInstance("fraud-alice", instance_args(schedule=schedule,
                                                                                idle_shutdown="PT30M"))))
    inner = record.inputs["properties"]["properties"]
    assert inner["idleTimeBeforeShutdown"] == "PT30M"
    entries = inner["schedules"]["computeStartStop"]
    assert [(e["action"], e["cron"]["expression"], e["cron"]["timeZone"], e["triggerType"], e["status"])
            for e in entries] == [
        ("Start", "0 8 * * 1-5", "W. Europe Standard Time", "Cron", "Enabled"),
        ("Stop", "0 19 * * 1-5", "W. Europe Standard Time", "Cron", "Enabled"),
    ]


def test_patch_date_forces_recreation(build: Callable[..., Records]) -> None:
    before = compute(build(lambda: ComputeInstance("fraud-alice", instance_args())))
    after = compute(build(lambda: ComputeInstance("fraud-alice", instance_args(patch_date=dt.date(2026, 11, 20)))))
    # The engine replaces a resource when an input listed in replaceOnChanges changes; the patch date is in the
    # description, inside "properties".
    assert before.replace_on_changes == after.replace_on_changes == ["properties", "identity", "tags"]
    assert before.delete_before_replace and after.delete_before_replace  # the compute name is reused
    assert before.inputs["properties"] != after.inputs["properties"]
    assert before.inputs["properties"]["description"] == "Personal compute instance; OS image of 2026-11-02"
    assert after.inputs["properties"]["description"] == "Personal compute instance; OS image of 2026-11-20"
    assert before.inputs["tags"][PATCH_DATE_TAG] == "2026-11-02"
    assert after.inputs["tags"][PATCH_DATE_TAG] == "2026-11-20"
    assert after.inputs["tags"]["owner"] == "o"
    # Same date, same inputs: no recreation on an unrelated run.
    again = compute(build(lambda: ComputeInstance("fraud-alice", instance_args())))
    assert again.inputs == before.inputs


def test_a_tag_change_recreates_an_instance(build: Callable[..., Records]) -> None:
    """Azure has no tag-only update for a compute instance (Compute_Update carries only cluster scale settings), and
    azure-native's full PUT re-sends schedules, which is reported to fail: a tag change replaces the instance."""
    schedule = ScheduleConfig(stop="0 19 * * 1-5")
    before = compute(build(lambda: ComputeInstance("fraud-alice", instance_args(schedule=schedule))))
    after = compute(build(lambda: ComputeInstance("fraud-alice", instance_args(
        schedule=schedule, tags={**TAGS, "cost-center": "CC-1"}))))
    changed = {key for key in before.inputs if before.inputs[key] != after.inputs[key]}
    assert changed == {"tags"}
    assert "tags" in after.replace_on_changes and after.delete_before_replace


def test_the_user_gets_the_instance_user_role_on_the_instance_only(build: Callable[..., Records]) -> None:
    role = f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/role-guid"
    records = build(lambda: ComputeInstance("fraud-alice", instance_args(subscription_id=SUBSCRIPTION_ID,
                                                                         user_role_definition_id=role)))
    [assignment] = records.of_type("azure-native:authorization:RoleAssignment")
    assert assignment.inputs["roleDefinitionId"] == role
    assert assignment.inputs["principalId"] == USER and assignment.inputs["principalType"] == "User"
    assert assignment.inputs["scope"] == compute(records).id
    # Without a role (a fork that manages people's access elsewhere), no assignment.
    assert not build(lambda: ComputeInstance("fraud-alice", instance_args())).of_type(
        "azure-native:authorization:RoleAssignment")


@pulumi.runtime.test
def test_instance_outputs(pulumi_mocks: Any) -> pulumi.Output[None]:
    ci = ComputeInstance("fraud-alice", instance_args())

    def check(values: list[Any]) -> None:
        name, compute_id, patch = values
        assert name == "ci-alice-1a2b3"
        assert compute_id.endswith("/workspaces/mlw-x/computes/ci-alice-1a2b3")
        assert patch == "2026-11-02"

    return pulumi.Output.all(ci.compute_name, ci.compute_id, ci.patch_date).apply(check)
