"""``OnlineEndpoint`` (components/serving.py) as the whole program builds it for the dev and prod stacks: the endpoint's
identity and its roles, the deployer's role, the pause for role propagation, the endpoint and its deployments, the
content-addressed code and environment versions, the code upload and the initial traffic split; then the component on
its own in a complete case (registry model, probes, mirror, a changed code folder), and the helpers ``asset_version``,
``model_id`` and ``content_hash``.

The expected values come from the stack files as written (``Pulumi.<stack>.yaml``, read raw), from Microsoft's
built-in role GUIDs and from the service's documented defaults, never from the component's own constants.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
from conftest import PROJECT, ROOT, SUBSCRIPTION_ID, Records, stack_values
from serving_stacks import TEAM, configured
from test_program import run_stack

from components.code_upload import content_hash
from components.serving import OnlineEndpoint, OnlineEndpointArgs, asset_version, model_id
from components.serving_config import (
    CodeConfig,
    DeploymentConfig,
    EndpointConfig,
    EnvironmentConfig,
    InstancesConfig,
    ModelRef,
    ProbeConfig,
    RequestConfig,
    SloConfig,
)
from preflight.mocks import CLIENT_OBJECT_ID, ResourceRecord
from preflight.program import run_with_mocks

AN = "azure-native"
ML = f"{AN}:machinelearningservices"
COMPONENT = f"{TEAM}-score"
#: Built-in role GUIDs as Microsoft publishes them (role-based-access-control/built-in-roles).
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
AZUREML_REGISTRY_USER = "1823dd4f-9b8c-4ab6-ab4e-7397a3684615"
#: The service's probe defaults (reference-yaml-deployment-managed-online, ProbeSettings).
DEFAULT_PROBE = {"initialDelay": "PT10S", "period": "PT10S", "timeout": "PT2S", "failureThreshold": 30,
                 "successThreshold": 1}
CODE_FOLDER = "serving/fraud"
CONDA_FILE = "serving/fraud/conda.yaml"


def role(guid: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def children(records: Records, parent: str, token: str) -> list[ResourceRecord]:
    [component] = [r for r in records if r.name == parent and not r.custom]
    return [r for r in records.of_type(token) if r.parent == component.urn]


def only(records: Records, parent: str, token: str) -> ResourceRecord:
    [record] = children(records, parent, token)
    return record


def team_resource(records: Records, token: str, team: str = TEAM) -> ResourceRecord:
    """The one resource of ``token`` that the team's ``Workspace`` component created."""
    return only(records, team, token)


def endpoint(records: Records) -> ResourceRecord:
    return only(records, COMPONENT, f"{ML}:OnlineEndpoint")


def deployments(records: Records) -> dict[str, ResourceRecord]:
    return {r.inputs["deploymentName"]: r for r in children(records, COMPONENT, f"{ML}:OnlineDeployment")}


# --------------------------------------------------------------------------------------------------------------------
# Identity and roles
# --------------------------------------------------------------------------------------------------------------------


def test_endpoint_identity_has_exactly_blob_reader_on_the_storage_and_acr_pull_on_the_registry(stack: str) -> None:
    records = run_stack(stack)
    identity = only(records, COMPONENT, f"{AN}:managedidentity:UserAssignedIdentity")
    ep = endpoint(records)
    assert ep.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}
    assert identity.inputs["resourceGroupName"] == ep.inputs["resourceGroupName"]
    storage = team_resource(records, f"{AN}:storage:StorageAccount")
    registry = team_resource(records, f"{AN}:containerregistry:Registry")
    principal = identity.outputs["principalId"]
    granted = [ra.inputs for ra in records.of_type(f"{AN}:authorization:RoleAssignment")
               if ra.inputs["principalId"] == principal]
    assert sorted((ra["roleDefinitionId"], ra["scope"]) for ra in granted) == sorted([
        (role(STORAGE_BLOB_DATA_READER), storage.id),
        (role(ACR_PULL), registry.id),
    ])
    assert {ra["principalType"] for ra in granted} == {"ServicePrincipal"}


