"""What ``pulumi up`` would create, from the recorded registrations: a component tree and counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from preflight.mocks import ResourceRecord


@dataclass(frozen=True)
class Plan:
    project: str
    stack: str
    records: tuple[ResourceRecord, ...]

    @property
    def components(self) -> list[ResourceRecord]:
        return [r for r in self.records if not r.custom]

    @property
    def azure_resources(self) -> list[ResourceRecord]:
        return [r for r in self.records if r.custom]

    def counts_by_type(self) -> Counter[str]:
        return Counter(r.type for r in self.records)

    @cached_property
    def children(self) -> dict[str, list[ResourceRecord]]:
        """Parent URN -> the records registered under it (built once per plan)."""
        tree: dict[str, list[ResourceRecord]] = {}
        for record in self.records:
            tree.setdefault(record.parent, []).append(record)
        return tree

    def descendants(self, urn: str) -> int:
        """Number of Azure resources below ``urn``."""
        tree = self.children
        count, stack = 0, [urn]
        while stack:
            for child in tree.get(stack.pop(), []):
                count += child.custom
                stack.append(child.urn)
        return count

    def render_tree(self) -> list[str]:
        """Component -> children, components first with their Azure resource counts."""
        tree = self.children
        urns = {r.urn for r in self.records}
        roots = [r for r in self.records if r.parent not in urns]
        lines: list[str] = []

        def walk(record: ResourceRecord, indent: str, last: bool, top: bool) -> None:
            branch = "" if top else ("└─ " if last else "├─ ")
            if record.custom:
                azure_name = record.outputs.get("name", "")
                label = f"{record.type}  {record.name}" + (f"  ({azure_name})" if azure_name else "")
                replace_on = ",".join(path.rsplit(".", 1)[-1] for path in record.replace_on_changes)
                flags = [f for f, on in (("protect", record.protect), ("retain", record.retain_on_delete),
                                         (f"replace-on:{replace_on}", bool(replace_on))) if on]
                if flags:
                    label += "  [" + ", ".join(flags) + "]"
            else:
                label = f"{record.type}  {record.name}  — {_count(self.descendants(record.urn))}"
            lines.append(f"{indent}{branch}{label}")
            kids = sorted(tree.get(record.urn, []), key=lambda r: (not r.custom, r.type, r.name))
            child_indent = indent if top else indent + ("   " if last else "│  ")
            for i, kid in enumerate(kids):
                walk(kid, child_indent, i == len(kids) - 1, False)

        for root in roots:
            walk(root, "", True, True)
        return lines

    def render(self) -> str:
        counts = self.counts_by_type()
        width = max((len(t) for t in counts), default=10)
        out = [
            f"Plan for {self.project}/{self.stack}: {len(self.azure_resources)} Azure resources in "
            f"{len(self.components)} components would be created",
            "",
            *self.render_tree(),
            "",
            "Resources by type:",
            *(f"  {t:<{width}}  {n:>4}" for t, n in sorted(counts.items())),
            f"  {'total':<{width}}  {len(self.records):>4}",
        ]
        return "\n".join(out)


def _count(n: int) -> str:
    return f"{n} resource{'s' if n != 1 else ''}"
