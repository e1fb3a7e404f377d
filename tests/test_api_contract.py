"""Azure's REST API contract, checked offline: the request the provider would send, rebuilt from the recorded inputs,
against the body types of Azure/bicep-types-az for the SDK's API version. Each check is caught by a mutation of a
real resource of the platform; dev and prod have no finding."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Run

from preflight.api_contract import CONTRACT_FILE, RULES, Contract, ContractError, check_records, sdk_api_version
from preflight.mocks import ResourceRecord
from preflight.program import evaluate
from preflight.stack_config import load_stack_config


@functools.cache
def records(stack: str) -> tuple[ResourceRecord, ...]:
    return tuple(evaluate(ROOT, load_stack_config(ROOT, stack)))


def resource(token: str, stack: str = "prod") -> ResourceRecord:
    return next(r for r in records(stack) if r.type == f"azure-native:{token}")


def problems(token: str, mutate: Callable[[dict[str, Any]], None]) -> list[tuple[str, str, str]]:
    record = resource(token)
    inputs = copy.deepcopy(record.inputs)
    mutate(inputs)
    return [(p.rule, p.level, p.message) for p in Contract.load().check(record.type, inputs)]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_platform_keeps_to_the_contract(stack: str) -> None:
    assert check_records(records(stack)) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_azure_type_the_platform_registers_has_its_contract(stack: str) -> None:
    contract = Contract.load()
    for token in {r.type for r in records(stack) if r.type.startswith("azure-native:")}:
        assert contract.resources[token]["apiVersion"] == sdk_api_version(token), token


@pytest.mark.parametrize(("token", "mutate", "expected"), [
    ("authorization:RoleAssignment", lambda i: i.pop("principalId"),
     ("api-contract-required", "mandatory", "properties.principalId is required by the API and not set")),
    ("machinelearningservices:Workspace", lambda i: i.update(hbiWorkspace="yes"),
     ("api-contract-type", "mandatory", 'properties.hbiWorkspace is "yes"; the API expects true or false')),
    ("machinelearningservices:Workspace", lambda i: i.update(sku={"name": "Basic", "tier": "Gold"}),
     ("api-contract-enum", "mandatory", 'sku.tier is "Gold"; the API accepts one of Free, Basic, Standard, Premium')),
    ("machinelearningservices:Compute", lambda i: i["properties"].update(computeType="Mainframe"),
     ("api-contract-discriminator", "mandatory", 'properties.computeType is "Mainframe"; the API knows AKS, '
      "AmlCompute, ComputeInstance, DataFactory, DataLakeAnalytics, Databricks, HDInsight, Kubernetes, SynapseSpark, "
      "VirtualMachine")),
    ("machinelearningservices:Workspace",
     lambda i: i["managedNetwork"]["outboundRules"]["pypi"].update(type="Website"),
     ("api-contract-discriminator", "mandatory", 'properties.managedNetwork.outboundRules.pypi.type is "Website"; '
      "the API knows FQDN, PrivateEndpoint, ServiceTag")),
    ("monitor:MetricAlert", lambda i: i["criteria"].update(odataType="Microsoft.Azure.Monitor.Other"),
     ("api-contract-discriminator", "mandatory", 'properties.criteria.odata.type is "Microsoft.Azure.Monitor.Other"; '
      "the API knows Microsoft.Azure.Monitor.MultipleResourceMultipleMetricCriteria, "
      "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria, "
      "Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria")),
    ("monitor:ActionGroup", lambda i: i.update(groupShortName="mlops-prod-alerts"),
     ("api-contract-length", "mandatory", "properties.groupShortName has 17 characters; the API allows 0-12")),
    ("storage:BlobServiceProperties", lambda i: i["containerDeleteRetentionPolicy"].update(days=400),
     ("api-contract-range", "mandatory", "properties.containerDeleteRetentionPolicy.days is 400; the API allows 1 to "
      "365")),
    ("keyvault:Vault", lambda i: i["properties"].update(accessPolicies=[{
        "tenantId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "objectId": "x",
        "applicationId": "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "permissions": {}}]),
     ("api-contract-pattern", "mandatory", 'properties.accessPolicies[0].applicationId is '
      '"zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", which does not match the API\'s pattern '
      "^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")),
    ("machinelearningservices:Compute", lambda i: i.update(computeName="cpu-1"),
     ("api-contract-name", "mandatory", 'the resource name: computeName is "cpu-1", which does not match the API\'s '
      "pattern ^[a-zA-Z](?![a-zA-Z0-9-]*-\\d+$)[a-zA-Z0-9\\-]{2,23}$")),
    ("storage:StorageAccount", lambda i: i.update(accountName="Bad_Name"),
     ("api-contract-name", "mandatory", 'the resource name: accountName is "Bad_Name", which does not match the '
      "API's pattern ^[a-z0-9]+$")),
    ("network:PrivateEndpoint", lambda i: i["subnet"].update(serviceGateway={"id": "/subscriptions/x"}),
     ("api-contract-unknown", "advisory", "properties.subnet.serviceGateway is not part of this API version; the "
      "provider drops it")),
])
def test_each_check_catches_its_mutation(token: str, mutate: Callable[[dict[str, Any]], None],
                                         expected: tuple[str, str, str]) -> None:
    assert problems(token, mutate) == [expected]


def test_the_request_undoes_flattening_renames_and_string_sets() -> None:
    contract = Contract.load()
    storage = resource("storage:StorageAccount")
    inputs = {**storage.inputs, "networkRuleSet": {"defaultAction": "Deny", "ipRules": [
        {"iPAddressOrRange": "203.0.113.0/24", "action": "Allow"}]}}
    params, body, found = contract.request(storage.type, inputs)
    assert found == []
    assert params == {"resourceGroupName": storage.inputs["resourceGroupName"],
                      "accountName": storage.inputs["accountName"]}
    assert body["properties"]["supportsHttpsTrafficOnly"] is True  # SDK enableHttpsTrafficOnly (x-ms-client-name)
    assert body["properties"]["networkAcls"]["ipRules"] == [{"value": "203.0.113.0/24", "action": "Allow"}]
    workspace = resource("machinelearningservices:Workspace")
    _, ws_body, _ = contract.request(workspace.type, workspace.inputs)
    assert ws_body["properties"]["storageAccount"] == workspace.inputs["storageAccount"]  # flattened into properties
    identity = workspace.inputs["identity"]["userAssignedIdentities"][0]
    assert ws_body["identity"]["userAssignedIdentities"] == {identity: {}}  # SDK list -> the API's map
    alert = resource("monitor:MetricAlert")
    _, alert_body, _ = contract.request(alert.type, alert.inputs)
    assert alert_body["properties"]["criteria"]["odata.type"] == \
        "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"  # SDK odataType
    role = resource("authorization:RoleAssignment")
    params, role_body, _ = contract.request(role.type, role.inputs)
    assert set(params) == {"scope", "roleAssignmentName"} and "scope" not in role_body["properties"]


# -- the validator on a small contract of its own: every kind of type -------------------------------------------------


def tiny_contract() -> Contract:
    types = [
        {"$type": "ResourceType", "name": "Test.Provider/things@2020-01-01", "body": {"$ref": "#/1"}},
        {"$type": "ObjectType", "name": "Thing", "properties": {
            "name": {"type": {"$ref": "#/2"}, "flags": 9},
            "properties": {"type": {"$ref": "#/3"}, "flags": 1}}},
        {"$type": "StringType", "minLength": 3, "maxLength": 8, "pattern": "^[a-z]+$"},
        {"$type": "ObjectType", "name": "ThingProperties", "properties": {
            "list": {"type": {"$ref": "#/4"}, "flags": 0},
            "state": {"type": {"$ref": "#/5"}, "flags": 2},
            "mode": {"type": {"$ref": "#/6"}, "flags": 1},
            "labels": {"type": {"$ref": "#/9"}, "flags": 0}}},
        {"$type": "ArrayType", "itemType": {"$ref": "#/5"}, "minLength": 1, "maxLength": 2},
        {"$type": "StringType"},
        {"$type": "UnionType", "elements": [{"$ref": "#/7"}, {"$ref": "#/8"}, {"$ref": "#/5"}]},
        {"$type": "StringLiteralType", "value": "Fast"},
        {"$type": "StringLiteralType", "value": "Slow"},
        {"$type": "ObjectType", "name": "Labels", "properties": {}, "additionalProperties": {"$ref": "#/10"}},
        {"$type": "IntegerType", "minValue": 0, "maxValue": 10},
    ]
    inputs = {"thingName": {"path": True}, "list": {"wire": ["properties", "list"]},
              "state": {"wire": ["properties", "state"]}, "mode": {"wire": ["properties", "mode"]},
              "labels": {"wire": ["properties", "labels"]}}
    return Contract({"format": "mlops-platform/azure-api-contract/1", "source": {"commit": "0" * 40},
                     "types": types, "resources": {"test:index:Thing": {
                         "armType": "Test.Provider/things", "apiVersion": "2020-01-01", "resourceType": 0,
                         "pathParameters": ["thingName"], "nameParameter": "thingName", "inputs": inputs}}})


@pytest.mark.parametrize(("inputs", "expected"), [
    ({"thingName": "good", "mode": "Fast"}, []),
    ({"thingName": "good", "mode": "anything"}, []),  # an open enum takes any string
    ({"thingName": "good", "mode": "fast"}, []),  # enums compare without case, as ARM does
    ({"thingName": "good"}, [("api-contract-required", "properties.mode is required by the API and not set")]),
    ({"thingName": "good", "mode": "Fast", "list": []},
     [("api-contract-length", "properties.list has 0 items; the API allows 1-2")]),
    ({"thingName": "good", "mode": "Fast", "list": ["a", "b", "c"]},
     [("api-contract-length", "properties.list has 3 items; the API allows 1-2")]),
    ({"thingName": "good", "mode": "Fast", "state": "Ready"},
     [("api-contract-read-only", "properties.state is read-only; Azure ignores the value set")]),
    ({"thingName": "good", "mode": "Fast", "labels": {"a": 3, "b": 11}},
     [("api-contract-range", "properties.labels.b is 11; the API allows 0 to 10")]),
    ({"thingName": "good", "mode": "Fast", "extra": 1},
     [("api-contract-unknown", "extra is not part of this API version; the provider drops it")]),
    ({"thingName": "ab", "mode": "Fast"},
     [("api-contract-name", "the resource name: thingName has 2 characters; the API allows 3-8")]),
    ({"mode": "Fast"}, []),  # no name: the provider names the resource itself
    ({"thingName": "good\n", "mode": "Fast"},  # Python's $ would let the newline through; the API's pattern does not
     [("api-contract-name", 'the resource name: thingName is "good\\n", which does not match the API\'s pattern '
       "^[a-z]+$")]),
    ({"thingName": "good", "mode": None},
     [("api-contract-required", "properties.mode is required by the API and not set")]),
    ({"thingName": "good", "mode": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"}, []),  # unknown during preview
])
def test_the_validator(inputs: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    found = tiny_contract().check("test:index:Thing", inputs)
    assert [(p.rule, p.message) for p in found] == expected
    assert all(p.level == RULES[p.rule][1] for p in found)


# -- failing closed ---------------------------------------------------------------------------------------------------


def test_a_type_without_contract_data_or_of_another_api_version_stops_the_check() -> None:
    contract = Contract.load()
    with pytest.raises(ContractError, match="no Azure API contract for azure-native:storage:Queue"):
        contract.check("azure-native:storage:Queue", {})
    with pytest.raises(ContractError, match="the SDK uses API version 2099-01-01, the contract file has 2024-01-01"):
        contract.check("azure-native:storage:StorageAccount", {}, "2099-01-01")


def test_a_type_whose_sdk_api_version_is_unknown_stops_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import preflight.api_contract as module

    monkeypatch.setattr(module, "sdk_api_version", lambda token: None)
    with pytest.raises(ContractError, match="the installed SDK does not say which Azure API version it uses"):
        check_records(records("dev"))


def test_the_gate_stops_on_a_type_it_cannot_check(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    from test_gate import project, rule_pack

    program = ("from pulumi_azure_native import storage\n\n"
               "storage.Queue('q', account_name='stx', resource_group_name='rg', queue_name='jobs')\n")
    result = preflight("dev", "--dir", str(project(tmp_path, program=program, pack=rule_pack("pass"))))
    assert result.returncode == 2
    assert "preflight: no Azure API contract for azure-native:storage:Queue" in result.stderr


def test_a_contract_violation_blocks_the_gate_in_every_format(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    from test_gate import project, rule_pack

    program = ("from pulumi_azure_native import resources\n\n"
               "resources.ResourceGroup('rg', resource_group_name='rg-gate', location='westeurope')\n"
               "resources.ResourceGroup('bad', resource_group_name='rg with spaces', location='westeurope')\n")
    out = tmp_path / "out"
    result = preflight("dev", "--dir", str(project(tmp_path, program=program, pack=rule_pack("pass"))), "--format",
                       "all", "--output", str(out))
    assert result.returncode == 1, result.stderr
    message = "the resource name: resourceGroupName is \"rg with spaces\", which does not match the API's pattern"
    written = {p.name: p.read_text() for p in out.iterdir()}
    for name in ("preflight.txt", "preflight.md", "preflight.junit.xml"):
        assert "api-contract-name" in written[name] and "rg with spaces" in written[name], name
    sarif = json.loads(written["preflight.sarif"])
    assert any(r["ruleId"] == "api-contract-name" and message in r["message"]["text"]
               for run in sarif["runs"] for r in run["results"])
    report = json.loads(written["preflight.json"])
    [finding] = [f for f in report["findings"] if f["pack"] == "azure-api-contract"]
    assert (finding["level"], finding["policy"]) == ("mandatory", "api-contract-name")
    assert finding["message"].startswith(message)


def test_the_contract_data_names_its_source_and_license() -> None:
    document = json.loads(CONTRACT_FILE.read_text())
    assert document["source"]["repository"] == "https://github.com/Azure/bicep-types-az"
    assert len(document["source"]["commit"]) == 40 and document["source"]["license"] == "MIT"
    assert "MIT License" in (CONTRACT_FILE.parent / "LICENSE-bicep-types-az").read_text()
