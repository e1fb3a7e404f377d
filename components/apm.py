"""``ServiceMonitoring``: application performance monitoring of a team's online endpoints, from their SLOs.

Per team: an action group (the team's addresses; every alert also notifies the platform's action group), an
activity-log alert on failed and flapping autoscale actions, and an Azure Monitor workbook (SLO attainment, latency
percentiles, throughput, errors, instance count). Per endpoint: a diagnostic setting sending its console, event and
traffic logs and its metrics to Log Analytics, and the alerts in :data:`ALERTS` (thresholds from the endpoint's
:class:`~components.serving_config.SloConfig` and instance counts). An endpoint reachable from the internet also
gets a standard availability test from five of Azure's test locations, which needs no key (it expects the 401 an
unauthenticated call receives, so it proves DNS, TLS, the certificate's lifetime and the endpoint's front end); a
private endpoint cannot be reached from those locations, and its availability is measured from its own traffic logs
by the burn-rate alerts instead (docs/serving.md).

The error budget is ``100 - availability`` percent of requests. The burn-rate alerts follow the multi-window,
multi-burn-rate pattern of Google's SRE workbook ("Alerting on SLOs"): page when the last hour and the last 5
minutes both burn the budget 14.4 times too fast (2 % of a 30-day budget in one hour), and raise a ticket when the
last 6 hours and the last 30 minutes both burn it 6 times too fast (5 % in six hours).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import applicationinsights, monitor

from components.endpoint_metrics import (
    AUTOSCALE_NAMESPACE,
    CAPACITY_METRIC,
    CPU_METRIC,
    DEPLOYMENT_NAMESPACE,
    DISK_METRIC,
    ENDPOINT_NAMESPACE,
    LATENCY_METRIC,
    MEMORY_METRIC,
    REQUESTS_METRIC,
    STATUS_DIMENSION,
    TRAFFIC_TABLE,
)
from components.interfaces import send_diagnostics
from components.serving_config import SloConfig

#: Utilization above which a deployment is saturated even after autoscale had its chance.
SATURATION_PERCENT = 90
#: Multi-window burn-rate alerts: (name, long window, short window, burn rate, severity, evaluation frequency).
BURN_RATE_ALERTS: tuple[tuple[str, str, str, float, int, str], ...] = (
    ("fast-burn", "1h", "5m", 14.4, 1, "PT5M"),
    ("slow-burn", "6h", "30m", 6.0, 2, "PT30M"),
)
#: Availability test locations (azure-monitor/app/availability, "Location population tags"): five, Microsoft's
#: recommended minimum; the alert fires when ``len - 2`` of them fail ("number of test locations - 2").
WEB_TEST_LOCATIONS = ("emea-nl-ams-azr", "emea-gb-db3-azr", "emea-fr-pra-edge", "emea-ch-zrh-edge",
                      "emea-ru-msa-edge")
#: A request that counts against the error budget (KQL over ``AmlOnlineEndpointTrafficLog``): a server error (5xx),
#: a timeout (408: the model took longer than the request timeout), throttling (429), or a failure of the model
#: container itself, which callers see as 424 with the container's own status in ``ModelStatusCode``
#: (how-to-troubleshoot-online-endpoints, "HTTP status codes"). A model's 4xx answer to bad input is the caller's
#: error and does not count.
FAILED = "(ResponseCode >= 500 or ResponseCode in (408, 429) or ModelStatusCode >= 500)"
#: What an unauthenticated request to a token-protected scoring URI receives.
UNAUTHENTICATED_STATUS = 401
#: Every alert the component creates per endpoint (and per deployment), for the docs and the tests.
ALERTS = ("latency-p95", "throttled", "error-rate", "fast-burn", "slow-burn", "availability", "cpu", "memory", "disk",
          "capacity-at-max")
_WORKBOOK_NAMESPACE = uuid.UUID("0b6f7c1e-5a4d-4f3e-9c2b-7d8e6a5f4c3b")


@dataclass(frozen=True)
class MonitoredDeployment:
    name: str
    deployment_id: pulumi.Input[str]
    autoscale_setting_id: pulumi.Input[str]
    """The deployment's autoscale setting: its observed capacity is the instance count."""
    max_instances: int | None
    """The highest instance count autoscale may reach (any profile): capacity held there means saturation. ``None``
    when a profile pins the deployment there (minimum = maximum): no capacity-at-max alert then."""


