"""The autoscale proof: replay load profiles against the autoscale settings exactly as the program registers them.

``python -m loadtest autoscale <stack> [<team>/<endpoint>] --profile ramp|spike|diurnal|file`` evaluates the program
under the preflight's mocks, takes every ``azure-native:monitor:AutoscaleSetting`` it registered (the inputs Azure
would receive, not a second copy of the rules), and replays each profile minute by minute through
``loadtest.simulator`` with Azure autoscale's documented semantics. Each instance's CPU and latency come from the
capacity the local load test measured (``<code path>/capacity.json``, ``python -m loadtest capacity --record``) or
from ``--capacity-rps``.

Every deployment is proven against the endpoint's whole expected load (``load`` in the stack file): a blue/green
release moves all live traffic to either deployment, so each must hold it alone.

The preflight's ``--autoscale-proof`` runs the same proof (ramp, spike and diurnal) through :func:`pack_result`: a
rule set that misses the SLO beyond its error budget, flaps or cannot reach the peak is a mandatory finding of the
``autoscale-proof`` checks in every report format. A proof that cannot run raises :class:`LoadtestError` (exit 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.config import PlatformConfig, TeamConfig
from components.serving_config import DeploymentConfig, EndpointConfig
from loadtest import profiles as load_profiles
from loadtest import simulator
from loadtest.errors import LoadtestError
from loadtest.service_model import ServiceModel
from loadtest.stack import endpoints, find_endpoint, platform_config, require_load

AUTOSCALE_TYPE = "azure-native:monitor:AutoscaleSetting"
AUTOSCALE_COMPONENT = "mlops:serving:Autoscale"
PROFILES = ("ramp", "spike", "diurnal", "file")
#: What the preflight's ``--autoscale-proof`` replays.
GATE_PROFILES = ("ramp", "spike", "diurnal")
CHECKS = "autoscale-proof"
CAPACITY_FILE = "capacity.json"
COOLDOWN_MODELS = ("last-action", "per-rule")
DEFAULT_OUTPUT = Path("out") / "autoscale"


@dataclass(frozen=True)
class ProofOptions:
    """How the proof runs (the command line's flags)."""

    profiles: tuple[str, ...] = GATE_PROFILES
    profile_file: Path | None = None
    """CSV of the ``file`` profile."""
    capacity_rps: float | None = None
    """One instance's capacity in requests per second, instead of the recorded measurement."""
    provisioning_delay_min: int = simulator.DEFAULT_PROVISIONING_DELAY_MIN
    cooldown_model: str = COOLDOWN_MODELS[0]
    start: dt.datetime | None = None
    """UTC start of every profile (default: the Monday of the evaluation date's week, 00:00 UTC)."""


@dataclass(frozen=True)
class Target:
    """One deployment's registered autoscale setting, with the configuration it came from."""

    team: TeamConfig
    endpoint: EndpointConfig
    deployment: DeploymentConfig
    urn: str
    inputs: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.team.name}/{self.endpoint.name}/{self.deployment.name}"


@dataclass
class Outcome:
    """The proof of one deployment under one profile."""

    target: Target
    profile: str
    capacity_source: str
    verdict: simulator.Verdict
    result: simulator.Result = field(repr=False)
    seconds: float = 0.0


def week_start(day: dt.date) -> dt.datetime:
    """00:00 UTC on the Monday of ``day``'s week: profiles start there, so the diurnal week is Monday to Sunday."""
    monday = day - dt.timedelta(days=day.weekday())
    return dt.datetime(monday.year, monday.month, monday.day, tzinfo=dt.UTC)


def targets(records: Sequence[Any], config: PlatformConfig, ref: str | None = None) -> list[Target]:
    """The registered autoscale setting of every deployment (of ``ref``, ``<team>/<endpoint>``, when given).

    A deployment is matched to its setting through the ``Autoscale`` component the platform names
    ``<team>-<endpoint>-<deployment>``; a configured deployment without a registered setting is an error (the proof
    would otherwise pass by checking nothing)."""
    chosen = [find_endpoint(config, ref)] if ref else endpoints(config)
    by_parent: dict[str, Any] = {}
    for record in records:
        if record.type == AUTOSCALE_TYPE:
            by_parent[record.parent] = record
    found = []
    for team, endpoint in chosen:
        for deployment in endpoint.deployments:
            component = f"{team.name}-{endpoint.name}-{deployment.name}"
            matches = [r for parent, r in by_parent.items()
                       if parent.endswith(f"${AUTOSCALE_COMPONENT}::{component}")]
            if len(matches) != 1:
                raise LoadtestError(f"the program registered {len(matches)} autoscale settings for "
                                    f"{team.name}/{endpoint.name}/{deployment.name} (component {component}); "
                                    "expected exactly one")
            found.append(Target(team, endpoint, deployment, matches[0].urn, matches[0].inputs))
    if not found:
        raise LoadtestError(f"the stack {config.stack} has no online endpoint with autoscale; there is nothing to "
                            "prove")
    return found


