"""``Autoscale``: the autoscale setting of one managed online deployment (``monitor.AutoscaleSetting``).

Every profile carries the same paired rules (autoscale-best-practices: "always use a scale-out and scale-in rule
combination", "ideally use the same metric to control both"):

- CPU of the deployment (``CpuUtilizationPercentage``, averaged over the window): scale out above, in below;
- p95 request latency of the deployment, on the endpoint's metric (``RequestLatency_P95`` filtered on the
  ``deployment`` dimension, as how-to-autoscale-endpoints scales on the endpoint's latency): scale out above the
  SLO, in below the configured fraction of it.

Azure scales out when any scale-out rule fires and in only when every scale-in rule does, one instance at a time;
after a scale action it waits for the cooldown of the rule that fired ("not a separate cooldown for each
direction", autoscale-understanding-settings). The configuration was checked for flapping before anything was created
(``components.serving_config``). The default profile holds the deployment's instance counts; each schedule adds a
recurring profile at its start and one at its end that restores the default counts (a recurring profile has no end
of its own: "The end of date and time for a recurring profile is set by the start time of the following profile",
autoscale-understanding-settings). Scale actions are emailed to the team; failed and flapping scale actions alert
through the team's action group (``components.apm.ServiceMonitoring``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import monitor

from components.endpoint_metrics import (
    CPU_METRIC,
    DEPLOYMENT_DIMENSION,
    DEPLOYMENT_NAMESPACE,
    ENDPOINT_NAMESPACE,
    LATENCY_METRIC,
)
from components.interfaces import send_diagnostics
from components.serving_config import AutoscaleConfig, InstancesConfig, ScheduleProfileConfig, SloConfig

TIME_GRAIN = "PT1M"


@dataclass(frozen=True)
class AutoscaleArgs:
    """Inputs of an :class:`Autoscale`."""

    autoscale_name: str
    location: str
    resource_group_name: pulumi.Input[str]
    deployment_name: str
    """The deployment's name (the value of the endpoint metric's ``deployment`` dimension)."""
    deployment_id: pulumi.Input[str]
    """ARM id of the online deployment: the target, and the CPU rules' metric resource."""
    endpoint_id: pulumi.Input[str]
    """ARM id of the endpoint: the latency rules' metric resource."""
    instances: InstancesConfig
    """Counts of the default profile."""
    rules: AutoscaleConfig
    slo: SloConfig
    log_analytics_workspace_id: pulumi.Input[str] | None = None
    """Where the setting's evaluation and scale-action logs go (``None``: nowhere)."""
    notify_emails: Sequence[str] = ()
    """Who is emailed on every scale action (the team)."""
    tags: Mapping[str, str] = field(default_factory=dict)


def _capacity(counts: InstancesConfig) -> monitor.ScaleCapacityArgs:
    return monitor.ScaleCapacityArgs(minimum=str(counts.minimum), maximum=str(counts.maximum),
                                     default=str(counts.default))


def _clock(text: str) -> tuple[int, int]:
    hour, minute = text.split(":")
    return int(hour), int(minute)


def scale_rules(args: AutoscaleArgs) -> list[monitor.ScaleRuleArgs]:
    """The paired CPU and latency rules every profile carries."""
    rules = args.rules
    latency_in = rules.latency_scale_in(args.slo)

    def rule(metric: str, above: bool, threshold: float, on_endpoint: bool = False) -> monitor.ScaleRuleArgs:
        return monitor.ScaleRuleArgs(
            metric_trigger=monitor.MetricTriggerArgs(
                metric_name=metric,
                metric_namespace=ENDPOINT_NAMESPACE if on_endpoint else DEPLOYMENT_NAMESPACE,
                metric_resource_uri=args.endpoint_id if on_endpoint else args.deployment_id,
                time_grain=TIME_GRAIN,
                statistic="Average",
                time_window=rules.window,
                time_aggregation="Average",
                operator="GreaterThan" if above else "LessThan",
                threshold=threshold,
                # autoscale dimensions: Operator "Equals" or "NotEquals" (Microsoft.Insights autoscale settings).
                dimensions=[monitor.ScaleRuleMetricDimensionArgs(
                    dimension_name=DEPLOYMENT_DIMENSION, operator="Equals", values=[args.deployment_name],
                )] if on_endpoint else None,
            ),
            scale_action=monitor.ScaleActionArgs(
                direction="Increase" if above else "Decrease",
                type="ChangeCount",
                value="1",
                cooldown=rules.scale_out_cooldown if above else rules.scale_in_cooldown,
            ),
        )

    return [
        rule(CPU_METRIC, True, rules.cpu_scale_out_above),
        rule(CPU_METRIC, False, rules.cpu_scale_in_below),
        rule(LATENCY_METRIC, True, float(args.slo.latency_p95_ms), on_endpoint=True),
        rule(LATENCY_METRIC, False, float(latency_in), on_endpoint=True),
    ]


def profiles(args: AutoscaleArgs) -> list[monitor.AutoscaleProfileArgs]:
    """The default profile, then a start and an end profile per schedule."""
    rules = scale_rules(args)
    result = [monitor.AutoscaleProfileArgs(name="default", capacity=_capacity(args.instances), rules=rules)]

    def recurring(name: str, schedule: ScheduleProfileConfig, at: str, counts: InstancesConfig
                  ) -> monitor.AutoscaleProfileArgs:
        hour, minute = _clock(at)
        return monitor.AutoscaleProfileArgs(
            name=name, capacity=_capacity(counts), rules=rules,
            recurrence=monitor.RecurrenceArgs(frequency="Week", schedule=monitor.RecurrentScheduleArgs(
                time_zone=schedule.time_zone, days=list(schedule.days), hours=[hour], minutes=[minute])),
        )

    for schedule in args.rules.schedules:
        result.append(recurring(schedule.name, schedule, schedule.start, schedule.instances))
        result.append(recurring(f"{schedule.name}-end", schedule, schedule.end, args.instances))
    return result


class Autoscale(pulumi.ComponentResource):
    """Autoscale of one online deployment (type ``mlops:serving:Autoscale``)."""

    autoscale_setting_id: pulumi.Output[str]

    def __init__(self, name: str, args: AutoscaleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:serving:Autoscale", name, None, opts)
        setting = monitor.AutoscaleSetting(
            f"{name}-autoscale",
            autoscale_setting_name=args.autoscale_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            target_resource_uri=args.deployment_id,
            enabled=True,
            profiles=profiles(args),
            notifications=[monitor.AutoscaleNotificationArgs(
                operation="Scale",
                email=monitor.EmailNotificationArgs(custom_emails=list(args.notify_emails),
                                                    send_to_subscription_administrator=False,
                                                    send_to_subscription_co_administrators=False),
            )] if args.notify_emails else None,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.log_analytics_workspace_id is not None:
            send_diagnostics(self, name, setting.id, args.log_analytics_workspace_id)
        self.autoscale_setting_id = setting.id
        self.register_outputs({"autoscale_setting_id": self.autoscale_setting_id})
