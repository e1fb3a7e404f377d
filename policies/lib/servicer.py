"""A faster analyzer servicer for the packs: the same protocol answers, with each resource deserialized once.

pulumi-policy's ``_PolicyAnalyzerServicer`` (pulumi-policy 1.21) converts a resource's properties from protobuf
(``json_format.MessageToDict``, pure Python) and wraps them again *for every policy of the pack*, before the policy
even looks at the resource type; ``AnalyzeStack`` does the same for every resource of the stack once per stack policy.
With 56 policies that is most of the time a pack spends on a preview (measured: 77 % of the security pack's
``Analyze`` time was ``MessageToDict``).

:class:`FastAnalyzer` answers ``Analyze`` and ``AnalyzeStack`` with the same loop, the same checks, the same
diagnostics and the same ``not_applicable`` entries as upstream, with two changes that do not alter any answer:

- properties, options and provider are deserialized once per request (per resource for ``AnalyzeStack``) and the
  same read-only view is handed to every policy;
- a policy built from a rule that declares its resource types is not called for other types (the rule would return
  without reporting anything, see ``Rule._validate_resource``).

A rule that raises ends the call with an ``INTERNAL`` error naming the policy and the resource (upstream's answer is
a bare traceback), so the gate can say which rule failed. Every other method (``GetAnalyzerInfo``, ``Configure``,
``Remediate``...) is upstream's. The servicer relies on names private to pulumi-policy, so :func:`install` checks
they exist and otherwise leaves upstream's servicer in place (with a warning on stderr); ``requirements.txt`` bounds
pulumi-policy to the tested minor versions, and the test suite runs every rule case through this servicer and
compares whole-stack results with upstream's (``MLOPS_POLICY_SERVICER=upstream`` selects upstream's servicer).

:func:`start_watchdog` guards a pack started by a tool (the offline gate): with ``MLOPS_POLICY_RULE_TIMEOUT`` set, a
rule running longer ends the process with a line on stderr naming the policy and the resource; with
``MLOPS_POLICY_PARENT_PID`` set, the pack ends when that process is gone, so a killed gate leaves no pack behind.
The Pulumi CLI sets neither, and nothing changes under it.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from inspect import isawaitable
from typing import Any

import grpc
import pulumi_policy.policy as upstream
from pulumi.runtime import proto
from pulumi_policy.deserialize import _deserialize_property
from pulumi_policy.proxy import UnknownValueError, _proxy_helper, _raise_if_unknown

from .types import canonical

#: Environment variable: ``upstream`` keeps pulumi-policy's own servicer (for comparisons and as an escape hatch).
SERVICER_ENV = "MLOPS_POLICY_SERVICER"
#: Environment variables of :func:`start_watchdog`: seconds a single rule may run, and the process the pack serves.
RULE_TIMEOUT_ENV = "MLOPS_POLICY_RULE_TIMEOUT"
PARENT_PID_ENV = "MLOPS_POLICY_PARENT_PID"
#: Prefix of the line the watchdog writes before it ends a pack (the gate looks for it).
WATCHDOG_MARK = "mlops-policy watchdog:"

#: What each server thread is evaluating: thread id -> (policy, resource URN, monotonic start).
_running: dict[int, tuple[str, str, float]] = {}


@contextmanager
def _evaluating(policy: str, urn: str) -> Iterator[None]:
    key = threading.get_ident()
    _running[key] = (policy, urn, time.monotonic())
    try:
        yield
    finally:
        _running.pop(key, None)


def _watch(timeout: float | None, parent: int | None) -> None:
    while True:
        time.sleep(0.2)
        if parent is not None and os.getppid() != parent:
            os._exit(0)  # the process that started this pack is gone: nobody will ask it anything again
        if timeout is None:
            continue
        now = time.monotonic()
        for policy, urn, started in list(_running.values()):
            if now - started > timeout:
                sys.stderr.write(f"{WATCHDOG_MARK} policy {policy} did not finish within {timeout:g} s on "
                                 f"{urn or 'the stack'}; ending the pack\n")
                sys.stderr.flush()
                os._exit(3)


def start_watchdog() -> None:
    """Start the watchdog thread when a tool asked for it (see the module docstring); a no-op otherwise."""
    timeout = float(os.environ[RULE_TIMEOUT_ENV]) if os.environ.get(RULE_TIMEOUT_ENV) else None
    parent = int(os.environ[PARENT_PID_ENV]) if os.environ.get(PARENT_PID_ENV) else None
    if timeout is not None or parent is not None:
        threading.Thread(target=_watch, args=(timeout, parent), name="mlops-policy-watchdog", daemon=True).start()


def pin_version(version: str) -> None:
    """Make the next ``PolicyPack(...)`` report ``version`` (from ``PulumiPolicy.yaml``) in every diagnostic;
    pulumi-policy itself always reports ``0.0.1``."""
    base = upstream._PolicyAnalyzerServicer

    class Versioned(base):  # type: ignore[misc,valid-type]
        def __init__(self, name: str, _version: str, *args: Any, **kwargs: Any) -> None:
            super().__init__(name, version, *args, **kwargs)

    setattr(upstream, "_PolicyAnalyzerServicer", Versioned)  # noqa: B010 - private name


def _raised(context: Any, policy: str, urn: str, error: Exception) -> None:
    """End the call with an error naming the policy and the resource, as the engine would fail the preview."""
    context.abort(grpc.StatusCode.INTERNAL,
                  f"policy {policy} raised {type(error).__name__}: {str(error)[:500]} (resource {urn or 'the stack'})")

_BASE = getattr(upstream, "_PolicyAnalyzerServicer", None)
_REQUIRED = ("_configure_runtime_settings", "_get_enforcement_level", "_create_report_violation",
             "_get_resource_options", "_get_provider_resource", "_get_policy_config", "_map_enforcement_level")


def compatible() -> bool:
    """Whether the installed pulumi-policy has the internals this servicer builds on."""
    return (_BASE is not None and all(hasattr(_BASE, name) for name in _REQUIRED)
            and hasattr(upstream, "_NotApplicableError") and hasattr(upstream, "PolicyResource"))


def _run(result: Any) -> None:
    """Run an async ``validate`` to completion, as upstream does."""
    if isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(asyncio.ensure_future(result, loop=loop))
        finally:
            loop.close()


def _value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    if kind is None or kind == "null_value":
        return None
    found = getattr(value, kind)
    if kind == "number_value" and not math.isfinite(found):
        raise ValueError(f"{found} is not a JSON number (protobuf Value.number_value)")
    return found


def struct_to_dict(struct: Any) -> dict[str, Any]:
    """``json_format.MessageToDict`` for a ``google.protobuf.Struct``, with the same result (numbers stay floats,
    infinities and NaN are refused) at a fraction of the cost: the generic converter walks descriptors for every
    value, and it was the largest cost of a pack's ``Analyze`` after the gRPC transport itself."""
    return {key: _value(value) for key, value in struct.fields.items()}