def service_model(project_dir: Path, target: Target, options: ProofOptions) -> tuple[ServiceModel, str]:
    """The per-instance model of ``target``'s deployment and where its capacity came from."""
    timeout_ms = _timeout_ms(target.deployment)
    if options.capacity_rps is not None:
        return ServiceModel.from_capacity(options.capacity_rps, timeout_ms=timeout_ms,
                                          slo_p95_ms=target.endpoint.slo.latency_p95_ms), \
            f"--capacity-rps {options.capacity_rps:g}"
    path = project_dir / target.deployment.code.path / CAPACITY_FILE
    if not path.is_file():
        raise LoadtestError(f"{target.ref}: no capacity measurement at {path.relative_to(project_dir)}; run "
                            f"`python -m loadtest capacity {target.team.name}/{target.endpoint.name} --record` "
                            "(make loadtest) or pass --capacity-rps")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LoadtestError(f"{path.relative_to(project_dir)}: cannot read the capacity record: {error}") from None
    try:
        model = ServiceModel.from_record(record, timeout_ms=timeout_ms)
    except simulator.SimulationError as error:
        raise LoadtestError(f"{path.relative_to(project_dir)}: {error}") from None
    return model, str(path.relative_to(project_dir))


def _timeout_ms(deployment: DeploymentConfig) -> float:
    from components.config_reader import parse_iso_duration

    timeout = parse_iso_duration(deployment.request.timeout)
    assert timeout is not None  # validated with the configuration
    return timeout.total_seconds() * 1000


def load_profile(name: str, endpoint: EndpointConfig, start: dt.datetime, options: ProofOptions) -> Any:
    """The per-minute request rate of profile ``name`` for ``endpoint``'s expected load."""
    assert endpoint.load is not None
    if name == "file":
        if options.profile_file is None:
            raise LoadtestError("--profile file needs --profile-file CSV (lines `minute,rps` or `timestamp,rps`)")
        try:
            return load_profiles.from_file(options.profile_file, start)
        except load_profiles.ProfileError as error:
            raise LoadtestError(str(error)) from None
    return load_profiles.build(name, start, peak_rps=endpoint.load.peak_rps, base_rps=endpoint.load.base_rps)


def prove(project_dir: Path, config: PlatformConfig, records: Sequence[Any], options: ProofOptions,
          ref: str | None = None, progress: Any = None) -> list[Outcome]:
    """Every deployment of the stack (or of ``ref``) under every profile of ``options``."""
    if options.cooldown_model not in COOLDOWN_MODELS:
        raise LoadtestError(f"cooldown model {options.cooldown_model!r} is not known; use one of "
                            f"{', '.join(COOLDOWN_MODELS)}")
    chosen = targets(records, config, ref)
    for target in chosen:
        require_load(config, target.team, target.endpoint)
    start = options.start or week_start(dt.date.today())
    params = simulator.Params(provisioning_delay_min=options.provisioning_delay_min,
                              cooldown_model=options.cooldown_model)
    outcomes = []
    for target in chosen:
        try:
            setting = simulator.setting_from_inputs(target.inputs)
        except simulator.SimulationError as error:
            raise LoadtestError(f"{target.ref}: the registered autoscale setting cannot be simulated: {error}") \
                from None
        model, source = service_model(project_dir, target, options)
        for name in options.profiles:
            began = time.perf_counter()
            load = load_profile(name, target.endpoint, start, options)
            result = simulator.simulate(setting, load, model, params, start)
            slo = target.endpoint.slo
            verdict = simulator.judge(result, model, slo_p95_ms=slo.latency_p95_ms,
                                      error_rate_percent=slo.error_rate_percent,
                                      availability_percent=slo.availability_percent)
            outcomes.append(Outcome(target, name, source, verdict, result, time.perf_counter() - began))
            if progress:
                progress(f"{target.ref} {name}: {'pass' if verdict.passed else 'FAIL'}")
    return outcomes


def _slug(outcome: Outcome) -> str:
    t = outcome.target
    return f"{t.team.name}-{t.endpoint.name}-{t.deployment.name}-{outcome.profile}"


