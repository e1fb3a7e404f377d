"""Relations between resources for stack rules.

During a preview, ARM ids of new resources are unknown, but the engine always knows which resources an input came
from (dependencies and property dependencies). Stack rules therefore link resources through those, and fall back to
comparing ids where both are known.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pulumi_policy import PolicyResource


def of_type(resources: Sequence[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def _ids(resource: PolicyResource) -> set[str]:
    value = resource.props.get("id") if hasattr(resource.props, "get") else None
    return {value.lower()} if isinstance(value, str) and value else set()


def refers_to(source: PolicyResource, target: PolicyResource, values: Iterable[object] = (),
              prop: str | None = None) -> bool:
    """Whether ``source`` takes an input from ``target``, or one of ``values`` is ``target``'s id (or an id below
    it, such as ``<storage id>/blobServices/default``).

    With ``prop``, only that input counts when the engine reported its property dependencies (a diagnostic setting
    depends on Log Analytics through ``workspaceId``, which must not count as targeting it); otherwise any
    dependency does.
    """
    if prop is not None and prop in source.property_dependencies:
        if target in source.property_dependencies[prop]:
            return True
    elif target in source.dependencies or any(target in d for d in source.property_dependencies.values()):
        return True
    ids = _ids(target)
    return any(isinstance(v, str) and any(v.lower() == i or v.lower().startswith(i + "/") for i in ids)
               for v in values)


def label(resource: PolicyResource) -> str:
    return f"{resource.name} ({resource.resource_type.rsplit(':', 1)[-1]})"