def test_the_deployer_may_write_the_code_container_only(stack: str) -> None:
    records = run_stack(stack)
    container = only(records, COMPONENT, f"{AN}:storage:BlobContainer")
    assert container.inputs["containerName"] == "code-score"
    assert container.inputs["publicAccess"] == "None"
    assert container.inputs["accountName"] == team_resource(records, f"{AN}:storage:StorageAccount").inputs[
        "accountName"]
    deployer = [ra.inputs for ra in records.of_type(f"{AN}:authorization:RoleAssignment")
                if ra.inputs["principalId"] == CLIENT_OBJECT_ID]
    assert [(ra["roleDefinitionId"], ra["scope"]) for ra in deployer] == [
        (role(STORAGE_BLOB_DATA_CONTRIBUTOR), container.id)]
    # The component grants nothing else: two roles for its identity, one for the deployer.
    assert len(children(records, COMPONENT, f"{AN}:authorization:RoleAssignment")) == 3


def test_the_deployer_role_names_the_configured_principal_type(stack: str) -> None:
    # Azure refuses a role assignment whose principal type does not match the principal (UnmatchedPrincipalType), and
    # azure-native sends "User" when none is given: the type must be the configured one, ServicePrincipal by default.
    expected = stack_values(stack).get(f"{PROJECT}:deployer_principal_type", "ServicePrincipal")
    assert expected == {"dev": "User", "prod": "ServicePrincipal"}[stack]
    [deployer] = [ra for ra in run_stack(stack).of_type(f"{AN}:authorization:RoleAssignment")
                  if ra.inputs["principalId"] == CLIENT_OBJECT_ID]
    assert deployer.inputs["principalType"] == expected


def test_endpoint_deployments_and_upload_wait_for_the_roles_to_propagate(stack: str) -> None:
    records = run_stack(stack)
    wait = only(records, COMPONENT, "time:index/sleep:Sleep")
    assignments = children(records, COMPONENT, f"{AN}:authorization:RoleAssignment")
    assert {ra.urn for ra in assignments} <= set(wait.dependencies)
    assert wait.inputs["triggers"]["role_assignments"] == ",".join(sorted(str(ra.id) for ra in assignments))
    assert wait.inputs["createDuration"] == "60s"
    assert wait.urn in endpoint(records).dependencies
    for record in deployments(records).values():
        assert wait.urn in record.dependencies, record.name
    assert wait.urn in only(records, COMPONENT, "pulumi-python:dynamic/mlops:CodeUpload").dependencies


# --------------------------------------------------------------------------------------------------------------------
# Endpoint and deployments
# --------------------------------------------------------------------------------------------------------------------


def test_endpoint_uses_entra_tokens_and_is_public_in_dev_only(stack: str) -> None:
    ep = endpoint(run_stack(stack))
    assert ep.inputs["properties"]["authMode"] == "AADToken"
    assert ep.inputs["properties"]["publicNetworkAccess"] == {"dev": "Enabled", "prod": "Disabled"}[stack]
    # The initial split is not an input of the endpoint: Azure refuses traffic before the deployments exist.
    assert "traffic" not in ep.inputs["properties"] and "mirrorTraffic" not in ep.inputs["properties"]
    assert ep.inputs["endpointName"].startswith(f"score-{TEAM}-{stack}-")
    assert ep.inputs["workspaceName"] == team_resource(run_stack(stack), f"{ML}:Workspace").inputs["workspaceName"]


def test_fields_owned_at_run_time_are_ignored(stack: str) -> None:
    records = run_stack(stack)
    assert set(endpoint(records).ignore_changes) == {"properties.traffic", "properties.mirrorTraffic"}
    for record in deployments(records).values():
        assert record.ignore_changes == ["sku.capacity"], record.name


def test_deployments_follow_the_configuration(stack: str) -> None:
    records = run_stack(stack)
    ep = endpoint(records)
    wanted = configured(stack)["deployments"]
    found = deployments(records)
    assert sorted(found) == sorted(d["name"] for d in wanted)
    for config in wanted:
        record = found[config["name"]]
        assert record.name == f"{COMPONENT}-{config['name']}"
        assert record.inputs["endpointName"] == ep.inputs["endpointName"]
        assert ep.urn in record.dependencies
        assert record.inputs["sku"] == {"name": "Default", "capacity": config["instances"]["default"]}
        props = record.inputs["properties"]
        assert props["endpointComputeType"] == "Managed"
        assert props["instanceType"] == config["instance_type"]
        assert props["appInsightsEnabled"] is True
        assert props["egressPublicNetworkAccess"] == "Disabled"
        assert props["scaleSettings"] == {"scaleType": "Default"}
        assert props["livenessProbe"] == DEFAULT_PROBE and props["readinessProbe"] == DEFAULT_PROBE
        request = config.get("request", {})
        assert props["requestSettings"]["requestTimeout"] == request.get("timeout", "PT5S")
        assert props["requestSettings"]["maxConcurrentRequestsPerInstance"] == request.get(
            "max_concurrent_requests_per_instance", 1)
        assert props["codeConfiguration"]["scoringScript"] == config["code"]["scoring_script"]