def summary(outcome: Outcome) -> dict[str, Any]:
    """What the JSON file and the table say about one outcome."""
    t, v = outcome.target, outcome.verdict
    return {
        "deployment": t.ref, "autoscale_setting": t.urn, "profile": outcome.profile,
        "capacity_source": outcome.capacity_source, "passed": v.passed, "reasons": list(v.reasons),
        **v.as_dict(),
    }


def chart(outcome: Outcome, path: Path) -> None:
    """Load, instances and p95 against the SLO over time (PNG, matplotlib's Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result, slo = outcome.result, outcome.target.endpoint.slo
    hours = [m / 60 for m in range(len(result.load_rps))]
    fig, (load_ax, count_ax, latency_ax) = plt.subplots(3, 1, sharex=True, figsize=(10, 7.5))
    load_ax.plot(hours, result.load_rps, color="tab:blue", linewidth=0.8)
    load_ax.set_ylabel("requests/s")
    load_ax.set_title(textwrap.fill(f"{outcome.target.ref} ({outcome.profile}): "
                      f"{'holds the SLO' if outcome.verdict.passed else 'FAILS: ' + outcome.verdict.reasons[0]}",
                      width=120), fontsize=9)
    count_ax.step(hours, result.requested, where="post", label="requested", color="tab:gray", linewidth=0.8)
    count_ax.step(hours, result.serving, where="post", label="serving", color="tab:green", linewidth=1.2)
    count_ax.set_ylabel("instances")
    count_ax.legend(loc="upper left", fontsize=8)
    latency_ax.plot(hours, result.p95_ms, color="tab:orange", linewidth=0.8, label="p95")
    latency_ax.axhline(slo.latency_p95_ms, color="tab:red", linestyle="--", linewidth=0.8,
                       label=f"SLO {slo.latency_p95_ms} ms")
    latency_ax.set_ylabel("ms")
    latency_ax.set_xlabel("hours from the profile's start")
    latency_ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(outcomes: Sequence[Outcome], directory: Path, charts: bool = True) -> Path:
    """``<deployment>-<profile>.json`` (and ``.png``) per outcome and ``summary.json``; returns the summary's path."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for outcome in outcomes:
        row = summary(outcome)
        rows.append(row)
        detail = {**row, "minutes": outcome.result.as_dict(), "events": outcome.result.events_as_dicts()}
        (directory / f"{_slug(outcome)}.json").write_text(json.dumps(detail, indent=1) + "\n", encoding="utf-8")
        if charts:
            chart(outcome, directory / f"{_slug(outcome)}.png")
    path = directory / "summary.json"
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return path


def table(outcomes: Sequence[Outcome]) -> str:
    """The proof as a Markdown table (the closing note and docs/load-testing.md quote it)."""
    lines = ["| deployment | profile | verdict | minutes outside SLO / budget | instance-hours | peak instances | "
             "flaps | max holds peak |", "|---|---|---|---|---|---|---|---|"]
    for o in outcomes:
        v = o.verdict
        lines.append(f"| {o.target.ref} | {o.profile} | {'pass' if v.passed else 'FAIL'} | "
                     f"{v.minutes_outside_slo} / {v.budget_minutes:g} | {v.instance_hours:.1f} | {v.peak_instances} | "
                     f"{v.flaps} | {'yes' if v.max_holds_peak else 'no'} |")
    return "\n".join(lines)


RULE = "autoscale-holds-slo"
RULE_DESCRIPTION = ("The deployment's registered autoscale rules hold its SLO under the expected load (ramp, spike "
                    "and diurnal profiles), without flapping, and its maximum can serve the peak.")


