"""``ServiceMonitoring`` (components/apm.py): the monitoring of a team's online endpoints as the whole program builds it
for the dev and prod stacks (action group, metric and log alerts from the SLO, saturation and capacity alerts per
deployment, the availability test of a public endpoint, the autoscale health alert and the workbook), then the
workbook's name and the KQL text functions on their own.

Thresholds come from the stack files as written (``Pulumi.<stack>.yaml``, read raw); the error budgets are spelled
out (0.5 % in dev, 0.1 % in prod) so that the arithmetic is checked too.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from conftest import PROJECT, SUBSCRIPTION_ID, Records
from serving_stacks import DEPLOYMENT_NS, ENDPOINT_NS, TEAM, configured
from test_program import run_stack

from components.apm import (
    ALERTS,
    FAILED,
    MonitoredDeployment,
    MonitoredEndpoint,
    ServiceMonitoring,
    ServiceMonitoringArgs,
    burn_rate_query,
    error_rate_query,
)
from components.serving_config import SloConfig
from preflight.mocks import ResourceRecord
from preflight.program import run_with_mocks

AN = "azure-native"
APM = f"{TEAM}-apm"
METRIC_ALERT = f"{AN}:monitor:MetricAlert"
LOG_ALERT = f"{AN}:monitor:ScheduledQueryRule"
ACTIVITY_ALERT = f"{AN}:monitor:ActivityLogAlert"
TRAFFIC = "AmlOnlineEndpointTrafficLog"
#: 1 - availability / 100 of each stack's SLO (99.5 % and 99.9 %), as the queries print it.
BUDGET = {"dev": "0.005", "prod": "0.001"}


def component(records: Records, name: str) -> ResourceRecord:
    [record] = [r for r in records if r.name == name and not r.custom]
    return record


def children(records: Records, token: str, parent: str = APM) -> list[ResourceRecord]:
    urn = component(records, parent).urn
    return [r for r in records.of_type(token) if r.parent == urn]


def named(records: Records, token: str, name: str) -> ResourceRecord:
    [record] = [r for r in children(records, token) if r.name == f"{APM}-{name}"]
    return record


def endpoint(records: Records) -> ResourceRecord:
    [record] = records.of_type(f"{AN}:machinelearningservices:OnlineEndpoint")
    return record


def deployments(records: Records) -> dict[str, ResourceRecord]:
    return {r.inputs["deploymentName"]: r for r in records.of_type(f"{AN}:machinelearningservices:OnlineDeployment")}


def action_groups(records: Records) -> tuple[str, str]:
    """The team's action group (the component's own) and the platform's."""
    [team] = children(records, f"{AN}:monitor:ActionGroup")
    [platform] = children(records, f"{AN}:monitor:ActionGroup", parent="platform")
    return str(team.id), str(platform.id)