class LazyProps(Mapping[str, Any]):
    """A resource's properties as pulumi-policy hands them to policies (``unknown_checking_proxy(deserialize_
    properties(MessageToDict(struct)))``: plain values behind a proxy that raises ``UnknownValueError`` when a rule
    reads a value unknown during preview), with each top-level property converted the first time a rule reads it.
    A stack rule reads a few properties of thousands of resources; converting all of them was most of the cost of
    ``AnalyzeStack``. ``tests/test_policy_harness.py`` checks that both views read the same."""

    __slots__ = ("_done", "_fields")

    def __init__(self, struct: Any) -> None:
        self._fields = struct.fields
        self._done: dict[str, Any] = {}

    def _converted(self, key: str) -> Any:
        try:
            return self._done[key]
        except KeyError:
            pass
        if key not in self._fields:  # (reading a missing key of a protobuf map would add it)
            raise KeyError(key)
        value = _proxy_helper(_deserialize_property(_value(self._fields[key])), [key])
        self._done[key] = value
        return value

    def __getitem__(self, key: str) -> Any:
        if key == "__target":  # what upstream's proxy answers: the wrapped dictionary
            return {name: self._converted(name) for name in self._fields}
        return _raise_if_unknown(key, self._converted(key), [])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


def _props(properties: Any) -> Any:
    """A resource's properties as pulumi-policy hands them to policies (see :class:`LazyProps`)."""
    return LazyProps(properties)