def test_deployments_of_an_endpoint_are_created_one_after_the_other() -> None:
    found = deployments(run_stack("prod"))
    assert found["blue"].urn in found["green"].dependencies
    assert found["green"].urn not in found["blue"].dependencies


def test_a_workspace_model_is_referenced_by_its_arm_id(stack: str) -> None:
    records = run_stack(stack)
    workspace = team_resource(records, f"{ML}:Workspace")
    for config in configured(stack)["deployments"]:
        _, name, version = config["model"].split(":")
        assert deployments(records)[config["name"]].inputs["properties"]["model"] == (
            f"{workspace.id}/models/{name}/versions/{version}")


def test_each_deployment_runs_its_own_code_and_environment_version(stack: str) -> None:
    records = run_stack(stack)
    codes = {r.name: r for r in children(records, COMPONENT, f"{ML}:CodeVersion")}
    environments = {r.name: r for r in children(records, COMPONENT, f"{ML}:EnvironmentVersion")}
    found = deployments(records)
    assert len(codes) == len(environments) == len(found)
    for name, record in found.items():
        code, environment = codes[f"{COMPONENT}-{name}-code"], environments[f"{COMPONENT}-{name}-env"]
        assert code.inputs["name"] == environment.inputs["name"] == f"score-{name}"
        props = record.inputs["properties"]
        assert props["codeConfiguration"]["codeId"] == code.id
        assert props["environmentId"] == environment.id
        assert code.id and f"/codes/score-{name}/versions/" in code.id
        assert environment.id and f"/environments/score-{name}/versions/" in environment.id
        assert {code.urn, environment.urn} <= set(record.dependencies)


# --------------------------------------------------------------------------------------------------------------------
# Content-addressed assets
# --------------------------------------------------------------------------------------------------------------------


def test_code_version_is_the_content_hash_of_the_folder_and_is_retained(stack: str) -> None:
    records = run_stack(stack)
    digest = content_hash(ROOT / CODE_FOLDER)
    upload = only(records, COMPONENT, "pulumi-python:dynamic/mlops:CodeUpload")  # one per folder, shared
    assert upload.inputs["hash"] == digest
    assert upload.inputs["source"] == str(ROOT / CODE_FOLDER)
    assert upload.inputs["container"] == "code-score"
    assert upload.inputs["prefix"] == "serving-fraud"
    assert upload.inputs["account"] == team_resource(records, f"{AN}:storage:StorageAccount").inputs["accountName"]
    codes = children(records, COMPONENT, f"{ML}:CodeVersion")
    assert len(codes) == len(configured(stack)["deployments"])
    for code in codes:
        assert code.inputs["version"] == digest[:16]
        assert code.inputs["properties"]["codeUri"] == upload.outputs["uri"]
        assert upload.outputs["uri"].endswith(f"/code-score/serving-fraud/{digest[:16]}")
        assert upload.urn in code.dependencies
        assert code.retain_on_delete is True and not code.protect


def test_environment_version_carries_the_conda_file_and_is_versioned_by_content(stack: str) -> None:
    records = run_stack(stack)
    environments = {r.inputs["name"]: r for r in children(records, COMPONENT, f"{ML}:EnvironmentVersion")}
    for config in configured(stack)["deployments"]:
        image, conda_path = config["environment"]["image"], config["environment"]["conda_file"]
        conda = (ROOT / conda_path).read_text(encoding="utf-8")
        environment = environments[f"score-{config['name']}"]
        assert environment.inputs["properties"]["condaFile"] == conda
        assert environment.inputs["properties"]["image"] == image
        assert environment.inputs["properties"]["osType"] == "Linux"
        assert environment.inputs["version"] == asset_version(image, conda)
        assert environment.retain_on_delete is True


