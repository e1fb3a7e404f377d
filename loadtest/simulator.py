"""Azure Monitor autoscale, replayed minute by minute against a modelled deployment (the autoscale proof's engine).

The semantics are Microsoft's documented ones; each is cited where it is applied. Pages (learn.microsoft.com/azure/
azure-monitor/autoscale/...): ``autoscale-understanding-settings`` (US), ``autoscale-flapping`` (FL),
``autoscale-best-practices`` (BP), ``autoscale-multiprofile`` (MP), ``autoscale-diagnostics`` (DG).

- Every minute the engine picks the active profile (fixed date, then recurring, then default: "The first suitable
  profile that's found is used", US), puts a count outside the profile's bounds back inside them on that run (BP:
  "the autoscale engine scales it back to six instances on its next run"), and, outside cooldown, evaluates the
  rules.
- A rule's metric is combined across instances by ``statistic``, then over ``timeWindow`` by ``timeAggregation``
  (BP: "autoscale first averages the metric across instances for each minute. It then compares ..."), optionally
  divided by the instance count (``dividePerInstance``), and compared with ``threshold`` by ``operator``.
- "If one or more scale-out rules are triggered ... autoscale scales to the highest specified capacity"; "Autoscale
  only scales in if all the scale-in rules are triggered", and then "by as little as possible" (US).
- Before scaling in, the metric is projected to the new count (``value × current / new``, BP 2022: "60 x 3 (current
  instance count) = 180 / 2 ... = 90") against every scale-out rule; autoscale tries counts between the target and
  the current one and skips the scale-in when none is safe (FL).
- Cooldown: by default the cooldown of the rule that fired last blocks every action ("The cooldown that applies is
  the one on the rule that most recently fired", US, with its worked 10:00/11:00/13:00/13:40 timeline); the
  ``per-rule`` model, where each rule waits for its own cooldown since the last action, follows the get-started and
  PowerShell pages, which say so instead. Microsoft's pages disagree; neither is verified against the live engine.
- Without metric data, autoscale "scales out to the default" when below it and never scales in (US).

What Microsoft does not publish is a parameter (:class:`Params`) with a stated default: the evaluation tick (one
minute; "every 30 to 60 seconds", US), the metric lag (2 minutes, from the DG sample record), the time an added
instance takes to serve (15 minutes, from a user report of 12-18 minutes, azureml-examples issue 3515: not a
Microsoft figure), whether evaluation pauses while a scale-out is still provisioning (on, DG's
``skipCurrentAutoscaleEvaluation``), and the rounding of percentage changes.

Speed: the instance count is constant between scale actions, so the engine computes every rule's windowed value
for a whole stretch at once (cumulative sums, sliding windows) and jumps to the first minute anything can happen.
A week at one-minute grain for 100 deployments runs in well under two seconds (``python -m loadtest.bench``).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import re
import warnings
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from components.time_zones import WINDOWS_TO_IANA

DEFAULT_PROVISIONING_DELAY_MIN = 15
DEFAULT_METRIC_LAG_MIN = 2
#: Minutes the engine evaluates at once at most (see ``_Engine.run``): long stretches mean fewer array operations,
#: and their cost is in the number of operations, not their length.
CHUNK = 1440
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
OPERATORS = ("GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual", "Equals", "NotEquals")
STATISTICS = ("Average", "Min", "Max", "Sum", "Count")
AGGREGATIONS = ("Average", "Minimum", "Maximum", "Total", "Count", "Last")
ACTION_TYPES = ("ChangeCount", "ExactCount", "PercentChangeCount")
#: Window of the flap check in :func:`judge`: opposite scale actions this close, with the load unchanged.
DEFAULT_FLAP_WINDOW_MIN = 60
#: How much the load may change between two opposite actions for them to count as a flap (5 %).
FLAP_LOAD_TOLERANCE = 0.05
#: Minutes of load before an action that :func:`flaps` compares (the rules' usual window).
FLAP_LOOKBACK_MIN = 10
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


class SimulationError(Exception):
    """The setting (or a model) holds something the simulator cannot replay; the message names it."""


# ----------------------------------------------------------------------------------------------------------------
# The setting, as registered
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    metric_name: str
    time_window: int
    """Minutes."""
    statistic: str
    time_aggregation: str
    operator: str
    threshold: float
    divide_per_instance: bool = False
    metric_namespace: str = ""


@dataclass(frozen=True)
class Action:
    direction: str
    """``Increase`` or ``Decrease``."""
    type: str
    value: float
    cooldown: int
    """Minutes."""


@dataclass(frozen=True)
class Rule:
    trigger: Trigger
    action: Action

    @property
    def out(self) -> bool:
        return self.action.direction == "Increase"


@dataclass(frozen=True)
class Capacity:
    minimum: int
    maximum: int
    default: int


@dataclass(frozen=True)
class Recurrence:
    time_zone: str
    days: tuple[str, ...]
    hours: tuple[int, ...]
    minutes: tuple[int, ...]


@dataclass(frozen=True)
class FixedDate:
    time_zone: str
    start: dt.datetime
    """Local, naive."""
    end: dt.datetime


@dataclass(frozen=True)
class Profile:
    name: str
    capacity: Capacity
    rules: tuple[Rule, ...]
    recurrence: Recurrence | None = None
    fixed_date: FixedDate | None = None


@dataclass(frozen=True)
class AutoscaleSetting:
    profiles: tuple[Profile, ...]
    enabled: bool = True
    name: str = ""


def duration_minutes(text: Any, where: str) -> int:
    """An ISO 8601 duration in whole minutes (``PT5M``, ``PT1H``, ``P1D``)."""
    match = _DURATION.fullmatch(str(text)) if isinstance(text, str) else None
    if match is None or not any(match.groups()):
        raise SimulationError(f"{where}: {text!r} is not an ISO 8601 duration such as PT5M")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = days * 1440 + hours * 60 + minutes
    if seconds % 60 or total + seconds // 60 <= 0:
        raise SimulationError(f"{where}: {text!r} is not a whole number of minutes; the simulator runs at one-minute "
                              "grain")
    return total + seconds // 60


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SimulationError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise SimulationError(f"{where}: {value!r} is not a finite number")
    return number


def _count(value: Any, where: str) -> int:
    number = _number(value, where)
    if number != int(number) or number < 0:
        raise SimulationError(f"{where}: {value!r} is not a whole number of instances")
    return int(number)


def _choice(value: Any, allowed: Sequence[str], where: str) -> str:
    if value not in allowed:
        raise SimulationError(f"{where}: {value!r} is not supported; the simulator knows {', '.join(allowed)}")
    return str(value)


def _zone(name: Any, where: str) -> str:
    if name not in WINDOWS_TO_IANA:
        raise SimulationError(f"{where}: {name!r} is not a Windows time zone the simulator knows "
                              "(components/time_zones.py)")
    return str(name)


def _rule(raw: Mapping[str, Any], where: str) -> Rule:
    trigger = raw.get("metricTrigger")
    action = raw.get("scaleAction")
    if not isinstance(trigger, Mapping) or not isinstance(action, Mapping):
        raise SimulationError(f"{where}: a rule needs metricTrigger and scaleAction")
    grain = duration_minutes(trigger.get("timeGrain", "PT1M"), f"{where}.metricTrigger.timeGrain")
    if grain != 1:
        raise SimulationError(f"{where}.metricTrigger.timeGrain: {trigger.get('timeGrain')!r}; the simulator "
                              "replays one-minute grains (PT1M) only")
    kind = action.get("type", "ChangeCount")
    if kind == "ServiceAllowedNextValue":
        raise SimulationError(f"{where}.scaleAction.type: 'ServiceAllowedNextValue' is not documented for Azure "
                              "Machine Learning deployments; use ChangeCount, ExactCount or PercentChangeCount")
    value = _number(action.get("value", "1"), f"{where}.scaleAction.value")
    if value < 1 and kind != "ExactCount":
        raise SimulationError(f"{where}.scaleAction.value: {value:g} is below 1 (the REST API's minimum)")
    return Rule(
        trigger=Trigger(
            metric_name=str(trigger.get("metricName", "")),
            metric_namespace=str(trigger.get("metricNamespace", "")),
            time_window=duration_minutes(trigger.get("timeWindow"), f"{where}.metricTrigger.timeWindow"),
            statistic=_choice(trigger.get("statistic", "Average"), STATISTICS, f"{where}.metricTrigger.statistic"),
            time_aggregation=_choice(trigger.get("timeAggregation", "Average"), AGGREGATIONS,
                                     f"{where}.metricTrigger.timeAggregation"),
            operator=_choice(trigger.get("operator"), OPERATORS, f"{where}.metricTrigger.operator"),
            threshold=_number(trigger.get("threshold"), f"{where}.metricTrigger.threshold"),
            divide_per_instance=bool(trigger.get("dividePerInstance", False)),
        ),
        action=Action(
            direction=_choice(action.get("direction"), ("Increase", "Decrease"), f"{where}.scaleAction.direction"),
            type=_choice(kind, ACTION_TYPES, f"{where}.scaleAction.type"),
            value=value,
            cooldown=duration_minutes(action.get("cooldown"), f"{where}.scaleAction.cooldown"),
        ),
    )


def _local(text: Any, where: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise SimulationError(f"{where}: {text!r} is not an ISO 8601 date and time") from None
    return moment.replace(tzinfo=None) if moment.tzinfo is None else \
        moment.astimezone(dt.UTC).replace(tzinfo=None)


def _profile(raw: Mapping[str, Any], where: str) -> Profile:
    capacity = raw.get("capacity")
    if not isinstance(capacity, Mapping):
        raise SimulationError(f"{where}.capacity: missing")
    low = _count(capacity.get("minimum"), f"{where}.capacity.minimum")
    high = _count(capacity.get("maximum"), f"{where}.capacity.maximum")
    default = _count(capacity.get("default"), f"{where}.capacity.default")
    if not low <= default <= high:
        raise SimulationError(f"{where}.capacity: minimum {low}, default {default}, maximum {high} are not in order")
    rules = tuple(_rule(r, f"{where}.rules[{i}]") for i, r in enumerate(raw.get("rules") or []))
    recurrence = fixed = None
    if raw.get("recurrence"):
        rec = raw["recurrence"]
        if rec.get("frequency", "Week") != "Week":
            raise SimulationError(f"{where}.recurrence.frequency: {rec.get('frequency')!r}; the REST API accepts "
                                  "Week only")
        schedule = rec.get("schedule") or {}
        days = tuple(_choice(d, DAYS, f"{where}.recurrence.schedule.days") for d in schedule.get("days") or [])
        hours = tuple(int(_number(h, f"{where}.recurrence.schedule.hours")) for h in schedule.get("hours") or [])
        minutes = tuple(int(_number(m, f"{where}.recurrence.schedule.minutes"))
                        for m in schedule.get("minutes") or [])
        if not days or not hours or not minutes or any(not 0 <= h < 24 for h in hours) \
                or any(not 0 <= m < 60 for m in minutes):
            raise SimulationError(f"{where}.recurrence.schedule: days, hours (0-23) and minutes (0-59) are required")
        recurrence = Recurrence(_zone(schedule.get("timeZone"), f"{where}.recurrence.schedule.timeZone"), days,
                                hours, minutes)
    if raw.get("fixedDate"):
        fd = raw["fixedDate"]
        # The time zone of a fixed date is optional; UTC when absent (the PowerShell sample's default, U10).
        fixed = FixedDate(_zone(fd.get("timeZone", "UTC"), f"{where}.fixedDate.timeZone"),
                          _local(fd.get("start"), f"{where}.fixedDate.start"),
                          _local(fd.get("end"), f"{where}.fixedDate.end"))
    return Profile(str(raw.get("name", "")), Capacity(low, high, default), rules, recurrence, fixed)


def setting_from_inputs(inputs: Mapping[str, Any]) -> AutoscaleSetting:
    """The setting from the inputs the program registered (camelCase, numbers of instances as strings)."""
    raw = inputs.get("profiles")
    if not isinstance(raw, list) or not raw:
        raise SimulationError("profiles: the setting has no profile")
    profiles = tuple(_profile(p, f"profiles[{i}]") for i, p in enumerate(raw))
    if sum(1 for p in profiles if p.recurrence is None and p.fixed_date is None) > 1:
        raise SimulationError("profiles: more than one default profile (one without recurrence or fixed date); "
                              "\"You can only have one default profile\" (autoscale-understanding-settings)")
    return AutoscaleSetting(profiles, bool(inputs.get("enabled", True)), str(inputs.get("autoscaleSettingName", "")))


# ----------------------------------------------------------------------------------------------------------------
# Models and parameters
# ----------------------------------------------------------------------------------------------------------------


class MetricModel(Protocol):
    """What the deployment reports: each metric's per-minute value for a load and an instance count."""

    def metric(self, name: str, load: np.ndarray, serving: int) -> np.ndarray:
        """Per-minute values of metric ``name`` (per instance, the same on every instance) for the loads ``load``
        served by ``serving`` instances; NaN where no data would be reported."""
        ...


