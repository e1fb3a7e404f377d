"""Is ``greenfield`` safe for a stack? Compare its deployed state (``pulumi stack export``) with the program.

``greenfield`` (``components/greenfield.py``) drops the type aliases azure-native adds to every resource. That is
safe exactly when no resource in the state is known to the program only through one of those aliases. This check
evaluates the program with ``greenfield`` off (so every alias is registered), computes the URN each type alias
stands for, and sorts the state's azure-native resources into three groups:

- registered under the URN the program uses today: unaffected by ``greenfield``;
- matched only through a type alias: ``greenfield`` would make the engine create a new resource and delete this one,
  so it is **unsafe** while any of these exist (one ``pulumi up`` without ``greenfield`` moves them to the current
  tokens);
- matched by nothing: the program no longer declares them, so ``pulumi up`` deletes them with or without
  ``greenfield`` (listed for information).

``python -m preflight <stack> --check-greenfield state.json`` runs it (exit 0 safe, 1 unsafe, 2 unreadable file).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from preflight.mocks import ResourceRecord


class StateError(Exception):
    """The export file cannot be read."""


@dataclass(frozen=True)
class GreenfieldCheck:
    current: tuple[str, ...]
    """State URNs the program registers as they are."""
    via_alias: tuple[tuple[str, str], ...]
    """(state URN, program URN) pairs linked only by an azure-native type alias."""
    unknown: tuple[str, ...]
    """State URNs of azure-native resources the program does not declare."""

    @property
    def safe(self) -> bool:
        return not self.via_alias

    def render(self) -> str:
        lines = [f"{len(self.current)} azure-native resources in the state have the type tokens the program uses."]
        if self.via_alias:
            lines.append(f"UNSAFE: {len(self.via_alias)} are known to the program only through azure-native's type "
                         "aliases; with greenfield on, `pulumi up` would replace them:")
            lines += [f"  {state}\n    -> {program}" for state, program in self.via_alias]
            lines.append("Run `pulumi up` once with greenfield off (the engine then records the current type "
                         "tokens), export the state again and re-check.")
        if self.unknown:
            lines.append(f"{len(self.unknown)} azure-native resources in the state are not declared by the program "
                         "(`pulumi up` deletes them, with or without greenfield):")
            lines += [f"  {urn}" for urn in self.unknown]
        lines.append("SAFE: greenfield can be switched on for this stack." if self.safe else
                     "Leave greenfield off for this stack for now.")
        return "\n".join(lines)


def load_state(path: Path, stack: str, project: str) -> list[dict[str, object]]:
    """The resources of a ``pulumi stack export`` file of ``project``'s ``stack``; an export of another stack or
    project is refused (comparing it would call a foreign stack safe or unsafe)."""
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise StateError(f"cannot read {path}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise StateError(f"{path} is not JSON: {error}") from None
    resources = document.get("deployment", {}).get("resources") if isinstance(document, dict) else None
    if not isinstance(resources, list):
        raise StateError(f"{path} is not a `pulumi stack export` file (no deployment.resources); create it with "
                         "`pulumi stack export -s <stack> --file state.json`")
    found = [r for r in resources if isinstance(r, dict)]
    expected = (stack.rsplit("/", 1)[-1], project)
    for resource in found:
        parts = str(resource.get("urn", "")).split("::")
        origin = (parts[0].removeprefix("urn:pulumi:"), parts[1]) if len(parts) >= 4 else None
        if origin != expected:
            shown = f"stack {origin[0]!r} of project {origin[1]!r}" if origin else f"an unreadable URN {parts[0]!r}"
            raise StateError(f"{path} is an export of {shown}, not of stack {expected[0]!r} of project "
                             f"{expected[1]!r}; export this stack with `pulumi stack export -s {expected[0]} "
                             "--file state.json`")
    return found


def _with_type(urn: str, token: str) -> str:
    """``urn`` with its own type (the last of the qualified type chain) replaced by ``token``."""
    prefix, qualified, name = urn.rsplit("::", 2)
    chain = qualified.split("$")
    return "::".join((prefix, "$".join([*chain[:-1], token]), name))


def check(records: Sequence[ResourceRecord], state: Sequence[dict[str, object]]) -> GreenfieldCheck:
    """Compare ``state`` with ``records`` (an evaluation with ``greenfield`` off, so aliases are present)."""
    registered = {r.urn for r in records}
    by_alias: dict[str, str] = {}
    for record in records:
        for alias in record.aliases:
            # azure-native's aliases are type-only specs: "type=<token>" with nothing else.
            if alias.startswith("type=azure-native:") and " " not in alias:
                by_alias[_with_type(record.urn, alias.removeprefix("type="))] = record.urn
    current, via_alias, unknown = [], [], []
    for resource in state:
        urn, token = str(resource.get("urn", "")), str(resource.get("type", ""))
        if not token.startswith("azure-native:"):
            continue
        if urn in registered:
            current.append(urn)
        elif urn in by_alias:
            via_alias.append((urn, by_alias[urn]))
        else:
            unknown.append(urn)
    return GreenfieldCheck(tuple(current), tuple(via_alias), tuple(unknown))
