"""The rule model shared by the three packs, and its translation to pulumi-policy objects.

A rule is a small function plus a fixed metadata block: kebab-case name ``<area>-<resource>-<check>``, description,
severity, remediation steps, URL, framework references (Microsoft cloud security benchmark, CIS, Azure Policy) and the
anchor rule ids it corresponds to (Checkov, PSRule, Pulumi's packs, ADOScanner), and a config schema whose defaults
hold every threshold, list and version. ``RuleSet.resource`` and ``RuleSet.stack`` register rules with a decorator;
``RuleSet.policies()`` builds the ``ResourceValidationPolicy``/``StackValidationPolicy`` objects a ``PolicyPack``
takes.

Values unknown during preview raise ``pulumi_policy.proxy.UnknownValueError`` when a rule reads them; pulumi-policy
turns that into an advisory diagnostic saying which policy could not run, so no rule crashes on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .types import canonical

SEVERITIES = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH, "critical": Severity.CRITICAL}
NAME_PREFIXES = ("security", "patching", "governance")


@dataclass(frozen=True)
class Refs:
    """Where a rule comes from. Framework controls first, then the anchor rule sets (empty tuple: none covers it)."""

    mcsb: tuple[str, ...] = ()
    """Microsoft cloud security benchmark v1 controls, e.g. ``NS-2``."""
    cis: tuple[str, ...] = ()
    """CIS Microsoft Azure Foundations Benchmark v2.0.0 recommendations, e.g. ``3.1``."""
    azure_policy: tuple[str, ...] = ()
    """Azure Policy built-in definition ids (GUIDs), each a row of ``policies/lib/anchors/azure_policy.tsv``."""
    checkov: tuple[str, ...] = ()
    psrule: tuple[str, ...] = ()
    pulumi: tuple[str, ...] = ()
    """Pulumi's pre-built compliance packs."""
    ado: tuple[str, ...] = ()
    """ADOScanner (Azure DevOps security scanner) controls."""

    @property
    def anchors(self) -> dict[str, tuple[str, ...]]:
        return {"Checkov": self.checkov, "Azure Policy": self.azure_policy, "PSRule": self.psrule,
                "Pulumi packs": self.pulumi, "ADOScanner": self.ado}

    def tags(self) -> list[str]:
        pairs = [("mcsb", self.mcsb), ("cis", self.cis), ("azure-policy", self.azure_policy),
                 ("checkov", self.checkov), ("psrule", self.psrule), ("pulumi", self.pulumi), ("ado", self.ado)]
        return [f"{prefix}:{value}" for prefix, values in pairs for value in values]


@dataclass(frozen=True)
class Resource:
    """What a resource rule sees: type (canonical: any API version of an azure-native type shows as its default
    token), inputs (camelCase, as the engine sends them), name, URN and options."""

    type: str
    props: Mapping[str, Any]
    name: str
    urn: str
    protect: bool = False
    provider_type: str | None = None
    provider_props: Mapping[str, Any] = field(default_factory=dict)


ResourceCheck = Callable[[Resource, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[Sequence[PolicyResource], Mapping[str, Any]], Iterable[tuple[str, str | None]]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    severity: str
    remediation: str
    url: str
    refs: Refs
    config: Mapping[str, Mapping[str, Any]]
    """JSON-schema properties of the rule's config; every one has a ``default``."""
    resource_types: tuple[str, ...] | None
    """Types a resource rule applies to (``None`` for stack rules; ``("*",)`` for every type)."""
    check: Callable[..., Iterable[Any]]
    stack: bool = False

    @property
    def enforcement_level(self) -> EnforcementLevel:
        """Default level when no config file says otherwise: critical rules stop a deployment, others advise."""
        return EnforcementLevel.MANDATORY if self.severity == "critical" else EnforcementLevel.ADVISORY

    def defaults(self) -> dict[str, Any]:
        return {key: schema["default"] for key, schema in self.config.items()}

    def _framework(self) -> PolicyComplianceFramework | None:
        if not self.refs.mcsb:
            return None
        return PolicyComplianceFramework(name="Microsoft cloud security benchmark", version="v1",
                                         reference=", ".join(self.refs.mcsb))

    def policy(self) -> ResourceValidationPolicy | StackValidationPolicy:
        common: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "enforcement_level": self.enforcement_level,
            "config_schema": PolicyConfigSchema(properties={k: dict(v) for k, v in self.config.items()})
            if self.config else None,
            "severity": SEVERITIES[self.severity],
            "framework": self._framework(),
            "tags": self.refs.tags() or None,
            "remediation_steps": self.remediation,
            "url": self.url,
        }
        if self.stack:
            return StackValidationPolicy(validate=self._validate_stack, **common)
        return ResourceValidationPolicy(validate=self._validate_resource, **common)

    def config_of(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with the configured values. Config travels as a protobuf Struct, where every number
        is a float: integer settings are turned back into ints."""
        config = {**self.defaults(), **(given or {})}
        for key, schema in self.config.items():
            value = config.get(key)
            if schema.get("type") == "integer" and isinstance(value, float) and value.is_integer():
                config[key] = int(value)
        return config

    def _validate_resource(self, args: ResourceValidationArgs, report: ReportViolation) -> None:
        assert self.resource_types is not None
        kind = canonical(args.resource_type)
        if "*" not in self.resource_types and kind not in self.resource_types:
            return
        provider = args.provider
        resource = Resource(
            type=kind, props=args.props, name=args.name, urn=args.urn,
            protect=bool(args.opts.protect) if args.opts is not None else False,
            provider_type=provider.resource_type if provider is not None else None,
            provider_props=provider.props if provider is not None else {},
        )
        for message in self.check(resource, self.config_of(args.get_config())):
            report(message, None)

    def _validate_stack(self, args: StackValidationArgs, report: ReportViolation) -> None:
        for message, urn in self.check(args.resources, self.config_of(args.get_config())):
            report(message, urn)


class RuleSet:
    """The rules of one pack, registered with ``@rules.resource(...)`` and ``@rules.stack(...)``."""

    def __init__(self, pack: str) -> None:
        self.pack = pack
        self.rules: list[Rule] = []

    def _add(self, rule: Rule) -> Rule:
        if any(r.name == rule.name for r in self.rules):
            raise ValueError(f"duplicate rule name {rule.name}")
        self.rules.append(rule)
        return rule

    def resource(self, name: str, *, types: Sequence[str], description: str, severity: str, remediation: str,
                 url: str, refs: Refs = Refs(), config: Mapping[str, Mapping[str, Any]] | None = None,
                 ) -> Callable[[ResourceCheck], Rule]:
        def register(check: ResourceCheck) -> Rule:
            return self._add(Rule(name, description, severity, remediation, url, refs, config or {}, tuple(types),
                                  check))
        return register

    def stack(self, name: str, *, description: str, severity: str, remediation: str, url: str,
              refs: Refs = Refs(), config: Mapping[str, Mapping[str, Any]] | None = None,
              ) -> Callable[[StackCheck], Rule]:
        def register(check: StackCheck) -> Rule:
            return self._add(Rule(name, description, severity, remediation, url, refs, config or {}, None, check,
                                  stack=True))
        return register

    def policies(self) -> list[Policy]:
        return [rule.policy() for rule in self.rules]


def setting(kind: str, default: Any, description: str, **schema: Any) -> dict[str, Any]:
    """One config-schema property with its default (``kind`` is a JSON-schema type)."""
    return {"type": kind, "default": default, "description": description, **schema}
