"""Each assembled policy pack stands on its own: copied to an empty folder, with only its own requirements installed
into a fresh virtualenv, started as the CLI starts it, it answers exactly as the pack the gate runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT, ROOT, TODAY, insecure_prod_config

from components.config import evaluation_date
from policies.build import PACKAGE, pack_folders
from policies.harness import PolicyPackProcess, Violation
from policies.lib.manifest import read_manifest
from preflight.analysis import analyze_records, as_of_overrides, run_packs
from preflight.mocks import ResourceRecord
from preflight.program import evaluate

UV = Path(sys.executable).parent / "uv"


def fresh_virtualenv(pack: Path) -> Path:
    """``<pack>/venv`` with nothing but the pack's ``requirements.txt`` (uv, for speed; the CLI uses pip)."""
    venv = pack / "venv"
    # The caller's environment (index, proxy and certificate settings), without its Python paths.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")} | {"VIRTUAL_ENV": str(venv)}
    subprocess.run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env,
                   timeout=300)
    subprocess.run([str(UV), "pip", "install", "--quiet", "-r", str(pack / "requirements.txt")], check=True, env=env,
                   timeout=600)
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def standalone(pack_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each assembled pack copied alone into an empty folder (symlinks followed, as publishing does), with a fresh
    virtualenv holding its requirements. Packs whose requirements files are identical share one such virtualenv
    (linked as their ``venv``): it holds exactly what each of them declares."""
    copies: dict[str, Path] = {}
    environments: dict[str, Path] = {}
    for name, folder in pack_dirs.items():
        copy = tmp_path_factory.mktemp(f"standalone-{name}") / name
        shutil.copytree(folder, copy, symlinks=False)
        requirements = (copy / "requirements.txt").read_text()
        if requirements in environments:
            (copy / "venv").symlink_to(environments[requirements], target_is_directory=True)
        else:
            fresh_virtualenv(copy)
            environments[requirements] = copy / "venv"
        copies[name] = copy
    return copies


@pytest.fixture(scope="module")
def records() -> list[ResourceRecord]:
    with evaluation_date(TODAY):
        return evaluate(ROOT, insecure_prod_config())


def _answers(violations: list[Violation]) -> list[tuple[str, str, str, str, str]]:
    return sorted((v.pack, v.policy, v.level, v.urn, v.message) for v in violations)


def test_every_source_folder_is_assembled() -> None:
    assert pack_folders() == ["governance", "patching", "security"]


def test_an_assembled_pack_holds_nothing_from_the_repository(pack_dirs: dict[str, Path]) -> None:
    for name, folder in pack_dirs.items():
        files = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
        assert {"PulumiPolicy.yaml", "requirements.txt", "__main__.py", ".gitignore", "config/dev.json",
                "config/prod.json", f"{PACKAGE}/lib/rules.py", f"{PACKAGE}/{name}/__init__.py"} <= files
        for path in folder.rglob("*.py"):
            text = path.read_text()
            assert "sys.path" not in text, path
            assert not re.search(r"^\s*(from|import) (components|policies|preflight)\b", text, re.M), path
        assert "virtualenv: venv" in (folder / "PulumiPolicy.yaml").read_text()


def test_the_fresh_virtualenv_has_only_the_pack_requirements(standalone: dict[str, Path]) -> None:
    python = standalone["security"] / "venv" / "bin" / "python"
    for module in ("components", "policies", "preflight", "pulumi_azure_native"):
        found = subprocess.run([str(python), "-c", f"import {module}"], cwd=standalone["security"].parent,
                               capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
        assert found.returncode != 0 and "ModuleNotFoundError" in found.stderr, module


@pytest.fixture(scope="module")
def in_gate(records: list[ResourceRecord]) -> dict[str, list[Violation]]:
    results = run_packs(records, "prod", policies_dir=ROOT / "policies", stack="prod", project=PROJECT,
                        as_of=TODAY.isoformat())
    return {r.folder: r.violations for r in results}


@pytest.mark.parametrize("name", ["security", "patching", "governance"])
def test_a_standalone_pack_answers_as_in_the_gate(standalone: dict[str, Path], records: list[ResourceRecord],
                                                  in_gate: dict[str, list[Violation]], name: str) -> None:
    copy = standalone[name]
    with PolicyPackProcess(copy, stack="prod", project=PROJECT, env={"PYTHONPATH": ""}) as pack:
        assert pack._process.args[0] == str(copy / "venv" / "bin" / "python")  # the pack's own interpreter
        pack.configure_file(copy / "config" / "prod.json", overrides=as_of_overrides(pack, TODAY.isoformat()))
        answers = analyze_records(pack, records)
        version = read_manifest(ROOT / "policies" / name).version
        assert pack.version == version
    assert answers, "the insecure stack must produce findings to compare"
    # One version everywhere: the manifest's, also in every diagnostic the pack sends.
    assert {v.version for v in answers} == {version}
    assert _answers(answers) == _answers(in_gate[name])