@dataclass(frozen=True)
class Params:
    provisioning_delay_min: int = DEFAULT_PROVISIONING_DELAY_MIN
    """Minutes from a scale-out to the new instances serving."""
    cooldown_model: str = "last-action"
    """``last-action`` (US's worked example) or ``per-rule`` (get-started, PowerShell pages)."""
    metric_lag_min: int = DEFAULT_METRIC_LAG_MIN
    """Minutes between a metric's minute and the evaluation that first sees it."""
    skip_while_provisioning: bool = True
    """No evaluation while added instances are not serving yet (DG: ``skipCurrentAutoscaleEvaluation``)."""
    guard_metrics: tuple[str, ...] | None = None
    """Metrics the flapping projection applies to (``None``: every scale-out rule's metric, as FL describes; the
    projection is linear, which latency is not)."""
    percent_rounding: str = "up"
    """``up``: a percentage change adds ``ceil`` and removes ``floor`` of the share, at least one instance (Microsoft
    does not document the rounding)."""

    def __post_init__(self) -> None:
        if self.cooldown_model not in ("last-action", "per-rule"):
            raise SimulationError(f"cooldown model {self.cooldown_model!r}; use last-action or per-rule")
        if self.provisioning_delay_min < 0 or self.metric_lag_min < 0:
            raise SimulationError("the provisioning delay and the metric lag are minutes, at least 0")


