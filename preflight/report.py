"""The preflight's result as data: resources, policy findings, timings and (in pull-request mode) the comparison with a
baseline report. Every output format is rendered from a :class:`Report`; the JSON format is :meth:`Report.to_json`
and reads back with :meth:`Report.from_json` (the baseline of a later run).

Nothing secret reaches a report: input values the program marked secret become ``[secret]``, and any text of such a
value found in a violation message is replaced the same way. Config values set with ``--secret`` are never decrypted
in the first place (``preflight.stack_config``).
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret

from policies.harness import Violation
from preflight.analysis import PackResult, PolicyMeta
from preflight.mocks import UNKNOWN, ResourceRecord, arm_id
from preflight.stack_config import SECRET_PLACEHOLDER

SCHEMA = "mlops-platform/preflight-report/v1"
EXIT_OK, EXIT_MANDATORY, EXIT_ERROR = 0, 1, 2
#: At most this many changed input paths are listed per resource.
MAX_CHANGED_KEYS = 25


class ReportError(Exception):
    """A report file (``--baseline``) that cannot be read."""


@dataclass(frozen=True)
class ResourceEntry:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    """Inputs as registered, secrets replaced by ``[secret]``."""
    azure_name: str = ""
    """The name the resource gets in Azure (from the mock provider's answer), "" for components."""
    dependencies: tuple[str, ...] = ()
    """URNs of the resources it depends on (explicitly or through its inputs)."""
    provider: str = ""
    """The provider it is registered with: an explicit provider reference, or the package's default provider and
    the SDK version it was registered with (``azure-native@3.29.0``)."""
    source: str = ""
    """``path:line`` (relative to the project) where the program constructed it, when known."""
    team: str = ""
    """The team it belongs to (from its ``team`` tag or its parent's), "" for shared resources."""
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()
    aliases: int = 0

    @property
    def label(self) -> str:
        return f"{self.name} ({self.type.rsplit(':', 1)[-1]})"


@dataclass(frozen=True)
class Finding:
    pack: str
    policy: str
    level: str
    """``mandatory`` (blocks), ``advisory``, or ``remediate``."""
    severity: str
    description: str
    message: str
    urn: str
    """The resource concerned, "" for a stack-wide finding."""
    could_not_run: bool = False
    state: str = ""
    """With a baseline: ``new`` or ``existing``; "" otherwise."""

    @property
    def fingerprint(self) -> str:
        """Stable identity across runs: pack, policy, resource and message."""
        return hashlib.sha256("\0".join((self.pack, self.policy, self.urn, self.message)).encode()).hexdigest()[:32]

    @property
    def blocking(self) -> bool:
        return self.level == "mandatory" and not self.could_not_run and self.state != "existing"


@dataclass(frozen=True)
class PackSummary:
    name: str
    folder: str
    version: str
    config_file: str
    policies: tuple[PolicyMeta, ...]
    start_seconds: float = 0.0
    analysis_seconds: float = 0.0
    peak_memory_mb: float = 0.0


@dataclass(frozen=True)
class ResourceChange:
    urn: str
    type: str
    keys: tuple[str, ...]
    """Changed input paths (``properties.scaleSettings.maxNodeCount``) and options (``(protect)``)."""


@dataclass(frozen=True)
class Comparison:
    """This run against a baseline report (the target branch)."""

    baseline: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[ResourceChange, ...] = ()
    fixed: tuple[Finding, ...] = ()
    """Findings of the baseline that this run no longer has."""


@dataclass(frozen=True)
class Timings:
    program_seconds: float = 0.0
    policy_seconds: float = 0.0
    total_seconds: float = 0.0


@dataclass(frozen=True)
class Report:
    project: str
    stack: str
    environment: str
    stack_file: str
    resources: tuple[ResourceEntry, ...]
    packs: tuple[PackSummary, ...] = ()
    findings: tuple[Finding, ...] = ()
    timings: Timings = field(default_factory=Timings)
    comparison: Comparison | None = None
    team_lines: dict[str, int] = field(default_factory=dict)
    """Team name -> line of its entry in the stack file (for locations)."""
    skipped_packs: tuple[str, ...] = ()
    """Packs found under ``policies/`` that this run left out (``--pack``): a partial run never passes."""
    unknowns: str = ""
    """Which resources were evaluated as not existing yet (``all``, ``added``, ``none``; "" in older reports)."""
    new_resources: int = 0
    """How many cloud resources were evaluated as new (ids and computed outputs unknown, as on a preview)."""
    schema: str = SCHEMA

    # -- derived -------------------------------------------------------------------------------------------------

    # Derived views are computed once per report (the renderers look resources up for every finding).

    @cached_property
    def azure_resources(self) -> list[ResourceEntry]:
        return [r for r in self.resources if r.custom]

    @cached_property
    def components(self) -> list[ResourceEntry]:
        return [r for r in self.resources if not r.custom]

    @cached_property
    def by_urn(self) -> dict[str, ResourceEntry]:
        return {r.urn: r for r in self.resources}

    @cached_property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def exit_code(self) -> int:
        """0 passed, 1 blocked; 2 when no pack ran (``--no-policies``) or some were left out (``--pack``) and nothing
        blocked: what was not checked never passes the gate."""
        if not self.packs:
            return EXIT_ERROR
        if self.blocking:
            return EXIT_MANDATORY
        return EXIT_ERROR if self.skipped_packs else EXIT_OK

    @property
    def policy_count(self) -> int:
        return sum(len(p.policies) for p in self.packs)

    def policy(self, pack: str, name: str) -> PolicyMeta | None:
        for summary in self.packs:
            if summary.name == pack:
                return next((p for p in summary.policies if p.name == name), None)
        return None

    def counts(self) -> Counter[tuple[str, str, str]]:
        """(pack, severity, level) -> number of findings (could-not-run ones excluded)."""
        return Counter((f.pack, f.severity, f.level) for f in self.findings if not f.could_not_run)

    # -- JSON ----------------------------------------------------------------------------------------------------

    def to_json(self) -> str:
        # Dataclasses become their fields as they are met; inputs are already JSON-safe, so nothing is copied
        # (``dataclasses.asdict`` deep-copies every value: seconds for a 100-team stack).
        return json.dumps(self, indent=1, sort_keys=True, default=_fields)

    @classmethod
    def from_json(cls, text: str) -> Report:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ReportError(f"not JSON: {error}") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise ReportError(f"not a preflight JSON report (schema {found!r}; expected {SCHEMA!r}); produce it with "
                              "`python -m preflight <stack> --format json`")
        return _load(cls, data)


def _fields(obj: Any) -> dict[str, Any]:
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in fields(obj)}
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _check(value: Any, hint: Any, path: str) -> Any:
    """``value`` (parsed JSON) as the type ``hint`` of a report field, or :class:`ReportError` naming the path."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _check(value, inner, path)
    if is_dataclass(hint):
        return _load(hint, value, path)
    if origin is tuple:
        if not isinstance(value, list):
            raise ReportError(f"{path}: expected a list, found {type(value).__name__}")
        return tuple(_check(item, args[0], f"{path}[{i}]") for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ReportError(f"{path}: expected an object, found {type(value).__name__}")
        return {k: _check(v, args[1], f"{path}.{k}") for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ReportError(f"{path}: expected {hint.__name__}, found {type(value).__name__}")
    return value


def _load(cls: Any, data: Any, path: str = "report") -> Any:
    """Rebuild the dataclass ``cls`` from the JSON form of its fields, checking every value's type."""
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected an object, found {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in fields(cls):
        if f.name in data:
            values[f.name] = _check(data[f.name], hints[f.name], f"{path}.{f.name}")
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ReportError(f"{path}: the field {f.name!r} is missing")
    return cls(**values)


# -- building a report ------------------------------------------------------------------------------------------------


def _redact(value: Any, secrets: set[str]) -> Any:
    if is_rpc_secret(value):
        inner = unwrap_rpc_secret(value)
        for leaf in _leaves(inner):
            if isinstance(leaf, str) and leaf and leaf != SECRET_PLACEHOLDER:
                secrets.add(leaf)
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secrets) for v in value]
    return value


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, SECRET_PLACEHOLDER)
    return text


def relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def _team_of(inputs: Mapping[str, Any]) -> str:
    tags = inputs.get("tags")
    return str(tags.get("team", "")) if isinstance(tags, dict) else ""


def _azure_name(record: ResourceRecord) -> str:
    """The name the resource has in Azure: its ``name`` output, or (not known on a preview) from its inputs."""
    if not record.custom:
        return ""
    name = record.outputs.get("name")
    if isinstance(name, str) and name and name != UNKNOWN:
        return name
    derived = arm_id(record.type, record.inputs, record.name)[1]
    return derived if UNKNOWN not in derived else ""


def entries(records: Sequence[ResourceRecord], project_dir: Path, secrets: set[str]) -> list[ResourceEntry]:
    """Report entries for the recorded resources (registration order: parents before children)."""
    teams: dict[str, str] = {}
    out = []
    for r in records:
        team = _team_of(r.inputs) or teams.get(r.parent, "")
        teams[r.urn] = team
        out.append(ResourceEntry(
            urn=r.urn, type=r.type, name=r.name, custom=r.custom, parent=r.parent,
            inputs=_redact(r.inputs, secrets),
            azure_name=_azure_name(r),
            dependencies=tuple(sorted(set(r.dependencies) | {u for deps in r.property_dependencies.values()
                                                             for u in deps})),
            provider=r.provider or (f"{r.type.split(':', 1)[0]}@{r.version}" if r.custom and r.version else ""),
            source=f"{relative(r.source[0], project_dir)}:{r.source[1]}" if r.source else "",
            team=team, protect=r.protect, retain_on_delete=r.retain_on_delete,
            delete_before_replace=r.delete_before_replace, ignore_changes=tuple(r.ignore_changes),
            replace_on_changes=tuple(r.replace_on_changes), aliases=len(r.aliases),
        ))
    return out


