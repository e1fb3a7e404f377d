"""Policy pack configuration files (``--policy-pack-config``), read exactly as the Pulumi CLI reads them.

File format (JSON): a map from policy name, or ``all``, to either an enforcement level string or an object with an
optional ``enforcementLevel`` and the policy's config properties::

    {"all": "mandatory",
     "security-acr-quarantine-enabled": "advisory",
     "patching-mlinstance-recreated-recently": {"maxAgeDays": 30}}

Reconciliation follows the CLI (``pkg/resource/analyzer/config.go`` in pulumi/pulumi): start from every policy's
declared enforcement level and its schema ``default`` values; ``all`` sets the level of every policy; each policy's
own entry then overrides its level and merges its properties over the defaults; the result is validated against each
policy's JSON schema. One deliberate difference: the CLI silently passes on entries naming no policy of the pack,
where a typo then changes nothing; this reader refuses them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

LEVELS = ("advisory", "mandatory", "remediate", "disabled")


class PackConfigError(Exception):
    """A config file that the Pulumi CLI would refuse, with the CLI's reason."""


@dataclass(frozen=True)
class PolicyInfo:
    """What reconciliation needs to know of a policy (from ``GetAnalyzerInfo`` or the rule metadata)."""

    name: str
    enforcement_level: str
    properties: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyConfig:
    enforcement_level: str
    properties: dict[str, Any]


def parse_pack_config(data: Mapping[str, Any]) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """Entries of a config file as ``name -> (level or None, properties)``; raises ``PackConfigError``."""
    result: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for name, value in data.items():
        level: str | None = None
        properties: dict[str, Any] = {}
        if isinstance(value, str):
            if value not in LEVELS:
                raise PackConfigError(f"Value {value!r} for {name!r} is not a valid enforcement level; "
                                      f"use one of {', '.join(LEVELS)}")
            level = value
        elif isinstance(value, Mapping):
            properties = dict(value)
            if "enforcementLevel" in properties:
                given = properties.pop("enforcementLevel")
                if given not in LEVELS:
                    raise PackConfigError(f"Value {given!r} for {name!r} is not a valid enforcement level; "
                                          f"use one of {', '.join(LEVELS)}")
                level = given
        else:
            raise PackConfigError(f"Value {value!r} for {name!r} is not a valid value; must be a string or object")
        if level is not None or properties:
            result[name] = (level, properties)
    return result


def load_pack_config(path: Path) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """Read and parse a config file; an empty file means no configuration, as for the CLI."""
    text = path.read_text()
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PackConfigError(f"not valid JSON: {error}") from None
    if not isinstance(data, Mapping):
        raise PackConfigError("expected a JSON object mapping policy names to levels or settings")
    return parse_pack_config(data)


def reconcile(policies: Iterable[PolicyInfo], given: Mapping[str, tuple[str | None, dict[str, Any]]]
              ) -> dict[str, PolicyConfig]:
    """Defaults, then ``all``, then each policy's entry; validated against each policy's schema."""
    policies = list(policies)
    known = {p.name for p in policies} | {"all"}
    unknown = sorted(set(given) - known)
    if unknown:
        # The CLI ignores entries for policies the pack does not have; a typo then silently does nothing, so this
        # tool refuses them.
        raise PackConfigError(f"no policy named {', '.join(map(repr, unknown))} in this pack")
    all_level = given.get("all", (None, {}))[0]
    result: dict[str, PolicyConfig] = {}
    problems: list[str] = []
    for policy in policies:
        level = all_level or policy.enforcement_level
        properties = {k: v["default"] for k, v in policy.properties.items() if "default" in v}
        if policy.name in given:
            own_level, own_properties = given[policy.name]
            level = own_level or level
            properties.update(own_properties)
        schema = {"type": "object", "properties": dict(policy.properties), "additionalProperties": False}
        if policy.required:
            schema["required"] = list(policy.required)
        for error in sorted(jsonschema.Draft7Validator(schema).iter_errors(properties), key=str):
            where = ".".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{policy.name}: {where}: {error.message}")
        result[policy.name] = PolicyConfig(level, properties)
    if problems:
        raise PackConfigError("\n".join(problems))
    return result
