"""Run policy packs over an offline evaluation: recorded registrations become Analyze/AnalyzeStack requests.

Mirrors what the engine sends during ``pulumi preview --policy-pack``: each Azure resource's inputs go to
``Analyze`` with its options and (default) provider; the whole graph (outputs, parents, dependencies, property
dependencies) goes to ``AnalyzeStack`` once. Every pack is configured from the same file
``pulumi preview --policy-pack-config policies/<pack>/config/<environment>.json`` would read.

The packs run in parallel: each is its own process, started at once; the requests are built once (while the packs
start) and sent to every pack, each keeping a window of calls in flight.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.harness import (
    PolicyPackProcess,
    Resource,
    Violation,
    analyze_request,
    analyze_stack_request,
)
from policies.lib.servicer import SERVICER_ENV
from preflight.mocks import ResourceRecord

#: Report order of this repository's packs; other packs found under ``policies/`` follow alphabetically.
PACKS = ("security", "patching", "governance")

_SEVERITY_NAMES = {0: "", 1: "low", 2: "medium", 3: "high", 4: "critical"}


def discover_packs(policies_dir: Path) -> list[str]:
    """Folders of ``policies_dir`` that are policy packs (hold a ``PulumiPolicy.yaml``), in report order."""
    found = {p.parent.name for p in policies_dir.glob("*/PulumiPolicy.yaml")}
    return [p for p in PACKS if p in found] + sorted(found - set(PACKS))


def _resource(record: ResourceRecord, outputs: bool) -> Resource:
    package = record.type.split(":", 1)[0]
    provider = f"pulumi:providers:{package}" if record.custom else ""
    return Resource(
        type=record.type,
        name=record.name,
        properties=(record.outputs or record.inputs) if outputs else record.inputs,
        urn=record.urn,
        parent=record.parent,
        dependencies=tuple(record.dependencies),
        property_dependencies=record.property_dependencies,
        protect=record.protect,
        ignore_changes=tuple(record.ignore_changes),
        delete_before_replace=record.delete_before_replace,
        provider_type=provider,
        provider_properties={"version": record.version} if provider and record.version else {},
    )


def analyze_records(pack: PolicyPackProcess, records: Sequence[ResourceRecord]) -> list[Violation]:
    """Every resource through ``Analyze``, then the whole stack through ``AnalyzeStack``."""
    violations = pack.analyze_all([analyze_request(_resource(r, outputs=False)) for r in records if r.custom])
    violations += pack.analyze_stack([_resource(r, outputs=True) for r in records])
    return violations


@dataclass(frozen=True)
class PolicyMeta:
    """What a pack says about one of its policies (``GetAnalyzerInfo``), with the level it was configured to."""

    name: str
    description: str
    severity: str
    level: str
    remediation: str
    url: str
    tags: tuple[str, ...]
    framework: str
    stack: bool
    resource_types: tuple[str, ...] | None
    """Types the rule applies to, when the pack's rules can be imported (``policies.<pack>.RULES``)."""


@dataclass(frozen=True)
class PackResult:
    pack: str
    """The pack's name (``mlops-security``)."""
    folder: str
    """Its folder under ``policies/`` (``security``)."""
    version: str
    config_file: str
    """The ``--policy-pack-config`` file used, relative to the project ("" when the pack ran with its defaults)."""
    policies: list[PolicyMeta]
    violations: list[Violation]
    start_seconds: float = 0.0
    analysis_seconds: float = 0.0

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]


def _rule_types(folder: str) -> tuple[Mapping[str, tuple[str, ...] | None], bool]:
    """Rule name -> resource types from the pack's importable rules, and whether they could be imported."""
    try:
        module = importlib.import_module(f"policies.{folder}")
    except ImportError:
        return {}, False
    rules = getattr(getattr(module, "RULES", None), "rules", None)
    if rules is None:
        return {}, False
    return {rule.name: rule.resource_types for rule in rules}, True


def _policies(pack: PolicyPackProcess, folder: str) -> list[PolicyMeta]:
    types, known = _rule_types(folder)
    metas = []
    for info in pack.info.policies:
        framework = ""
        if info.HasField("framework"):
            fw = info.framework
            framework = " ".join(part for part in (fw.name, fw.version, fw.reference) if part)
        configured = pack.config.get(info.name)
        metas.append(PolicyMeta(
            name=info.name, description=info.description, severity=_SEVERITY_NAMES.get(info.severity, ""),
            level=configured.enforcement_level if configured else "advisory",
            remediation=info.remediation_steps, url=info.url, tags=tuple(info.tags), framework=framework,
            stack=known and info.name in types and types[info.name] is None,
            resource_types=types.get(info.name) if known else None,
        ))
    return metas


