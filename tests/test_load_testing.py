"""``LoadTesting`` (components/load_testing.py) as the program builds it for the dev and prod stacks, and the
``load_testing`` configuration key.

Expected values come from Microsoft's pages (the Load Test Contributor GUID of built-in-roles/devops, the scoring
action of how-to-authenticate-online-endpoint), not from the component's constants.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from typing import Any

import pytest
from conftest import PROJECT, ROOT, SUBSCRIPTION_ID, Records, encode, stack_values
from test_config import NS, parse, problems

from components.config import LoadTestingConfig
from preflight.program import evaluate
from preflight.stack_config import load_stack_config

AN = "azure-native"
COMPONENT = "platform-loadtest"
LOAD_TEST_CONTRIBUTOR = "749a398d-560b-491b-bb21-08924219302e"
SCORE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action"
PIPELINE = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


@functools.cache
def run_stack(stack: str) -> Records:
    return run_values(stack, stack_values(stack))


def run_values(stack: str, values: dict[str, Any]) -> Records:
    config = dataclasses.replace(load_stack_config(ROOT, stack), values=encode(values))
    return Records(evaluate(ROOT, config))


def children(records: Any, token: str) -> list[Any]:
    [component] = [r for r in records if r.name == COMPONENT and not r.custom]
    return [r for r in records.of_type(token) if r.parent == component.urn]


def test_one_load_test_per_environment_with_the_engine_identity(stack: str) -> None:
    records = run_stack(stack)
    [identity] = children(records, f"{AN}:managedidentity:UserAssignedIdentity")
    [load_test] = children(records, f"{AN}:loadtestservice:LoadTest")
    assert load_test.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}
    assert load_test.inputs["loadTestName"].startswith(f"lt-mlops-shared-{stack}-weu-")
    assert 1 <= len(load_test.inputs["loadTestName"]) <= 64
    assert load_test.inputs["resourceGroupName"] == f"rg-mlops-shared-{stack}-weu"
    assert load_test.inputs["tags"]["environment"] == stack


def test_the_engines_may_only_score_each_endpoint(stack: str) -> None:
    records = run_stack(stack)
    [identity] = children(records, f"{AN}:managedidentity:UserAssignedIdentity")
    [role] = children(records, f"{AN}:authorization:RoleDefinition")
    assert role.inputs["permissions"] == [{"actions": [SCORE]}]
    assert role.inputs["roleType"] == "CustomRole"
    [endpoint] = records.of_type(f"{AN}:machinelearningservices:OnlineEndpoint")
    granted = [ra.inputs for ra in records.of_type(f"{AN}:authorization:RoleAssignment")
               if ra.inputs["principalId"] == identity.outputs["principalId"]]
    assert [(ra["roleDefinitionId"], ra["scope"], ra["principalType"]) for ra in granted] == [
        (role.id, endpoint.id, "ServicePrincipal")]
    team_rgs = {r.inputs["resourceGroupName"]: r.id for r in records.of_type(f"{AN}:resources:ResourceGroup")}
    assert role.inputs["assignableScopes"] == [team_rgs[f"rg-mlops-{team}-{stack}-weu"]
                                               for team in ("fraud-detection", "churn")]


def test_the_scorer_role_is_assigned_after_it_replicated(stack: str) -> None:
    records = run_stack(stack)
    [wait] = children(records, "time:index/sleep:Sleep")
    [assignment] = children(records, f"{AN}:authorization:RoleAssignment")
    assert wait.urn in assignment.dependencies


def test_the_pipeline_gets_load_test_contributor_on_the_resource_only(stack: str) -> None:
    values = copy.deepcopy(stack_values(stack))
    values[f"{PROJECT}:load_testing"] = {"pipeline_principal_id": PIPELINE}
    records = run_values(stack, values)
    [load_test] = children(records, f"{AN}:loadtestservice:LoadTest")
    granted = [ra.inputs for ra in records.of_type(f"{AN}:authorization:RoleAssignment")
               if ra.inputs["principalId"] == PIPELINE]
    assert [(ra["roleDefinitionId"], ra["scope"], ra["principalType"]) for ra in granted] == [
        (f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{LOAD_TEST_CONTRIBUTOR}",
         load_test.id, "ServicePrincipal")]


def test_no_load_testing_when_disabled_or_no_endpoint_declares_load() -> None:
    values = copy.deepcopy(stack_values("dev"))
    values[f"{PROJECT}:load_testing"] = {"enabled": False}
    assert not run_values("dev", values).of_type(f"{AN}:loadtestservice:LoadTest")
    values = copy.deepcopy(stack_values("dev"))
    for team in values[f"{PROJECT}:teams"]:
        for endpoint in team.get("endpoints", []):
            endpoint.pop("load", None)
    assert not run_values("dev", values).of_type(f"{AN}:loadtestservice:LoadTest")


def with_load_testing(value: Any) -> dict[str, Any]:
    values = copy.deepcopy(stack_values("dev"))
    values[f"{PROJECT}:load_testing"] = value
    return values


def test_the_load_testing_key_defaults_and_parses() -> None:
    assert parse(copy.deepcopy(stack_values("dev"))).load_testing == LoadTestingConfig()
    config = parse(with_load_testing({"pipeline_principal_id": PIPELINE, "pipeline_principal_type": "User"}))
    assert config.load_testing == LoadTestingConfig(True, PIPELINE, "User")


@pytest.mark.parametrize(("value", "message"), [
    ({"pipeline_principal_id": "pipeline"}, f"{NS}:load_testing.pipeline_principal_id: 'pipeline' is not a "
                                            "Microsoft Entra object id (a GUID): give the object id of the "
                                            "pipeline's identity"),
    ({"pipeline_principal_type": "Group"}, f"{NS}:load_testing.pipeline_principal_type: 'Group' is not allowed; "
                                           "use one of ServicePrincipal, User"),
    ({"enabled": "sometimes"}, f"{NS}:load_testing.enabled: 'sometimes' has the wrong type; expected true or "
                               "false"),
    ({"engines": 3}, f"{NS}:load_testing.engines: unknown key; allowed keys are enabled, pipeline_principal_id, "
                     "pipeline_principal_type"),
])
def test_a_bad_load_testing_key_is_refused(value: dict[str, Any], message: str) -> None:
    assert problems(with_load_testing(value)) == [message]