def test_initial_traffic_is_the_configured_split_after_every_deployment(stack: str) -> None:
    records = run_stack(stack)
    traffic = only(records, COMPONENT, "pulumi-python:dynamic/mlops:InitialTraffic")
    expected = configured(stack).get("traffic") or {"blue": 100}
    assert traffic.inputs["traffic"] == expected
    assert traffic.inputs["mirror"] == {}
    assert traffic.inputs["endpoint_id"] == endpoint(records).id
    assert {d.urn for d in deployments(records).values()} <= set(traffic.dependencies)
    assert {"dev": {"blue": 100}, "prod": {"blue": 100, "green": 0}}[stack] == traffic.inputs["traffic"]


# --------------------------------------------------------------------------------------------------------------------
# The component on its own: the complete case
# --------------------------------------------------------------------------------------------------------------------

GROUP = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-fraud"
WORKSPACE_ID = f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/mlw-fraud"
STORAGE_ID = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/stfraud"
REGISTRY_ID = f"{GROUP}/providers/Microsoft.ContainerRegistry/registries/crfraud"
ML_REGISTRY_ID = (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-models/providers/"
                  "Microsoft.MachineLearningServices/registries/shared-models")
DEPLOYER = "12345678-0000-0000-0000-000000000001"
BLUE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20260715.v1"
GREEN_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20260801.v1"
LIVENESS = ProbeConfig(initial_delay="PT30S", period="PT15S", timeout="PT3S", failure_threshold=5, success_threshold=1)
READINESS = ProbeConfig(initial_delay="PT5S", period="PT5S", timeout="PT1S", failure_threshold=3, success_threshold=2)


def deployment_config(name: str, model: ModelRef, image: str, **overrides: Any) -> DeploymentConfig:
    values: dict[str, Any] = {
        "name": name, "model": model, "environment": EnvironmentConfig(image=image, conda_file=CONDA_FILE),
        "code": CodeConfig(path=CODE_FOLDER, scoring_script="score.py"), "instance_type": "Standard_DS3_v2",
        "instances": InstancesConfig(minimum=2, maximum=5, default=3),
    }
    return DeploymentConfig(**{**values, **overrides})


def complete_config() -> EndpointConfig:
    blue = deployment_config("blue", ModelRef("fraud-model", "3"), BLUE_IMAGE, liveness=LIVENESS,
                             readiness=READINESS, request=RequestConfig(timeout="PT10S",
                                                                        max_concurrent_requests_per_instance=4))
    green = deployment_config("green", ModelRef("fraud-model", "4", registry="shared-models"), GREEN_IMAGE)
    return EndpointConfig(name="score", deployments=(blue, green), traffic={"blue": 100, "green": 0},
                          mirror={"green": 10}, slo=SloConfig(latency_p95_ms=200, error_rate_percent=1,
                                                              availability_percent=99.9), auth_mode="AMLToken")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root whose scoring code differs from the repository's by one edited line."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / CODE_FOLDER, root / CODE_FOLDER)
    with (root / CODE_FOLDER / "score.py").open("a", encoding="utf-8") as script:
        script.write("# edited\n")
    return root


@pytest.fixture(scope="module")
def complete(project: Path) -> Records:
    args = OnlineEndpointArgs(
        config=complete_config(), endpoint_name="score-fraud-dev-abcde", identity_name="id-score",
        location="westeurope", subscription_id=SUBSCRIPTION_ID, resource_group_name="rg-fraud",
        workspace_name="mlw-fraud", workspace_id=WORKSPACE_ID, storage_account_id=STORAGE_ID,
        storage_account_name="stfraud", container_registry_id=REGISTRY_ID, deployer_object_id=DEPLOYER,
        registries={"shared-models": ML_REGISTRY_ID}, root=project, tags={"team": "fraud"},
    )
    return Records(run_with_mocks(lambda: OnlineEndpoint("fraud-score", args), project=PROJECT, stack="dev"))


def test_complete_case_secure_default_network_and_configured_auth(complete: Records) -> None:
    [ep] = complete.of_type(f"{ML}:OnlineEndpoint")
    assert ep.inputs["properties"]["publicNetworkAccess"] == "Disabled"  # the default: private
    assert ep.inputs["properties"]["authMode"] == "AMLToken"
    assert ep.inputs["tags"] == {"team": "fraud"}