def criterion(alert: ResourceRecord) -> dict[str, Any]:
    criteria = alert.inputs["criteria"]
    assert criteria["odataType"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria", alert.name
    [only] = criteria["allOf"]
    assert only["criterionType"] == "StaticThresholdCriterion", alert.name
    return dict(only)


def log_analytics_id(records: Records) -> str:
    [law] = records.of_type(f"{AN}:operationalinsights:Workspace")
    return str(law.id)


# --------------------------------------------------------------------------------------------------------------------
# Action groups and notification
# --------------------------------------------------------------------------------------------------------------------


def test_each_team_with_endpoints_gets_monitoring_and_an_action_group(stack: str) -> None:
    records = run_stack(stack)
    assert [r.name for r in records.of_type("mlops:apm:ServiceMonitoring")] == [APM]  # churn serves nothing
    [group] = children(records, f"{AN}:monitor:ActionGroup")
    assert group.inputs["location"] == "Global"
    assert group.inputs["enabled"] is True
    assert [r["emailAddress"] for r in group.inputs["emailReceivers"]] == configured(stack)["alert_emails"]
    assert all(r["useCommonAlertSchema"] is True for r in group.inputs["emailReceivers"])
    assert len(group.inputs["groupShortName"]) <= 12  # the service's limit
    assert group.inputs["actionGroupName"] == f"ag-mlops-{TEAM}-{stack}-weu"


def test_every_alert_is_enabled_and_notifies_the_team_and_the_platform(stack: str) -> None:
    records = run_stack(stack)
    groups = set(action_groups(records))
    metric, logs, activity = (children(records, t) for t in (METRIC_ALERT, LOG_ALERT, ACTIVITY_ALERT))
    assert len(metric) >= 6 and len(logs) == 3 and len(activity) == 1
    for alert in metric:
        assert alert.inputs["enabled"] is True, alert.name
        assert {a["actionGroupId"] for a in alert.inputs["actions"]} == groups, alert.name
    for alert in logs:
        assert alert.inputs["enabled"] is True, alert.name
        assert set(alert.inputs["actions"]["actionGroups"]) == groups, alert.name
    for alert in activity:
        assert alert.inputs["enabled"] is True, alert.name
        assert {g["actionGroupId"] for g in alert.inputs["actions"]["actionGroups"]} == groups, alert.name


def test_every_documented_alert_exists_and_no_other(stack: str) -> None:
    records = run_stack(stack)
    names = [a.inputs["ruleName"] for t in (METRIC_ALERT, LOG_ALERT) for a in children(records, t)]
    assert len(names) == len(set(names))
    prefixes = ["alert-score-"] + [f"alert-score-{d}-" for d in deployments(records)]
    kinds = {name.removeprefix(max((p for p in prefixes if name.startswith(p)), key=len)) for name in names}
    public = {"dev": {"availability"}, "prod": set()}[stack]
    assert kinds == (set(ALERTS) - {"availability"}) | public


# --------------------------------------------------------------------------------------------------------------------
# Per endpoint
# --------------------------------------------------------------------------------------------------------------------


def test_endpoint_logs_and_metrics_go_to_log_analytics(stack: str) -> None:
    records = run_stack(stack)
    [diag] = children(records, f"{AN}:monitor:DiagnosticSetting")
    assert diag.inputs["resourceUri"] == endpoint(records).id
    assert diag.inputs["workspaceId"] == log_analytics_id(records)
    assert diag.inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]  # the traffic log among them
    assert diag.inputs["metrics"] == [{"category": "AllMetrics", "enabled": True}]


def test_latency_alert_fires_above_the_slo(stack: str) -> None:
    records = run_stack(stack)
    alert = named(records, METRIC_ALERT, "score-latency-p95")
    assert alert.inputs["scopes"] == [endpoint(records).id]
    c = criterion(alert)
    assert (c["metricNamespace"], c["metricName"], c["operator"]) == (ENDPOINT_NS, "RequestLatency_P95", "GreaterThan")
    assert c["threshold"] == configured(stack)["slo"]["latency_p95_ms"] == {"dev": 300, "prod": 250}[stack]


def test_throttling_alert_fires_on_any_429(stack: str) -> None:
    records = run_stack(stack)
    alert = named(records, METRIC_ALERT, "score-throttled")
    assert alert.inputs["scopes"] == [endpoint(records).id]
    c = criterion(alert)
    assert (c["metricNamespace"], c["metricName"]) == (ENDPOINT_NS, "RequestsPerMinute")
    assert c["dimensions"] == [{"name": "statusCode", "operator": "Include", "values": ["429"]}]
    assert (c["timeAggregation"], c["operator"], c["threshold"]) == ("Average", "GreaterThan", 0)


