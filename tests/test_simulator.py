"""The autoscale simulator (``loadtest.simulator``) against the worked examples of Azure Monitor's autoscale pages.

Each test names its page (learn.microsoft.com/azure/azure-monitor/autoscale/...) and replays the example's numbers.
The metric models are the examples' own: a value per instance that is a share of a total (``dividePerInstance``-like,
``Share``) or a value that does not depend on the instance count (``Fixed``). Unless a test says otherwise the metric
lag and the provisioning delay are 0, because the examples have none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from loadtest import simulator as sim
from loadtest.service_model import ServiceModel

START = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)  # a Monday
NOW = sim.Params(provisioning_delay_min=0, metric_lag_min=0)


class Share:
    """Per-instance value = the minute's total / serving instances (CPU of a fixed amount of work, threads, queue
    messages): what the flapping examples describe."""

    def metric(self, name: str, load: np.ndarray, serving: int) -> np.ndarray:
        return load / serving


class Fixed:
    """Per-instance values given per metric and minute, whatever the count (``load`` carries the minute index)."""

    def __init__(self, series: Mapping[str, Sequence[float]]) -> None:
        self.series = {name: np.asarray(values, dtype=float) for name, values in series.items()}

    def metric(self, name: str, load: np.ndarray, serving: int) -> np.ndarray:
        return self.series[name][load.astype(int)]


class Totals(Fixed):
    """Per-instance value = a per-metric total / serving instances (two metrics with different totals)."""

    def metric(self, name: str, load: np.ndarray, serving: int) -> np.ndarray:
        return super().metric(name, load, serving) / serving


def rule(metric: str, operator: str, threshold: float, direction: str, *, value: str = "1", kind: str = "ChangeCount",
         window: str = "PT1M", cooldown: str = "PT5M", aggregation: str = "Average") -> dict[str, Any]:
    """A rule as the program registers it (camelCase, strings where the SDK sends strings)."""
    return {"metricTrigger": {"metricName": metric, "metricNamespace": "test", "metricResourceUri": "/x",
                              "timeGrain": "PT1M", "statistic": "Average", "timeWindow": window,
                              "timeAggregation": aggregation, "operator": operator, "threshold": threshold},
            "scaleAction": {"direction": direction, "type": kind, "value": value, "cooldown": cooldown}}


def profile(minimum: int, maximum: int, default: int, rules: list[dict[str, Any]], name: str = "default",
            recurrence: dict[str, Any] | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {"name": name, "capacity": {"minimum": str(minimum), "maximum": str(maximum),
                                                      "default": str(default)}, "rules": rules}
    if recurrence:
        raw["recurrence"] = {"frequency": "Week", "schedule": recurrence}
    return raw


def setting(*profiles: dict[str, Any]) -> sim.AutoscaleSetting:
    return sim.setting_from_inputs({"profiles": list(profiles), "enabled": True})


def actions(result: sim.Result) -> list[tuple[int, str, int, int]]:
    return [(e.minute, e.kind, e.old, e.new) for e in result.events
            if e.kind in ("scale-out", "scale-in", "flapping-reduced", "bounds", "default")]


def minute(hh_mm: str, since: str = "09:00") -> int:
    h, m = map(int, hh_mm.split(":"))
    h0, m0 = map(int, since.split(":"))
    return (h * 60 + m) - (h0 * 60 + m0)


# --------------------------------------------------------------------------------------------------------------------
# Cooldown (autoscale-understanding-settings, "How does autoscale evaluate cooldown?")
# --------------------------------------------------------------------------------------------------------------------


def _cooldown_run(model: str, low_from: str = "13:00") -> list[tuple[int, str, int, int]]:
    """The page's timeline from 09:00: a CPU spike at 10:00, normal CPU, a scale-in at 13:00 (CPU low from
    ``low_from``), a new spike from 13:20. Scale-out cooldown 60 minutes, scale-in cooldown 40."""
    n = minute("15:00")
    cpu = np.full(n, 50.0)
    cpu[minute("10:00"):minute("10:05")] = 90
    cpu[minute(low_from):minute("13:20")] = 10
    cpu[minute("13:20"):] = 90
    s = setting(profile(1, 5, 1, [rule("cpu", "GreaterThan", 80, "Increase", cooldown="PT60M"),
                                  rule("cpu", "LessThan", 20, "Decrease", cooldown="PT40M")]))
    result = sim.simulate(s, np.arange(n), Fixed({"cpu": cpu}), sim.Params(0, model, 0), START)
    return actions(result)


def test_the_cooldown_of_the_rule_that_fired_last_blocks_both_directions() -> None:
    """US: scale-out at 10:00, no action until 11:00; scale-in at 13:00; the 13:20 spike waits for the scale-in's
    40 minutes and scales out at 13:40."""
    assert _cooldown_run("last-action")[:3] == [
        (minute("10:00"), "scale-out", 1, 2), (minute("13:00"), "scale-in", 2, 1),
        (minute("13:40"), "scale-out", 1, 2)]


def test_the_per_rule_cooldown_model_gives_the_other_pages_answer() -> None:
    """The get-started and PowerShell pages (each rule its own cooldown since the last action): the scale-out rule
    waits 60 minutes from the 13:00 scale-in, so 14:00 (the answer of the rejected PR #303)."""
    assert _cooldown_run("per-rule")[2] == (minute("14:00"), "scale-out", 1, 2)


def test_the_models_differ_earlier_too() -> None:
    """With CPU low from 10:05, the scale-in rule (40 minutes) may act at 10:40 per rule, at 11:00 per last action."""
    assert _cooldown_run("per-rule", low_from="10:05")[1] == (minute("10:40"), "scale-in", 2, 1)
    assert _cooldown_run("last-action", low_from="10:05")[1] == (minute("11:00"), "scale-in", 2, 1)


# --------------------------------------------------------------------------------------------------------------------
# Flapping (autoscale-flapping; autoscale-best-practices, 2022 revision)
# --------------------------------------------------------------------------------------------------------------------


def _share_run(total: Sequence[float] | np.ndarray, out: tuple[str, float], in_: tuple[str, float], low: int,
               high: int, start: int, params: sim.Params = NOW) -> sim.Result:
    s = setting(profile(low, high, start, [rule("m", out[0], out[1], "Increase", cooldown="PT1M"),
                                           rule("m", in_[0], in_[1], "Decrease", cooldown="PT1M")]))
    return sim.simulate(s, np.asarray(total, dtype=float), Share(), params, START)


def test_f1_the_scale_in_that_would_flap_is_deferred() -> None:
    """FL intro: out > 50 %, in < 30 %; 56 % of work. 1 -> 2 (28 % each); the scale-in back to 1 (56 %) is
    deferred, every run, and the count stays 2."""
    result = _share_run(np.full(30, 56.0), ("GreaterThan", 50), ("LessThan", 30), 1, 4, 1)
    assert actions(result) == [(0, "scale-out", 1, 2)]
    assert result.serving[-1] == 2
    assert [e.kind for e in result.events].count("flapping-deferred") == 1  # one run of deferrals, logged once


def test_f2_no_margin_between_thresholds_never_scales_in() -> None:
    """FL: out >= 600 threads, in < 600; 1250 threads. 2 -> 3 (417 each); 1250 / 2 = 625 would scale out again, so
    it stays at 3."""
    result = _share_run(np.full(30, 1250.0), ("GreaterThanOrEqual", 600), ("LessThan", 600), 2, 5, 2)
    assert actions(result) == [(0, "scale-out", 2, 3)]
    assert result.serving[-1] == 3


def test_f3_an_adequate_margin_scales_in_once_the_total_drops() -> None:
    """FL: out >= 600, in < 400. 1250 threads: 2 -> 3, then no event at 417 each; at 1180 (394 each) the projection
    1180 / 2 = 590 stays below 600, so 3 -> 2, and at 590 each nothing more happens."""
    total = np.concatenate([np.full(10, 1250.0), np.full(20, 1180.0)])
    result = _share_run(total, ("GreaterThanOrEqual", 600), ("LessThan", 400), 2, 5, 2)
    assert actions(result) == [(0, "scale-out", 2, 3), (10, "scale-in", 3, 2)]


def test_f5_thresholds_600_600_keep_three_instances() -> None:
    """BP 2022: +1 at >= 600, -1 at <= 600. 625 each on 2 -> 3; at 575 each on 3 the projection is 575 x 3 / 2 =
    862.5, so autoscale does not scale down at all."""
    total = np.concatenate([np.full(5, 1250.0), np.full(25, 575.0 * 3)])
    result = _share_run(total, ("GreaterThanOrEqual", 600), ("LessThanOrEqual", 600), 2, 5, 2)
    assert actions(result) == [(0, "scale-out", 2, 3)]
    assert result.serving[-1] == 3


def test_f6_the_better_rule_combination_scales_in_at_50_percent() -> None:
    """BP 2022: +1 at >= 80 %, -1 at <= 60 %. 2 instances at 80 % -> 3; at 60 % the projection is 90, no scale-in;
    at 50 % it is 75, below 80, so 3 -> 2."""
    total = np.concatenate([np.full(5, 160.0), np.full(5, 180.0), np.full(5, 150.0), np.full(5, 150.0)])
    result = _share_run(total, ("GreaterThanOrEqual", 80), ("LessThanOrEqual", 60), 2, 5, 2)
    assert actions(result) == [(0, "scale-out", 2, 3), (10, "scale-in", 3, 2)]


def test_f4_a_scale_in_is_reduced_to_a_count_that_does_not_flap() -> None:
    """FL, more than one instance: 30 instances at 65 % CPU, 1500 requests (50 each); in -10 at <= 50 requests each,
    out +20 at >= 200 requests each or CPU > 70 %. Scaling in by 10 would push CPU above 70, so autoscale scales in
    by less. The page says 27 "may" result; the linear projection gives 28 (65 x 30 / 27 = 72.2 > 70), so the test
    asserts the documented range, not one count."""
    s = setting(profile(1, 60, 30, [rule("requests", "GreaterThanOrEqual", 200, "Increase", value="20"),
                                    rule("cpu", "GreaterThan", 70, "Increase", value="20"),
                                    rule("requests", "LessThanOrEqual", 50, "Decrease", value="10")]))
    model = Totals({"cpu": np.full(5, 65.0 * 30), "requests": np.full(5, 1500.0)})
    result = sim.simulate(s, np.arange(5), model, NOW, START)
    [(at, kind, old, new)] = actions(result)[:1]
    assert (at, kind, old) == (0, "flapping-reduced", 30)
    assert 21 <= new <= 29 and 65 * 30 / new <= 70
    assert new == 28


def test_a_guard_switched_off_lets_f1_flap_and_the_verdict_catches_it() -> None:
    """Without the projection (``guard_metrics=()``), F1 goes 1 -> 2 -> 1 -> 2 with the same load: a flap."""
    result = _share_run(np.full(30, 56.0), ("GreaterThan", 50), ("LessThan", 30), 1, 4, 1,
                        sim.Params(provisioning_delay_min=0, metric_lag_min=0, guard_metrics=()))
    kinds = [k for _, k, _, _ in actions(result)]
    assert kinds[:4] == ["scale-out", "scale-in", "scale-out", "scale-in"]
    assert sim.flaps(result)


# --------------------------------------------------------------------------------------------------------------------
# Several rules (autoscale-best-practices; autoscale-understanding-settings)
# --------------------------------------------------------------------------------------------------------------------


E1_RULES = [rule("cpu", "LessThan", 30, "Decrease"), rule("memory", "LessThan", 50, "Decrease"),
            rule("cpu", "GreaterThan", 75, "Increase"), rule("memory", "GreaterThan", 75, "Increase")]


@pytest.mark.parametrize(("cpu", "memory", "expected"), [
    (76, 50, "scale-out"), (50, 76, "scale-out"), (25, 51, None), (29, 49, "scale-in")])
def test_e1_any_rule_scales_out_and_every_rule_must_agree_to_scale_in(cpu: float, memory: float,
                                                                      expected: str | None) -> None:
    """BP, "Considerations for scaling when multiple rules are configured in a profile"."""
    s = setting(profile(1, 10, 5, E1_RULES))
    result = sim.simulate(s, np.arange(3), Fixed({"cpu": [cpu] * 3, "memory": [memory] * 3}), NOW, START)
    kinds = [k for _, k, _, _ in actions(result)]
    assert kinds[:1] == ([expected] if expected else [])


def test_e3_the_highest_scale_out_wins() -> None:
    """US: +3 and +5 both fire -> +5; +3 and +15 % (of 40: 6) -> the higher count."""
    fires = {"a": [90.0] * 2, "b": [90.0] * 2}
    s = setting(profile(1, 100, 10, [rule("a", "GreaterThan", 80, "Increase", value="3"),
                                     rule("b", "GreaterThan", 80, "Increase", value="5")]))
    assert actions(sim.simulate(s, np.arange(1), Fixed(fires), NOW, START)) == [(0, "scale-out", 10, 15)]
    s = setting(profile(1, 100, 40, [rule("a", "GreaterThan", 80, "Increase", value="3"),
                                     rule("b", "GreaterThan", 80, "Increase", value="15",
                                          kind="PercentChangeCount")]))
    assert actions(sim.simulate(s, np.arange(1), Fixed(fires), NOW, START)) == [(0, "scale-out", 40, 46)]


def test_e4_the_smallest_scale_in_wins() -> None:
    """US: from 10 instances, -50 % gives 5 and -3 gives 7: autoscale scales in to 7."""
    low = {"a": [5.0] * 2, "b": [5.0] * 2}
    s = setting(profile(1, 20, 10, [rule("a", "LessThan", 20, "Decrease", value="50", kind="PercentChangeCount"),
                                    rule("b", "LessThan", 20, "Decrease", value="3")]))
    assert actions(sim.simulate(s, np.arange(1), Fixed(low), NOW, START)) == [(0, "scale-in", 10, 7)]


def test_e2_queue_length_divided_per_instance() -> None:
    """BP, queue example: >= 50 per instance scales out, <= 10 scales in; 2 instances scale out at a total of 100,
    3 at 150, and 3 scale in at 30."""
    s = setting(profile(1, 10, 2, [rule("queue", "GreaterThanOrEqual", 50, "Increase", cooldown="PT1M"),
                                   rule("queue", "LessThanOrEqual", 10, "Decrease", cooldown="PT1M")]))
    total = np.concatenate([np.full(2, 50.0), np.full(2, 100.0), np.full(2, 149.0), np.full(2, 150.0),
                            np.full(2, 30.0)])
    result = sim.simulate(s, total, Share(), NOW, START)
    assert actions(result)[:3] == [(2, "scale-out", 2, 3), (6, "scale-out", 3, 4), (8, "scale-in", 4, 3)]


# --------------------------------------------------------------------------------------------------------------------
# Bounds, default, profiles
# --------------------------------------------------------------------------------------------------------------------


def _weekly(day: str, hh: int, mm: int, zone: str = "UTC") -> dict[str, Any]:
    return {"timeZone": zone, "days": [day], "hours": [hh], "minutes": [mm]}


def test_p1_switching_profiles_puts_the_count_inside_the_new_bounds() -> None:
    """BP 2022 / MP: default {2..10}; a Monday profile {3..12} from 03:00 to 20:00. At 03:00 a count of 2 becomes
    3; load drives it to 12; at 20:00 the default profile takes it to its maximum 10."""
    rules = [rule("cpu", "GreaterThan", 70, "Increase", cooldown="PT1M"),
             rule("cpu", "LessThan", 10, "Decrease", cooldown="PT1M")]
    s = setting(profile(2, 10, 2, rules),
                profile(3, 12, 3, rules, "monday", _weekly("Monday", 3, 0)),
                profile(2, 10, 2, rules, "monday-end", _weekly("Monday", 20, 0)))
    cpu = np.full(22 * 60, 50.0)
    cpu[4 * 60:] = 95  # busy from 04:00: scales out to the Monday maximum
    result = sim.simulate(s, np.arange(len(cpu)), Fixed({"cpu": cpu}), NOW, START)
    found = actions(result)
    assert found[0] == (180, "bounds", 2, 3)
    assert max(result.requested[: 20 * 60]) == 12
    assert (20 * 60, "bounds", 12, 10) in found


def test_e5_counts_outside_min_max_are_corrected_on_the_next_run() -> None:
    """BP: range 3-6; one instance becomes three, eight become six."""
    for before, after in ((1, 3), (8, 6)):
        s = setting(profile(3, 6, 3, []), profile(before, before, before, [], "before", _weekly("Sunday", 0, 0)),
                    profile(3, 6, 3, [], "after", _weekly("Monday", 1, 0)))
        result = sim.simulate(s, np.zeros(120), Share(), NOW, START)
        assert (60, "bounds", before, after) in actions(result)


def test_without_metric_data_autoscale_only_scales_out_to_the_default() -> None:
    """US, capacity.default: below the default it scales out to it; above it, it never scales in."""
    rules = [rule("cpu", "GreaterThan", 70, "Increase"), rule("cpu", "LessThan", 30, "Decrease")]
    s = setting(profile(1, 5, 3, rules), profile(1, 1, 1, rules, "night", _weekly("Sunday", 0, 0)),
                profile(1, 5, 3, rules, "day", _weekly("Monday", 1, 0)))
    result = sim.simulate(s, np.zeros(120), Fixed({"cpu": [np.nan]}), NOW, START)
    assert (60, "default", 1, 3) in actions(result)
    s = setting(profile(1, 5, 3, rules), profile(5, 5, 5, rules, "busy", _weekly("Sunday", 0, 0)),
                profile(1, 5, 3, rules, "day", _weekly("Monday", 1, 0)))
    result = sim.simulate(s, np.zeros(120), Fixed({"cpu": [np.nan]}), NOW, START)
    assert result.requested[-1] == 5


def test_a_recurring_profile_follows_its_time_zone_across_daylight_saving() -> None:
    """A W. Europe 07:30 Monday start is 06:30 UTC in March before the switch (CET) and 05:30 UTC after it (CEST)."""
    s = setting(profile(1, 5, 1, []), profile(2, 5, 2, [], "business", _weekly("Monday", 7, 30,
                                                                                "W. Europe Standard Time")),
                profile(1, 5, 1, [], "business-end", _weekly("Monday", 19, 0, "W. Europe Standard Time")))
    for day, utc_start in ((dt.datetime(2026, 3, 23, tzinfo=dt.UTC), 6 * 60 + 30),
                           (dt.datetime(2026, 3, 30, tzinfo=dt.UTC), 5 * 60 + 30)):
        active = sim.active_profiles(s, day, 24 * 60)
        assert active[utc_start - 1] == 2 and active[utc_start] == 1  # "-end" of the week before, then business


def test_a_scale_out_waits_for_provisioning_before_the_next_evaluation() -> None:
    """Added instances serve after the provisioning delay, and nothing is evaluated meanwhile (DG's
    skipCurrentAutoscaleEvaluation)."""
    s = setting(profile(1, 5, 1, [rule("cpu", "GreaterThan", 70, "Increase", cooldown="PT1M")]))
    result = sim.simulate(s, np.arange(40), Fixed({"cpu": [90.0] * 40}),
                          sim.Params(provisioning_delay_min=15, metric_lag_min=0), START)
    assert [a[0] for a in actions(result)] == [0, 15, 30]
    assert result.serving[14] == 1 and result.serving[15] == 2


# --------------------------------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------------------------------


def test_an_undersized_maximum_is_caught() -> None:
    """Capacity 100 req/s per instance, at most 2 instances, a 300 req/s peak: the maximum cannot hold it."""
    model = ServiceModel.from_capacity(100, timeout_ms=5000, slo_p95_ms=300)
    s = setting(profile(1, 2, 1, [rule("CpuUtilizationPercentage", "GreaterThan", 70, "Increase"),
                                  rule("CpuUtilizationPercentage", "LessThan", 30, "Decrease")]))
    load = np.concatenate([np.full(60, 50.0), np.full(120, 300.0), np.full(60, 50.0)])
    result = sim.simulate(s, load, model, sim.Params(), START)
    verdict = sim.judge(result, model, slo_p95_ms=300, error_rate_percent=1, availability_percent=99.9)
    assert not verdict.passed and not verdict.max_holds_peak
    assert any("the maximum cannot hold the load" in r for r in verdict.reasons)


def test_rules_that_keep_up_pass() -> None:
    model = ServiceModel.from_capacity(100, timeout_ms=5000, slo_p95_ms=300)
    s = setting(profile(3, 6, 3, [rule("CpuUtilizationPercentage", "GreaterThan", 70, "Increase"),
                                  rule("CpuUtilizationPercentage", "LessThan", 30, "Decrease")]))
    load = np.concatenate([np.full(60, 50.0), np.linspace(50, 250, 240), np.full(120, 250.0)])
    result = sim.simulate(s, load, model, sim.Params(), START)
    verdict = sim.judge(result, model, slo_p95_ms=300, error_rate_percent=1, availability_percent=99.5)
    assert verdict.passed, verdict.reasons
    assert verdict.minutes_outside_slo == 0 and verdict.flaps == 0


# --------------------------------------------------------------------------------------------------------------------
# The registered setting: what the simulator refuses
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r["scaleAction"].update(type="ServiceAllowedNextValue"),
     "profiles[0].rules[0].scaleAction.type: 'ServiceAllowedNextValue' is not documented for Azure Machine Learning "
     "deployments; use ChangeCount, ExactCount or PercentChangeCount"),
    (lambda r: r["metricTrigger"].update(timeGrain="PT5M"),
     "profiles[0].rules[0].metricTrigger.timeGrain: 'PT5M'; the simulator replays one-minute grains (PT1M) only"),
    (lambda r: r["metricTrigger"].update(operator="Above"),
     "profiles[0].rules[0].metricTrigger.operator: 'Above' is not supported; the simulator knows GreaterThan, "
     "GreaterThanOrEqual, LessThan, LessThanOrEqual, Equals, NotEquals"),
    (lambda r: r["metricTrigger"].update(timeWindow="10 minutes"),
     "profiles[0].rules[0].metricTrigger.timeWindow: '10 minutes' is not an ISO 8601 duration such as PT5M"),
    (lambda r: r["scaleAction"].update(cooldown="PT30S"),
     "profiles[0].rules[0].scaleAction.cooldown: 'PT30S' is not a whole number of minutes; the simulator runs at "
     "one-minute grain"),
])
def test_what_cannot_be_replayed_is_refused_with_its_path(change: Any, message: str) -> None:
    raw = rule("cpu", "GreaterThan", 70, "Increase")
    change(raw)
    with pytest.raises(sim.SimulationError) as error:
        setting(profile(1, 2, 1, [raw]))
    assert str(error.value) == message


