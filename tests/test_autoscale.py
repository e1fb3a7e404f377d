"""``Autoscale`` (components/autoscale.py): one autoscale setting per online deployment, as the whole program builds it
for the dev and prod stacks (paired CPU and latency rules in every profile, prod's business-hours schedule, e-mails
and logs), then the component on its own in a minimal and a complete case.

Expected thresholds, windows, cooldowns and counts come from the stack files as written (``Pulumi.<stack>.yaml``, read
raw) or, where a stack leaves them out, from the defaults docs/serving.md documents (CPU 70/30 %, window 10 minutes,
cooldowns 5 and 10 minutes, latency scale-in at 0.4 of the SLO).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PROJECT, SUBSCRIPTION_ID, Records
from serving_stacks import DEPLOYMENT_NS, ENDPOINT_NS, TEAM, configured
from test_program import run_stack

from components.autoscale import Autoscale, AutoscaleArgs
from components.serving_config import AutoscaleConfig, InstancesConfig, ScheduleProfileConfig, SloConfig
from preflight.mocks import ResourceRecord
from preflight.program import run_with_mocks

AN = "azure-native"
SETTING = f"{AN}:monitor:AutoscaleSetting"
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def thresholds(stack: str) -> dict[str, Any]:
    """The rule settings of the stack, with the documented defaults where the stack file leaves them out."""
    autoscale = configured(stack).get("autoscale", {})
    cpu, cooldown = autoscale.get("cpu", {}), autoscale.get("cooldown", {})
    slo = configured(stack)["slo"]["latency_p95_ms"]
    return {"cpu_out": cpu.get("scale_out_above", 70), "cpu_in": cpu.get("scale_in_below", 30),
            "latency_out": slo, "latency_in": autoscale.get("latency", {}).get("scale_in_below_ms", 0.4 * slo),
            "window": autoscale.get("window", "PT10M"), "cool_out": cooldown.get("scale_out", "PT5M"),
            "cool_in": cooldown.get("scale_in", "PT10M")}


def settings(records: Records) -> dict[str, ResourceRecord]:
    """Deployment name -> its autoscale setting (through the owning ``mlops:serving:Autoscale`` component)."""
    urns = records.by_urn()
    result = {}
    for setting in records.of_type(SETTING):
        owner = urns[setting.parent]
        assert owner.type == "mlops:serving:Autoscale", setting.name
        result[owner.name.removeprefix(f"{TEAM}-score-")] = setting
    return result


def deployment_ids(records: Records) -> dict[str, str]:
    return {r.inputs["deploymentName"]: str(r.id)
            for r in records.of_type(f"{AN}:machinelearningservices:OnlineDeployment")}


def endpoint_id(records: Records) -> str:
    [endpoint] = records.of_type(f"{AN}:machinelearningservices:OnlineEndpoint")
    return str(endpoint.id)


def capacity(counts: dict[str, int]) -> dict[str, str]:
    return {"minimum": str(counts["min"]), "maximum": str(counts["max"]),
            "default": str(counts.get("default", counts["min"]))}


def expected_rules(deployment: str, deployment_id: str, endpoint: str, t: dict[str, Any]) -> list[dict[str, Any]]:
    """The four rules of every profile, as the engine receives them."""

    def rule(metric: str, above: bool, threshold: float, on_endpoint: bool) -> dict[str, Any]:
        trigger: dict[str, Any] = {
            "metricName": metric, "metricNamespace": ENDPOINT_NS if on_endpoint else DEPLOYMENT_NS,
            "metricResourceUri": endpoint if on_endpoint else deployment_id, "timeGrain": "PT1M",
            "statistic": "Average", "timeWindow": t["window"], "timeAggregation": "Average",
            "operator": "GreaterThan" if above else "LessThan", "threshold": threshold,
        }
        if on_endpoint:  # the endpoint's latency, for this deployment only
            trigger["dimensions"] = [{"dimensionName": "deployment", "operator": "Equals", "values": [deployment]}]
        return {"metricTrigger": trigger, "scaleAction": {
            "direction": "Increase" if above else "Decrease", "type": "ChangeCount", "value": "1",
            "cooldown": t["cool_out"] if above else t["cool_in"]}}

    return [rule("CpuUtilizationPercentage", True, t["cpu_out"], False),
            rule("CpuUtilizationPercentage", False, t["cpu_in"], False),
            rule("RequestLatency_P95", True, t["latency_out"], True),
            rule("RequestLatency_P95", False, t["latency_in"], True)]


# --------------------------------------------------------------------------------------------------------------------
# The program's autoscale settings
# --------------------------------------------------------------------------------------------------------------------


def test_one_enabled_setting_targets_each_deployment(stack: str) -> None:
    records = run_stack(stack)
    found = settings(records)
    targets = deployment_ids(records)
    assert sorted(found) == sorted(targets) == sorted(d["name"] for d in configured(stack)["deployments"])
    for name, setting in found.items():
        assert setting.inputs["targetResourceUri"] == targets[name]
        assert setting.inputs["enabled"] is True
        assert setting.inputs["location"] == "westeurope"
        assert setting.inputs["autoscaleSettingName"] == f"as-mlops-{TEAM}-score-{name}-{stack}-weu"
    assert len({s.inputs["autoscaleSettingName"] for s in found.values()}) == len(found)


def test_the_default_profile_holds_the_configured_instance_counts(stack: str) -> None:
    found = settings(run_stack(stack))
    for config in configured(stack)["deployments"]:
        default = found[config["name"]].inputs["profiles"][0]
        assert default["name"] == "default"
        assert "recurrence" not in default and "fixedDate" not in default
        assert default["capacity"] == capacity(config["instances"])
        assert all(isinstance(v, str) for v in default["capacity"].values())  # the API takes counts as strings


def test_every_profile_carries_paired_cpu_and_latency_rules(stack: str) -> None:
    records = run_stack(stack)
    t = thresholds(stack)
    # What the stacks say, spelled out: prod's slower scale-in and tighter SLO; dev on the defaults.
    assert (t["latency_out"], t["latency_in"], t["cool_in"]) == {"dev": (300, 120, "PT10M"),
                                                                 "prod": (250, 100, "PT15M")}[stack]
    targets = deployment_ids(records)
    for name, setting in settings(records).items():
        wanted = expected_rules(name, targets[name], endpoint_id(records), t)
        for profile in setting.inputs["profiles"]:
            assert profile["rules"] == wanted, f"{name}/{profile['name']}"


def test_prod_scales_up_for_business_hours_and_back_at_their_end() -> None:
    [schedule] = configured("prod")["autoscale"]["schedules"]
    for config in configured("prod")["deployments"]:
        profiles = settings(run_stack("prod"))[config["name"]].inputs["profiles"]
        assert [p["name"] for p in profiles] == ["default", "business-hours", "business-hours-end"]
        default, start, end = profiles
        assert start["capacity"] == capacity(schedule["instances"]) == {"minimum": "4", "maximum": "10",
                                                                        "default": "4"}
        assert start["recurrence"] == {"frequency": "Week", "schedule": {
            "timeZone": "W. Europe Standard Time", "days": WEEKDAYS, "hours": [7], "minutes": [30]}}
        # A recurring profile has no end of its own: the "-end" profile restores the default counts at 19:00.
        assert end["capacity"] == default["capacity"] == capacity(config["instances"])
        assert end["recurrence"] == {"frequency": "Week", "schedule": {
            "timeZone": "W. Europe Standard Time", "days": WEEKDAYS, "hours": [19], "minutes": [0]}}


def test_dev_has_only_the_default_profile() -> None:
    for setting in settings(run_stack("dev")).values():
        assert [p["name"] for p in setting.inputs["profiles"]] == ["default"]


def test_scale_actions_are_emailed_to_the_team(stack: str) -> None:
    for setting in settings(run_stack(stack)).values():
        assert setting.inputs["notifications"] == [{"operation": "Scale", "email": {
            "customEmails": configured(stack)["alert_emails"], "sendToSubscriptionAdministrator": False,
            "sendToSubscriptionCoAdministrators": False}}]
    assert configured(stack)["alert_emails"] == ["fraud-ds@contoso.com"]


def test_each_setting_logs_to_log_analytics(stack: str) -> None:
    records = run_stack(stack)
    [law] = records.of_type(f"{AN}:operationalinsights:Workspace")
    diagnostics = records.of_type(f"{AN}:monitor:DiagnosticSetting")
    for setting in settings(records).values():
        [diag] = [d for d in diagnostics if d.inputs["resourceUri"] == setting.id]
        assert diag.parent == setting.parent  # created by the same Autoscale component
        assert diag.inputs["workspaceId"] == law.id
        assert diag.inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
        assert diag.inputs["logAnalyticsDestinationType"] == "Dedicated"


# --------------------------------------------------------------------------------------------------------------------
# The component on its own
# --------------------------------------------------------------------------------------------------------------------

ENDPOINT_ID = (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-fraud/providers/"
               "Microsoft.MachineLearningServices/workspaces/mlw-fraud/onlineEndpoints/score-fraud")
DEPLOYMENT_ID = f"{ENDPOINT_ID}/deployments/green"
LAW_ID = (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-shared/providers/"
          "Microsoft.OperationalInsights/workspaces/log")
SLO = SloConfig(latency_p95_ms=400, error_rate_percent=1, availability_percent=99.9)


def autoscale_args(**overrides: Any) -> AutoscaleArgs:
    values: dict[str, Any] = {
        "autoscale_name": "as-score-green", "location": "northeurope", "resource_group_name": "rg-fraud",
        "deployment_name": "green", "deployment_id": DEPLOYMENT_ID, "endpoint_id": ENDPOINT_ID,
        "instances": InstancesConfig(minimum=2, maximum=4, default=3), "rules": AutoscaleConfig(), "slo": SLO,
    }
    return AutoscaleArgs(**{**values, **overrides})


def build(args: AutoscaleArgs) -> Records:
    return Records(run_with_mocks(lambda: Autoscale("score-green", args), project=PROJECT, stack="dev"))


def test_minimal_case_has_no_notifications_and_no_diagnostics() -> None:
    records = build(autoscale_args())
    [setting] = records.of_type(SETTING)
    assert "notifications" not in setting.inputs
    assert not records.of_type(f"{AN}:monitor:DiagnosticSetting")
    [default] = setting.inputs["profiles"]
    assert default["capacity"] == {"minimum": "2", "maximum": "4", "default": "3"}
    latency_in = default["rules"][3]["metricTrigger"]
    assert latency_in["threshold"] == pytest.approx(160)  # 0.4 of the SLO's 400 ms
    assert latency_in["dimensions"][0]["values"] == ["green"]


def test_complete_case_takes_every_setting_from_its_configuration() -> None:
    rules = AutoscaleConfig(
        cpu_scale_out_above=80, cpu_scale_in_below=25, latency_scale_in_below_ms=150, window="PT15M",
        scale_out_cooldown="PT3M", scale_in_cooldown="PT20M",
        schedules=(
            ScheduleProfileConfig("morning", ("Monday",), "06:05", "09:45", "UTC", InstancesConfig(3, 6, 4)),
            ScheduleProfileConfig("weekend", ("Saturday", "Sunday"), "10:00", "18:30", "GMT Standard Time",
                                  InstancesConfig(1, 2, 1)),
        ),
    )
    records = build(autoscale_args(rules=rules, log_analytics_workspace_id=LAW_ID,
                                   notify_emails=("a@contoso.com", "b@contoso.com"), tags={"team": "fraud"}))
    [setting] = records.of_type(SETTING)
    assert setting.inputs["tags"] == {"team": "fraud"}
    assert setting.inputs["location"] == "northeurope"
    profiles = setting.inputs["profiles"]
    assert [p["name"] for p in profiles] == ["default", "morning", "morning-end", "weekend", "weekend-end"]
    t = {"cpu_out": 80, "cpu_in": 25, "latency_out": 400, "latency_in": 150, "window": "PT15M", "cool_out": "PT3M",
         "cool_in": "PT20M"}
    for profile in profiles:
        assert profile["rules"] == expected_rules("green", DEPLOYMENT_ID, ENDPOINT_ID, t), profile["name"]
    default = {"minimum": "2", "maximum": "4", "default": "3"}
    assert [p["capacity"] for p in profiles] == [
        default, {"minimum": "3", "maximum": "6", "default": "4"}, default,
        {"minimum": "1", "maximum": "2", "default": "1"}, default]
    schedules = [p["recurrence"]["schedule"] for p in profiles[1:]]
    assert [(s["days"], s["hours"], s["minutes"], s["timeZone"]) for s in schedules] == [
        (["Monday"], [6], [5], "UTC"), (["Monday"], [9], [45], "UTC"),
        (["Saturday", "Sunday"], [10], [0], "GMT Standard Time"),
        (["Saturday", "Sunday"], [18], [30], "GMT Standard Time")]
    assert setting.inputs["notifications"][0]["email"]["customEmails"] == ["a@contoso.com", "b@contoso.com"]
    [diag] = records.of_type(f"{AN}:monitor:DiagnosticSetting")
    assert diag.inputs["resourceUri"] == setting.id and diag.inputs["workspaceId"] == LAW_ID