def test_error_rate_and_burn_rate_alerts_query_the_endpoint_traffic_log(stack: str) -> None:
    records = run_stack(stack)
    azure_name = endpoint(records).inputs["endpointName"]
    slo = configured(stack)["slo"]
    alerts = {a.name.removeprefix(f"{APM}-score-"): a for a in children(records, LOG_ALERT)}
    assert sorted(alerts) == ["error-rate", "fast-burn", "slow-burn"]
    for alert in alerts.values():
        assert alert.inputs["kind"] == "LogAlert"
        assert alert.inputs["scopes"] == [log_analytics_id(records)]
        [condition] = alert.inputs["criteria"]["allOf"]
        assert (condition["timeAggregation"], condition["operator"], condition["threshold"]) == (
            "Count", "GreaterThan", 0)
        assert TRAFFIC in condition["query"] and f"EndpointName == '{azure_name}'" in condition["query"]
        assert f"countif({FAILED})" in condition["query"] or f"and {FAILED})" in condition["query"]
    error_query = alerts["error-rate"].inputs["criteria"]["allOf"][0]["query"]
    assert "ago(5m)" in error_query
    assert error_query.endswith(f"| where error_percent > {slo['error_rate_percent']:g}")
    for key, long, short, rate, window, frequency, severity in (("fast-burn", "1h", "5m", "14.4", "PT1H", "PT5M", 1),
                                                                ("slow-burn", "6h", "30m", "6", "PT6H", "PT30M", 2)):
        alert = alerts[key]
        query = alert.inputs["criteria"]["allOf"][0]["query"]
        assert f"ago({long})" in query and f"ago({short})" in query, key
        assert f"/ {BUDGET[stack]}" in query, key
        assert query.endswith(f"| where long_burn >= {rate} and short_burn >= {rate}"), key
        assert (alert.inputs["windowSize"], alert.inputs["evaluationFrequency"], alert.inputs["severity"]) == (
            window, frequency, severity), key


# --------------------------------------------------------------------------------------------------------------------
# Per deployment
# --------------------------------------------------------------------------------------------------------------------


def test_each_deployment_alerts_on_cpu_memory_and_disk_saturation(stack: str) -> None:
    records = run_stack(stack)
    for name, deployment in deployments(records).items():
        for key, metric in (("cpu", "CpuUtilizationPercentage"), ("memory", "CpuMemoryUtilizationPercentage"),
                            ("disk", "DiskUtilization")):
            alert = named(records, METRIC_ALERT, f"score-{name}-{key}")
            assert alert.inputs["scopes"] == [deployment.id]
            c = criterion(alert)
            assert (c["metricNamespace"], c["metricName"], c["operator"], c["threshold"]) == (
                DEPLOYMENT_NS, metric, "GreaterThan", 90)
            assert alert.inputs["windowSize"] == "PT15M"


def test_capacity_at_max_watches_the_autoscale_setting_at_its_highest_maximum(stack: str) -> None:
    records = run_stack(stack)
    autoscale = {s.inputs["targetResourceUri"]: s for s in records.of_type(f"{AN}:monitor:AutoscaleSetting")}
    for name, deployment in deployments(records).items():
        setting = autoscale[str(deployment.id)]
        highest = max(int(p["capacity"]["maximum"]) for p in setting.inputs["profiles"])
        assert highest == {"dev": 2, "prod": 10}[stack]  # prod's business hours allow 10, above the default 6
        alert = named(records, METRIC_ALERT, f"score-{name}-capacity-at-max")
        assert alert.inputs["scopes"] == [setting.id]
        c = criterion(alert)
        assert (c["metricNamespace"], c["metricName"], c["operator"], c["threshold"]) == (
            "microsoft.insights/autoscalesettings", "ObservedCapacity", "GreaterThanOrEqual", highest)
        assert alert.inputs["windowSize"] == "PT1H"


# --------------------------------------------------------------------------------------------------------------------
# Availability test, autoscale health, workbook
# --------------------------------------------------------------------------------------------------------------------


