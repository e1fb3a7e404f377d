"""Azure role assignment conditions (Azure ABAC) that constrain a delegate's own role assignments.

A User Access Administrator or Role Based Access Control Administrator assignment can carry a condition that limits
which roles the delegate may assign and remove. Microsoft documents the shape ("Examples to delegate Azure role
assignment management with conditions", https://learn.microsoft.com/azure/role-based-access-control/
delegate-role-assignments-examples): one block per action, joined by AND, each block
``(!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (<expression>)``, where the expression
constrains ``@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId]`` for ``write`` and
``@Resource[...]`` for ``delete`` with ``ForAnyOfAnyValues:GuidEquals {...}`` (only these roles) or
``ForAnyOfAllValues:GuidNotEquals {...}`` (any role but these), optionally AND-ed with more limits (principal types,
principals).

:func:`delegation_limits` reads exactly that shape: a condition that adds an OR inside an expression, leaves out an
action, or constrains something else is not a limit on the roles the delegate can assign, and is reported as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ACTION = re.compile(r"^!\s*\(\s*ActionMatches\s*\{\s*'Microsoft\.Authorization/roleAssignments/(write|delete)'\s*\}"
                     r"\s*\)$", re.I)
_ROLES = re.compile(r"^@(Request|Resource)\s*\[\s*Microsoft\.Authorization/roleAssignments:RoleDefinitionId\s*\]\s*"
                    r"(ForAnyOfAnyValues:GuidEquals|ForAnyOfAllValues:GuidNotEquals)\s*\{([^{}]*)\}$", re.I)
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
#: The attribute source each action's expression must read (the request for a new assignment, the existing one
#: for a removal).
_SOURCE = {"write": "request", "delete": "resource"}


@dataclass(frozen=True)
class RoleLimit:
    """Which roles the delegate may assign (``only``) or may assign all but (``except_``), for one action."""

    only: frozenset[str] | None = None
    except_: frozenset[str] | None = None

    def allows_any_of(self, roles: frozenset[str]) -> bool:
        """Whether the delegate could assign at least one of ``roles`` (role definition GUIDs, lower case)."""
        if self.only is not None:
            return bool(self.only & roles)
        return self.except_ is None or not roles <= self.except_


def _strip(text: str) -> str:
    """``text`` without whitespace at the ends and without parentheses that enclose all of it."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _top_level(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _top_level(text: str) -> bool:
    """Whether the parentheses in ``text`` balance without ever closing below depth zero."""
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _split(text: str, operator: str) -> list[str]:
    """``text`` split at ``operator`` (AND, OR) where it stands outside every parenthesis and brace."""
    depth_at, depth = [], 0
    for char in text:
        depth_at.append(depth)
        depth += 1 if char in "({" else -1 if char in ")}" else 0
    parts, start = [], 0
    for match in re.finditer(rf"\s+{operator}\s+", text, re.I):
        if depth_at[match.start()] == 0:
            parts.append(text[start:match.start()])
            start = match.end()
    parts.append(text[start:])
    return [_strip(part) for part in parts]


def delegation_limits(condition: str) -> dict[str, RoleLimit]:
    """The role limits ``condition`` puts on assigning (``write``) and removing (``delete``) role assignments; an
    action missing from the result is not limited by the condition."""
    limits: dict[str, RoleLimit] = {}
    for block in _split(_strip(condition), "AND"):
        branches = _split(block, "OR")
        if len(branches) != 2:
            continue
        action = _ACTION.match(branches[0])
        if action is None:
            continue
        name = action.group(1).lower()
        expression = branches[1]
        if len(_split(expression, "OR")) != 1:
            continue  # an OR in the expression lets some requests through on its other side
        for term in _split(expression, "AND"):
            roles = _ROLES.match(term)
            if roles is None or roles.group(1).lower() != _SOURCE[name]:
                continue
            guids = frozenset(g.lower() for g in _GUID.findall(roles.group(3)))
            limit = RoleLimit(only=guids) if "notequals" not in roles.group(2).lower() else RoleLimit(except_=guids)
            limits[name] = limit
    return limits
