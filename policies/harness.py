"""Run a Python CrossGuard policy pack the way the Pulumi CLI does, and talk to it over the Analyzer gRPC protocol.

pulumi-policy has no official Python test helper (pulumi/pulumi-policy issue 445); this module is one. It starts the
pack as the CLI's ``pulumi-analyzer-policy-python`` shim does: ``<virtualenv>/bin/python -u -m pulumi.policy
<engine-address> .`` in the pack's folder, with the virtualenv named in ``PulumiPolicy.yaml``
(``runtime.options.virtualenv``, relative to the pack) and ``PULUMI_PROJECT``/``PULUMI_STACK``/``PULUMI_DRY_RUN``
in the environment. It reads the port the pack prints as its first line of output, then calls the
``pulumirpc.Analyzer`` service in the engine's order:

- ``ConfigureStack`` (stack, project, dry run), ``GetPluginInfo`` and ``GetAnalyzerInfo`` when it starts;
- ``Configure`` with the config reconciled from a ``--policy-pack-config`` file (``policies.lib.packconfig``); the
  CLI calls it even without a file, with every policy's defaults, and so does :meth:`PolicyPackProcess.configure`;
- ``Analyze`` for one resource and ``AnalyzeStack`` for a whole stack (with parents and dependencies).

Resource properties travel as a protobuf ``Struct`` with the engine's sentinels for unknown and secret values, so
rules see numbers as floats, unknowns as unknowns and secrets unwrapped, as in a real preview.

Example::

    from policies.harness import PolicyPackProcess, Resource

    with PolicyPackProcess("policies/security") as pack:
        pack.configure_file("policies/security/config/prod.json")
        for v in pack.analyze(Resource("azure-native:storage:StorageAccount", "st", {"allowBlobPublicAccess": True})):
            print(v.policy, v.level, v.message)
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policies.lib.manifest import ManifestError, read_manifest
from policies.lib.packconfig import PolicyConfig, PolicyInfo, load_pack_config, parse_pack_config, reconcile
from policies.lib.servicer import PARENT_PID_ENV, RULE_TIMEOUT_ENV, WATCHDOG_MARK

#: The engine's markers in property values (pulumi/sdk: rpc.go): an unknown value, and a secret wrapper.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_SECRET_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"

_LEVEL_NAMES = {0: "advisory", 1: "mandatory", 2: "disabled", 3: "remediate"}
_LEVEL_NUMBERS = {name: number for number, name in _LEVEL_NAMES.items()}
SEVERITY_NAMES = {0: "", 1: "low", 2: "medium", 3: "high", 4: "critical"}
"""Protocol severity numbers to names."""
_MAX_MESSAGE = 64 * 1024 * 1024


class HarnessError(Exception):
    """The pack could not be started or answered with an error."""


@dataclass(frozen=True)
class Secret:
    """A property value the engine would send as a secret."""

    value: Any


@dataclass(frozen=True)
class Resource:
    """A resource as the engine describes it to an analyzer."""

    type: str
    name: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    urn: str = ""
    """Defaults to ``urn:pulumi:test::test::<type>::<name>``."""
    parent: str = ""
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Input name -> URNs of the resources that input came from."""
    protect: bool = False
    ignore_changes: Sequence[str] = ()
    delete_before_replace: bool = False
    provider_type: str = ""
    """Provider resource type, for example ``pulumi:providers:azure-native``."""
    provider_properties: Mapping[str, Any] = field(default_factory=dict)
    """Provider inputs the engine passes along (``version`` among them)."""

    @property
    def resolved_urn(self) -> str:
        return self.urn or f"urn:pulumi:test::test::{self.type}::{self.name}"


@dataclass(frozen=True)
class Violation:
    """One diagnostic from the pack."""

    pack: str
    policy: str
    level: str
    """``advisory``, ``mandatory`` (what stops a deployment), ``disabled`` or ``remediate``."""
    severity: str
    description: str
    message: str
    """The text after the policy description (what the rule reported)."""
    urn: str
    could_not_run: bool = False
    """True for pulumi-policy's "can't run policy ... during preview" diagnostics (unknown values)."""
    version: str = ""
    """The pack version the diagnostic names (this repository's packs send their ``PulumiPolicy.yaml`` version)."""