def test_a_public_endpoint_gets_a_standard_availability_test_expecting_401() -> None:
    records = run_stack("dev")
    [appi] = [r for r in records.of_type(f"{AN}:applicationinsights:Component") if r.inputs["tags"]["team"] == TEAM]
    [test] = children(records, f"{AN}:applicationinsights:WebTest")
    inputs = test.inputs
    assert inputs["kind"] == inputs["webTestKind"] == "standard"
    assert inputs["enabled"] is True
    assert inputs["syntheticMonitorId"] == inputs["webTestName"]
    assert inputs["request"]["requestUrl"] == endpoint(records).outputs["properties"]["scoringUri"]
    assert inputs["validationRules"]["expectedHttpStatusCode"] == 401
    assert inputs["validationRules"]["sSLCheck"] is True
    assert inputs["validationRules"]["sSLCertRemainingLifetimeCheck"] > 0
    locations = [loc["location"] for loc in inputs["locations"]]
    assert len(locations) == len(set(locations)) == 5
    # Azure requires the hidden-link tag naming the Application Insights component the results go to.
    assert inputs["tags"][f"hidden-link:{appi.id}"] == "Resource"
    alert = named(records, METRIC_ALERT, "score-availability-alert")
    assert alert.inputs["scopes"] == [test.id, appi.id]
    assert alert.inputs["criteria"] == {"odataType": "Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria",
                                        "webTestId": test.id, "componentId": appi.id, "failedLocationCount": 3}
    assert alert.inputs["tags"][f"hidden-link:{test.id}"] == "Resource"
    assert alert.inputs["tags"][f"hidden-link:{appi.id}"] == "Resource"
    assert test.urn in alert.dependencies


def test_a_private_endpoint_has_no_availability_test() -> None:
    records = run_stack("prod")
    assert not records.of_type(f"{AN}:applicationinsights:WebTest")
    assert not [a for a in children(records, METRIC_ALERT) if "availability" in a.name]


def test_failed_and_flapping_autoscale_actions_alert(stack: str) -> None:
    records = run_stack(stack)
    [alert] = children(records, ACTIVITY_ALERT)
    group_name = endpoint(records).inputs["resourceGroupName"]
    [group] = [g for g in records.of_type(f"{AN}:resources:ResourceGroup")
               if g.inputs["resourceGroupName"] == group_name]
    assert alert.inputs["scopes"] == [group.id]
    assert alert.inputs["location"] == "global"
    conditions = alert.inputs["condition"]["allOf"]
    assert {"field": "category", "equals": "Autoscale"} in conditions
    [either] = [c["anyOf"] for c in conditions if "anyOf" in c]
    assert {"field": "status", "equals": "Failed"} in either
    assert {"field": "operationName", "equals": "Microsoft.Insights/AutoscaleSettings/Flapping/Action"} in either


def test_the_workbook_is_a_notebook_about_the_teams_endpoints(stack: str) -> None:
    records = run_stack(stack)
    [workbook] = children(records, f"{AN}:applicationinsights:Workbook")
    assert workbook.inputs["kind"] == "shared" and workbook.inputs["category"] == "workbook"
    assert workbook.inputs["version"] == "Notebook/1.0"
    assert workbook.inputs["sourceId"] == log_analytics_id(records).lower()
    assert str(uuid.UUID(workbook.inputs["resourceName"])) == workbook.inputs["resourceName"]
    data = json.loads(workbook.inputs["serializedData"])
    assert data["version"] == "Notebook/1.0"
    # SLO attainment counts a request as served by the alerts' own definition of a failure.
    assert f"served = countif(not{FAILED})" in workbook.inputs["serializedData"]
    assert endpoint(records).inputs["endpointName"] in workbook.inputs["serializedData"]
    [instances] = [item for item in data["items"] if item["name"] == "instances"]
    assert sorted(instances["content"]["resourceIds"]) == sorted(
        str(s.id) for s in records.of_type(f"{AN}:monitor:AutoscaleSetting"))
    queries = [item["content"] for item in data["items"] if item["type"] == 3]
    assert len(queries) == 4
    assert all(q["crossComponentResources"] == [log_analytics_id(records)] for q in queries)


def test_workbook_names_differ_between_stacks() -> None:
    names = {stack: children(run_stack(stack), f"{AN}:applicationinsights:Workbook")[0].inputs["resourceName"]
             for stack in ("dev", "prod")}
    assert names["dev"] != names["prod"]


# --------------------------------------------------------------------------------------------------------------------
# The component on its own
# --------------------------------------------------------------------------------------------------------------------

GROUP = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-fraud"
ENDPOINT_ID = f"{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/mlw-fraud/onlineEndpoints/score-fraud"
SLO = SloConfig(latency_p95_ms=200, error_rate_percent=2, availability_percent=99.95)


