"""The offline plan: stack config read as the CLI reads it, and ``python -m preflight`` as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, TODAY, Run

from policies import governance, patching, security
from preflight.stack_config import SECRET_PLACEHOLDER, StackConfigError, load_stack_config


def run_preflight(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m preflight`` as a user runs it, as of the tests' fixed date (never the calendar)."""
    return subprocess.run([sys.executable, "-m", "preflight", *args, "--as-of", TODAY.isoformat()], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def make_project(tmp_path: Path, stack_config: dict[str, object], main: str | None = None, *,
                 stack: str = "dev", policies: bool = True) -> Path:
    """A copy of the project with its own stack file (and optionally its own program, and the policy packs)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "components", tmp_path / "components")
    if policies:
        (tmp_path / "policies").symlink_to(ROOT / "policies")
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": stack_config}))
    if main is not None:
        (tmp_path / "__main__.py").write_text(main)
    return tmp_path


def dev_config() -> dict[str, object]:
    return dict(yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"])


def test_stack_config_is_read_as_the_cli_passes_it(tmp_path: Path) -> None:
    config = dev_config()
    del config["mlops-platform:prefix"]                      # falls back to the Pulumi.yaml default
    config["log_retention_days"] = 45                        # un-namespaced: the project's namespace
    config["azure-native:clientSecret"] = {"secure": "v1:AAAAciphertext"}
    config["mlops-platform:network"] = {"isolation_mode": "AllowInternetOutbound",
                                        "private_endpoint_subnet_id": {"secure": "v1:BBBBcipher"}}
    loaded = load_stack_config(make_project(tmp_path, config), "dev")
    assert loaded.project == "mlops-platform"
    assert loaded.values["mlops-platform:prefix"] == "mlops"
    assert loaded.values["mlops-platform:log_retention_days"] == "45"
    assert loaded.values["azure-native:clientSecret"] == SECRET_PLACEHOLDER
    assert json.loads(loaded.values["mlops-platform:network"])["private_endpoint_subnet_id"] == SECRET_PLACEHOLDER
    assert loaded.secret_keys == {"azure-native:clientSecret", "mlops-platform:network"}
    assert json.loads(loaded.values["mlops-platform:teams"])[0]["name"] == "fraud-detection"
    assert "ciphertext" not in json.dumps(loaded.values) and "BBBB" not in json.dumps(loaded.values)


def test_unknown_stack_lists_the_stacks_there() -> None:
    with pytest.raises(StackConfigError, match=r"no stack file Pulumi.staging.yaml in .*; stacks here: dev, prod"):
        load_stack_config(ROOT, "staging")


def test_dev_plan_prints_the_component_tree_and_counts() -> None:
    result = run_preflight("dev", "--tree")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    rules = sum(len(rs.rules) for rs in (security.RULES, patching.RULES, governance.RULES))
    assert out.startswith(f"Preflight mlops-platform/dev (dev): 116 cloud resources in 10 components; 3 packs, {rules} "
                          "policies and the Azure REST API contract\n")
    assert "116 resources as on the first `pulumi preview` of this stack evaluated as new" in out
    assert out.rstrip().endswith("PASSED: no mandatory violation")
    assert "mlops:platform:Platform  platform  — 116 resources" in out
    assert "├─ mlops:ml:Workspace  churn  — 31 resources" in out
    assert "├─ mlops:ml:Workspace  fraud-detection  — 39 resources" in out
    assert "├─ mlops:apm:ServiceMonitoring  fraud-detection-apm  — 15 resources" in out
    assert "└─ mlops:serving:OnlineEndpoint  fraud-detection-score  — 12 resources" in out
    assert "azure-native:storage:StorageAccount  fraud-detection-st  (stmlopsfrauddetecdev" in out
    assert "(ci-alice-p7354)  [replace-on:properties,identity,tags]" in out
    assert "(cpu)  [replace-on:identity,description,disableLocalAuth,vmSize," in out
    assert "├─ mlops:loadtest:LoadTesting  platform-loadtest  — 5 resources" in out
    assert "  azure-native:authorization:RoleAssignment                  34" in out
    assert "  total                                                     126" in out


def test_prod_plan_shows_protection(preflight: Callable[..., Run]) -> None:
    result = preflight("prod", "--tree", "--no-policies")
    assert result.returncode == 2, result.stderr  # nothing was checked: never a pass
    assert result.stdout.startswith("Preflight mlops-platform/prod (prod): 154 cloud resources in 13 components")
    assert result.stdout.rstrip().endswith("NOT CHECKED: no policy pack ran (exit 2: this run cannot pass the gate)")
    assert result.stderr == "preflight: --no-policies: the program was evaluated but nothing was checked (exit 2)\n"
    # 34 characters would exceed the 33 Azure allows for a workspace name: shortened, with a digest.
    assert "(mlw-mlops-fraud-det-prod-weu-b051)  [protect, retain]" in result.stdout


def test_config_error_exits_2_with_the_key_and_no_traceback(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    config = dev_config()
    config["mlops-platform:teams"][0]["clusters"][0]["max_nodes"] = 0  # type: ignore[index]
    result = preflight("dev", "--dir", str(make_project(tmp_path, config)), "--pack", "governance")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "preflight: stack dev: invalid stack configuration:",
        "mlops-platform:teams[0].clusters[0].max_nodes: 0 is not allowed; use a whole number at least 1",
    ]


def test_plain_text_secret_is_refused_without_echoing_it(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    config = dev_config()
    config["azure-native:clientSecret"] = "hunter2-plain"
    result = preflight("dev", "--dir", str(make_project(tmp_path, config)), "--pack", "governance")
    assert result.returncode == 2
    assert "azure-native:clientSecret: looks like a secret but is set in plain text" in result.stderr
    assert "hunter2-plain" not in result.stderr + result.stdout


def test_secure_values_never_reach_the_output(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    config = dev_config()
    config["azure-native:clientSecret"] = {"secure": "v1:SECRETCIPHERTEXT"}
    config["mlops-platform:tags"]["owner"] = {"secure": "v1:OWNERCIPHERTEXT"}  # type: ignore[index]
    config["mlops-platform:alert_emails"] = ["ops@contoso.com"]
    project = make_project(tmp_path / "project", config, policies=True)
    out = tmp_path / "out"
    result = preflight("dev", "--dir", str(project), "--format", "all", "--output", str(out), "--progress",
                           "always")
    assert result.returncode == 0, result.stderr
    written = {p.name: p.read_text() for p in out.iterdir()}
    assert sorted(written) == ["preflight.json", "preflight.junit.xml", "preflight.md", "preflight.sarif",
                               "preflight.txt"]
    for text in [result.stdout, result.stderr, *written.values()]:
        assert "CIPHERTEXT" not in text
    # The owner tag reached the resources as the secret placeholder, never as a value.
    assert SECRET_PLACEHOLDER in written["preflight.json"]


def test_program_exception_reports_file_and_line(tmp_path: Path) -> None:
    main = "import pulumi\n\nraise ValueError('teams file is corrupt')\n"
    result = run_preflight("dev", "--dir", str(make_project(tmp_path, dev_config(), main=main)), "--pack", "governance")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "preflight: the program failed at __main__.py:3: ValueError: teams file is corrupt",
        "preflight: run with --debug for the traceback",
    ]
    debug = run_preflight("dev", "--debug", "--dir", str(tmp_path), "--pack", "governance")
    assert debug.returncode == 2 and "Traceback (most recent call last)" in debug.stderr


def test_a_project_without_policy_packs_is_not_passed(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    project = make_project(tmp_path, dev_config(), policies=False)
    result = preflight("dev", "--dir", str(project))
    assert result.returncode == 2
    assert result.stderr == (f"preflight: no policy pack under {project / 'policies'}; add the packs "
                             "(docs/policy-packs.md)\n")
    plan_only = preflight("dev", "--dir", str(project), "--no-policies")
    assert plan_only.returncode == 2 and "NOT CHECKED: no policy pack ran" in plan_only.stdout


def test_missing_stack_file_exits_2(preflight: Callable[..., Run]) -> None:
    result = preflight("staging")
    assert result.returncode == 2
    assert result.stderr.startswith("preflight: no stack file Pulumi.staging.yaml")


def test_usage_error_exits_2() -> None:
    result = run_preflight()
    assert result.returncode == 2
    assert "usage: python -m preflight" in result.stderr


def insecure_prod_config() -> dict[str, object]:
    config = dict(yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"])
    network = config["mlops-platform:network"]
    config["mlops-platform:network"] = {"isolation_mode": "AllowInternetOutbound",
                                        "private_endpoint_subnet_id": network["private_endpoint_subnet_id"],  # type: ignore[index]
                                        "private_dns_zone_ids": network["private_dns_zone_ids"]}  # type: ignore[index]
    config["mlops-platform:locks"] = False
    return config


def test_mandatory_violations_exit_1_and_a_baseline_of_them_exits_0(tmp_path: Path,
                                                                   preflight: Callable[..., Run]) -> None:
    project = make_project(tmp_path / "project", insecure_prod_config(), stack="prod", policies=True)
    base = tmp_path / "base"
    first = preflight("prod", "--dir", str(project), "--format", "json,terminal", "--output", str(base))
    assert first.returncode == 1, first.stderr
    assert "BLOCKED: " in first.stdout and "mandatory violation" in first.stdout
    again = preflight("prod", "--dir", str(project), "--baseline", str(base / "preflight.json"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.rstrip().endswith("PASSED: no mandatory violation (none new)")
    assert "0 added, 0 removed, 0 changed resources" in again.stdout


def test_single_format_goes_to_stdout(preflight: Callable[..., Run]) -> None:
    result = preflight("dev", "--format", "sarif", "--pack", "governance")
    assert result.returncode == 2, result.stderr  # a partial run (--pack) never passes
    assert json.loads(result.stdout)["version"] == "2.1.0"


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "json,sarif"], "2 formats (json, sarif) need --output DIR; without it choose one"),
    (["--format", "yaml"], "--format 'yaml' is not a format; use terminal, markdown, sarif, junit, json or all"),
    (["--pack", "secrity"], "--pack 'secrity' is not a policy pack under"),
    (["--baseline", "/nonexistent/base.json"], "preflight: cannot read baseline /nonexistent/base.json"),
])
def test_bad_arguments_exit_2_with_a_message(args: list[str], message: str, preflight: Callable[..., Run]) -> None:
    result = preflight("dev", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_output_exits_2(tmp_path: Path, preflight: Callable[..., Run]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = preflight("dev", "--format", "json,sarif", "--output", str(blocker / "out"), "--progress", "always")
    assert result.returncode == 2
    # Found before the run: nothing was evaluated, no pack was started.
    assert result.stderr == f"preflight: --output {blocker / 'out'} is not a writable folder: Not a directory\n"
    assert result.stdout == ""


def test_progress_lines_on_request(preflight: Callable[..., Run]) -> None:
    result = preflight("dev", "--progress", "always", "--pack", "governance")
    assert result.returncode == 2, result.stderr  # a partial run (--pack) never passes
    assert "preflight: program: 126 resources registered in " in result.stderr
    quiet = preflight("dev", "--progress", "never", "--pack", "governance")
    assert quiet.stderr == ""