def _to_value(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or kind is int or kind is float or value is None:
        return value
    if kind is dict:
        return {str(k): _to_value(v) for k, v in value.items()}
    if kind is list:
        return [_to_value(v) for v in value]
    if isinstance(value, Secret):
        return {_SECRET_SIG: _SECRET_VALUE, "value": _to_value(value.value)}
    if isinstance(value, Mapping):
        return {str(k): _to_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_value(v) for v in value]
    return value


def _struct(properties: Mapping[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update({k: _to_value(v) for k, v in properties.items()})
    return result


def _options(resource: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect, ignoreChanges=list(resource.ignore_changes),
        deleteBeforeReplace=resource.delete_before_replace, deleteBeforeReplaceDefined=True,
        parent=resource.parent,
    )


def _provider(resource: Resource) -> analyzer_pb2.AnalyzerProviderResource | None:
    if not resource.provider_type:
        return None
    name = "default"
    return analyzer_pb2.AnalyzerProviderResource(
        type=resource.provider_type, name=name, properties=_struct(resource.provider_properties),
        urn=f"urn:pulumi:test::test::{resource.provider_type}::{name}",
    )


def analyze_request(resource: Resource) -> analyzer_pb2.AnalyzeRequest:
    """The ``Analyze`` request the engine sends for ``resource`` (build it once to send it to several packs)."""
    return analyzer_pb2.AnalyzeRequest(
        type=resource.type, name=resource.name, urn=resource.resolved_urn,
        properties=_struct(resource.properties), options=_options(resource), provider=_provider(resource),
    )


def analyze_stack_request(resources: Iterable[Resource]) -> analyzer_pb2.AnalyzeStackRequest:
    """The ``AnalyzeStack`` request for a whole stack: every resource with its parent and dependencies."""
    return analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(
            type=r.type, name=r.name, urn=r.resolved_urn, properties=_struct(r.properties),
            options=_options(r), provider=_provider(r), parent=r.parent, dependencies=list(r.dependencies),
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                                  for k, v in r.property_dependencies.items()},
        )
        for r in resources
    ])


def _policy_info(policy: analyzer_pb2.PolicyInfo) -> PolicyInfo:
    schema = json_format.MessageToDict(policy.configSchema) if policy.HasField("configSchema") else {}
    if policy.enforcementLevel not in _LEVEL_NAMES:
        raise HarnessError(f"policy {policy.name} has an unknown enforcement level {policy.enforcementLevel}")
    return PolicyInfo(policy.name, _LEVEL_NAMES[policy.enforcementLevel], schema.get("properties", {}),
                      tuple(schema.get("required", [])))


def pack_python(pack_dir: Path) -> str:
    """The interpreter the CLI would use: ``<virtualenv>/bin/python`` from ``PulumiPolicy.yaml``, resolved against the
    pack's folder, or this interpreter when none is named or it does not exist (yet): the gate runs the assembled
    packs with its own environment, which holds every pack's requirements."""
    manifest = read_manifest(pack_dir)
    if manifest.virtualenv:
        candidate = (pack_dir / manifest.virtualenv / "bin" / "python").absolute()
        if candidate.exists():
            return str(candidate)
    return sys.executable


#: Packs started by this process and not yet closed (:func:`stop_all` ends them on an interrupt).
_live: set[PolicyPackProcess] = set()
_live_lock = threading.Lock()


def stop_all() -> None:
    """End every pack this process started (their whole process groups); for signal handlers and fatal exits."""
    with _live_lock:
        packs = list(_live)
    for pack in packs:
        pack.kill()