def relevant_types(policies: Sequence[PolicyMeta]) -> set[str] | None:
    """The resource types a pack's resource rules look at; None when any type (or unknown for some rule)."""
    types: set[str] = set()
    for policy in policies:
        if policy.stack or policy.level == "disabled":
            continue
        if policy.resource_types is None or "*" in policy.resource_types:
            return None
        types.update(policy.resource_types)
    return types


@dataclass
class Progress:
    """Thread-safe progress of the policy phase: resources analyzed per pack."""

    total: int
    report: Callable[[str], None] | None = None
    done: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, pack: str, count: int) -> None:
        if self.report is None:
            return
        with self._lock:
            self.done[pack] = count
            parts = ", ".join(f"{name} {n}/{self.total}" for name, n in self.done.items())
            self.report(f"policies: {parts}")


def run_packs(records: Sequence[ResourceRecord], environment: str, *, policies_dir: Path = Path("policies"),
              packs: Iterable[str] | None = None, overrides: dict[str, dict[str, object]] | None = None,
              stack: str = "", project: str = "", parallel: bool = True, fast: bool = True,
              progress: Callable[[str], None] | None = None) -> list[PackResult]:
    """Start each pack, configure it with ``policies/<pack>/config/<environment>.json`` (plus ``overrides``, keyed
    by policy name), and analyze ``records``.

    ``parallel=False`` runs the packs one after the other with one call at a time, and ``fast=False`` makes the packs
    use pulumi-policy's own servicer: the benchmark's "before" numbers.
    """
    folders = list(packs) if packs is not None else discover_packs(policies_dir)
    env = {SERVICER_ENV: "upstream"} if not fast else {}
    root = policies_dir.resolve().parent

    def start(folder: str) -> tuple[PolicyPackProcess, str, float]:
        began = time.perf_counter()
        pack = PolicyPackProcess(policies_dir / folder, stack=stack or environment, project=project or "project",
                                 env=env)
        try:
            config_file = policies_dir / folder / "config" / f"{environment}.json"
            known = {p.name for p in pack.policies()}
            mine = {policy: values for policy, values in (overrides or {}).items() if policy in known}
            used = ""
            if config_file.is_file():
                pack.configure_file(config_file, overrides=mine)
                used = str(config_file.resolve().relative_to(root)) if config_file.resolve().is_relative_to(root) \
                    else str(config_file)
            elif mine:
                pack.configure(mine)
        except BaseException:
            pack.close()
            raise
        return pack, used, time.perf_counter() - began

    custom = [r for r in records if r.custom]
    tracker = Progress(total=len(custom), report=progress)

    def analyze(folder: str, started: tuple[PolicyPackProcess, str, float], requests: Sequence[Any],
                stack_request: Any) -> PackResult:
        pack, used, start_seconds = started
        with pack:
            began = time.perf_counter()
            policies = _policies(pack, folder)
            types = relevant_types(policies)
            if fast and types is not None:
                # No rule of this pack looks at other types: the answers for them would be empty.
                requests = [r for r in requests if r.type in types]
            violations = pack.analyze_all(requests, window=32 if parallel else 1,
                                          done=lambda n: tracker.update(pack.name, n))
            violations += pack.analyze_stack_request(stack_request)
            return PackResult(pack.name, folder, pack.version, used, policies, violations,
                              start_seconds, time.perf_counter() - began)

    def build() -> tuple[list[Any], Any]:
        return ([analyze_request(_resource(r, outputs=False)) for r in custom],
                analyze_stack_request([_resource(r, outputs=True) for r in records]))

    if not parallel:
        results = []
        for folder in folders:
            started = start(folder)
            requests, stack_request = build()
            results.append(analyze(folder, started, requests, stack_request))
        return results

    with ThreadPoolExecutor(max_workers=max(1, len(folders))) as pool:
        starting: list[Future[tuple[PolicyPackProcess, str, float]]] = [pool.submit(start, f) for f in folders]
        try:
            requests, stack_request = build()
        finally:
            wait(starting)
            failed = [f.exception() for f in starting if f.exception() is not None]
            if failed or sys.exc_info()[0] is not None:
                for f in starting:
                    if f.exception() is None:
                        f.result()[0].close()
        if failed:
            raise failed[0]  # type: ignore[misc]
        ready = [f.result() for f in starting]
        analyses = [pool.submit(analyze, folder, s, requests, stack_request)
                    for folder, s in zip(folders, ready, strict=True)]
        return [f.result() for f in analyses]
