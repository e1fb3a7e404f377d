"""Run policy packs over an offline evaluation: recorded registrations become Analyze/AnalyzeStack requests.

Mirrors what the engine sends during ``pulumi preview --policy-pack``: each Azure resource's inputs go to
``Analyze`` with its options and (default) provider; the whole graph (outputs, parents, dependencies, property
dependencies) goes to ``AnalyzeStack`` once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from policies.harness import PolicyPackProcess, Resource, Violation
from preflight.mocks import ResourceRecord

#: The packs of this repository, in the order their results are reported.
PACKS = ("security", "patching", "governance")


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
    violations = [v for r in records if r.custom for v in pack.analyze(_resource(r, outputs=False))]
    violations += pack.analyze_stack([_resource(r, outputs=True) for r in records])
    return violations


@dataclass(frozen=True)
class PackResult:
    pack: str
    violations: list[Violation]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]


def run_packs(records: Sequence[ResourceRecord], environment: str, *, policies_dir: Path = Path("policies"),
              packs: Iterable[str] = PACKS, overrides: dict[str, dict[str, object]] | None = None,
              stack: str = "", project: str = "") -> list[PackResult]:
    """Start each pack, configure it with ``policies/<pack>/config/<environment>.json`` (plus ``overrides``, keyed
    by policy name), and analyze ``records``."""
    results = []
    for name in packs:
        with PolicyPackProcess(policies_dir / name, stack=stack or environment, project=project or "project") as pack:
            config_file = policies_dir / name / "config" / f"{environment}.json"
            known = {p.name for p in pack.policies()}
            mine = {policy: values for policy, values in (overrides or {}).items() if policy in known}
            if config_file.is_file():
                pack.configure_file(config_file, overrides=mine)
            elif mine:
                pack.configure(mine)
            results.append(PackResult(pack.name, analyze_records(pack, records)))
    return results