@dataclass(frozen=True)
class MonitoredEndpoint:
    name: str
    """The endpoint's name in the configuration (alert names)."""
    azure_name: str
    """Its Azure name (the ``EndpointName`` column of the traffic logs)."""
    endpoint_id: pulumi.Input[str]
    scoring_uri: pulumi.Input[str]
    slo: SloConfig
    deployments: Sequence[MonitoredDeployment]
    public: bool
    """Reachable from the internet: gets an availability test."""


@dataclass(frozen=True)
class ServiceMonitoringArgs:
    """Inputs of a :class:`ServiceMonitoring`."""

    team: str
    environment: str
    location: str
    resource_group_name: pulumi.Input[str]
    resource_group_id: pulumi.Input[str]
    """The team's resource group: its autoscale settings' activity log is watched there."""
    action_group_name: str
    emails: Sequence[str]
    platform_action_group_id: pulumi.Input[str]
    log_analytics_workspace_id: pulumi.Input[str]
    application_insights_id: pulumi.Input[str]
    """The team's Application Insights (availability tests report there): its ARM id, built from names that are
    known before anything exists, so that the ``hidden-link`` tags Azure requires are known on a first preview."""
    endpoints: Sequence[MonitoredEndpoint]
    tags: Mapping[str, str] = field(default_factory=dict)


def error_rate_query(endpoint: str, window: str) -> str:
    """KQL: the share of failed requests (:data:`FAILED`) of ``endpoint`` over ``window``, one row when any request
    was served."""
    return (f"{TRAFFIC_TABLE}\n| where TimeGenerated > ago({window}) and EndpointName == '{endpoint}'\n"
            f"| summarize total = count(), failed = countif({FAILED})\n| where total > 0\n"
            "| extend error_percent = 100.0 * failed / total")


def burn_rate_query(endpoint: str, long: str, short: str, rate: float, budget: float) -> str:
    """KQL: one row when both windows burn the error budget at least ``rate`` times as fast as it allows."""
    return (f"{TRAFFIC_TABLE}\n| where TimeGenerated > ago({long}) and EndpointName == '{endpoint}'\n"
            f"| summarize long_total = count(), long_failed = countif({FAILED}),\n"
            f"    short_total = countif(TimeGenerated > ago({short})),\n"
            f"    short_failed = countif(TimeGenerated > ago({short}) and {FAILED})\n"
            "| where long_total > 0 and short_total > 0\n"
            f"| extend long_burn = (1.0 * long_failed / long_total) / {budget:g},\n"
            f"    short_burn = (1.0 * short_failed / short_total) / {budget:g}\n"
            f"| where long_burn >= {rate:g} and short_burn >= {rate:g}")


def _iso(window: str) -> str:
    return f"PT{window[:-1].upper()}{'H' if window.endswith('h') else 'M'}"