def monitoring_args(team: str = "fraud", environment: str = "prod", max_instances: int | None = 5
                    ) -> ServiceMonitoringArgs:
    deployment = MonitoredDeployment("blue", f"{ENDPOINT_ID}/deployments/blue",
                                     f"{GROUP}/providers/Microsoft.Insights/autoscalesettings/as-blue", max_instances)
    return ServiceMonitoringArgs(
        team=team, environment=environment, location="westeurope", resource_group_name="rg-fraud",
        resource_group_id=GROUP, action_group_name="ag-fraud", emails=("a@contoso.com", "b@contoso.com"),
        platform_action_group_id=f"{GROUP}/providers/Microsoft.Insights/actionGroups/ag-platform",
        log_analytics_workspace_id=f"{GROUP}/providers/Microsoft.OperationalInsights/workspaces/Log-Fraud",
        application_insights_id=f"{GROUP}/providers/Microsoft.Insights/components/appi-fraud",
        endpoints=[MonitoredEndpoint("score", "score-fraud", ENDPOINT_ID, "https://score-fraud.example/score", SLO,
                                     [deployment], public=False)],
    )


def build(args: ServiceMonitoringArgs) -> Records:
    return Records(run_with_mocks(lambda: ServiceMonitoring("fraud-apm", args), project=PROJECT, stack="prod"))


def workbook_name(args: ServiceMonitoringArgs) -> str:
    [workbook] = build(args).of_type(f"{AN}:applicationinsights:Workbook")
    return str(workbook.inputs["resourceName"])


def test_the_workbook_name_is_a_uuid_stable_between_runs() -> None:
    first = workbook_name(monitoring_args())
    assert workbook_name(monitoring_args()) == first
    assert uuid.UUID(first).version == 5
    assert workbook_name(monitoring_args(environment="dev")) != first
    assert workbook_name(monitoring_args(team="churn")) != first


def test_a_deployment_held_at_its_maximum_by_design_gets_no_capacity_alert() -> None:
    rules = {a.inputs["ruleName"] for a in build(monitoring_args()).of_type(METRIC_ALERT)}
    assert "alert-score-blue-capacity-at-max" in rules
    pinned = {a.inputs["ruleName"] for a in build(monitoring_args(max_instances=None)).of_type(METRIC_ALERT)}
    assert pinned == rules - {"alert-score-blue-capacity-at-max"}
    assert {"alert-score-blue-cpu", "alert-score-blue-memory", "alert-score-blue-disk"} <= pinned


# --------------------------------------------------------------------------------------------------------------------
# KQL text
# --------------------------------------------------------------------------------------------------------------------


def test_a_failed_request_is_a_server_error_a_timeout_throttling_or_a_model_error() -> None:
    assert FAILED == "(ResponseCode >= 500 or ResponseCode in (408, 429) or ModelStatusCode >= 500)"


def test_error_rate_query() -> None:
    query = error_rate_query("score-fraud-prod-1a2b3", "5m")
    assert query.splitlines() == [
        TRAFFIC,
        "| where TimeGenerated > ago(5m) and EndpointName == 'score-fraud-prod-1a2b3'",
        f"| summarize total = count(), failed = countif({FAILED})",
        "| where total > 0",
        "| extend error_percent = 100.0 * failed / total",
    ]


def test_burn_rate_query() -> None:
    query = burn_rate_query("score-fraud-prod-1a2b3", "6h", "30m", 6.0, 0.0005)
    assert query.splitlines() == [
        TRAFFIC,
        "| where TimeGenerated > ago(6h) and EndpointName == 'score-fraud-prod-1a2b3'",
        f"| summarize long_total = count(), long_failed = countif({FAILED}),",
        "    short_total = countif(TimeGenerated > ago(30m)),",
        f"    short_failed = countif(TimeGenerated > ago(30m) and {FAILED})",
        "| where long_total > 0 and short_total > 0",
        "| extend long_burn = (1.0 * long_failed / long_total) / 0.0005,",
        "    short_burn = (1.0 * short_failed / short_total) / 0.0005",
        "| where long_burn >= 6 and short_burn >= 6",
    ]
    assert burn_rate_query("e", "1h", "5m", 14.4, 0.001).endswith("| where long_burn >= 14.4 and short_burn >= 14.4")
