"""Reading resource inputs: nested lookups, ISO 8601 durations, versions, image references, package specs."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

__all__ = ["PackageSpec", "expect", "expect_one_of", "get", "image_parts", "normalise_name", "package_specs",
           "parse_iso_duration", "version_at_least"]

_MISSING = object()
#: The day-time subset of ISO 8601 durations Azure uses (``P1D``, ``PT30M``, ``P1DT2H``, ``PT0.5S``). The packs run
#: outside this repository, so they keep their own copy of the platform's parser
#: (``components.config_reader.parse_iso_duration``); a test holds the two to the same answers.
_ISO_DURATION = re.compile(
    r"^P(?!$)(?:(?P<days>\d+)D)?(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d{1,3})?)S)?)?$"
)


def parse_iso_duration(text: str) -> dt.timedelta | None:
    """``P1D``, ``PT30M``, ``P1DT2H``, ``PT0.5S`` as a ``timedelta``; ``None`` for anything else."""
    match = _ISO_DURATION.match(text)
    if match is None:
        return None
    return dt.timedelta(**{k: float(v) for k, v in match.groupdict().items() if v is not None})


def get(props: Any, path: str, default: Any = None) -> Any:
    """``props["a"]["b"][0]["c"]`` for ``path`` ``"a.b.0.c"``; ``default`` where any step is absent.

    Unknown values (during preview) still raise ``UnknownValueError`` from pulumi-policy's proxy, on purpose. Lists
    arrive as pulumi-policy's list proxies, which are sequences but not ``list``.
    """
    node: Any = props
    for key in path.split("."):
        if isinstance(node, Mapping):
            node = node.get(key, _MISSING)
        elif isinstance(node, Sequence) and not isinstance(node, str) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            node = _MISSING
        if node is _MISSING or node is None:
            return default
    return node


def managed_deployment(props: Any) -> bool:
    """Whether an Azure ML online deployment runs on managed compute (``properties.endpointComputeType``, Managed
    when unset; Kubernetes deployments are the other kind, and the managed-only rules leave them alone)."""
    return bool(get(props, "properties.endpointComputeType", "Managed") == "Managed")


def expect(props: Any, path: str, wanted: Any) -> Iterator[str]:
    """The finding when the input at ``path`` is not ``wanted``: what was found and what to set."""
    value = get(props, path)
    if value != wanted:
        yield f"{path} is {value!r}; set it to {wanted!r}"


def expect_one_of(props: Any, path: str, allowed: Sequence[str]) -> Iterator[str]:
    """The finding when the input at ``path`` is none of ``allowed``."""
    value = get(props, path)
    if value not in allowed:
        yield f"{path} is {value!r}; use one of {', '.join(allowed)}"


def version_at_least(version: str, minimum: str) -> bool | None:
    """Whether ``version`` >= ``minimum`` (PEP 440 comparison); ``None`` when either cannot be parsed."""
    try:
        return Version(str(version).lstrip("v")) >= Version(str(minimum).lstrip("v"))
    except InvalidVersion:
        return None


_IMAGE = re.compile(r"^(?P<repo>[^@]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


def image_parts(image: str) -> tuple[str, str | None, str | None]:
    """``(repository, tag, digest)`` of an image reference (a registry port is not mistaken for a tag)."""
    match = _IMAGE.match(image.strip())
    if match is None:
        return image, None, None
    repo, tag = match["repo"], match["tag"]
    if tag is not None and "/" in tag:  # "host:5000/repo" without a tag
        repo, tag = f"{repo}:{tag}", None
    return repo, tag, match["digest"]


@dataclass(frozen=True)
class PackageSpec:
    """One dependency of a conda environment file: conda (``numpy=1.26``) or pip (``torch==2.6.0``)."""

    name: str
    spec: str
    """The version constraint as written (empty when the dependency is not pinned at all)."""
    minimum: str | None
    """Lowest version the constraint admits, when it has one (``==``, ``>=``, ``~=``, conda ``=``)."""
    exact: bool
    """The constraint pins one version (``==1.2.3``, conda ``=1.2.3`` or ``1.2.3``)."""
    source: str
    """``conda`` or ``pip``."""


_CONDA = re.compile(r"^(?:[\w.-]+::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<spec>.*)$")


def normalise_name(name: str) -> str:
    """A package name in PEP 503 normal form (``Scikit_Learn`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _conda_spec(text: str) -> PackageSpec | None:
    match = _CONDA.match(text.strip())
    if match is None:
        return None
    name, spec = normalise_name(match["name"]), match["spec"].replace(" ", "")
    if not spec:
        return PackageSpec(name, "", None, False, "conda")
    if spec.startswith("=") and not spec.startswith("=="):
        version = spec.lstrip("=").split("=")[0].rstrip("*").rstrip(".")
        return PackageSpec(name, spec, version, not spec.endswith("*") and spec.count("=") >= 1, "conda")
    if re.match(r"^\d", spec):
        return PackageSpec(name, spec, spec.split("=")[0].rstrip("*").rstrip("."), "*" not in spec, "conda")
    return _pip_spec(f"{match['name']}{spec}", source="conda")


def _pip_spec(text: str, source: str = "pip") -> PackageSpec | None:
    try:
        requirement = Requirement(text.strip())
    except InvalidRequirement:
        return None
    minimum, exact = None, False
    for clause in requirement.specifier:
        if clause.operator in ("==", "==="):
            minimum, exact = clause.version.rstrip(".*"), not clause.version.endswith("*")
        elif clause.operator in (">=", "~=", ">") and minimum is None:
            minimum = clause.version
    return PackageSpec(normalise_name(requirement.name), str(requirement.specifier), minimum, exact, source)


def package_specs(conda_file: str) -> Iterator[PackageSpec]:
    """Every dependency of a conda environment file (YAML), including its ``pip:`` section.

    Raises ``ValueError`` when the text is not a conda environment file.
    """
    try:
        document = yaml.safe_load(conda_file)
    except yaml.YAMLError as error:
        raise ValueError(f"condaFile is not valid YAML: {error}") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("dependencies", []), list):
        raise ValueError("condaFile has no 'dependencies' list")
    for dependency in document.get("dependencies", []):
        if isinstance(dependency, str):
            if (spec := _conda_spec(dependency)) is not None:
                yield spec
        elif isinstance(dependency, Mapping):
            for line in dependency.get("pip", []) or []:
                text = str(line).strip()
                # "-r file" and "--index-url" lines name no package
                if text and not text.startswith("-") and (spec := _pip_spec(text)) is not None:
                    yield spec