def workbook_data(args: ServiceMonitoringArgs, autoscale_ids: Sequence[str], workspace_id: str) -> str:
    """The workbook's serialized JSON (schema Notebook/1.0): SLO attainment, latency, throughput, errors by status
    code from the traffic logs, and instance counts as the deployments' autoscale settings observed them."""
    names = ", ".join(f"'{e.azure_name}'" for e in args.endpoints)
    base = f"{TRAFFIC_TABLE}\n| where EndpointName in ({names})\n"
    slo_rows = " | ".join(
        f"'{e.azure_name}', {e.slo.availability_percent:g}, {e.slo.latency_p95_ms}" for e in args.endpoints)

    def kql(title: str, query: str, visualization: str) -> dict[str, object]:
        return {"type": 3, "name": title, "content": {
            "version": "KqlItem/1.0", "title": title, "query": query, "size": 0, "queryType": 0,
            "resourceType": "microsoft.operationalinsights/workspaces", "visualization": visualization,
            "timeContext": {"durationMs": 2592000000 if visualization == "table" else 86400000},
            # The Log Analytics workspace each query reads, not only the workbook's source.
            "crossComponentResources": [workspace_id]}}

    items: list[dict[str, object]] = [
        {"type": 1, "name": "title", "content": {"json": f"## Online endpoints of {args.team} ({args.environment})\n"
                                                         "SLO attainment over 30 days; the charts cover a day."}},
        kql("SLO attainment (30 days)",
            f"let slo = datatable(EndpointName: string, availability_slo: real, latency_slo_ms: long)"
            f"[{slo_rows.replace(' | ', ', ')}];\n{base}"
            f"| summarize requests = count(), served = countif(not{FAILED}), "
            "p95_ms = percentile(TotalDurationMs, 95) by EndpointName\n"
            "| join kind=inner slo on EndpointName\n"
            "| project EndpointName, requests, availability = round(100.0 * served / requests, 3), "
            "availability_slo, p95_ms, latency_slo_ms", "table"),
        kql("Latency percentiles (ms)",
            base + "| summarize p50 = percentile(TotalDurationMs, 50), p95 = percentile(TotalDurationMs, 95), "
                   "p99 = percentile(TotalDurationMs, 99) by bin(TimeGenerated, 5m)", "timechart"),
        kql("Throughput (requests per minute)",
            base + "| summarize requests = count() by DeploymentName, bin(TimeGenerated, 1m)", "timechart"),
        kql("Errors by status code",
            base + "| where ResponseCode >= 400\n| summarize count() by tostring(ResponseCode), "
                   "bin(TimeGenerated, 5m)", "timechart"),
        {"type": 10, "name": "instances", "content": {
            "version": "MetricsItem/2.0", "title": "Instances per deployment", "size": 0, "chartType": 2,
            "resourceType": AUTOSCALE_NAMESPACE, "metricScope": 0, "resourceIds": list(autoscale_ids),
            "timeContext": {"durationMs": 86400000},
            "metrics": [{"namespace": AUTOSCALE_NAMESPACE, "metric": f"{AUTOSCALE_NAMESPACE}--{CAPACITY_METRIC}",
                         "aggregation": 4}]}},
    ]
    return json.dumps({"version": "Notebook/1.0", "items": items,
                       "$schema": "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/"
                                  "schema/workbook.json"}, sort_keys=True)


