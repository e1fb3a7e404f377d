"""The analyzer-protocol harness and the CLI-format pack configuration: start-up, config semantics as the Pulumi CLI
applies them, unknown and secret values, and errors."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct
from policy_cases import GOOD, good
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from policies.harness import (
    UNKNOWN,
    HarnessError,
    PolicyPackProcess,
    Resource,
    Secret,
    analyze_request,
    pack_python,
)
from policies.lib.manifest import read_manifest
from policies.lib.packconfig import PackConfigError, PolicyInfo, load_pack_config, parse_pack_config, reconcile
from policies.lib.servicer import LazyProps, struct_to_dict
from policies.lib.types import STORAGE_ACCOUNT

POLICIES = [
    PolicyInfo("a-rule", "advisory", {"minDays": {"type": "integer", "default": 7, "minimum": 1}}),
    PolicyInfo("b-rule", "mandatory", {}),
]


@pytest.fixture(scope="module")
def security(pack_dirs: dict[str, Path]) -> Iterator[PolicyPackProcess]:
    with PolicyPackProcess(pack_dirs["security"]) as pack:
        yield pack


def test_pack_starts_like_the_cli_and_describes_its_policies(security: PolicyPackProcess) -> None:
    assert security.port > 0
    assert security.name == "mlops-security"
    # The pack's one version is its manifest's, as the CLI reports it; GetPluginInfo answers pulumi-policy's own.
    assert security.version == read_manifest(Path("policies/security")).version == "0.2.0"
    assert security.plugin_version() != security.version
    info = {p.name: p for p in security.info.policies}
    rule = info["security-storage-https-only"]
    assert rule.remediation_steps.startswith("Set enableHttpsTrafficOnly")
    assert rule.url.startswith("https://")
    assert "checkov:CKV_AZURE_3" in rule.tags and rule.framework.reference == "DP-3"


def test_reconcile_applies_defaults_then_all_then_each_policy() -> None:
    config = reconcile(POLICIES, parse_pack_config({"all": "mandatory", "a-rule": {"minDays": 30}}))
    assert config["a-rule"].enforcement_level == "mandatory" and config["a-rule"].properties == {"minDays": 30}
    assert config["b-rule"].enforcement_level == "mandatory"
    config = reconcile(POLICIES, parse_pack_config({"all": "advisory", "b-rule": "disabled"}))
    assert (config["a-rule"].enforcement_level, config["b-rule"].enforcement_level) == ("advisory", "disabled")
    defaults = reconcile(POLICIES, {})
    assert defaults["a-rule"].properties == {"minDays": 7} and defaults["b-rule"].enforcement_level == "mandatory"


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ({"a-rule": "strict"}, "Value 'strict' for 'a-rule' is not a valid enforcement level; use one of advisory, "
                               "mandatory, remediate, disabled"),
        ({"a-rule": {"enforcementLevel": "loud"}}, "Value 'loud' for 'a-rule' is not a valid enforcement level"),
        ({"a-rule": 3}, "Value 3 for 'a-rule' is not a valid value; must be a string or object"),
    ],
)
def test_invalid_config_values_are_refused(given: dict[str, object], error: str) -> None:
    with pytest.raises(PackConfigError, match=error.replace("(", r"\(").replace(")", r"\)")):
        parse_pack_config(given)


def test_config_is_validated_against_each_policy_schema() -> None:
    with pytest.raises(PackConfigError) as caught:
        reconcile(POLICIES, parse_pack_config({"a-rule": {"minDays": 0, "maxDays": 3}}))
    assert sorted(str(caught.value).splitlines()) == [
        "a-rule: (root): Additional properties are not allowed ('maxDays' was unexpected)",
        "a-rule: minDays: 0 is less than the minimum of 1",
    ]


def test_unknown_policy_names_are_refused() -> None:
    with pytest.raises(PackConfigError, match="no policy named 'a-rul' in this pack"):
        reconcile(POLICIES, parse_pack_config({"a-rul": "mandatory"}))


def test_config_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    assert load_pack_config(empty) == {}
    broken = tmp_path / "broken.json"
    broken.write_text("{all: mandatory}")
    with pytest.raises(PackConfigError, match="not valid JSON"):
        load_pack_config(broken)
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(["mandatory"]))
    with pytest.raises(PackConfigError, match="expected a JSON object"):
        load_pack_config(listed)


def test_configure_changes_levels_and_settings_in_the_running_pack(security: PolicyPackProcess) -> None:
    storage = Resource(STORAGE_ACCOUNT, "st", {**good("storage").properties, "enableHttpsTrafficOnly": False,
                                                "sasPolicy": {"sasExpirationPeriod": "5.00:00:00",
                                                              "expirationAction": "Block"}})
    security.configure({"security-storage-https-only": "mandatory"})
    levels = {v.policy: v.level for v in security.analyze(storage)}
    assert levels == {"security-storage-https-only": "mandatory"}
    security.configure({"all": "disabled", "security-storage-sas-expiry-policy": {"enforcementLevel": "advisory",
                                                                                  "maxDays": 3}})
    assert [(v.policy, v.message) for v in security.analyze(storage)] == [
        ("security-storage-sas-expiry-policy",
         "sasPolicy.sasExpirationPeriod is 5.00:00:00; at most 3 days are allowed")]
    security.configure_file("policies/security/config/prod.json")
    assert {v.policy: v.level for v in security.analyze(storage)} == {"security-storage-https-only": "mandatory"}
    security.configure()


def test_file_overrides_merge_over_the_file_before_reconciliation(security: PolicyPackProcess) -> None:
    config = security.configure_file("policies/security/config/prod.json",
                                     overrides={"security-storage-sas-expiry-policy": {"maxDays": 3},
                                                "security-loganalytics-retention": {"minDays": 120}})
    assert config["security-storage-sas-expiry-policy"].enforcement_level == "mandatory"  # from the file's "all"
    assert config["security-storage-sas-expiry-policy"].properties == {"maxDays": 3, "expirationAction": "Block"}
    assert config["security-loganalytics-retention"].properties == {"minDays": 120}  # over the file's 90
    storage = Resource(STORAGE_ACCOUNT, "st", {**good("storage").properties,
                                                "sasPolicy": {"sasExpirationPeriod": "5.00:00:00",
                                                              "expirationAction": "Block"}})
    assert [(v.policy, v.level) for v in security.analyze(storage)] == [
        ("security-storage-sas-expiry-policy", "mandatory")]
    security.configure()


def test_unknown_values_are_reported_as_not_checked(security: PolicyPackProcess) -> None:
    storage = Resource(STORAGE_ACCOUNT, "st", {**good("storage").properties, "allowBlobPublicAccess": UNKNOWN})
    [violation] = [v for v in security.analyze(storage) if v.policy == "security-storage-no-public-blob-access"]
    assert violation.could_not_run and violation.level == "advisory"
    assert "can't run policy 'security-storage-no-public-blob-access'" in violation.message


def test_secret_values_reach_rules_unwrapped(security: PolicyPackProcess) -> None:
    storage = Resource(STORAGE_ACCOUNT, "st", {**good("storage").properties, "allowBlobPublicAccess": Secret(True)})
    assert [v.message for v in security.analyze(storage) if v.policy == "security-storage-no-public-blob-access"] \
        == ["allowBlobPublicAccess is not false"]


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=f"policy pack {tmp_path.name}: .*PulumiPolicy.yaml: missing"):
        PolicyPackProcess(tmp_path)
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 1.0.0\n")
    (tmp_path / "__main__.py").write_text("raise SystemExit('no rules here')\n")
    with pytest.raises(HarnessError, match="did not start: no rules here"):
        PolicyPackProcess(tmp_path, timeout=30)


def test_the_pack_virtualenv_is_resolved_like_the_cli(tmp_path: Path) -> None:
    (tmp_path / "PulumiPolicy.yaml").write_text("version: 1.0.0\nruntime:\n  name: python\n  options:\n"
                                                "    virtualenv: venv\n")
    assert pack_python(tmp_path) == sys.executable  # not created yet: the gate's own interpreter
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").write_text("")
    assert pack_python(tmp_path) == str(tmp_path / "venv" / "bin" / "python")


def _read_all(value: Any) -> Any:
    """Everything a rule can read from ``value``, reading each key and index (unknowns as their error message)."""
    if isinstance(value, Mapping):
        found: dict[str, Any] = {}
        for key in value:
            try:
                found[key] = _read_all(value[key])
            except UnknownValueError as error:
                found[key] = ("unknown", error.message)
        return found
    if isinstance(value, Sequence) and not isinstance(value, str):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(_read_all(value[index]))
            except UnknownValueError as error:
                items.append(("unknown", error.message))
        return items
    return value


def test_lazy_properties_read_exactly_as_pulumi_policy_hands_them_over() -> None:
    tricky = {"flag": UNKNOWN, "nested": {"list": [1, 2.5, UNKNOWN, {"deep": UNKNOWN}], "secret": Secret("s3cret")},
              "empty": {}, "none": None, "text": "x", "number": 3}
    resources = [good(kind) for kind in GOOD] + [Resource(STORAGE_ACCOUNT, "tricky", tricky)]
    for resource in resources:
        struct = analyze_request(resource).properties
        upstream = unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))
        lazy = LazyProps(struct)
        assert _read_all(lazy) == _read_all(upstream), resource.name
        assert set(lazy) == set(upstream) and len(lazy) == len(upstream)
        assert "missing" not in lazy and lazy.get("missing") is None and "missing" not in struct.fields
    assert _read_all(LazyProps(analyze_request(resources[-1]).properties))["nested"]["list"][2][0] == "unknown"
    with pytest.raises(UnknownValueError) as raised:
        LazyProps(analyze_request(resources[-1]).properties)["flag"]
    assert raised.value.message == "string value at .flag can't be known during preview"


def test_lazy_properties_refuse_what_json_cannot_carry() -> None:
    struct = Struct()
    struct.update({"size": math.inf})
    with pytest.raises(ValueError, match="not a JSON number"):
        LazyProps(struct)["size"]
    assert struct_to_dict(Struct()) == {}


@pytest.mark.parametrize("argv", [["--repeat", "0"], ["--teams", "0"]])
def test_pack_bench_refuses_counts_below_one(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from preflight import pack_bench

    with pytest.raises(SystemExit) as stopped:
        pack_bench.main(argv)
    assert stopped.value.code == 2
    assert "--repeat and --teams must be at least 1" in capsys.readouterr().err
