"""Relations between resources for stack rules.

During a preview, ARM ids of new resources are unknown, but the engine always knows which resources an input came
from (dependencies and property dependencies). Stack rules therefore link resources through those, and fall back to
comparing ids where both are known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pulumi_policy import PolicyResource


def of_type(resources: Sequence[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def _ids(resource: PolicyResource) -> set[str]:
    value = resource.props.get("id") if hasattr(resource.props, "get") else None
    return {value.lower()} if isinstance(value, str) and value else set()


def _dependency_urns(source: PolicyResource, prop: str | None) -> set[str]:
    if prop is not None and prop in source.property_dependencies:
        return {d.urn for d in source.property_dependencies[prop]}
    return {d.urn for d in source.dependencies} | {d.urn for deps in source.property_dependencies.values()
                                                   for d in deps}


def _id_and_parents(value: str) -> list[str]:
    """``value`` (lower case) and every id above it: ``/a/b/c`` -> ``/a/b/c``, ``/a/b``, ``/a``."""
    lowered = value.lower().rstrip("/")
    out = [lowered]
    while "/" in lowered:
        lowered = lowered[:lowered.rindex("/")]
        if lowered:
            out.append(lowered)
    return out


class Links:
    """Which resources of a stack each resource refers to, with ids indexed once (stack rules stay linear in the
    size of the stack instead of comparing every pair)."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self._by_id: dict[str, str] = {}
        for resource in resources:
            for resource_id in _ids(resource):
                self._by_id.setdefault(resource_id, resource.urn)

    def targets(self, source: PolicyResource, values: Iterable[object] = (), prop: str | None = None) -> set[str]:
        """URNs of the resources ``source`` takes an input from, or whose id (or an id above it: one of ``values``
        may be ``<storage id>/blobServices/default``) is one of ``values``.

        With ``prop``, only that input counts when the engine reported its property dependencies (a diagnostic
        setting depends on Log Analytics through ``workspaceId``, which must not count as targeting it); otherwise
        any dependency does.
        """
        found = _dependency_urns(source, prop)
        for value in values:
            if isinstance(value, str):
                found.update(self._by_id[i] for i in _id_and_parents(value) if i in self._by_id)
        return found

    def referenced(self, sources: Iterable[PolicyResource],
                   values: Callable[[PolicyResource], Iterable[object]] = lambda _: (),
                   prop: str | None = None) -> set[str]:
        """URNs of every resource one of ``sources`` refers to."""
        found: set[str] = set()
        for source in sources:
            found |= self.targets(source, values(source), prop)
        return found



def label(resource: PolicyResource) -> str:
    return f"{resource.name} ({resource.resource_type.rsplit(':', 1)[-1]})"