def pack_result(project_dir: Path, stack_config: Any, records: Sequence[Any], *, as_of: dt.date | None = None,
                options: ProofOptions | None = None) -> Any:
    """The proof as the result of a check set named ``autoscale-proof`` (``preflight.analysis.PackResult``), so that
    every report format shows a failed proof like a mandatory policy violation on the autoscale setting."""
    from policies.harness import Violation
    from preflight.analysis import PackResult, PolicyMeta

    began = time.perf_counter()
    config = platform_config(project_dir, stack_config.stack, today=as_of)
    options = options or ProofOptions(start=week_start(as_of or dt.date.today()))
    outcomes = prove(project_dir, config, records, options)
    meta = PolicyMeta(name=RULE, description=RULE_DESCRIPTION, severity="high", level="mandatory",
                      remediation="Raise the maximum or minimum instances, shorten the scale-out cooldown or lower "
                                  "its threshold, or add a schedule for the busy hours; run `python -m loadtest "
                                  "autoscale <stack> <team>/<endpoint>` for the chart (docs/load-testing.md).",
                      url="https://learn.microsoft.com/azure/azure-monitor/autoscale/autoscale-understanding-settings",
                      tags=("autoscale", "slo"), framework="", stack=False, resource_types=(AUTOSCALE_TYPE,))
    violations = [Violation(pack=CHECKS, policy=RULE, level="mandatory", severity="high",
                            description=RULE_DESCRIPTION,
                            message=f"{o.target.ref} under the {o.profile} profile: {'; '.join(o.verdict.reasons)}",
                            urn=o.target.urn, version="1")
                  for o in outcomes if not o.verdict.passed]
    return PackResult(CHECKS, "loadtest", "1", "", [meta], violations, 0.0, time.perf_counter() - began, 0.0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number above 0")
    return value


def _delay(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 120:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of minutes from 0 to 120")
    return int(text)


def _start(text: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack", help="stack name; its config is read from Pulumi.<stack>.yaml")
    parser.add_argument("endpoint", nargs="?", metavar="TEAM/ENDPOINT",
                        help="one endpoint (default: every endpoint of the stack)")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="project directory (default: current)")
    parser.add_argument("--profile", action="append", choices=PROFILES,
                        help="load profile to replay (repeatable; default: ramp, spike and diurnal)")
    parser.add_argument("--profile-file", type=Path, metavar="CSV",
                        help="the file profile: lines `minute,rps` or `timestamp,rps` (at most 14 days)")
    parser.add_argument("--capacity-rps", type=_positive_float, metavar="RPS",
                        help="one instance's capacity instead of the recorded measurement (<code path>/capacity.json)")
    parser.add_argument("--provisioning-delay", type=_delay, default=simulator.DEFAULT_PROVISIONING_DELAY_MIN,
                        metavar="MINUTES",
                        help="minutes before an added instance serves (default %(default)s: users report 12-18 "
                             "minutes for managed online deployments; Microsoft publishes no figure)")
    parser.add_argument("--cooldown-model", choices=COOLDOWN_MODELS, default=COOLDOWN_MODELS[0],
                        help="last-action: the cooldown of the rule that fired last blocks every action (Microsoft's "
                             "worked example); per-rule: each rule waits for its own cooldown (default %(default)s)")
    parser.add_argument("--start", type=_start, metavar="YYYY-MM-DD",
                        help="day the profiles start, 00:00 UTC (default: this week's Monday)")
    parser.add_argument("--output", type=Path, default=None, metavar="DIR",
                        help=f"where the JSON and PNG files go (default {DEFAULT_OUTPUT}/<stack>)")
    parser.add_argument("--no-charts", action="store_true", help="JSON only")


def command(args: argparse.Namespace) -> int:
    from preflight.program import ProgramError, evaluate
    from preflight.stack_config import StackConfigError, load_stack_config

    project_dir: Path = args.dir
    profiles = tuple(dict.fromkeys(args.profile or GATE_PROFILES))
    if "file" in profiles and args.profile_file is None:
        raise LoadtestError("--profile file needs --profile-file CSV")
    if args.profile_file is not None and "file" not in profiles:
        raise LoadtestError("--profile-file is only read with --profile file")
    options = ProofOptions(profiles=profiles, profile_file=args.profile_file, capacity_rps=args.capacity_rps,
                           provisioning_delay_min=args.provisioning_delay, cooldown_model=args.cooldown_model,
                           start=args.start)
    config = platform_config(project_dir, args.stack)
    if args.endpoint:
        find_endpoint(config, args.endpoint)  # a wrong name fails before the program is evaluated
    print(f"loadtest: evaluating the program for stack {args.stack}", file=sys.stderr)
    try:
        records = evaluate(project_dir, load_stack_config(project_dir, args.stack))
    except (StackConfigError, ProgramError) as error:
        raise LoadtestError(str(error)) from None
    outcomes = prove(project_dir, config, records, options, args.endpoint,
                     progress=lambda message: print(f"loadtest: {message}", file=sys.stderr))
    directory = args.output or project_dir / DEFAULT_OUTPUT / args.stack
    path = write(outcomes, directory, charts=not args.no_charts)
    print(table(outcomes))
    print(f"\nDetails and charts: {directory}/ (summary: {path.name})")
    failed = [o for o in outcomes if not o.verdict.passed]
    for o in failed:
        print(f"loadtest: FAIL {o.target.ref} ({o.profile}): {o.verdict.reasons[0]}", file=sys.stderr)
    return 1 if failed else 0