@dataclass(frozen=True)
class Event:
    minute: int
    kind: str
    """``scale-out``, ``scale-in``, ``flapping-reduced``, ``flapping-deferred``, ``bounds``, ``default``,
    ``profile``."""
    old: int
    new: int
    reason: str


@dataclass
class Result:
    start: dt.datetime
    load_rps: np.ndarray
    serving: np.ndarray
    """Instances serving each minute."""
    requested: np.ndarray
    """Instances asked for (serving plus those still provisioning)."""
    profile: np.ndarray
    """Index of the active profile in the setting."""
    events: list[Event]
    profile_names: tuple[str, ...]
    cpu_percent: np.ndarray | None = None
    p95_ms: np.ndarray | None = None
    error_rate: np.ndarray | None = None
    maximum: np.ndarray | None = None
    """The active profile's maximum each minute."""

    def as_dict(self) -> dict[str, Any]:
        def floats(a: np.ndarray | None) -> list[float | None]:
            return [] if a is None else [None if not math.isfinite(x) else round(float(x), 3) for x in a]

        return {"start": self.start.isoformat(), "load_rps": floats(self.load_rps),
                "serving": self.serving.tolist(), "requested": self.requested.tolist(),
                "profile": [self.profile_names[i] for i in self.profile.tolist()],
                "cpu_percent": floats(self.cpu_percent), "p95_ms": floats(self.p95_ms),
                "error_rate": floats(self.error_rate)}

    def events_as_dicts(self) -> list[dict[str, Any]]:
        return [{"minute": e.minute, "time": (self.start + dt.timedelta(minutes=e.minute)).isoformat(),
                 "kind": e.kind, "old": e.old, "new": e.new, "reason": e.reason} for e in self.events]