class ServiceMonitoring(pulumi.ComponentResource):
    """Alerts, logs, availability tests and a workbook for a team's endpoints (type ``mlops:apm:ServiceMonitoring``)."""

    action_group_id: pulumi.Output[str]
    workbook_id: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:apm:ServiceMonitoring", name, None, opts)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        group = monitor.ActionGroup(
            f"{name}-ag", action_group_name=args.action_group_name, group_short_name=args.team[:12],
            resource_group_name=args.resource_group_name, location="Global", enabled=True,
            email_receivers=[monitor.MicrosoftCommonEmailReceiverArgs(name=f"email-{i}", email_address=email,
                                                                      use_common_alert_schema=True)
                             for i, email in enumerate(args.emails)],
            tags=tags, opts=child,
        )
        groups = [group.id, args.platform_action_group_id]
        metric_actions = [monitor.MetricAlertActionArgs(action_group_id=g) for g in groups]

        def metric_alert(key: str, description: str, scope: pulumi.Input[str], namespace: str, metric: str,
                         operator: str, threshold: float, aggregation: str, severity: int, window: str = "PT5M",
                         frequency: str = "PT1M", dimensions: Sequence[monitor.MetricDimensionArgs] | None = None
                         ) -> None:
            monitor.MetricAlert(
                f"{name}-{key}", rule_name=f"alert-{key}", resource_group_name=args.resource_group_name,
                location="global", description=description, severity=severity, enabled=True, scopes=[scope],
                evaluation_frequency=frequency, window_size=window, auto_mitigate=True,
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    all_of=[monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion", name=key.rsplit("-", 1)[-1],
                        metric_namespace=namespace, metric_name=metric, operator=operator, threshold=threshold,
                        time_aggregation=aggregation, dimensions=list(dimensions) if dimensions else None,
                    )],
                ),
                actions=metric_actions, tags=tags, opts=child,
            )

        def log_alert(key: str, description: str, query: str, window: str, frequency: str, severity: int) -> None:
            monitor.ScheduledQueryRule(
                f"{name}-{key}", rule_name=f"alert-{key}", resource_group_name=args.resource_group_name,
                location=args.location, kind="LogAlert", description=description, severity=severity, enabled=True,
                scopes=[args.log_analytics_workspace_id], evaluation_frequency=frequency, window_size=window,
                auto_mitigate=True,
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[monitor.ConditionArgs(
                    query=query, time_aggregation="Count", operator="GreaterThan", threshold=0,
                    failing_periods=monitor.ConditionFailingPeriodsArgs(number_of_evaluation_periods=1,
                                                                        min_failing_periods_to_alert=1),
                )]),
                actions=monitor.ActionsArgs(action_groups=groups), tags=tags, opts=child,
            )

        autoscale_ids: list[pulumi.Input[str]] = []
        for endpoint in args.endpoints:
            ep, slo = endpoint.name, endpoint.slo
            # allLogs: the console, event and traffic logs, and whatever category Azure adds.
            send_diagnostics(self, f"{name}-{ep}", endpoint.endpoint_id, args.log_analytics_workspace_id)
            metric_alert(f"{ep}-latency-p95", f"p95 latency of {ep} is above its SLO of {slo.latency_p95_ms} ms",
                         endpoint.endpoint_id, ENDPOINT_NAMESPACE, LATENCY_METRIC, "GreaterThan",
                         slo.latency_p95_ms, "Average", 2)
            metric_alert(f"{ep}-throttled", f"{ep} throttles requests (429): more requests than the deployments' "
                                            "max_concurrent_requests_per_instance allow",
                         # Average: the one aggregation Azure Monitor lists for RequestsPerMinute; above 0 as soon
                         # as one request in the window was refused with 429.
                         endpoint.endpoint_id, ENDPOINT_NAMESPACE, REQUESTS_METRIC, "GreaterThan", 0, "Average", 3,
                         dimensions=[monitor.MetricDimensionArgs(name=STATUS_DIMENSION, operator="Include",
                                                                 values=["429"])])
            log_alert(f"{ep}-error-rate", f"More than {slo.error_rate_percent:g}% of the requests to {ep} failed (5xx, "
                                          "408, 429, or a model error) in the last 5 minutes",
                      error_rate_query(endpoint.azure_name, "5m") + f"\n| where error_percent > "
                                                                    f"{slo.error_rate_percent:g}",
                      "PT5M", "PT5M", 2)
            for key, long, short, rate, severity, frequency in BURN_RATE_ALERTS:
                log_alert(f"{ep}-{key}", f"{ep} burns its error budget ({100 - slo.availability_percent:g}% of "
                                         f"requests) {rate:g} times too fast over {long} and {short}",
                          burn_rate_query(endpoint.azure_name, long, short, rate, slo.error_budget),
                          _iso(long), frequency, severity)
            if endpoint.public:
                self._availability_test(name, args, endpoint, metric_actions, tags)
            for deployment in endpoint.deployments:
                key, scope = f"{ep}-{deployment.name}", deployment.deployment_id
                autoscale_ids.append(deployment.autoscale_setting_id)
                for what, metric in (("cpu", CPU_METRIC), ("memory", MEMORY_METRIC), ("disk", DISK_METRIC)):
                    metric_alert(f"{key}-{what}", f"{what} utilization of {ep}/{deployment.name} is above "
                                                  f"{SATURATION_PERCENT}% for 15 minutes",
                                 scope, DEPLOYMENT_NAMESPACE, metric, "GreaterThan", SATURATION_PERCENT, "Average", 2,
                                 window="PT15M", frequency="PT5M")
                if deployment.max_instances is not None:
                    metric_alert(f"{key}-capacity-at-max", f"{ep}/{deployment.name} has run at its maximum of "
                                                           f"{deployment.max_instances} instances for an hour",
                                 # The capacity never exceeds the maximum, so an hourly average at the maximum means
                                 # every observation in the hour was there (Average: the metric's listed aggregation).
                                 deployment.autoscale_setting_id, AUTOSCALE_NAMESPACE, CAPACITY_METRIC,
                                 "GreaterThanOrEqual", deployment.max_instances, "Average", 2, window="PT1H",
                                 frequency="PT15M")

        monitor.ActivityLogAlert(
            f"{name}-autoscale-health", activity_log_alert_name=f"alert-{args.team}-autoscale-health",
            resource_group_name=args.resource_group_name, location="global", enabled=True,
            description=f"An autoscale action of team {args.team} failed, or autoscale detected flapping",
            scopes=[args.resource_group_id],
            condition=monitor.AlertRuleAllOfConditionArgs(all_of=[
                monitor.AlertRuleAnyOfOrLeafConditionArgs(field="category", equals="Autoscale"),
                monitor.AlertRuleAnyOfOrLeafConditionArgs(any_of=[
                    monitor.AlertRuleLeafConditionArgs(field="status", equals="Failed"),
                    monitor.AlertRuleLeafConditionArgs(field="operationName",
                                                       equals="Microsoft.Insights/AutoscaleSettings/Flapping/Action"),
                ]),
            ]),
            actions=monitor.ActionListArgs(action_groups=[monitor.ActionGroupArgs(action_group_id=g)
                                                          for g in groups]),
            tags=tags, opts=child,
        )
        workbook = applicationinsights.Workbook(
            f"{name}-workbook",
            resource_name_=str(uuid.uuid5(_WORKBOOK_NAMESPACE, f"{args.team}|{args.environment}|{args.location}")),
            resource_group_name=args.resource_group_name, location=args.location, kind="shared",
            category="workbook", display_name=f"Online endpoints of {args.team} ({args.environment})",
            source_id=pulumi.Output.from_input(args.log_analytics_workspace_id).apply(str.lower),
            serialized_data=pulumi.Output.all(args.log_analytics_workspace_id, *autoscale_ids).apply(
                lambda ids: workbook_data(args, ids[1:], ids[0])),
            version="Notebook/1.0", tags=tags, opts=child,
        )
        self.action_group_id = group.id
        self.workbook_id = workbook.id
        self.register_outputs({"action_group_id": self.action_group_id, "workbook_id": self.workbook_id})

    def _availability_test(self, name: str, args: ServiceMonitoringArgs, endpoint: MonitoredEndpoint,
                           actions: list[monitor.MetricAlertActionArgs], tags: Mapping[str, str]) -> None:
        """A standard test of the scoring URI without credentials, and its alert."""
        key = f"{endpoint.name}-availability"
        web_test_name = f"webtest-{endpoint.name}"
        link = pulumi.Output.from_input(args.application_insights_id).apply(lambda i: f"hidden-link:{i}")
        test_id = pulumi.Output.from_input(args.application_insights_id).apply(
            lambda i: f"{i.split('/providers/')[0]}/providers/Microsoft.Insights/webtests/{web_test_name}")
        test = applicationinsights.WebTest(
            f"{name}-{key}", web_test_name=web_test_name, synthetic_monitor_id=web_test_name,
            resource_group_name=args.resource_group_name, location=args.location, kind="standard",
            web_test_kind="standard", enabled=True, frequency=300, timeout=30, retry_enabled=True,
            description=f"{endpoint.name} answers unauthenticated calls with {UNAUTHENTICATED_STATUS} over valid TLS",
            locations=[applicationinsights.WebTestGeolocationArgs(location=loc) for loc in WEB_TEST_LOCATIONS],
            request=applicationinsights.WebTestPropertiesRequestArgs(request_url=endpoint.scoring_uri,
                                                                     http_verb="GET", follow_redirects=False),
            validation_rules=applicationinsights.WebTestPropertiesValidationRulesArgs(
                expected_http_status_code=UNAUTHENTICATED_STATUS, s_sl_check=True,
                s_sl_cert_remaining_lifetime_check=14),
            tags=link.apply(lambda hidden: {**tags, hidden: "Resource"}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        monitor.MetricAlert(
            f"{name}-{key}-alert", rule_name=f"alert-{key}", resource_group_name=args.resource_group_name,
            location="global", description=f"{endpoint.name} failed its availability test from "
                                           f"{len(WEB_TEST_LOCATIONS) - 2} locations",
            severity=1, enabled=True, scopes=[test.id, args.application_insights_id],
            evaluation_frequency="PT1M", window_size="PT5M",
            criteria=monitor.WebtestLocationAvailabilityCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria", web_test_id=test.id,
                component_id=args.application_insights_id, failed_location_count=len(WEB_TEST_LOCATIONS) - 2),
            actions=actions,
            tags=pulumi.Output.all(link, test_id).apply(
                lambda pair: {**tags, pair[0]: "Resource", f"hidden-link:{pair[1]}": "Resource"}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[test]),
        )
