"""Run policy packs over an offline evaluation: recorded registrations become Analyze/AnalyzeStack requests.

Mirrors what the engine sends during ``pulumi preview --policy-pack``: each Azure resource's inputs go to
``Analyze`` with its options and (default) provider; the whole graph (outputs, parents, dependencies, property
dependencies) goes to ``AnalyzeStack`` once. Every pack is configured from the same file
``pulumi preview --policy-pack-config policies/<pack>/config/<environment>.json`` would read.

The packs run in parallel: each is its own process, started at once; the requests are built once (while the packs
start) and sent to every pack, each keeping a window of calls in flight.

What runs is what is published: each pack source folder under ``policies/`` is assembled (``policies.build``) into a
temporary folder that holds everything the pack needs, and the pack is started there, as the CLI starts a published
pack. A folder that cannot become a pack, a missing or unreadable environment config, a pack that does not start,
answer or finish in time, and a rule that fails are errors (:class:`~policies.harness.HarnessError`): the gate
never passes what it could not check.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.build import BuildError, build_pack, pack_folders
from policies.harness import (
    SEVERITY_NAMES,
    UNKNOWN,
    HarnessError,
    PolicyPackProcess,
    Resource,
    Violation,
    analyze_request,
    analyze_stack_request,
)
from policies.lib.packconfig import PackConfigError
from policies.lib.servicer import SERVICER_ENV
from policies.sdk_shapes import stack_view
from preflight.mocks import ResourceRecord

#: Report order of this repository's packs; other packs found under ``policies/`` follow alphabetically.
PACKS = ("security", "patching", "governance")

def discover_packs(policies_dir: Path) -> list[str]:
    """Every pack source folder of ``policies_dir`` (each sub-folder but the rule library), in report order. A folder
    there that is not a valid pack is an error when the packs are assembled, never a silent skip."""
    found = set(pack_folders(policies_dir)) if policies_dir.is_dir() else set()
    return [p for p in PACKS if p in found] + sorted(found - set(PACKS))


def as_of_overrides(pack: PolicyPackProcess, as_of: str) -> dict[str, dict[str, str]]:
    """Config overrides that make every policy of ``pack`` with an ``asOf`` setting measure against ``as_of``."""
    return {policy.name: {"asOf": as_of} for policy in pack.policies() if "asOf" in policy.properties}


@dataclass(frozen=True)
class Limits:
    """Time limits of the policy phase, in seconds."""

    start: float = 120.0
    """A pack prints its port, answers and is configured."""
    call: float = 300.0
    """One ``Analyze`` or ``AnalyzeStack`` call."""
    rule: float | None = 60.0
    """One rule on one resource (or on the stack); ``None`` leaves it to ``call``."""


def stack_properties(record: ResourceRecord) -> dict[str, Any]:
    """What the engine sends to ``AnalyzeStack`` for a resource: its outputs (``policies.sdk_shapes.stack_view``;
    the mocks' state holds the id of a resource that exists)."""
    if not record.custom:
        return dict(record.outputs or record.inputs)
    return stack_view(record.type, record.inputs, None if record.new else record.outputs, UNKNOWN)


def _resource(record: ResourceRecord, outputs: bool) -> Resource:
    package = record.type.split(":", 1)[0]
    provider = f"pulumi:providers:{package}" if record.custom else ""
    return Resource(
        type=record.type,
        name=record.name,
        properties=stack_properties(record) if outputs else record.inputs,
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
    peak_memory_mb: float = 0.0

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
            name=info.name, description=info.description, severity=SEVERITY_NAMES.get(info.severity, ""),
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


class PackRunner:
    """The packs of one preflight run: started with :meth:`start` (in the background, so they boot while the program
    is evaluated), then given the records with :meth:`analyze`. A context manager; closing stops every pack.

    Each pack is configured with ``policies/<pack>/config/<environment>.json`` (plus ``overrides``, keyed by policy
    name). ``parallel=False`` runs the packs one after the other with one call at a time, and ``fast=False`` makes
    the packs use pulumi-policy's own servicer: the benchmark's "before" numbers.
    """

    def __init__(self, environment: str, *, policies_dir: Path = Path("policies"), packs: Iterable[str] | None = None,
                 overrides: Mapping[str, Mapping[str, object]] | None = None, stack: str = "", project: str = "",
                 parallel: bool = True, fast: bool = True, as_of: str | None = None, limits: Limits = Limits()
                 ) -> None:
        self.environment = environment
        self.policies_dir = policies_dir
        self.folders = list(packs) if packs is not None else discover_packs(policies_dir)
        if not self.folders:
            raise HarnessError(f"no policy pack under {policies_dir}; the gate has nothing to check")
        self.overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        self.as_of = as_of
        self.limits = limits
        self.stack, self.project = stack or environment, project or "project"
        self.parallel, self.fast = parallel, fast
        self._assembled = Path(tempfile.mkdtemp(prefix="preflight-packs-"))
        self.pack_dirs: dict[str, Path] = {}
        for folder in self.folders:
            try:
                self.pack_dirs[folder] = build_pack(folder, self._assembled, policies_dir)
            except BaseException as error:
                shutil.rmtree(self._assembled, ignore_errors=True)
                if isinstance(error, BuildError):
                    raise HarnessError(f"policy pack {folder}: {error}") from None
                raise
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self.folders)))
        self._starting: list[Future[tuple[PolicyPackProcess, str, float]]] = []
        self._processes: list[PolicyPackProcess] = []

    def _config(self, pack: PolicyPackProcess, folder: str) -> str:
        """Configure ``pack`` from its environment's config file (the ``--policy-pack-config`` file), with the
        run's overrides and ``asOf`` date; return the file's path relative to the project."""
        config_file = self.policies_dir / folder / "config" / f"{self.environment}.json"
        mine = {name: dict(values) for name, values in self.overrides.items()}
        if self.as_of:
            for name, dated in as_of_overrides(pack, self.as_of).items():
                mine[name] = {**dated, **mine.get(name, {})}
        known = {p.name for p in pack.policies()}
        try:
            if not config_file.read_text(encoding="utf-8").strip():
                # The CLI would run an empty file on the policies' defaults; the gate never checks less than asked.
                raise PackConfigError("is empty; an environment config sets the enforcement levels, at least "
                                      '{"all": "mandatory"} or {"all": "advisory"}')
            pack.configure_file(config_file, overrides={k: v for k, v in mine.items() if k in known})
        except (OSError, UnicodeDecodeError) as error:
            raise HarnessError(f"policy pack {folder}: cannot read its config for {self.environment}, "
                               f"{self._shown(config_file)}: {getattr(error, 'strerror', None) or error}") from None
        except PackConfigError as error:
            raise HarnessError(f"policy pack {folder}: {self._shown(config_file)}: {error}") from None
        return self._shown(config_file)

    def _shown(self, path: Path) -> str:
        """``path`` relative to the project (``policies/security/config/prod.json``) where it lies inside it."""
        root = self.policies_dir.resolve().parent
        resolved = path.resolve()
        return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(path)

    def _start_one(self, folder: str) -> tuple[PolicyPackProcess, str, float]:
        began = time.perf_counter()
        pack = PolicyPackProcess(self.pack_dirs[folder], stack=self.stack, project=self.project,
                                 env={SERVICER_ENV: "upstream"} if not self.fast else {}, timeout=self.limits.start,
                                 call_timeout=self.limits.call, rule_timeout=self.limits.rule,
                                 started=self._processes.append)
        try:
            used = self._config(pack, folder)
        except BaseException:
            pack.close()
            raise
        return pack, used, time.perf_counter() - began

    def start(self) -> None:
        """Start every pack in the background (sequential runs start each pack when its turn comes)."""
        if self.parallel and not self._starting:
            self._starting = [self._pool.submit(self._start_one, f) for f in self.folders]

    def _started(self) -> list[tuple[PolicyPackProcess, str, float]]:
        wait(self._starting)
        failed = [f.exception() for f in self._starting if f.exception() is not None]
        if failed:
            self.close()
            raise failed[0]  # type: ignore[misc]
        return [f.result() for f in self._starting]

    def analyze(self, records: Sequence[ResourceRecord], progress: Callable[[str], None] | None = None
                ) -> list[PackResult]:
        custom = [r for r in records if r.custom]
        tracker = Progress(total=len(custom), report=progress)

        def build() -> tuple[list[Any], Any]:
            return ([analyze_request(_resource(r, outputs=False)) for r in custom],
                    analyze_stack_request([_resource(r, outputs=True) for r in records]))

        def analyze(folder: str, started: tuple[PolicyPackProcess, str, float], requests: Sequence[Any],
                    stack_request: Any) -> PackResult:
            pack, used, start_seconds = started
            with pack:
                began = time.perf_counter()
                policies = _policies(pack, folder)
                types = relevant_types(policies)
                if self.fast and types is not None:
                    # No rule of this pack looks at other types: the answers for them would be empty.
                    requests = [r for r in requests if r.type in types]
                violations = pack.analyze_all(requests, window=32 if self.parallel else 1,
                                              done=lambda n: tracker.update(pack.name, n))
                violations += pack.analyze_stack_request(stack_request)
                return PackResult(pack.name, folder, pack.version, used, policies, violations,
                                  start_seconds, time.perf_counter() - began, pack.peak_memory_mb())

        if not self.parallel:
            results = []
            for folder in self.folders:
                started = self._start_one(folder)
                requests, stack_request = build()
                results.append(analyze(folder, started, requests, stack_request))
            return results

        self.start()
        try:
            requests, stack_request = build()
        except BaseException:
            self.close()
            raise
        ready = self._started()
        analyses = [self._pool.submit(analyze, folder, s, requests, stack_request)
                    for folder, s in zip(self.folders, ready, strict=True)]
        return [f.result() for f in analyses]

    def close(self) -> None:
        """Stop every pack that was started (analyzed packs are already closed; closing twice is harmless)."""
        for future in self._starting:
            future.cancel()
        for process in list(self._processes):
            process.kill()  # a pack still starting would otherwise be waited for until --pack-timeout
        wait(self._starting)
        for future in self._starting:
            if not future.cancelled() and future.exception() is None:
                future.result()[0].close()
        self._pool.shutdown(wait=True)
        shutil.rmtree(self._assembled, ignore_errors=True)

    def __enter__(self) -> PackRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def run_packs(records: Sequence[ResourceRecord], environment: str, *, policies_dir: Path = Path("policies"),
              packs: Iterable[str] | None = None, overrides: Mapping[str, Mapping[str, object]] | None = None,
              stack: str = "", project: str = "", parallel: bool = True, fast: bool = True,
              as_of: str | None = None, progress: Callable[[str], None] | None = None) -> list[PackResult]:
    """Start the packs (see :class:`PackRunner`) and analyze ``records``."""
    with PackRunner(environment, policies_dir=policies_dir, packs=packs, overrides=overrides, stack=stack,
                    project=project, parallel=parallel, fast=fast, as_of=as_of) as runner:
        return runner.analyze(records, progress)