# ----------------------------------------------------------------------------------------------------------------
# Profiles over time
# ----------------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _local_minutes(zone: str, start: dt.datetime, minutes: int) -> np.ndarray:
    """Minute of the local week (Monday 00:00 = 0) for every UTC minute of the run, DST included (cached: a proof
    replays many settings over the same weeks; the array is read-only)."""
    tz = zoneinfo.ZoneInfo(WINDOWS_TO_IANA[zone])
    result = np.empty(minutes, dtype=np.int64)
    # UTC offsets only change on whole quarter hours; take the offset at every 15-minute mark.
    step = 15
    for block in range(0, minutes, step):
        moment = (start + dt.timedelta(minutes=block)).astimezone(tz)
        local = moment.weekday() * 1440 + moment.hour * 60 + moment.minute
        span = min(step, minutes - block)
        result[block:block + span] = (local + np.arange(span)) % (7 * 1440)
    result.flags.writeable = False
    return result


def active_profiles(setting: AutoscaleSetting, start: dt.datetime, minutes: int) -> np.ndarray:
    """Index of the profile in force each minute: a fixed date first, then the recurring profile whose start came
    last ("A profile will remain active until the next profile's start time", MP), else the default profile."""
    default = next((i for i, p in enumerate(setting.profiles) if p.recurrence is None and p.fixed_date is None), -1)
    index = np.full(minutes, default, dtype=np.int64)
    recurring = [(i, p.recurrence) for i, p in enumerate(setting.profiles) if p.recurrence is not None]
    if recurring:
        # Minutes since the latest start of each recurring profile (a week and more: none yet); the smallest wins.
        since = np.full((len(recurring), minutes), 10 ** 9, dtype=np.int64)
        for row, (_, rec) in enumerate(recurring):
            local = _local_minutes(rec.time_zone, start, minutes)
            starts = sorted(DAYS.index(d) * 1440 + h * 60 + m for d in rec.days for h in rec.hours for m in rec.minutes)
            marks = np.asarray(starts, dtype=np.int64)
            # Latest start at or before each local minute, going back into the previous week when needed.
            position = np.searchsorted(marks, local, side="right") - 1
            latest = np.where(position >= 0, marks[np.maximum(position, 0)], marks[-1] - 7 * 1440)
            since[row] = local - latest
        best = since.argmin(axis=0)
        # Before the first start of any recurring profile within the look-back, the default applies; a weekly
        # schedule always has a latest start within the past week, so the recurring profile that started last holds.
        index = np.asarray([i for i, _ in recurring], dtype=np.int64)[best] if minutes else index
    for i, p in enumerate(setting.profiles):
        if p.fixed_date is None:
            continue
        tz = zoneinfo.ZoneInfo(WINDOWS_TO_IANA[p.fixed_date.time_zone])
        begin = p.fixed_date.start.replace(tzinfo=tz).astimezone(dt.UTC)
        end = p.fixed_date.end.replace(tzinfo=tz).astimezone(dt.UTC)
        first = max(0, math.ceil((begin - start).total_seconds() / 60))
        last = min(minutes, math.floor((end - start).total_seconds() / 60) + 1)
        if first < last:
            index[first:last] = i
    if (index < 0).any():
        raise SimulationError("no profile applies at some minute (no default profile and no recurring one)")
    return index


# ----------------------------------------------------------------------------------------------------------------
# The engine
# ----------------------------------------------------------------------------------------------------------------


def _fires(operator: str, value: np.ndarray, threshold: float) -> np.ndarray:
    """Where ``value`` meets the rule's condition (NaN, no data, never does; numpy compares it without warning)."""
    if operator == "GreaterThan":
        return value > threshold
    if operator == "GreaterThanOrEqual":
        return value >= threshold
    if operator == "LessThan":
        return value < threshold
    if operator == "LessThanOrEqual":
        return value <= threshold
    if operator == "Equals":
        return value == threshold
    return (value != threshold) & ~np.isnan(value)


