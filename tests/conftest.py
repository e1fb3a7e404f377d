"""Shared test fixtures.

The one Pulumi mocks class of the project is ``preflight.mocks.PlatformMocks``: it ships with the offline preflight,
which runs the program under the same mocks, so it cannot live only in the tests. It is imported here, and every
test reaches it through the fixtures below; no test defines mocks of its own.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import importlib
import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.config import evaluation_date
from policies.build import build_all
from preflight.mocks import SUBSCRIPTION_ID, TENANT_ID, PlatformMocks, ResourceRecord
from preflight.program import run_with_mocks
from preflight.stack_config import StackConfig, load_stack_config

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "mlops-platform"
#: Fixed "today" for config validation, so date rules do not drift with the calendar.
TODAY = dt.date(2026, 11, 21)

__all__ = ["PROJECT", "ROOT", "SUBSCRIPTION_ID", "TENANT_ID", "TODAY", "PlatformMocks", "Records",
           "insecure_prod_config"]


@pytest.fixture(autouse=True, scope="session")
def _pinned_date() -> Iterator[None]:
    """Every program evaluated in this process validates its dates as of ``TODAY``, never the calendar (runs of the
    command line pass ``--as-of``; policy runs pass ``as_of``)."""
    with evaluation_date(TODAY):
        yield


def insecure_prod_config() -> StackConfig:
    """The prod stack made insecure, so mandatory policies fire: internet outbound without rules, no locks, no HBI,
    and the first team's first cluster always on (2 nodes) with a 40-node ceiling."""
    config = load_stack_config(ROOT, "prod")
    network = json.loads(config.values[f"{PROJECT}:network"])
    network["isolation_mode"] = "AllowInternetOutbound"
    network.pop("outbound_rules")
    teams = json.loads(config.values[f"{PROJECT}:teams"])
    teams[0]["clusters"][0].update(min_nodes=2, max_nodes=40)
    return dataclasses.replace(config, values={**config.values, f"{PROJECT}:network": json.dumps(network),
                                               f"{PROJECT}:teams": json.dumps(teams),
                                               f"{PROJECT}:hbi_workspace": "false",
                                               f"{PROJECT}:locks": "false"})


@dataclass
class Records:
    """The resources one mocked run registered, with lookups for assertions."""

    items: list[ResourceRecord]

    def __iter__(self) -> Iterator[ResourceRecord]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def of_type(self, token: str) -> list[ResourceRecord]:
        return [r for r in self.items if r.type == token]

    def named(self, name: str) -> ResourceRecord:
        matches = [r for r in self.items if r.name == name]
        assert len(matches) == 1, f"expected one resource named {name!r}, found {len(matches)}"
        return matches[0]

    def by_urn(self) -> dict[str, ResourceRecord]:
        return {r.urn: r for r in self.items}

    def custom(self) -> list[ResourceRecord]:
        return [r for r in self.items if r.custom]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.items:
            counts[r.type] = counts.get(r.type, 0) + 1
        return counts


@pytest.fixture
def build() -> Callable[..., Records]:
    """Run a function that creates resources under the project's mocks; return what it registered."""

    def _build(program: Callable[[], object], stack: str = "dev", config: dict[str, str] | None = None,
               secret_keys: tuple[str, ...] = ()) -> Records:
        return Records(run_with_mocks(program, project=PROJECT, stack=stack, config=config,
                                      secret_keys=secret_keys))

    return _build


def stack_values(stack: str) -> dict[str, Any]:
    """The config of ``Pulumi.<stack>.yaml`` as the program receives it, with JSON values decoded."""
    config = load_stack_config(ROOT, stack)
    return {k: json.loads(v) if v[:1] in "[{" else v for k, v in config.values.items()}


def encode(values: dict[str, Any]) -> dict[str, str]:
    """Values back to the strings the CLI hands a program."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


@pytest.fixture
def dev_values() -> dict[str, Any]:
    return copy.deepcopy(stack_values("dev"))


@pytest.fixture
def prod_values() -> dict[str, Any]:
    return copy.deepcopy(stack_values("prod"))


@functools.cache
def _is_taggable(token: str) -> bool:
    package, module, name = token.split(":")
    if package != "azure-native":
        return False
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    return "tags" in inspect.signature(cls._internal_init).parameters


@pytest.fixture(scope="session")
def taggable() -> Callable[[str], bool]:
    """Whether an azure-native type accepts ``tags``, read from the SDK's own constructor signature."""
    return _is_taggable


@dataclass(frozen=True)
class Run:
    """One run of the command line: exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def preflight(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """``python -m preflight <args> --as-of TODAY`` in this process (imports stay warm: a fraction of a subprocess's
    cost). The tests that need the real process (exit through ``os._exit``, signals) start one instead."""
    from preflight.__main__ import main

    def _run(*args: str) -> Run:
        capsys.readouterr()
        try:
            code = main([*args, "--as-of", TODAY.isoformat()])
        except SystemExit as exit_:  # argparse's usage errors
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return _run


@pytest.fixture(scope="session")
def pack_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every pack assembled as it is published (``policies.build``), once per session: pack name -> folder."""
    return {folder.name: folder for folder in build_all(tmp_path_factory.mktemp("packs"))}


@pytest.fixture
def pulumi_mocks() -> PlatformMocks:
    """Install the project's mocks for a ``@pulumi.runtime.test`` function (outputs asserted with ``apply``)."""
    mocks = PlatformMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="dev", preview=False)
    return mocks


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> str:
    """Each committed stack in turn."""
    return str(request.param)