def test_complete_case_deployer_is_a_service_principal_by_default(complete: Records) -> None:
    [deployer] = [ra for ra in complete.of_type(f"{AN}:authorization:RoleAssignment")
                  if ra.inputs["principalId"] == DEPLOYER]
    assert deployer.inputs["principalType"] == "ServicePrincipal"
    assert deployer.inputs["roleDefinitionId"] == role(STORAGE_BLOB_DATA_CONTRIBUTOR)


def test_complete_case_a_registry_model_passes_through_and_its_registry_is_readable(complete: Records) -> None:
    found = {r.inputs["deploymentName"]: r.inputs["properties"] for r in complete.of_type(f"{ML}:OnlineDeployment")}
    assert found["blue"]["model"] == f"{WORKSPACE_ID}/models/fraud-model/versions/3"
    assert found["green"]["model"] == "azureml://registries/shared-models/models/fraud-model/versions/4"
    [identity] = complete.of_type(f"{AN}:managedidentity:UserAssignedIdentity")
    granted = sorted((ra.inputs["roleDefinitionId"], ra.inputs["scope"])
                     for ra in complete.of_type(f"{AN}:authorization:RoleAssignment")
                     if ra.inputs["principalId"] == identity.outputs["principalId"])
    assert granted == sorted([(role(STORAGE_BLOB_DATA_READER), STORAGE_ID), (role(ACR_PULL), REGISTRY_ID),
                              (role(AZUREML_REGISTRY_USER), ML_REGISTRY_ID)])


def test_complete_case_probes_and_request_settings_come_from_the_configuration(complete: Records) -> None:
    found = {r.inputs["deploymentName"]: r.inputs for r in complete.of_type(f"{ML}:OnlineDeployment")}
    blue = found["blue"]["properties"]
    assert blue["livenessProbe"] == {"initialDelay": "PT30S", "period": "PT15S", "timeout": "PT3S",
                                     "failureThreshold": 5, "successThreshold": 1}
    assert blue["readinessProbe"] == {"initialDelay": "PT5S", "period": "PT5S", "timeout": "PT1S",
                                      "failureThreshold": 3, "successThreshold": 2}
    assert blue["requestSettings"]["requestTimeout"] == "PT10S"
    assert blue["requestSettings"]["maxConcurrentRequestsPerInstance"] == 4
    assert found["blue"]["sku"] == {"name": "Default", "capacity": 3}
    assert found["green"]["properties"]["livenessProbe"] == DEFAULT_PROBE


def test_complete_case_versions_follow_the_folder_and_the_image(complete: Records, project: Path) -> None:
    edited = content_hash(project / CODE_FOLDER)
    assert edited != content_hash(ROOT / CODE_FOLDER)
    [upload] = complete.of_type("pulumi-python:dynamic/mlops:CodeUpload")  # both deployments share the folder
    assert upload.inputs["hash"] == edited
    assert {c.inputs["version"] for c in complete.of_type(f"{ML}:CodeVersion")} == {edited[:16]}
    conda = (project / CONDA_FILE).read_text(encoding="utf-8")
    versions = {e.inputs["name"]: e.inputs["version"] for e in complete.of_type(f"{ML}:EnvironmentVersion")}
    assert versions == {"score-blue": asset_version(BLUE_IMAGE, conda),
                        "score-green": asset_version(GREEN_IMAGE, conda)}
    assert versions["score-blue"] != versions["score-green"]


def test_complete_case_initial_traffic_carries_the_mirror(complete: Records) -> None:
    [traffic] = complete.of_type("pulumi-python:dynamic/mlops:InitialTraffic")
    assert traffic.inputs["traffic"] == {"blue": 100, "green": 0}
    assert traffic.inputs["mirror"] == {"green": 10}
    assert {d.urn for d in complete.of_type(f"{ML}:OnlineDeployment")} <= set(traffic.dependencies)


