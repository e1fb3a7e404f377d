"""Azure's REST API contract, checked offline: every Azure resource's inputs against the request body Azure accepts.

``pulumi preview`` catches some input errors only through the provider, and the gate runs where no provider exists.
This module rebuilds, for each recorded azure-native resource, the REST request the provider would send (URL path
parameters and body, undoing azure-native's flattening and renames) and validates it against the body types Azure
compiles from azure-rest-api-specs (Azure/bicep-types-az) for the API version the SDK uses: required and read-only
properties, closed and open enums, types, discriminators, patterns, lengths and ranges, and the resource name's own
pattern. The data lives in ``preflight/api_schema/contract.json`` (with its source commit and license), refreshed by
``python -m preflight.api_schema_refresh``.

Findings are reported like policy violations, by a check set named ``azure-api-contract``: what Azure refuses
(a missing required property, a wrong type, a value outside a closed enum, a pattern, length or range broken, an
unknown discriminator, an invalid name) is **mandatory**: the deployment would fail. What Azure ignores (a read-only
property, a property the API version does not have, which the provider drops) is advisory. Every message carries the
schema path in the REST body (``properties.managedNetwork.isolationMode``).

Leniencies that follow the provider: a missing resource name is auto-named, a missing ``location`` is taken from the
resource group, and a missing ``properties`` container is sent empty (its own required properties still count).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret

from policies.harness import UNKNOWN

CONTRACT_FILE = Path(__file__).resolve().parent / "api_schema" / "contract.json"
CHECKS = "azure-api-contract"
_REQUIRED, _READ_ONLY = 1, 2

#: Rule name -> (severity, level, description).
RULES: Mapping[str, tuple[str, str, str]] = {
    "api-contract-required": ("high", "mandatory", "Every property the API requires is set."),
    "api-contract-type": ("high", "mandatory", "Every value has the type the API expects."),
    "api-contract-enum": ("high", "mandatory", "Values of closed enums are among the values the API accepts."),
    "api-contract-discriminator": ("high", "mandatory", "Polymorphic objects name a kind the API knows."),
    "api-contract-pattern": ("high", "mandatory", "Strings match the pattern the API requires."),
    "api-contract-length": ("high", "mandatory", "Strings and lists keep to the lengths the API allows."),
    "api-contract-range": ("high", "mandatory", "Numbers keep to the range the API allows."),
    "api-contract-name": ("high", "mandatory", "Resource names follow the API's name rule."),
    "api-contract-read-only": ("low", "advisory", "No read-only property is set (Azure ignores it)."),
    "api-contract-unknown": ("low", "advisory",
                             "Every input is part of the API version the provider uses (others are dropped)."),
}


class ContractError(Exception):
    """The contract cannot be checked (data missing, unreadable, or for another API version): the gate stops."""


@dataclass(frozen=True)
class Problem:
    rule: str
    path: str
    """Where in the REST request: a body path (``properties.managedNetwork.isolationMode``) or ``{name}``."""
    message: str

    @property
    def level(self) -> str:
        return RULES[self.rule][1]


def _plain(value: Any) -> Any:
    if is_rpc_secret(value):
        return _plain(unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:60] + "…"


class Contract:
    """The contract data (``contract.json``) and the checks."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.types: list[dict[str, Any]] = list(document["types"])
        self.resources: Mapping[str, Any] = document["resources"]
        self.source: Mapping[str, Any] = document["source"]

    @classmethod
    @functools.cache
    def load(cls, path: Path = CONTRACT_FILE) -> Contract:
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ContractError(f"cannot read the Azure API contract {path}: {error}") from None
        if document.get("format") != "mlops-platform/azure-api-contract/1":
            raise ContractError(f"{path} is not an Azure API contract file; refresh it with "
                                "`python -m preflight.api_schema_refresh --repo <bicep-types-az>`")
        return cls(document)

    @property
    def version(self) -> str:
        return f"bicep-types-az@{str(self.source['commit'])[:12]}"

    def _node(self, ref: Mapping[str, str]) -> dict[str, Any]:
        return self.types[int(ref["$ref"][2:])]

    def entry(self, token: str, api_version: str | None) -> Mapping[str, Any]:
        """The contract of ``token``; raises :class:`ContractError` when it is missing or for another version."""
        entry = self.resources.get(token)
        if entry is None:
            raise ContractError(f"no Azure API contract for {token} (in {CONTRACT_FILE.name}); add it to "
                                "TARGETS in preflight/api_schema_refresh.py and refresh the file")
        if api_version is not None and api_version != entry["apiVersion"]:
            raise ContractError(f"{token}: the SDK uses API version {api_version}, the contract file has "
                                f"{entry['apiVersion']}; refresh it with `python -m preflight.api_schema_refresh`")
        return entry

    # -- the request ---------------------------------------------------------------------------------------------

    def request(self, token: str, inputs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[Problem]]:
        """(path parameters, body, problems found while placing the inputs) for ``inputs`` of ``token``."""
        entry = self.entry(token, None)
        problems: list[Problem] = []
        params: dict[str, Any] = {}
        body: dict[str, Any] = {}
        for name, value in _plain(dict(inputs)).items():
            spec = entry["inputs"].get(name)
            if spec is not None and spec.get("path"):
                params[name] = value
                if "wire" not in spec:
                    continue  # a URL parameter only; some are also a body property (WebTest's webTestName)
            self._place(body, name, value, spec, "", problems)
        return params, body, problems

    def _place(self, target: dict[str, Any], name: str, value: Any, spec: Mapping[str, Any] | None, where: str,
               problems: list[Problem]) -> None:
        if spec is None or spec.get("absent"):
            problems.append(Problem("api-contract-unknown", f"{where}{name}",
                                    f"{where}{name} is not part of this API version; the provider drops it"))
            return
        wire = list(spec["wire"])
        for step in wire[:-1]:
            target = target.setdefault(step, {})
        target[wire[-1]] = self._convert(value, spec, f"{where}{'.'.join(wire)}", problems)

    def _convert(self, value: Any, spec: Mapping[str, Any], where: str, problems: list[Problem]) -> Any:
        if value is None or value == UNKNOWN:
            return value
        if spec.get("stringSet") and isinstance(value, list):
            return {str(item): {} for item in value}
        if "items" in spec:
            if isinstance(value, list):
                return [self._convert(item, spec["items"], f"{where}[{i}]", problems) for i, item in enumerate(value)]
            if isinstance(value, dict):
                return {k: self._convert(item, spec["items"], f"{where}.{k}", problems) for k, item in value.items()}
            return value
        if "type" in spec and isinstance(value, dict):
            return self._object(value, spec["type"], where, problems)
        if "union" in spec and isinstance(value, dict):
            members: Mapping[str, Any] = spec["union"]
            kind = self._kind(value, members, spec["discriminator"])
            member = next((m for k, m in members.items() if k.lower() == str(kind).lower()), None)
            if member is None:  # an unknown kind: validation reports it, under its wire name
                renamed = {self._discriminator_input(members, spec["discriminator"]): spec["discriminator"]}
                return {renamed.get(k, k): v for k, v in value.items()}
            return self._object(value, member, where, problems)
        return value

    def _discriminator_input(self, members: Mapping[str, Any], discriminator: str) -> str:
        """The SDK's name of the discriminator (``odataType`` for the wire's ``odata.type``)."""
        for member in members.values():
            for sdk_name, spec in member.items():
                if spec.get("wire") == [discriminator]:
                    return str(sdk_name)
        return discriminator

    def _kind(self, value: Mapping[str, Any], members: Mapping[str, Any], discriminator: str) -> Any:
        return value.get(self._discriminator_input(members, discriminator), value.get(discriminator))

    def _object(self, value: Mapping[str, Any], mapping: Mapping[str, Any], where: str,
                problems: list[Problem]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, item in value.items():
            self._place(out, name, item, mapping.get(name), f"{where}.", problems)
        return out

    # -- validation ----------------------------------------------------------------------------------------------

    def check(self, token: str, inputs: Mapping[str, Any], api_version: str | None = None) -> list[Problem]:
        """Every problem of ``inputs`` (as the engine records them) against the contract of ``token`` (and, given
        ``api_version``, only if the contract is for that version)."""
        entry = self.entry(token, api_version)
        params, body, problems = self.request(token, inputs)
        resource = self.types[entry["resourceType"]]
        body_type = self._node(resource["body"])
        name_input = entry["nameParameter"]
        name = params.get(name_input, body.get("name"))
        if isinstance(name, str) and name != UNKNOWN and "name" in body_type.get("properties", {}):
            for problem in self._value(name, self._node(body_type["properties"]["name"]["type"]), name_input):
                problems.append(Problem("api-contract-name", f"{{{name_input}}}",
                                        f"the resource name: {problem.message}"))
        body.pop("name", None)
        problems += self._value(body, body_type, "", top=True)
        return problems

    def _value(self, value: Any, node: Mapping[str, Any], where: str, top: bool = False) -> list[Problem]:
        if value is None or value == UNKNOWN:
            return []
        kind = node["$type"]
        shown = where or "the body"
        if kind == "AnyType":
            return []
        if kind == "StringType":
            if not isinstance(value, str):
                return [Problem("api-contract-type", where, f"{shown} is {_show(value)}; the API expects a string")]
            return self._string(value, node, where)
        if kind == "StringLiteralType":
            if isinstance(value, str) and value.lower() == str(node["value"]).lower():
                return []
            return [Problem("api-contract-enum", where, f"{shown} is {_show(value)}; the API accepts "
                                                        f"{_show(node['value'])}")]
        if kind == "UnionType":
            return self._union(value, node, where)
        if kind == "IntegerType":  # swagger's integer and number alike (bicep types do not tell them apart)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return [Problem("api-contract-type", where, f"{shown} is {_show(value)}; the API expects a number")]
            low, high = node.get("minValue"), node.get("maxValue")
            if (low is not None and value < low) or (high is not None and value > high):
                return [Problem("api-contract-range", where,
                                f"{shown} is {_show(value)}; the API allows {low if low is not None else '...'} to "
                                f"{high if high is not None else '...'}")]
            return []
        if kind == "BooleanType":
            if not isinstance(value, bool):
                return [Problem("api-contract-type", where, f"{shown} is {_show(value)}; the API expects true or "
                                                            "false")]
            return []
        if kind == "ArrayType":
            if not isinstance(value, list):
                return [Problem("api-contract-type", where, f"{shown} is {_show(value)}; the API expects a list")]
            problems = self._length(len(value), node, where, "items")
            item = self._node(node["itemType"])
            for i, element in enumerate(value):
                problems += self._value(element, item, f"{where}[{i}]")
            return problems
        if kind in ("ObjectType", "DiscriminatedObjectType"):
            if not isinstance(value, dict):
                return [Problem("api-contract-type", where, f"{shown} is {_show(value)}; the API expects an object")]
            return self._object_value(value, node, where, top)
        return []

    def _string(self, value: str, node: Mapping[str, Any], where: str) -> list[Problem]:
        problems = self._length(len(value), node, where, "characters")
        pattern = node.get("pattern")
        # Unanchored as .NET and JSON schema match; Python's $ would also accept a trailing newline, the API's not.
        if pattern and (not re.search(pattern, value) or (value.endswith("\n") and pattern.endswith("$"))):
            problems.append(Problem("api-contract-pattern", where, f"{where or 'the value'} is {_show(value)}, which "
                                                                   f"does not match the API's pattern {pattern}"))
        return problems

    def _length(self, length: int, node: Mapping[str, Any], where: str, unit: str) -> list[Problem]:
        low, high = node.get("minLength"), node.get("maxLength")
        if (low is not None and length < low) or (high is not None and length > high):
            bounds = f"{low if low is not None else 0}-{high if high is not None else '...'}"
            return [Problem("api-contract-length", where, f"{where or 'the value'} has {length} {unit}; the API "
                                                          f"allows {bounds}")]
        return []

    def _union(self, value: Any, node: Mapping[str, Any], where: str) -> list[Problem]:
        elements = [self._node(e) for e in node["elements"]]
        literals = [str(e["value"]) for e in elements if e["$type"] == "StringLiteralType"]
        if isinstance(value, str):
            if any(value.lower() == literal.lower() for literal in literals):
                return []
            strings = [e for e in elements if e["$type"] == "StringType"]
            if strings:  # an open enum: any string the string type accepts
                return self._string(value, strings[0], where)
            if literals:
                return [Problem("api-contract-enum", where, f"{where} is {_show(value)}; the API accepts one of "
                                                            f"{', '.join(literals)}")]
        others = [e for e in elements if e["$type"] not in ("StringLiteralType", "StringType")]
        attempts = [self._value(value, e, where) for e in others]
        if any(not found for found in attempts):
            return []
        if attempts:
            return min(attempts, key=len)
        return [Problem("api-contract-type", where, f"{where} is {_show(value)}; the API expects one of "
                                                    f"{', '.join(literals) or 'another type'}")]

    def _object_value(self, value: Mapping[str, Any], node: Mapping[str, Any], where: str,
                      top: bool) -> list[Problem]:
        prefix = f"{where}." if where else ""
        if node["$type"] == "DiscriminatedObjectType":
            key = node["discriminator"]
            kind = value.get(key)
            elements = {str(k).lower(): k for k in node["elements"]}
            if kind is None:
                return [Problem("api-contract-discriminator", f"{prefix}{key}",
                                f"{prefix}{key} is missing; the API needs one of {', '.join(node['elements'])}")]
            if str(kind).lower() not in elements:
                return [Problem("api-contract-discriminator", f"{prefix}{key}",
                                f"{prefix}{key} is {_show(kind)}; the API knows {', '.join(node['elements'])}")]
            element = self._node(node["elements"][elements[str(kind).lower()]])
            properties = {**node.get("baseProperties", {}), **element.get("properties", {})}
            extra = element.get("additionalProperties")
        else:
            properties = dict(node.get("properties", {}))
            extra = node.get("additionalProperties")
        problems: list[Problem] = []
        for name, prop in properties.items():
            flags = prop["flags"]
            if value.get(name) is not None:
                continue
            if flags & _REQUIRED and not flags & _READ_ONLY and not (top and name in ("location", "name")):
                if top and name == "properties":
                    problems += self._value({}, self._node(prop["type"]), "properties")
                    continue
                problems.append(Problem("api-contract-required", f"{prefix}{name}",
                                        f"{prefix}{name} is required by the API and not set"))
        for name, item in value.items():
            prop = properties.get(name)
            if prop is None:
                if extra is not None:
                    problems += self._value(item, self._node(extra), f"{prefix}{name}")
                elif not (top and name in ("id", "type", "apiVersion")):
                    problems.append(Problem("api-contract-unknown", f"{prefix}{name}",
                                            f"{prefix}{name} is not part of this API version; Azure ignores it"))
                continue
            if prop["flags"] & _READ_ONLY and not prop["flags"] & _REQUIRED:
                if not (top and name in ("id", "type", "apiVersion")):
                    problems.append(Problem("api-contract-read-only", f"{prefix}{name}",
                                            f"{prefix}{name} is read-only; Azure ignores the value set"))
                continue
            problems += self._value(item, self._node(prop["type"]), f"{prefix}{name}")
        return problems


@functools.cache
def sdk_api_version(token: str) -> str | None:
    """The API version the installed SDK uses for ``token`` ("Uses Azure REST API version ..." in its class), or
    ``None`` when the SDK does not say."""
    import importlib
    import inspect

    _, module, name = token.split(":")
    try:
        cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
        match = re.search(r"Uses Azure REST API version (\S+?)\.", inspect.getsource(cls))
    except (ImportError, AttributeError, OSError, TypeError):
        return None
    return match.group(1) if match else None


def check_records(records: Iterable[Any], contract: Contract | None = None) -> list[tuple[str, Problem]]:
    """(URN, problem) for every azure-native resource of ``records`` (``preflight.mocks.ResourceRecord``). A type
    without contract data, or whose SDK API version differs from the data's, is a :class:`ContractError`."""
    contract = contract or Contract.load()
    found: list[tuple[str, Problem]] = []
    for record in records:
        if not record.custom or not record.type.startswith("azure-native:"):
            continue
        version = sdk_api_version(record.type)
        if version is None:
            raise ContractError(f"{record.type}: the installed SDK does not say which Azure API version it uses; the "
                                "contract cannot be matched to it")
        for problem in contract.check(record.type, record.inputs, version):
            found.append((record.urn, problem))
    return found


def resource_types(contract: Contract | None = None) -> Sequence[str]:
    return sorted((contract or Contract.load()).resources)


def pack_result(records: Sequence[Any], contract: Contract | None = None) -> Any:
    """The contract check of ``records`` as the result of a check set named ``azure-api-contract``, so that every
    report format shows its findings like a pack's (``preflight.analysis.PackResult``)."""
    import time

    from policies.harness import Violation
    from preflight.analysis import PackResult, PolicyMeta

    began = time.perf_counter()
    contract = contract or Contract.load()
    found = check_records(records, contract)
    types = tuple(resource_types(contract))
    url = "https://github.com/Azure/bicep-types-az"
    policies = [PolicyMeta(name=rule, description=description, severity=severity, level=level,
                           remediation="Set the inputs the way the Azure REST API for this API version accepts them; "
                                       "the message names the property in the request body.",
                           url=url, tags=("azure-rest-api",), framework="", stack=False, resource_types=types)
                for rule, (severity, level, description) in RULES.items()]
    violations = [Violation(pack=CHECKS, policy=problem.rule, level=problem.level, severity=RULES[problem.rule][0],
                            description=RULES[problem.rule][2], message=problem.message, urn=urn,
                            version=contract.version)
                  for urn, problem in found]
    return PackResult(CHECKS, "preflight/api_schema", contract.version, "preflight/api_schema/contract.json",
                      policies, violations, 0.0, time.perf_counter() - began, 0.0)