def findings(results: Sequence[PackResult], secrets: Iterable[str]) -> list[Finding]:
    """Findings from every pack, in pack order, mandatory ones first."""
    secrets = list(secrets)
    out = []
    for result in results:
        for v in sorted(result.violations, key=_violation_order):
            out.append(Finding(pack=v.pack, policy=v.policy, level=v.level, severity=v.severity,
                               description=_scrub(v.description, secrets), message=_scrub(v.message, secrets),
                               urn=v.urn, could_not_run=v.could_not_run))
    return out


_LEVEL_ORDER = {"mandatory": 0, "remediate": 1, "advisory": 2}
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "": 4}


def _violation_order(v: Violation) -> tuple[int, int, str, str]:
    return _LEVEL_ORDER.get(v.level, 3), _SEVERITY_ORDER.get(v.severity, 4), v.policy, v.urn


def finding_order(f: Finding) -> tuple[int, int, int, str, str]:
    return (not f.blocking, _LEVEL_ORDER.get(f.level, 3), _SEVERITY_ORDER.get(f.severity, 4), f.policy, f.urn)


# -- baseline --------------------------------------------------------------------------------------------------------


def _diff(before: Any, after: Any, path: str, out: list[str]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            _diff(before.get(key), after.get(key), f"{path}.{key}" if path else key, out)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            _diff(b, a, f"{path}[{i}]", out)
    elif before != after and UNKNOWN not in (before, after):
        # A value unknown in one evaluation (a resource new there, see --unknowns) is no change.
        out.append(path)


_OPTIONS = ("protect", "retain_on_delete", "delete_before_replace", "ignore_changes", "replace_on_changes")


def compare(current: Report, baseline: Report, baseline_name: str) -> Report:
    """``current`` with each finding marked new or existing, and the resources added, removed and changed."""
    if baseline.stack != current.stack or baseline.project != current.project:
        raise ReportError(f"the baseline is for {baseline.project}/{baseline.stack}, this run for "
                          f"{current.project}/{current.stack}; compare runs of the same stack")
    exact: Counter[tuple[str, str, str, str]] = Counter(
        (f.pack, f.policy, f.urn, f.message) for f in baseline.findings)
    loose: Counter[tuple[str, str, str]] = Counter((f.pack, f.policy, f.urn) for f in baseline.findings)
    marked = []
    unmatched: list[Finding] = []
    for f in current.findings:
        key = (f.pack, f.policy, f.urn, f.message)
        if exact[key] > 0:
            exact[key] -= 1
            loose[key[:3]] -= 1
            marked.append(replace(f, state="existing"))
        else:
            unmatched.append(f)
    for f in unmatched:
        # Same rule on the same resource with a different message (a value changed): still an existing finding.
        if loose[(f.pack, f.policy, f.urn)] > 0:
            loose[(f.pack, f.policy, f.urn)] -= 1
            marked.append(replace(f, state="existing"))
        else:
            marked.append(replace(f, state="new"))
    current_keys = Counter((f.pack, f.policy, f.urn) for f in current.findings)
    fixed = []
    for f in baseline.findings:
        triple = (f.pack, f.policy, f.urn)
        if current_keys[triple] > 0:
            current_keys[triple] -= 1
        else:
            fixed.append(replace(f, state=""))

    before = {r.urn: r for r in baseline.azure_resources}
    after = {r.urn: r for r in current.azure_resources}
    changed = []
    for urn in sorted(set(before) & set(after)):
        keys: list[str] = []
        _diff(before[urn].inputs, after[urn].inputs, "", keys)
        keys += [f"({option})" for option in _OPTIONS
                 if getattr(before[urn], option) != getattr(after[urn], option)]
        if keys:
            changed.append(ResourceChange(urn, after[urn].type, tuple(keys[:MAX_CHANGED_KEYS])
                                          + ((f"... {len(keys) - MAX_CHANGED_KEYS} more",)
                                             if len(keys) > MAX_CHANGED_KEYS else ())))
    comparison = Comparison(baseline=baseline_name, added=tuple(sorted(set(after) - set(before))),
                            removed=tuple(sorted(set(before) - set(after))), changed=tuple(changed),
                            fixed=tuple(fixed))
    order = {id(f): i for i, f in enumerate(marked)}
    return replace(current, findings=tuple(sorted(marked, key=lambda f: (finding_order(f), order[id(f)]))),
                 comparison=comparison)


def load_baseline(path: Path) -> Report:
    try:
        text = path.read_text()
    except OSError as error:
        raise ReportError(f"cannot read baseline {path}: {error.strerror or error}") from None
    try:
        return Report.from_json(text)
    except ReportError as error:
        raise ReportError(f"baseline {path}: {error}") from None


def team_lines(stack_file: Path, project: str) -> dict[str, int]:
    """Line (1-based) of each team's entry (``- name: <team>``) in the stack file, from the YAML node marks."""
    import yaml

    try:
        root = yaml.compose(stack_file.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    lines: dict[str, int] = {}
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        if key.value != "config" or not isinstance(value, yaml.MappingNode):
            continue
        for ckey, cvalue in value.value:
            if ckey.value in ("teams", f"{project}:teams") and isinstance(cvalue, yaml.SequenceNode):
                for item in cvalue.value:
                    if isinstance(item, yaml.MappingNode):
                        for ikey, ivalue in item.value:
                            if ikey.value == "name" and isinstance(ivalue, yaml.ScalarNode):
                                lines[ivalue.value] = item.start_mark.line + 1
    return lines