def make_servicer(types_by_policy: Mapping[str, tuple[str, ...]]) -> type:
    """The servicer class for a pack whose resource policies apply to ``types_by_policy[name]`` (``*``: all)."""
    assert _BASE is not None

    class FastAnalyzer(_BASE):  # type: ignore[misc,valid-type]
        _runtime_configured = False

        def _configure_runtime_settings(self) -> None:
            """Upstream re-reads the config environment and rebuilds the runtime settings (inspecting a signature)
            on every call; neither changes while the pack runs, so once is enough."""
            if not self._runtime_configured:
                super()._configure_runtime_settings()
                self._runtime_configured = True

        def _policies(self) -> list[Any]:
            return list(self._PolicyAnalyzerServicer__policies)

        def _unknown_value(self, response: Any, policy: Any, error: UnknownValueError) -> None:
            response.diagnostics.append(proto.AnalyzeDiagnostic(
                policyName=policy.name,
                policyPackName=self._PolicyAnalyzerServicer__policy_pack_name,
                policyPackVersion=self._PolicyAnalyzerServicer__policy_pack_version,
                message=(f"can't run policy '{policy.name}' from policy pack "
                         f"'{self._PolicyAnalyzerServicer__policy_pack_name}"
                         f"@v{self._PolicyAnalyzerServicer__policy_pack_version}' during preview: {error.message}"),
                urn="",
                description=policy.description,
                enforcementLevel=self._map_enforcement_level(upstream.EnforcementLevel.ADVISORY),
            ))

        def Configure(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
            self.__dict__["_plans"] = {}
            return super().Configure(request, context)

        def _plan(self, resource_type: str) -> list[tuple[Any, Any]]:
            """The resource policies that apply to ``resource_type``, in the pack's order, with their enforcement
            level (``None``: the policy does not implement validate). Worked out once per type and configuration
            instead of for every resource."""
            plans: dict[str, list[tuple[Any, Any]]] = self.__dict__.setdefault("_plans", {})
            plan = plans.get(resource_type)
            if plan is None:
                kind, plan = canonical(resource_type), []
                for policy in self._policies():
                    level = self._get_enforcement_level(policy)
                    if level == upstream.EnforcementLevel.DISABLED or not isinstance(
                            policy, upstream.ResourceValidationPolicy):
                        continue
                    if not policy.has_validation():
                        plan.append((policy, None))
                        continue
                    types = types_by_policy.get(policy.name)
                    if types is not None and "*" not in types and kind not in types:
                        continue
                    if level == upstream.EnforcementLevel.REMEDIATE:
                        level = upstream.EnforcementLevel.MANDATORY
                    plan.append((policy, level))
                plans[resource_type] = plan
            return plan

        def Analyze(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
            self._configure_runtime_settings()
            response = proto.AnalyzeResponse()
            shared: tuple[Any, Any, Any] | None = None
            for policy, level in self._plan(request.type):
                if level is None:
                    response.not_applicable.append(proto.PolicyNotApplicable(
                        policy_name=policy.name, reason="Policy does not implement validate"))
                    continue
                report = self._create_report_violation(response, policy.name, policy.description, level,
                                                       policy.severity)
                if shared is None:
                    shared = (_props(request.properties), self._get_resource_options(request),
                              self._get_provider_resource(request))
                props, opts, provider = shared
                args = upstream.ResourceValidationArgs(
                    request.type, props, request.urn, request.name, opts, provider,
                    self._get_policy_config(policy.name), self._PolicyAnalyzerServicer__stack_tags)
                try:
                    with _evaluating(policy.name, request.urn):
                        _run(policy.validate(args, report))
                except UnknownValueError as error:
                    self._unknown_value(response, policy, error)
                except upstream._NotApplicableError as error:
                    response.not_applicable.append(proto.PolicyNotApplicable(
                        policy_name=policy.name, reason=error.reason or ""))
                except Exception as error:  # any failure of a rule is reported by name
                    _raised(context, policy.name, request.urn, error)
            return response

        def _stack_resources(self, request: Any) -> list[Any]:
            """The stack's resources as pulumi-policy's ``PolicyResource`` graph, built once per request."""
            resources: dict[str, Any] = {}
            links = []
            for r in request.resources:
                resource = upstream.PolicyResource(r.type, _props(r.properties), r.urn, r.name,
                                                   self._get_resource_options(r), self._get_provider_resource(r),
                                                   None, [], {})
                resources[r.urn] = resource
                links.append((resource, r.parent, list(r.dependencies),
                              {k: list(v.urns) for k, v in r.propertyDependencies.items()}))
            for resource, parent, dependencies, property_dependencies in links:
                if parent in resources:
                    resource.parent = resources[parent]
                resource.dependencies.extend(resources[d] for d in dependencies if d in resources)
                for key, urns in property_dependencies.items():
                    resource.property_dependencies[key] = [resources[u] for u in urns if u in resources]
            return [resource for resource, *_ in links]

        def AnalyzeStack(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
            self._configure_runtime_settings()
            response = proto.AnalyzeResponse()
            resources: list[Any] | None = None
            for policy in self._policies():
                level = self._get_enforcement_level(policy)
                if level == upstream.EnforcementLevel.DISABLED or not isinstance(
                        policy, upstream.StackValidationPolicy):
                    continue
                if level == upstream.EnforcementLevel.REMEDIATE:
                    level = upstream.EnforcementLevel.MANDATORY
                report = self._create_report_violation(response, policy.name, policy.description, level,
                                                       policy.severity)
                if resources is None:
                    resources = self._stack_resources(request)
                # Every policy gets the same list (no rule changes it), so they share one graph index (Links.of).
                args = upstream.StackValidationArgs(resources, self._get_policy_config(policy.name),
                                                    self._PolicyAnalyzerServicer__stack_tags)
                try:
                    with _evaluating(policy.name, ""):
                        _run(policy.validate(args, report))
                except UnknownValueError as error:
                    self._unknown_value(response, policy, error)
                except upstream._NotApplicableError as error:
                    response.not_applicable.append(proto.PolicyNotApplicable(
                        policy_name=policy.name, reason=error.reason or ""))
                except Exception as error:  # any failure of a rule is reported by name
                    _raised(context, policy.name, "", error)
            return response

    return FastAnalyzer


def install(types_by_policy: Mapping[str, tuple[str, ...]]) -> bool:
    """Make the next ``PolicyPack(...)`` serve with :class:`FastAnalyzer`; False when upstream's servicer stays."""
    if os.environ.get(SERVICER_ENV) == "upstream":
        return False
    if not compatible():
        print("policies: this pulumi-policy version lacks the internals of the fast servicer; using its own "
              "(slower, same results)", file=sys.stderr)
        return False
    setattr(upstream, "_PolicyAnalyzerServicer", make_servicer(types_by_policy))  # noqa: B010 - private name
    return True