@pulumi.runtime.test
def test_component_outputs(pulumi_mocks: Any, project: Path) -> pulumi.Output[None]:
    component = OnlineEndpoint("fraud-score", OnlineEndpointArgs(
        config=complete_config(), endpoint_name="score-fraud-dev-abcde", identity_name="id-score",
        location="westeurope", subscription_id=SUBSCRIPTION_ID, resource_group_name="rg-fraud",
        workspace_name="mlw-fraud", workspace_id=WORKSPACE_ID, storage_account_id=STORAGE_ID,
        storage_account_name="stfraud", container_registry_id=REGISTRY_ID, deployer_object_id=DEPLOYER,
        registries={"shared-models": ML_REGISTRY_ID}, root=project,
    ))

    def check(values: list[Any]) -> None:
        endpoint_id, name, uri, blue, green = values
        assert endpoint_id == f"{WORKSPACE_ID}/onlineEndpoints/score-fraud-dev-abcde"
        assert name == "score-fraud-dev-abcde"
        assert uri == "https://score-fraud-dev-abcde.westeurope.inference.ml.azure.com/score"
        assert (blue, green) == (f"{endpoint_id}/deployments/blue", f"{endpoint_id}/deployments/green")

    return pulumi.Output.all(component.endpoint_id, component.endpoint_name, component.scoring_uri,
                             component.deployment_ids["blue"], component.deployment_ids["green"]).apply(check)


# --------------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------------


def test_asset_version_is_a_16_digit_sha256_prefix_of_the_parts() -> None:
    image, conda = "mcr.microsoft.com/azureml/x:1", "dependencies: [python=3.11]\n"
    expected = hashlib.sha256(f"{image}\0{conda}\0".encode()).hexdigest()[:16]
    assert asset_version(image, conda) == expected
    assert asset_version(image.encode(), conda.encode()) == expected  # bytes and text hash alike
    assert asset_version(image, conda + " ") != expected
    # Parts are separated, so moving text between them changes the version.
    assert asset_version("ab", "c") != asset_version("a", "bc")


def test_model_id_passes_a_registry_reference_through() -> None:
    deployment = deployment_config("green", ModelRef("fraud-model", "4", registry="shared-models"), GREEN_IMAGE)
    assert model_id(deployment, WORKSPACE_ID) == "azureml://registries/shared-models/models/fraud-model/versions/4"


@pulumi.runtime.test
def test_model_id_makes_a_workspace_reference_an_arm_id(pulumi_mocks: Any) -> pulumi.Output[None]:
    deployment = deployment_config("blue", ModelRef("fraud-model", "7"), BLUE_IMAGE)

    def check(value: Any) -> None:
        assert value == f"{WORKSPACE_ID}/models/fraud-model/versions/7"

    return pulumi.Output.from_input(model_id(deployment, pulumi.Output.from_input(WORKSPACE_ID))).apply(check)


def test_content_hash_follows_code_changes_and_ignores_caches(tmp_path: Path) -> None:
    folder = tmp_path / "fraud"
    shutil.copytree(ROOT / CODE_FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
    original = content_hash(ROOT / CODE_FOLDER)
    assert content_hash(folder) == original  # the location of the folder does not matter
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "score.cpython-311.pyc").write_bytes(b"\x00compiled")
    (folder / "helpers.pyc").write_bytes(b"\x00compiled")
    assert content_hash(folder) == original
    script = folder / "score.py"
    text = script.read_text(encoding="utf-8")
    script.write_text(text.replace("def ", "def  ", 1), encoding="utf-8")
    edited = content_hash(folder)
    assert edited != original
    script.write_text(text, encoding="utf-8")
    assert content_hash(folder) == original
    script.rename(folder / "main.py")  # same bytes, another name
    assert content_hash(folder) not in (original, edited)


def test_files_listed_in_amlignore_are_not_part_of_the_code(tmp_path: Path) -> None:
    """The sample's training script, locustfile, request rows and capacity record stay out of the code asset: a new
    capacity measurement must not roll out a new code version."""
    from components.code_upload import code_files

    shutil.copytree(ROOT / CODE_FOLDER, tmp_path / "fraud")
    folder = tmp_path / "fraud"
    before = content_hash(folder)
    assert [p.name for p in code_files(folder)] == [".amlignore", "conda.yaml", "score.py"]
    (folder / "capacity.json").write_text("{}")
    (folder / "nested").mkdir()
    (folder / "nested" / "locustfile.py").write_text("# ignored by name, in any folder\n")
    assert content_hash(folder) == before
    (folder / "helper.py").write_text("X = 1\n")
    assert content_hash(folder) != before