def _combine(trigger: Trigger, per_instance: np.ndarray, serving: int) -> np.ndarray:
    """The per-minute sample: instances combined by ``statistic`` (all instances report the same value here), then
    divided by the instance count with ``dividePerInstance``."""
    if trigger.statistic == "Sum":
        sample = per_instance * serving
    elif trigger.statistic == "Count":
        sample = np.where(np.isnan(per_instance), np.nan, float(serving))
    else:
        sample = per_instance
    return sample / serving if trigger.divide_per_instance else sample


class _Series:
    """The per-minute samples of one metric as rules read it (name, statistic, per instance or not), with a prefix of
    warm-up minutes before the run. Rules that read the same samples share one series."""

    def __init__(self, rule: Rule, prefix: int, minutes: int) -> None:
        self.rule = rule
        """The first rule that reads this series (its trigger says how samples are combined)."""
        self.prefix = prefix
        self.values = np.full(prefix + minutes, np.nan)
        self.gaps = False
        """Whether any sample is missing (NaN): only then the slower NaN-aware path is needed."""

    def write(self, first: int, last: int, samples: np.ndarray) -> None:
        self.values[self.prefix + first:self.prefix + last] = samples
        if not self.gaps and np.isnan(samples).any():
            self.gaps = True

    def windowed(self, window: int, aggregation: str, first: int, last: int, lag: int) -> np.ndarray:
        """The aggregated value over ``window`` minutes at each evaluation minute in ``[first, last)``; NaN without
        data."""
        if aggregation == "Average" and not self.gaps:  # the common case, in four array operations
            sums = np.cumsum(self.values[first + self.prefix - lag + 1 - window:last + self.prefix - lag])
            sums = np.concatenate(((0.0,), sums))
            return (sums[window:] - sums[:-window]) / window
        hi = np.arange(first, last) + self.prefix - lag + 1  # exclusive end of each window in ``values``
        lo = hi - window
        if aggregation == "Last":
            return self.values[hi - 1]
        segment = self.values[lo[0]:hi[-1]] if len(hi) else self.values[:0]
        valid = ~np.isnan(segment)
        if aggregation in ("Average", "Total", "Count"):
            sums = np.concatenate(([0.0], np.cumsum(np.where(valid, segment, 0.0))))
            counts = np.concatenate(([0], np.cumsum(valid)))
            base = lo[0]
            total = sums[hi - base] - sums[lo - base]
            count = counts[hi - base] - counts[lo - base]
            with np.errstate(invalid="ignore", divide="ignore"):
                if aggregation == "Average":
                    return np.where(count > 0, total / np.maximum(count, 1), np.nan)
                if aggregation == "Total":
                    return np.where(count > 0, total, np.nan)
                return np.where(count > 0, count.astype(float), np.nan)
        windows = np.lib.stride_tricks.sliding_window_view(segment, window)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window is "no data", not a warning
            return np.nanmax(windows, axis=1) if aggregation == "Maximum" else np.nanmin(windows, axis=1)


def _sample_key(rule: Rule) -> tuple[str, str, bool]:
    return rule.trigger.metric_name, rule.trigger.statistic, rule.trigger.divide_per_instance


def _change(action: Action, current: int, rounding: str) -> int:
    """The count one rule's action asks for (before the profile's bounds)."""
    up = action.direction == "Increase"
    if action.type == "ExactCount":
        return int(action.value)
    if action.type == "ChangeCount":
        step = int(action.value)
    else:
        share = current * action.value / 100
        step = max(1, math.ceil(share) if (up == (rounding == "up")) else math.floor(share))
    return current + step if up else current - step


