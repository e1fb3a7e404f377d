"""Relations between resources for stack rules, as the engine describes a stack on a first preview and after ``up``.

``AnalyzeStack`` receives each resource's *outputs* (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``,
``AnalyzeResources``). For azure-native those are the shape of the ARM response: during a preview of a new resource,
the inputs that are also response properties and every other response property unknown, ``id`` and ``name`` among
them (pulumi-azure-native ``provider/pkg/convert/previewOutputs.go``); after ``up``, the response. Inputs that are
only URL path parameters (``resourceGroupName``, ``workspaceName``, ``computeName``, a diagnostic setting's
``resourceUri``, a lock's ``scope``) are never outputs, in either case.

So stack rules link resources through the graph the engine always sends, known or not: dependencies and property
dependencies (which input came from which resource). Where ids are known, they also link by id: a value equal to a
resource's id, or an extension resource whose own id starts with it (a lock's id is ``<scope>/providers/
Microsoft.Authorization/locks/<name>``). Reading a value that is unknown through :func:`peek` returns
:data:`UNKNOWN` instead of raising, for rules where "set to something not yet known" is an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

from .props import get
from .types import canonical


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown until the resource exists>"

    def __bool__(self) -> bool:
        return False


#: What :func:`peek` returns for a value the engine marked unknown (falsy, so ``peek(...) or default`` works).
UNKNOWN: Final = _Unknown()


def peek(props: Any, path: str, default: Any = None) -> Any:
    """``get(props, path, default)``, with :data:`UNKNOWN` for a value unknown during preview instead of raising."""
    try:
        return get(props, path, default)
    except UnknownValueError:
        return UNKNOWN


def is_set(props: Any, path: str) -> bool:
    """Whether the value at ``path`` is given: truthy, or unknown (computed from a resource not created yet)."""
    value = peek(props, path)
    return value is UNKNOWN or bool(value)


def peek_items(props: Any, path: str) -> list[Any]:
    """The items of the list at ``path`` (empty when absent or unknown), each item :data:`UNKNOWN` where unknown."""
    value = peek(props, path)
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [peek(value, str(index)) for index in range(len(value))]


def known_str(value: Any) -> str | None:
    """``value`` when it is a non-empty string known now; ``None`` otherwise."""
    return value if isinstance(value, str) and value else None


def of_type(resources: Sequence[PolicyResource], *types: str) -> list[PolicyResource]:
    """The resources of ``types`` (any API version of an azure-native type counts, see :func:`canonical`)."""
    wanted = set(types)
    return [r for r in resources if canonical(r.resource_type) in wanted]


def _dependency_urns(source: PolicyResource, prop: str | None, fallback: bool = True) -> set[str]:
    if prop is not None and (prop in source.property_dependencies or not fallback):
        return {d.urn for d in source.property_dependencies.get(prop, [])}
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
    """Which resources of a stack each resource refers to, with the known ids indexed once (stack rules stay linear
    in the size of the stack instead of comparing every pair)."""

    _last: tuple[Sequence[PolicyResource], Links] | None = None

    @classmethod
    def of(cls, resources: Sequence[PolicyResource]) -> Links:
        """The index of ``resources``, built once for every stack rule of a request: the pack's servicer hands the
        same list to each of them (any other list gets its own index)."""
        last = cls._last
        if last is not None and last[0] is resources:
            return last[1]
        links = cls(resources)
        cls._last = (resources, links)
        return links

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self._by_id: dict[str, set[str]] = {}
        for resource in resources:
            resource_id = known_str(peek(resource.props, "id"))
            if resource_id:
                self._by_id.setdefault(resource_id.lower().rstrip("/"), set()).add(resource.urn)

    def _nearest(self, value: object) -> set[str]:
        """The resources whose known id is ``value``, or else the nearest id above it: ``<storage id>/blobServices/
        default`` is the blob service when the stack has it with a known id, otherwise the storage account."""
        text = known_str(value)
        if text is None:
            return set()
        for candidate in _id_and_parents(text):
            if candidate in self._by_id:
                return set(self._by_id[candidate])
        return set()

    def named(self, value: object) -> set[str]:
        """URNs of the resources whose known id is ``value`` (or the nearest id above it); none when unknown."""
        return self._nearest(value)

    def targets(self, source: PolicyResource, values: Iterable[object] = (), prop: str | None = None,
                own_id: bool = False, fallback: bool = True) -> set[str]:
        """URNs of the resources ``source`` takes an input from, or that one of ``values`` (ids, known or not)
        names.

        With ``prop``, only that input counts when the engine reported its property dependencies (a diagnostic
        setting depends on Log Analytics through ``workspaceId``, which must not count as targeting it); otherwise
        any dependency does, unless ``fallback`` is false (then only that input's dependencies count). With
        ``own_id``, ``source`` is an extension resource and the scope in its own known id counts too (a diagnostic
        setting's id is ``<resource id>/providers/Microsoft.Insights/diagnosticSettings/<name>``).
        """
        found = _dependency_urns(source, prop, fallback)
        for value in values:
            found |= self._nearest(value)
        if own_id:
            own = known_str(peek(source.props, "id"))
            cut = own.lower().rfind("/providers/") if own else -1
            if own and cut > 0:
                found |= self._nearest(own[:cut])
        return found

    def containers(self, resource: PolicyResource) -> set[str]:
        """URNs of the resources ``resource`` lives in: its resource group (through the ``resourceGroupName`` input,
        known or not) and every resource above its known id. A lock on a container protects what it contains."""
        found = {d.urn for d in resource.property_dependencies.get("resourceGroupName", [])}
        own = known_str(peek(resource.props, "id"))
        if own:
            for candidate in _id_and_parents(own)[1:]:
                found |= self._by_id.get(candidate, set())
        return found

    def referenced(self, sources: Iterable[PolicyResource],
                   values: Callable[[PolicyResource], Iterable[object]] = lambda _: (),
                   prop: str | None = None, own_id: bool = False) -> set[str]:
        """URNs of every resource one of ``sources`` refers to."""
        found: set[str] = set()
        for source in sources:
            found |= self.targets(source, values(source), prop, own_id)
        return found


def label(resource: PolicyResource) -> str:
    return f"{resource.name} ({resource.resource_type.rsplit(':', 1)[-1]})"