class PolicyPackProcess:
    """A running policy pack. Use as a context manager, or call :meth:`close`.

    Every wait is bounded: ``timeout`` for the start (port printed, server answering, info and configuration) and
    ``call_timeout`` for each ``Analyze``/``AnalyzeStack`` call. ``rule_timeout`` asks the pack's watchdog (this
    repository's packs have one, ``policies.lib.servicer``) to end the pack when one rule runs longer, naming the
    rule and the resource. Anything that goes wrong is a :class:`HarnessError` naming the pack and, where known, the
    rule and the resource. The pack runs in its own process group, which :meth:`close` ends as a whole, and it ends
    itself if this process dies.
    """

    def __init__(self, pack_dir: str | Path, *, python: str | None = None, timeout: float = 60.0,
                 call_timeout: float = 120.0, rule_timeout: float | None = None, stack: str = "test",
                 project: str = "test", dry_run: bool = True, env: Mapping[str, str] | None = None,
                 started: Callable[[PolicyPackProcess], None] | None = None) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self.label = self.pack_dir.name
        try:
            self.manifest = read_manifest(self.pack_dir)
        except ManifestError as error:
            raise HarnessError(f"policy pack {self.label}: {error}") from None
        self.version = self.manifest.version
        self.call_timeout = call_timeout
        self._stderr: deque[str] = deque(maxlen=40)
        environment = {**os.environ, "PULUMI_PROJECT": project, "PULUMI_STACK": stack,
                       "PULUMI_DRY_RUN": "true" if dry_run else "false", PARENT_PID_ENV: str(os.getpid()),
                       **({RULE_TIMEOUT_ENV: f"{rule_timeout:g}"} if rule_timeout else {}), **(env or {})}
        # The pack sees only its own folder and interpreter, as under the CLI: no path into the caller's code.
        environment.pop("PYTHONHOME", None)
        environment.pop("PYTHONPATH", None)
        self._process = subprocess.Popen(
            # The engine address is only used for logging by pulumi.policy; no engine runs here.
            [python or pack_python(self.pack_dir), "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
            cwd=self.pack_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment, process_group=0,
        )
        with _live_lock:
            _live.add(self)
        if started is not None:
            started(self)  # the owner can stop the pack while this constructor still waits for it
        self._drainer = threading.Thread(target=self._drain_stderr, name=f"{self.label}-stderr", daemon=True)
        self._drainer.start()
        try:
            self.port = self._read_port(timeout)
            self._channel = grpc.insecure_channel(
                f"127.0.0.1:{self.port}",
                options=[("grpc.max_receive_message_length", _MAX_MESSAGE),
                         ("grpc.max_send_message_length", _MAX_MESSAGE)],
            )
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
            self._wait_ready(timeout)
            self._start_timeout = timeout
            self.configure_stack(stack=stack, project=project, dry_run=dry_run)
            self.info = self._call("GetAnalyzerInfo", empty_pb2.Empty(), timeout=timeout)
            self.name = self.info.name
            self._policies = tuple(_policy_info(p) for p in self.info.policies)
            self.config: dict[str, PolicyConfig] = {}
            self.configure()
        except BaseException:
            self.close()
            raise

    def _wait_ready(self, timeout: float) -> None:
        """Wait for the pack's server to answer; give up at once if the pack ended (stopped, or crashed)."""
        ready = grpc.channel_ready_future(self._channel)
        deadline = time.monotonic() + timeout
        while True:
            try:
                ready.result(timeout=0.2)
                return
            except grpc.FutureTimeoutError:
                if self._process.poll() is not None:
                    ready.cancel()
                    raise HarnessError(f"policy pack {self.label}: ended before it answered (exit "
                                       f"{self._process.returncode})") from None
                if time.monotonic() > deadline:
                    ready.cancel()
                    raise HarnessError(f"policy pack {self.label}: printed port {self.port} but did not answer "
                                       f"within {timeout:g} s") from None

    def _drain_stderr(self) -> None:
        """Keep the pack's last stderr lines (for error messages), and never let a full pipe block the pack."""
        stream = self._process.stderr
        assert stream is not None
        for raw in iter(stream.readline, b""):
            self._stderr.append(raw.decode(errors="replace").rstrip())

    def _drain_stdout(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        for _ in iter(stream.readline, b""):
            pass

    def _stderr_tail(self, lines: int = 5) -> str:
        tail = [line for line in list(self._stderr)[-lines:] if line.strip()]
        return " | ".join(tail)[-600:]

    def _read_port(self, timeout: float) -> int:
        assert self._process.stdout is not None
        lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self._process.stdout.readline()),  # type: ignore[union-attr]
                         daemon=True).start()
        try:
            first = lines.get(timeout=timeout).decode(errors="replace").strip()
        except queue.Empty:
            raise HarnessError(f"policy pack {self.label}: printed no port within {timeout:g} s") from None
        if first.isdigit():
            # Anything a rule prints later must not fill the pipe and stall the pack (the CLI reads it too).
            threading.Thread(target=self._drain_stdout, name=f"{self.label}-stdout", daemon=True).start()
            return int(first)
        if first:
            raise HarnessError(f"policy pack {self.label}: printed {first[:120]!r} before its port; a pack must "
                               "print its port first and nothing else on stdout")
        self._drainer.join(timeout=5)  # stdout closed: the pack ended; its last words are on stderr
        last = next((line for line in reversed(self._stderr) if line.strip()), "no output")
        raise HarnessError(f"policy pack {self.label}: did not start: {last[:300]}"
                           + (f" (stderr: {self._stderr_tail(8)})" if len(self._stderr) > 1 else ""))

    def _failure(self, method: str, urn: str, error: grpc.RpcError) -> HarnessError:
        """One clear error for a failed call: the watchdog's or the rule's own words where the pack gave them."""
        what = f"{method} of {urn}" if urn else method
        code = error.code() if isinstance(error, grpc.Call) else None
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return HarnessError(f"policy pack {self.label}: no answer to {what} within {self.call_timeout:g} s (a rule "
                                "may hang; --rule-timeout names it)")
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=1)
        if self._process.poll() is not None:
            self._drainer.join(timeout=2)  # the pack's last words are still on their way through the pipe
        watchdog = [line for line in self._stderr if WATCHDOG_MARK in line]
        if watchdog:
            return HarnessError(f"policy pack {self.label}: {watchdog[-1].split(WATCHDOG_MARK, 1)[1].strip()}")
        details = error.details() if isinstance(error, grpc.Call) else ""
        if self._process.poll() is not None:
            tail = self._stderr_tail()
            return HarnessError(f"policy pack {self.label}: the pack ended (exit {self._process.returncode}) during "
                                f"{what}{': ' + tail if tail else ''}")
        return HarnessError(f"policy pack {self.label}: {what} failed: {(details or str(code))[:700]}")

    def _call(self, method: str, request: Any, urn: str = "", timeout: float | None = None) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=timeout or self.call_timeout)
        except grpc.RpcError as error:
            raise self._failure(method, urn, error) from None

    # -- configuration ------------------------------------------------------------------------------------------

    def policies(self) -> list[PolicyInfo]:
        """The pack's policies with their default levels and config schemas, from ``GetAnalyzerInfo``."""
        return list(self._policies)

    def configure(self, given: Mapping[str, Any] | None = None) -> dict[str, PolicyConfig]:
        """Configure the pack from a config mapping in the CLI file format (``None``: defaults only)."""
        return self._apply(parse_pack_config(given or {}))

    def configure_file(self, path: str | Path, overrides: Mapping[str, Mapping[str, Any]] | None = None
                       ) -> dict[str, PolicyConfig]:
        """Configure the pack from a ``--policy-pack-config`` file, with ``overrides`` (policy name -> properties)
        merged over the file's entries before reconciliation."""
        entries = load_pack_config(Path(path))
        for policy, properties in (overrides or {}).items():
            level, given = entries.get(policy, (None, {}))
            entries[policy] = (level, {**given, **properties})
        return self._apply(entries)

    def _apply(self, entries: Mapping[str, tuple[str | None, dict[str, Any]]]) -> dict[str, PolicyConfig]:
        """Reconcile parsed config entries as the CLI does and send the result with one ``Configure`` call."""
        self.config = reconcile(self._policies, entries)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, config in self.config.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = _LEVEL_NUMBERS[config.enforcement_level]
            entry.properties.update(config.properties)
        self._call("Configure", request, timeout=self._start_timeout)
        return self.config

    def configure_stack(self, *, stack: str, project: str, dry_run: bool = True,
                        tags: Mapping[str, str] | None = None) -> None:
        """Tell the pack which stack it analyzes (``ConfigureStack``), as the engine does before analysis."""
        self._call("ConfigureStack", analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack, project=project, dry_run=dry_run, tags=dict(tags or {})), timeout=self._start_timeout)

    # -- analysis ------------------------------------------------------------------------------------------------

    def analyze(self, resource: Resource) -> list[Violation]:
        request = analyze_request(resource)
        return self._violations(self._call("Analyze", request, request.urn), request.urn)

    def analyze_all(self, requests: Iterable[analyzer_pb2.AnalyzeRequest], *, window: int = 32,
                    done: Callable[[int], None] | None = None) -> list[Violation]:
        """``Analyze`` every request (see :func:`analyze_request`), keeping up to ``window`` calls in flight so the
        pack never waits for the next request; violations in request order. ``requests`` may be a stream that
        yields requests as they are registered. ``done(n)`` is called as answers arrive (for progress displays)."""
        in_flight: deque[tuple[Any, str]] = deque()
        violations: list[Violation] = []
        count = 0
        def answer(future: Any, urn: str) -> list[Violation]:
            try:
                return self._violations(future.result(), urn)
            except grpc.RpcError as error:
                for pending, _ in in_flight:
                    pending.cancel()
                raise self._failure("Analyze", urn, error) from None

        for count, request in enumerate(requests, 1):
            in_flight.append((self._stub.Analyze.future(request, timeout=self.call_timeout), request.urn))
            if len(in_flight) >= window:
                future, urn = in_flight.popleft()
                violations += answer(future, urn)
                if done and count % window == 0:
                    done(count - len(in_flight))
        while in_flight:
            future, urn = in_flight.popleft()
            violations += answer(future, urn)
        if done:
            done(count)
        return violations

    def analyze_stack(self, resources: Iterable[Resource]) -> list[Violation]:
        return self.analyze_stack_request(analyze_stack_request(resources))

    def analyze_stack_request(self, request: analyzer_pb2.AnalyzeStackRequest) -> list[Violation]:
        return self._violations(self._call("AnalyzeStack", request), "")

    def _violations(self, response: analyzer_pb2.AnalyzeResponse, urn: str) -> list[Violation]:
        result = []
        for d in response.diagnostics:
            message = d.message
            if d.description and message.startswith(d.description):
                message = message[len(d.description):].lstrip("\n")
            result.append(Violation(
                pack=d.policyPackName, policy=d.policyName, level=_LEVEL_NAMES[d.enforcementLevel],
                severity=SEVERITY_NAMES.get(d.severity, ""), description=d.description, message=message,
                urn=d.urn or urn, could_not_run=d.message.startswith("can't run policy"), version=d.policyPackVersion,
            ))
        return result

    def plugin_version(self) -> str:
        """What the pack answers to ``GetPluginInfo``: pulumi-policy's own version, not the pack's (that is
        :attr:`version`, from ``PulumiPolicy.yaml``, as the CLI reports it)."""
        return str(self._call("GetPluginInfo", empty_pb2.Empty()).version)

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def peak_memory_mb(self) -> float:
        """The pack process's peak resident memory so far (Linux ``VmHWM``; 0 where unavailable)."""
        try:
            status = Path(f"/proc/{self._process.pid}/status").read_text()
        except OSError:
            return 0.0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def kill(self) -> None:
        """End the pack's whole process group at once (no grace period); a no-op once :meth:`close` has (the
        group's id may then belong to someone else)."""
        if getattr(self, "_closed", False):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)

    def close(self) -> None:
        channel = getattr(self, "_channel", None)
        if channel is not None:
            channel.close()
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
        self.kill()  # the leader if it ignored SIGTERM, and anything it started in its group
        self._process.wait()
        self._closed = True
        if self._process.stdout is not None:
            self._process.stdout.close()
        with _live_lock:
            _live.discard(self)

    def __enter__(self) -> PolicyPackProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


__all__ = ["UNKNOWN", "HarnessError", "PolicyPackProcess", "Resource", "Secret", "Violation", "analyze_request",
           "analyze_stack_request"]