class _Engine:
    def __init__(self, setting: AutoscaleSetting, load: np.ndarray, model: MetricModel, params: Params,
                 start: dt.datetime) -> None:
        self.setting = setting
        self.load = np.asarray(load, dtype=float)
        self.model = model
        self.params = params
        self.start = start
        n = len(self.load)
        self.n = n
        self.profile_index = active_profiles(setting, start, n)
        rules = [r for p in setting.profiles for r in p.rules]
        self.prefix = max([r.trigger.time_window for r in rules] + [1]) + params.metric_lag_min + 1
        # One series per distinct (metric, statistic, divide) and window shape; rules of different profiles that are
        # the same share it.
        shared: dict[tuple[str, str, bool], _Series] = {}
        for rule in rules:
            shared.setdefault(_sample_key(rule), _Series(rule, self.prefix, n))
        self.all_series = list(shared.values())
        #: Per profile, the series of each of its rules, in the profile's order (looked up once, here).
        self.profile_series = [[shared[_sample_key(r)] for r in p.rules] for p in setting.profiles]
        self.outs = [[i for i, r in enumerate(p.rules) if r.out] for p in setting.profiles]
        self.ins = [[i for i, r in enumerate(p.rules) if not r.out] for p in setting.profiles]
        self.serving = np.zeros(n, dtype=np.int64)
        self.requested = np.zeros(n, dtype=np.int64)
        self.events: list[Event] = []

    # -- metric history ------------------------------------------------------------------------------------------

    def _fill(self, first: int, last: int, serving: int) -> None:
        """Record every series' samples for minutes ``[first, last)`` served by ``serving`` instances."""
        if first >= last:
            return
        self.serving[first:last] = serving
        load = self.load[first:last]
        cache: dict[str, np.ndarray] = {}
        for series in self.all_series:
            name = series.rule.trigger.metric_name
            if name not in cache:
                cache[name] = np.asarray(self.model.metric(name, load, serving), dtype=float)
            series.write(first, last, _combine(series.rule.trigger, cache[name], serving))

    def _warm_up(self, serving: int) -> None:
        """Before the run the deployment served the first minute's load with ``serving`` instances."""
        load = np.full(self.prefix, self.load[0] if self.n else 0.0)
        for series in self.all_series:
            values = np.asarray(self.model.metric(series.rule.trigger.metric_name, load, serving), dtype=float)
            series.values[:self.prefix] = _combine(series.rule.trigger, values, serving)

    # -- decisions -----------------------------------------------------------------------------------------------

    def _scale_in_target(self, rules: Sequence[Rule], current: int) -> int:
        """Every scale-in rule fired: "scales in by as little as possible" (the largest resulting count)."""
        return max(_change(r.action, current, self.params.percent_rounding) for r in rules)

    def _guards(self, rule: Rule) -> bool:
        metrics = self.params.guard_metrics
        return metrics is None or rule.trigger.metric_name in metrics

    def run(self) -> Result:
        n, lag = self.n, self.params.metric_lag_min
        profiles = self.setting.profiles
        first_profile = profiles[int(self.profile_index[0])] if n else profiles[0]
        current = first_profile.capacity.default
        requested = current
        pending: list[tuple[int, int]] = []  # (minute the instances serve, how many)
        last_action: int | None = None
        last_cooldown = 0
        if n:
            self._warm_up(current)
        t = 0
        previous_profile = -1
        switches = np.flatnonzero(np.diff(self.profile_index)) + 1
        while t < n:
            # Instances that finished provisioning serve from this minute.
            ready = sum(k for at, k in pending if at <= t)
            if ready:
                pending = [(at, k) for at, k in pending if at > t]
                current += ready
            p_index = int(self.profile_index[t])
            profile = profiles[p_index]
            if p_index != previous_profile:
                if previous_profile >= 0:
                    self.events.append(Event(t, "profile", requested, requested, profile.name or f"#{p_index}"))
                previous_profile = p_index
            cap = profile.capacity
            # Bounds: a count outside the active profile's range is put back on this run (BP), not gated.
            if requested < cap.minimum:
                self.events.append(Event(t, "bounds", requested, cap.minimum, f"below the minimum of {profile.name}"))
                pending.append((t + self.params.provisioning_delay_min, cap.minimum - requested))
                requested = cap.minimum
            elif requested > cap.maximum:
                self.events.append(Event(t, "bounds", requested, cap.maximum, f"above the maximum of {profile.name}"))
                drop = requested - cap.maximum
                # Instances still provisioning are cancelled first, then serving ones removed.
                while drop and pending:
                    at, k = pending.pop()
                    taken = min(k, drop)
                    drop -= taken
                    if k > taken:
                        pending.append((at, k - taken))
                current -= drop
                requested = cap.maximum
            if pending and self.params.provisioning_delay_min == 0:
                current += sum(k for _, k in pending)
                pending = []
            self.requested[t] = requested
            # The next minute the situation can change by itself: a profile switch or instances becoming ready.
            # The windows are computed for a stretch at once (see CHUNK).
            following = switches[np.searchsorted(switches, t, side="right"):]
            horizon = min(n, t + CHUNK, int(following[0]) if len(following) else n)
            if pending:
                horizon = min(horizon, min(at for at, _ in pending))
            # Samples of the stretch as if nothing changes; a decision inside it only changes the minutes after
            # it, which the next stretch writes again.
            self._fill(t, horizon, current)
            self.requested[t:horizon] = requested
            if pending and self.params.skip_while_provisioning:
                t = horizon
                continue
            decision = self._next_decision(p_index, t, horizon, current, last_action, last_cooldown, lag)
            if decision is None:
                t = horizon
                continue
            at, kind, new, rule_text, cooldown = decision
            if kind == "default":
                pending.append((at + self.params.provisioning_delay_min, new - requested))
                self.events.append(Event(at, "default", requested, new, rule_text))
                requested = new
            elif kind == "scale-out":
                pending.append((at + self.params.provisioning_delay_min, new - requested))
                self.events.append(Event(at, "scale-out", requested, new, rule_text))
                requested = new
                last_action, last_cooldown = at, cooldown
            else:
                self.events.append(Event(at, kind, requested, new, rule_text))
                current -= requested - new
                requested = new
                last_action, last_cooldown = at, cooldown
            t = at + 1
        cpu = p95 = errors = None
        observe = getattr(self.model, "observe", None)
        if observe is not None:
            cpu, p95, errors = observe(self.load, self.serving)
        maximum = np.asarray([profiles[i].capacity.maximum for i in range(len(profiles))])[self.profile_index] \
            if n else np.zeros(0, dtype=np.int64)
        return Result(self.start, self.load, self.serving, self.requested, self.profile_index, self.events,
                      tuple(p.name for p in profiles), cpu, p95, errors, maximum)

    def _next_decision(self, p_index: int, t: int, horizon: int, current: int, last_action: int | None,
                       last_cooldown: int, lag: int) -> tuple[int, str, int, str, int] | None:
        """The first minute in ``[t, horizon)`` at which a scale action (or the default fallback) happens with
        ``current`` instances serving throughout; also logs a run of scale-ins the flapping guard deferred."""
        profile = self.setting.profiles[p_index]
        if t >= horizon or not profile.rules:
            return None
        cap = profile.capacity
        rules = profile.rules
        size = horizon - t
        computed: dict[tuple[int, int, str], np.ndarray] = {}
        values = []
        for rule, series in zip(rules, self.profile_series[p_index], strict=True):
            key = (id(series), rule.trigger.time_window, rule.trigger.time_aggregation)
            if key not in computed:
                computed[key] = series.windowed(key[1], key[2], t, horizon, lag)
            values.append(computed[key])
        per_rule = self.params.cooldown_model == "per-rule"
        blocked = -1 if last_action is None else last_action + last_cooldown - t
        fires = []
        for rule, value in zip(rules, values, strict=True):
            fired = _fires(rule.trigger.operator, value, rule.trigger.threshold)
            start = (-1 if last_action is None else last_action + rule.action.cooldown - t) if per_rule else blocked
            if start > 0:
                fired[:start] = False  # still in cooldown
            fires.append(fired)
        outs = self.outs[p_index]
        ins = self.ins[p_index]
        nothing = np.zeros(size, dtype=bool)
        out_fire = nothing
        if outs and current < cap.maximum:  # "autoscale doesn't scale your resource above this number"
            out_fire = fires[outs[0]]
            for i in outs[1:]:
                out_fire = out_fire | fires[i]
        in_fire = nothing
        if ins and current > cap.minimum:
            in_fire = fires[ins[0]]
            for i in ins[1:]:
                in_fire = in_fire & fires[i]
            in_fire = in_fire & ~out_fire  # out wins (US)
        default_fire = nothing
        if current < cap.default:
            default_fire = np.logical_and.reduce([np.isnan(v) for v in values])
        # The flapping guard, for every minute at once: the lowest count from the target up to current - 1 at which
        # no scale-out rule fires on the projected metric (value x current / count); -1 where none is safe.
        target = max(cap.minimum, self._scale_in_target([rules[i] for i in ins], current)) if ins else current
        allowed = np.full(size, -1, dtype=np.int64)
        if in_fire.any():
            guarding = [i for i in outs if self._guards(rules[i])]
            for count in range(current - 1, max(target, 1) - 1, -1):
                safe = np.ones(size, dtype=bool)
                for i in guarding:
                    projected = values[i] * current / count
                    safe &= np.isnan(projected) | ~_fires(rules[i].trigger.operator, projected,
                                                          rules[i].trigger.threshold)
                allowed = np.where(safe, count, allowed)
        in_action = in_fire & (allowed >= 1)
        candidates = np.flatnonzero(out_fire | in_action | default_fire)
        offset = int(candidates[0]) if len(candidates) else size
        held = np.flatnonzero(in_fire[:offset] & (allowed[:offset] < 1))
        if len(held) and not (self.events and self.events[-1].kind == "flapping-deferred"):
            self.events.append(Event(t + int(held[0]), "flapping-deferred", current, current,
                                     "scale-in skipped: the projected metric would trigger a scale-out"))
        if offset == size:
            return None
        at = t + offset
        if default_fire[offset]:
            return at, "default", cap.default, "no metric data: scale out to the default count", 0
        if out_fire[offset]:
            fired_out = [i for i in outs if fires[i][offset]]
            best = max(fired_out, key=lambda i: _change(rules[i].action, current, self.params.percent_rounding))
            new = min(cap.maximum, _change(rules[best].action, current, self.params.percent_rounding))
            return at, "scale-out", new, _describe(rules[best], values[best][offset]), rules[best].action.cooldown
        count = int(allowed[offset])
        kind = "scale-in" if count == target else "flapping-reduced"
        reason = " and ".join(_describe(rules[i], values[i][offset]) for i in ins)
        if kind == "flapping-reduced":
            reason += f"; {count} instead of {target} to avoid flapping"
        return at, kind, count, reason, max(rules[i].action.cooldown for i in ins)