def test_a_time_zone_the_simulator_cannot_place_is_refused() -> None:
    with pytest.raises(sim.SimulationError, match="'Europe/Berlin' is not a Windows time zone"):
        setting(profile(1, 2, 1, []), profile(1, 2, 1, [], "x", _weekly("Monday", 1, 0, "Europe/Berlin")))


# --------------------------------------------------------------------------------------------------------------------
# The fast engine equals a minute-by-minute reference
# --------------------------------------------------------------------------------------------------------------------


def reference(s: sim.AutoscaleSetting, load: np.ndarray, model: Any, params: sim.Params) -> list[tuple[int, int]]:
    """The obvious loop: every minute, every rule, no skipping (one profile, ChangeCount, last-action cooldown).
    Returns (minute, new count) of every scale action."""
    [p] = s.profiles
    n = len(load)
    lag = params.metric_lag_min
    prefix = max(r.trigger.time_window for r in p.rules) + lag + 1
    serving = p.capacity.default
    history: dict[str, list[float]] = {r.trigger.metric_name: [] for r in p.rules}
    for _ in range(prefix):
        for name in history:
            history[name].append(float(model.metric(name, np.asarray([load[0]]), serving)[0]))
    pending: list[tuple[int, int]] = []
    requested = serving
    blocked_until = -1
    done = []
    for t in range(n):
        serving += sum(k for at, k in pending if at <= t)
        pending = [(at, k) for at, k in pending if at > t]
        for name in history:
            history[name].append(float(model.metric(name, np.asarray([load[t]]), serving)[0]))

        def value(r: sim.Rule, t: int = t) -> float:
            end = prefix + t - lag + 1
            return float(np.mean(history[r.trigger.metric_name][end - r.trigger.time_window:end]))

        if pending or t < blocked_until:
            continue
        outs = [r for r in p.rules if r.out and value(r) > r.trigger.threshold]
        if outs and requested < p.capacity.maximum:
            requested = min(p.capacity.maximum, requested + 1)
            pending.append((t + params.provisioning_delay_min, 1))
            if params.provisioning_delay_min == 0:
                serving += 1
                pending = []
            blocked_until = t + outs[0].action.cooldown
            done.append((t, requested))
            continue
        ins = [r for r in p.rules if not r.out]
        if requested > p.capacity.minimum and all(value(r) < r.trigger.threshold for r in ins):
            projected_ok = all(not (value(r) * requested / (requested - 1) > r.trigger.threshold)
                               for r in p.rules if r.out)
            if projected_ok:
                requested -= 1
                serving -= 1
                blocked_until = t + ins[0].action.cooldown
                done.append((t, requested))
    return done


