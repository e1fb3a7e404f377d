"""Policy rule cases for Azure ML, monitoring (diagnostics, Application Insights, Log Analytics, alerts) and AKS.

Helpers and how cases run: ``policy_cases.py``.
"""

from __future__ import annotations

from typing import Any

from policy_cases import Case

#: Compliant resources of this area, by kind (added to ``policy_cases.GOOD``; each must pass every rule of every pack).
GOOD: dict[str, dict[str, Any]] = {}
#: Their Pulumi types (added to ``policy_cases.TYPES``).
TYPES: dict[str, str] = {}


def resource_cases() -> list[Case]:
    return []


def stack_cases() -> list[Case]:
    return []