def _describe(rule: Rule, value: float) -> str:
    trigger = rule.trigger
    return (f"{trigger.time_aggregation.lower()} {trigger.metric_name} {value:.4g} "
            f"{_SYMBOL[trigger.operator]} {trigger.threshold:g} over {trigger.time_window} min")


_SYMBOL = {"GreaterThan": ">", "GreaterThanOrEqual": ">=", "LessThan": "<", "LessThanOrEqual": "<=", "Equals": "==",
           "NotEquals": "!="}


def simulate(setting: AutoscaleSetting, load_rps: np.ndarray, model: MetricModel, params: Params = Params(),
             start: dt.datetime | None = None) -> Result:
    """Replay ``load_rps`` (one value per minute from ``start``, UTC) against ``setting``."""
    begin = start or getattr(load_rps, "start", None) or dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    if begin.tzinfo is None:
        raise SimulationError("the start must carry a time zone (UTC)")
    if not setting.enabled:
        raise SimulationError("the autoscale setting is disabled: nothing scales")
    return _Engine(setting, np.asarray(load_rps, dtype=float), model, params, begin).run()


# ----------------------------------------------------------------------------------------------------------------
# The verdict
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: tuple[str, ...]
    minutes: int
    minutes_outside_slo: int
    budget_minutes: float
    instance_hours: float
    peak_instances: int
    flaps: int
    max_holds_peak: bool
    minutes_beyond_maximum: int
    peak_load_rps: float
    scale_actions: int
    flap_events: tuple[tuple[int, int], ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {"minutes": self.minutes, "minutes_outside_slo": self.minutes_outside_slo,
                "budget_minutes": round(self.budget_minutes, 2), "instance_hours": round(self.instance_hours, 2),
                "peak_instances": self.peak_instances, "flaps": self.flaps, "max_holds_peak": self.max_holds_peak,
                "minutes_beyond_maximum": self.minutes_beyond_maximum, "peak_load_rps": round(self.peak_load_rps, 2),
                "scale_actions": self.scale_actions, "flap_events": [list(f) for f in self.flap_events]}


def flaps(result: Result, window: int = DEFAULT_FLAP_WINDOW_MIN, lookback: int = FLAP_LOOKBACK_MIN
          ) -> list[tuple[int, int]]:
    """Opposite scale actions within ``window`` minutes while the load stayed within 5 %: the second action undid
    the first without the traffic asking for it (FL: "a loop condition that causes a series of opposing scale
    events"). The load compared is the mean of the ``lookback`` minutes before each action (what its rules saw), so a
    scale-in after a spike has passed, or one that a new spike overtakes, is not a flap."""
    actions = [e for e in result.events if e.kind in ("scale-out", "scale-in", "flapping-reduced")]
    found = []

    def seen(at: int) -> float:
        return float(result.load_rps[max(0, at - lookback):at + 1].mean())

    for first, second in itertools.pairwise(actions):
        opposite = (first.kind == "scale-out") != (second.kind == "scale-out")
        if not opposite or second.minute - first.minute > window:
            continue
        before, after = seen(first.minute), seen(second.minute)
        if abs(after - before) <= FLAP_LOAD_TOLERANCE * max(before, after, 1e-9):
            found.append((first.minute, second.minute))
    return found


def judge(result: Result, model: Any, *, slo_p95_ms: float, error_rate_percent: float,
          availability_percent: float, flap_window: int = DEFAULT_FLAP_WINDOW_MIN) -> Verdict:
    """Whether the rules held the SLO: minutes with p95 above the SLO or errors above its rate, against the error
    budget ((100 - availability) % of the minutes); no flap; the active maximum able to serve the load."""
    n = len(result.load_rps)
    if result.p95_ms is None or result.error_rate is None:
        raise SimulationError("the model gives no latency or error rate; the SLO cannot be judged")
    with np.errstate(invalid="ignore"):
        outside = (result.p95_ms > slo_p95_ms) | (result.error_rate * 100 > error_rate_percent)
    minutes_outside = int(outside.sum())
    budget = n * (100 - availability_percent) / 100
    capacity = float(model.capacity_rps)
    maximum = result.maximum if result.maximum is not None else np.zeros(n)
    beyond = result.load_rps > maximum * capacity + 1e-9
    found = flaps(result, flap_window)
    peak = float(result.load_rps.max()) if n else 0.0
    reasons = []
    if minutes_outside > budget:
        first = int(np.flatnonzero(outside)[0])
        worst = float(np.nanmax(result.p95_ms[outside])) if outside.any() else 0.0
        reasons.append(f"{minutes_outside} minutes outside the SLO (p95 {slo_p95_ms:g} ms, errors "
                       f"{error_rate_percent:g} %), more than the error budget of {budget:.1f} minutes "
                       f"({100 - availability_percent:.3g} % of {n}); first at minute {first}, worst p95 "
                       f"{worst:.0f} ms")
    if found:
        reasons.append(f"{len(found)} flap(s): opposite scale actions within {flap_window} minutes with the load "
                       f"unchanged, first at minutes {found[0][0]} and {found[0][1]}")
    if beyond.any():
        first = int(np.flatnonzero(beyond)[0])
        reasons.append(f"the maximum cannot hold the load: {int(beyond.sum())} minutes above maximum x capacity, "
                       f"first at minute {first} ({result.load_rps[first]:.0f} req/s > {int(maximum[first])} x "
                       f"{capacity:.0f} req/s)")
    actions = sum(1 for e in result.events if e.kind in ("scale-out", "scale-in", "flapping-reduced"))
    return Verdict(passed=not reasons, reasons=tuple(reasons), minutes=n, minutes_outside_slo=minutes_outside,
                   budget_minutes=budget, instance_hours=float(result.serving.sum()) / 60,
                   peak_instances=int(result.requested.max()) if n else 0, flaps=len(found),
                   max_holds_peak=not bool(beyond.any()), minutes_beyond_maximum=int(beyond.sum()),
                   peak_load_rps=peak, scale_actions=actions, flap_events=tuple(found))