@pytest.mark.parametrize("seed", range(6))
def test_the_engine_equals_the_reference_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 2 * 1440
    # A random walk of load with bursts: scale actions in both directions, cooldowns and deferrals.
    load = np.clip(200 + np.cumsum(rng.normal(0, 8, n)) + rng.choice([0, 250], n, p=[0.97, 0.03]), 10, 900)
    model = ServiceModel.from_capacity(100, timeout_ms=5000, slo_p95_ms=300)
    s = setting(profile(1, 12, 2, [
        rule("CpuUtilizationPercentage", "GreaterThan", 70, "Increase", window="PT10M", cooldown="PT5M"),
        rule("CpuUtilizationPercentage", "LessThan", 30, "Decrease", window="PT10M", cooldown="PT15M"),
        rule("RequestLatency_P95", "GreaterThan", 300, "Increase", window="PT5M", cooldown="PT5M"),
        rule("RequestLatency_P95", "LessThan", 120, "Decrease", window="PT5M", cooldown="PT15M")]))
    params = sim.Params(provisioning_delay_min=int(rng.integers(0, 16)), metric_lag_min=int(rng.integers(0, 3)))
    result = sim.simulate(s, load, model, params, START)
    fast = [(e.minute, e.new) for e in result.events if e.kind in ("scale-out", "scale-in", "flapping-reduced")]
    assert fast == reference(s, load, model, params)
    assert len(fast) > 4  # the walk really scales
