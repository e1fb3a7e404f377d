"""What makes the preflight fast changes no answer: greenfield removes only azure-native's type aliases, the tuned
evaluation registers exactly what the SDK's own runner does, and the packs' fast servicer, parallel packs and
pipelined calls report exactly what pulumi-policy's own servicer reports one call at a time."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest
from conftest import PROJECT, ROOT, TODAY, Records, Run, insecure_prod_config
from pulumi_azure_native import resources, storage

from components import greenfield
from policies.lib.graph import _id_and_parents
from preflight.analysis import run_packs
from preflight.mocks import ResourceRecord
from preflight.program import evaluate
from preflight.stack_config import load_stack_config


def _storage_program(with_greenfield: bool) -> None:
    if with_greenfield:
        greenfield.enable()
    component = pulumi.ComponentResource("mlops:test:Thing", "thing",
                                         opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="mlops:old:Thing")]))
    rg = resources.ResourceGroup("rg", opts=pulumi.ResourceOptions(parent=component))
    storage.StorageAccount(
        "st", resource_group_name=rg.name, kind="StorageV2", sku={"name": "Standard_LRS"},
        opts=pulumi.ResourceOptions(parent=component, aliases=[
            pulumi.Alias(name="st-old"),                                        # a fork renamed it
            pulumi.Alias(type_="azure-native:storage:StorageAccount", name="st-older"),  # type *and* name
            "urn:pulumi:dev::mlops-platform::azure-native:storage:StorageAccount::legacy",
        ]))


def test_greenfield_removes_only_azure_natives_type_aliases(build: object) -> None:
    plain: Records = build(lambda: _storage_program(False))  # type: ignore[operator]
    stripped: Records = build(lambda: _storage_program(True))  # type: ignore[operator]
    before, after = plain.named("st").aliases, stripped.named("st").aliases
    generated = [a for a in before if a.startswith("type=azure-native:") and " " not in a]
    assert len(generated) > 20, before        # every API version of StorageAccount
    assert sorted(after) == sorted(set(before) - set(generated))
    assert "name=st-old" in after
    assert "type=azure-native:storage:StorageAccount name=st-older" in after
    assert "urn=urn:pulumi:dev::mlops-platform::azure-native:storage:StorageAccount::legacy" in after
    # Component aliases are the fork's business, never touched.
    assert stripped.named("thing").aliases == plain.named("thing").aliases == ["type=mlops:old:Thing"]
    # Nothing else about the resources changes.
    for name in ("rg", "st", "thing"):
        assert plain.named(name).inputs == stripped.named(name).inputs
        assert plain.named(name).urn == stripped.named(name).urn


@pytest.mark.parametrize(("alias", "generated"), [
    (pulumi.Alias(type_="azure-native:storage/v20230101:StorageAccount"), True),
    (pulumi.Alias(type_="azure-native:insights:DiagnosticSetting"), True),
    (pulumi.Alias(type_="azure-native:storage:StorageAccount", name="x"), False),
    (pulumi.Alias(type_="azure-native:storage:StorageAccount", project="other"), False),
    (pulumi.Alias(type_="azure:storage/account:Account"), False),
    (pulumi.Alias(type_="mlops:ml:Workspace"), False),
    (pulumi.Alias(name="renamed"), False),
    ("urn:pulumi:dev::p::azure-native:storage:StorageAccount::st", False),
])
def test_is_type_alias(alias: object, generated: bool) -> None:
    assert greenfield.is_type_alias(alias) is generated


@functools.cache
def _records(stack: str, tuned: bool, greenfield_on: bool | None = None) -> tuple[ResourceRecord, ...]:
    config = load_stack_config(ROOT, stack)
    if greenfield_on is not None:
        config = dataclasses.replace(config, values={**config.values,
                                                     f"{PROJECT}:greenfield": json.dumps(greenfield_on)})
    return tuple(evaluate(ROOT, config, tuned=tuned))


def _shape(records: tuple[ResourceRecord, ...]) -> list[tuple[object, ...]]:
    """What was registered, in URN order (registration order depends on when outputs resolve)."""
    return sorted((r.urn, r.type, r.parent, json.dumps(r.inputs, sort_keys=True), sorted(r.dependencies), r.protect,
             r.retain_on_delete, r.ignore_changes, r.replace_on_changes, r.source) for r in records)


def test_stack_setting_switches_greenfield() -> None:
    with_aliases = _records("dev", True, False)
    without = _records("dev", True, True)
    assert sum(len(r.aliases) for r in with_aliases) > 500
    assert all(not r.aliases for r in without)
    assert _shape(with_aliases) == _shape(without)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_tuned_evaluation_registers_exactly_what_the_sdk_runner_does(stack: str) -> None:
    tuned, sdk = _records(stack, True), _records(stack, False)
    assert _shape(tuned) == _shape(sdk)
    assert sorted((r.urn, r.aliases, json.dumps(r.outputs, sort_keys=True)) for r in tuned) == sorted(
        (r.urn, r.aliases, json.dumps(r.outputs, sort_keys=True)) for r in sdk)


def _answers(fast: bool, parallel: bool) -> list[tuple[str, ...]]:
    found = tuple(evaluate(ROOT, insecure_prod_config()))
    results = run_packs(found, "prod", policies_dir=ROOT / "policies", as_of=TODAY.isoformat(), stack="prod",
                        project=PROJECT, fast=fast, parallel=parallel)
    return sorted((v.pack, v.policy, v.level, v.severity, v.urn, v.message, str(v.could_not_run))
                  for r in results for v in r.violations)


def test_fast_parallel_packs_answer_exactly_as_pulumi_policys_own_servicer() -> None:
    reference = _answers(fast=False, parallel=False)
    assert any(level == "mandatory" for _, _, level, *_ in reference)
    assert _answers(fast=True, parallel=True) == reference


@pytest.mark.parametrize(("value", "ids"), [
    ("/Subscriptions/S/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/blobServices/default/",
     ["/subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st/blobservices/default",
      "/subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st/blobservices",
      "/subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st",
      "/subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts",
      "/subscriptions/s/resourcegroups/rg/providers/microsoft.storage",
      "/subscriptions/s/resourcegroups/rg/providers", "/subscriptions/s/resourcegroups/rg",
      "/subscriptions/s/resourcegroups", "/subscriptions/s", "/subscriptions"]),
    ("plain", ["plain"]),
])
def test_reference_index_covers_an_id_and_everything_above_it(value: str, ids: list[str]) -> None:
    assert _id_and_parents(value) == ids


def test_benchmark_generates_valid_stacks_of_n_teams(tmp_path: object) -> None:
    from pathlib import Path

    from components.config import parse_config
    from preflight.bench import make_project

    project = Path(str(tmp_path))
    stack = make_project(project, 7, greenfield=True)
    assert stack == "prod-teams7"
    config = load_stack_config(project, stack)
    parsed = parse_config(config.values, stack=stack, secret_keys=config.secret_keys, today=TODAY)
    assert [t.name for t in parsed.teams] == [f"team-{i:03d}" for i in range(7)]
    assert parsed.environment == "prod" and parsed.greenfield
    assert make_project(project, 7, greenfield=False) == "prod-teams7-aliases"


@pytest.mark.parametrize(("args", "message"), [
    (["--modes", "fast"], "unknown mode fast; use before, greenfield, runner, servicer, after"),
    (["--teams", "ten"], "--teams 'ten': use comma-separated whole numbers"),
])
def test_benchmark_refuses_bad_arguments(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from preflight.bench import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def _state(records: tuple[ResourceRecord, ...], replace: dict[str, str] | None = None,
           extra: tuple[str, ...] = ()) -> dict[str, object]:
    """A `pulumi stack export` document holding ``records`` (URN -> other URN through ``replace``)."""
    resources: list[dict[str, object]] = [{"urn": "urn:pulumi:dev::mlops-platform::pulumi:pulumi:Stack::x",
                                           "type": "pulumi:pulumi:Stack", "custom": False}]
    for r in records:
        urn = (replace or {}).get(r.urn, r.urn)
        resources.append({"urn": urn, "type": urn.split("::")[2].rsplit("$", 1)[-1], "custom": r.custom})
    resources += [{"urn": u, "type": u.split("::")[2].rsplit("$", 1)[-1], "custom": True} for u in extra]
    return {"version": 3, "deployment": {"manifest": {}, "resources": resources}}


def test_greenfield_check_finds_resources_known_only_through_type_aliases() -> None:
    from preflight.greenfield_check import check

    records = _records("dev", True, False)
    storage = next(r for r in records if r.type == "azure-native:storage:StorageAccount")
    old_token = "azure-native:storage/v20210201:StorageAccount"
    assert f"type={old_token}" in storage.aliases
    old_urn = storage.urn.replace("azure-native:storage:StorageAccount", old_token)
    gone = "urn:pulumi:dev::mlops-platform::azure-native:storage:StorageAccount::forgotten"

    clean = check(records, _state(records)["deployment"]["resources"])  # type: ignore[index]
    assert clean.safe and not clean.unknown
    assert len(clean.current) == sum(r.type.startswith("azure-native:") for r in records)

    legacy = check(records, _state(records, {storage.urn: old_urn}, (gone,))["deployment"]["resources"])  # type: ignore[index]
    assert not legacy.safe
    assert legacy.via_alias == ((old_urn, storage.urn),)
    assert legacy.unknown == (gone,)
    assert "UNSAFE: 1 are known to the program only through azure-native's type aliases" in legacy.render()


def test_greenfield_check_from_the_command_line(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    records = _records("dev", True, False)
    storage = next(r for r in records if r.type == "azure-native:storage:StorageAccount")
    old = storage.urn.replace("azure-native:storage:StorageAccount", "azure-native:storage/v20210201:StorageAccount")
    for name, document, code, last in (
        ("clean.json", _state(records), 0, "SAFE: greenfield can be switched on for this stack."),
        ("legacy.json", _state(records, {storage.urn: old}), 1, "Leave greenfield off for this stack for now."),
    ):
        (tmp_path / name).write_text(json.dumps(document))
        result = preflight("dev", "--check-greenfield", str(tmp_path / name))
        assert result.returncode == code, result.stderr
        assert result.stdout.rstrip().endswith(last)
    (tmp_path / "bad.json").write_text(json.dumps({"resources": []}))
    bad = preflight("dev", "--check-greenfield", str(tmp_path / "bad.json"))
    assert bad.returncode == 2
    assert "is not a `pulumi stack export` file (no deployment.resources)" in bad.stderr
    foreign = _state(records)
    for resource in foreign["deployment"]["resources"]:  # type: ignore[index]
        resource["urn"] = resource["urn"].replace("urn:pulumi:dev::", "urn:pulumi:prod::")
    (tmp_path / "prod.json").write_text(json.dumps(foreign))
    other = preflight("dev", "--check-greenfield", str(tmp_path / "prod.json"))
    assert other.returncode == 2
    assert other.stderr == (f"preflight: {tmp_path / 'prod.json'} is an export of stack 'prod' of project "
                            "'mlops-platform', not of stack 'dev' of project 'mlops-platform'; export this stack with "
                            "`pulumi stack export -s dev --file state.json`\n")
