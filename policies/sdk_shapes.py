"""What the installed azure-native Python SDK says about each resource type: its inputs and its outputs, by wire name.

The SDK is generated from the provider's schema, so it is the one place that knows, for every type and API version
the project can use, which inputs a resource takes (``tags`` among them, or not) and which properties its state
holds (the ARM response: path parameters such as ``resourceGroupName`` or a lock's ``scope`` are inputs but never
outputs). Two things are derived from it:

- ``policies/lib/taggable.py``: the types that take tags, for ``governance-tags-required`` (the packs run without
  the SDK, so they carry the list; ``python -m policies.sdk_shapes`` rewrites it, ``--check`` and the test suite
  fail when it is stale);
- the shape of a resource's outputs on a first preview and after ``up``, for the offline gate
  (:func:`stack_view`), which mirrors what the engine sends to ``AnalyzeStack``.

Each resource module is read as text (a regular expression over the generated code, about 1.5 s for all 2,300
types) rather than imported, which would load the whole package.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from policies.generated import ROOT, write_or_check
from policies.lib.types import canonical

TARGET = ROOT / "policies" / "lib" / "taggable.py"

_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(azure-native:[^']+)'")
_RESOURCE_CLASS = re.compile(r"^class \w+\(pulumi\.CustomResource\):", re.M)
_GETTER = re.compile(r'@pulumi\.getter(?:\(name="(\w+)"\))?\n\s+def (\w+)\(self\)')


@dataclass(frozen=True)
class Shape:
    """One azure-native resource type as its SDK module declares it."""

    token: str
    inputs: frozenset[str]
    """Wire (camelCase) names of the inputs."""
    outputs: frozenset[str]
    """Wire names of the properties of the resource's state (the ARM response), without ``id``."""

    @property
    def taggable(self) -> bool:
        return "tags" in self.inputs


def sdk_root() -> Path:
    """The installed ``pulumi_azure_native`` package folder."""
    spec = importlib.util.find_spec("pulumi_azure_native")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pulumi-azure-native is not installed; run make venv")
    return Path(next(iter(spec.submodule_search_locations)))


def parse_module(text: str) -> Shape | None:
    """The shape declared by one generated resource module; ``None`` for modules that declare no resource."""
    token = _TOKEN.search(text)
    split = _RESOURCE_CLASS.search(text)
    if token is None or split is None:
        return None
    names = [(m.start(), m.group(1) or m.group(2)) for m in _GETTER.finditer(text)]
    inputs = frozenset(name for at, name in names if at < split.start())
    outputs = frozenset(name for at, name in names if at > split.start())
    return Shape(token.group(1), inputs, outputs)


def scan(root: Path | None = None) -> dict[str, Shape]:
    """Every resource type of the SDK under ``root`` (default: the installed one), by type token."""
    shapes: dict[str, Shape] = {}
    for path in sorted((root or sdk_root()).glob("*/*.py")):
        if path.name.startswith(("_", "get_", "list_")) or path.name == "outputs.py":
            continue
        shape = parse_module(path.read_text(encoding="utf-8"))
        if shape is not None:
            shapes[shape.token] = shape
    return shapes


def _module_file(token: str) -> Path | None:
    """The SDK file of ``token``: ``azure-native:storage:StorageAccount`` is ``storage/storage_account.py``."""
    parts = token.split(":")
    if len(parts) != 3 or parts[0] != "azure-native":
        return None
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", parts[2]).lower()
    return sdk_root() / parts[1] / f"{snake}.py"


@cache
def shape_of(token: str) -> Shape | None:
    """The shape of one (canonical) azure-native type from the installed SDK; ``None`` when it has none."""
    path = _module_file(token)
    if path is not None and path.is_file():
        shape = parse_module(path.read_text(encoding="utf-8"))
        if shape is not None and shape.token == token:
            return shape
    return scan().get(token)


def stack_view(token: str, inputs: Mapping[str, Any], state: Mapping[str, Any] | None, unknown: Any
               ) -> dict[str, Any]:
    """The properties the engine sends to ``AnalyzeStack`` for a resource: its outputs.

    ``state`` is the provider's answer after ``up`` (``None`` for a resource that does not exist yet). For an
    azure-native type (any API version), as the provider computes it (pulumi-azure-native
    ``provider/pkg/convert/previewOutputs.go``), each output is the input of the same name when there is one; on a
    preview, every other output is ``unknown``, ``id`` included; after ``up``, it is the state's value. Inputs that
    are not outputs (path parameters) are left out. Other types (the SDK does not declare them) keep their inputs,
    with the state after ``up`` and an unknown ``id`` before.
    """
    shape = shape_of(canonical(token))
    if shape is None:
        return {**inputs, **(state if state is not None else {"id": unknown})}
    view: dict[str, Any] = {}
    for name in sorted(shape.outputs | {"id"}):
        if name in inputs:
            view[name] = inputs[name]
        elif state is None:
            view[name] = unknown
        elif name in state:
            view[name] = state[name]
    return view


def render_taggable(shapes: Mapping[str, Shape], version: str) -> str:
    by_module: dict[str, list[str]] = {}
    for token, shape in shapes.items():
        if shape.taggable:
            _, module, name = token.split(":")
            by_module.setdefault(module, []).append(name)
    lines = [
        f'"""azure-native resource types that take tags, from pulumi-azure-native {version}.',
        "",
        "Generated by ``python -m policies.sdk_shapes`` from the SDK's resource modules; do not edit by hand.",
        '"""',
        "",
        f'SDK_VERSION = "{version}"',
        "",
        "_BY_MODULE: dict[str, tuple[str, ...]] = {",
    ]
    for module in sorted(by_module):
        names = sorted(by_module[module])
        lines.append(f'    "{module}": (')
        row = "       "
        for name in names:
            item = f' "{name}",'
            if len(row) + len(item) > 120:
                lines.append(row)
                row = "       "
            row += item
        lines += [row, "    ),"]
    lines += [
        "}",
        "",
        "#: Canonical type tokens (``azure-native:<module>:<Type>``) whose resources take a ``tags`` input.",
        'TAGGABLE: frozenset[str] = frozenset(f"azure-native:{module}:{name}" for module, names in _BY_MODULE.items()',
        "                                     for name in names)",
        "",
    ]
    return "\n".join(lines)


def installed_version() -> str:
    from importlib.metadata import version

    return version("pulumi_azure_native")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policies.sdk_shapes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if policies/lib/taggable.py is out of date")
    args = parser.parse_args(argv)
    return write_or_check(TARGET, render_taggable(scan(), installed_version()), "python -m policies.sdk_shapes",
                          args.check)


if __name__ == "__main__":
    sys.exit(main())
