"""What the packs and the gate derive from the azure-native SDK: taggable types, output shapes, canonical tokens."""

from __future__ import annotations

import pytest

from policies import sdk_shapes
from policies.harness import UNKNOWN
from policies.lib.taggable import SDK_VERSION, TAGGABLE
from policies.lib.types import canonical


def test_the_taggable_list_matches_the_installed_sdk() -> None:
    assert sdk_shapes.main(["--check"]) == 0, "run: python -m policies.sdk_shapes"
    assert sdk_shapes.installed_version() == SDK_VERSION


@pytest.mark.parametrize(("token", "taggable"), [
    ("azure-native:storage:StorageAccount", True),
    ("azure-native:machinelearningservices:Workspace", True),
    ("azure-native:machinelearningservices:Compute", True),
    ("azure-native:machinelearningservices:OnlineEndpoint", True),
    ("azure-native:machinelearningservices:Registry", True),
    ("azure-native:monitor:ActionGroup", True),
    ("azure-native:machinelearningservices:Datastore", False),
    ("azure-native:machinelearningservices:WorkspaceConnection", False),
    ("azure-native:machinelearningservices:ModelVersion", False),
    ("azure-native:machinelearningservices:EnvironmentVersion", False),
    ("azure-native:authorization:RoleDefinition", False),
    ("azure-native:authorization:RoleAssignment", False),
    ("azure-native:monitor:DiagnosticSetting", False),
    ("azure-native:storage:BlobServiceProperties", False),
])
def test_taggable_types_come_from_the_sdk_inputs(token: str, taggable: bool) -> None:
    shape = sdk_shapes.shape_of(token)
    assert shape is not None and shape.taggable is taggable
    assert (token in TAGGABLE) is taggable


def test_path_parameters_are_inputs_but_never_outputs() -> None:
    diagnostic = sdk_shapes.shape_of("azure-native:monitor:DiagnosticSetting")
    lock = sdk_shapes.shape_of("azure-native:authorization:ManagementLockByScope")
    compute = sdk_shapes.shape_of("azure-native:machinelearningservices:Compute")
    assert diagnostic is not None and lock is not None and compute is not None
    assert "resourceUri" in diagnostic.inputs - diagnostic.outputs
    assert "scope" in lock.inputs - lock.outputs
    assert {"computeName", "workspaceName", "resourceGroupName"} <= compute.inputs - compute.outputs
    assert "workspaceId" in diagnostic.outputs


def test_stack_view_on_a_preview_and_after_up() -> None:
    inputs = {"resourceUri": "/x", "workspaceId": "/law", "logs": []}
    preview = sdk_shapes.stack_view("azure-native:monitor:DiagnosticSetting", inputs, None, UNKNOWN)
    assert "resourceUri" not in preview
    assert preview["workspaceId"] == "/law" and preview["logs"] == []
    assert preview["id"] == UNKNOWN and preview["name"] == UNKNOWN
    deployed = sdk_shapes.stack_view("azure-native:monitor:DiagnosticSetting", inputs,
                                     {"id": "/x/providers/d", "name": "d", "resourceUri": "/x"}, UNKNOWN)
    assert deployed["id"] == "/x/providers/d" and deployed["name"] == "d" and "resourceUri" not in deployed
    assert sdk_shapes.stack_view("azuredevops:index/git:Git", {"name": "r"}, {"id": "1"}, UNKNOWN) == {
        "name": "r", "id": "1"}


@pytest.mark.parametrize(("token", "expected"), [
    ("azure-native:storage:StorageAccount", "azure-native:storage:StorageAccount"),
    ("azure-native:storage/v20230101:StorageAccount", "azure-native:storage:StorageAccount"),
    ("azure-native:machinelearningservices/v20240401preview:Workspace",
     "azure-native:machinelearningservices:Workspace"),
    ("azure-native_storage_v20220901:storage/v20220901:StorageAccount", "azure-native:storage:StorageAccount"),
    ("azuredevops:index/project:Project", "azuredevops:index/project:Project"),
    ("azure:storage/account:Account", "azure:storage/account:Account"),
])
def test_canonical_tokens(token: str, expected: str) -> None:
    assert canonical(token) == expected
