"""The governance rules."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.graph import UNKNOWN, Links, known_str, label, of_type, peek, peek_items
from ..lib.props import get, managed_deployment, parse_iso_duration
from ..lib.rules import Refs, Resource, setting
from ..lib.taggable import TAGGABLE
from ..lib.types import (
    ACTION_GROUP,
    ACTIVITY_LOG_ALERT,
    AKS,
    APP_INSIGHTS,
    AUTOSCALE_SETTING,
    BUDGET,
    KEY_VAULT,
    KEY_VAULT_KEY,
    KEY_VAULT_SECRET,
    LOG_ANALYTICS,
    METRIC_ALERT,
    ML_COMPUTE,
    ML_ONLINE_DEPLOYMENT,
    ML_ONLINE_ENDPOINT,
    PRIVATE_ENDPOINT,
    REGISTRY,
    RESOURCE_GROUP,
    SCHEDULED_QUERY_RULE,
    STORAGE_ACCOUNT,
    WEB_TEST,
    canonical,
)
from . import RULES

ML_DOCS = "https://learn.microsoft.com/azure/machine-learning"
#: Defaults of the pack's settings. The pack runs outside this repository, so it cannot read the platform's lists
#: (``components.config``); tests hold these to the platform's ``REQUIRED_TAGS`` and prod ``DEFAULT_ALLOWED_VM_SIZES``,
#: and the environment configs set the per-environment lists.
REQUIRED_TAGS = ("owner", "cost-center", "data-classification")
ALLOWED_VM_SIZES = (
    "Standard_DS2_v2", "Standard_DS3_v2", "Standard_DS4_v2", "Standard_D2s_v3", "Standard_D4s_v3", "Standard_D8s_v3",
    "Standard_D16s_v3", "Standard_E4s_v3", "Standard_E8s_v3", "Standard_E16s_v3", "Standard_NC4as_T4_v3",
    "Standard_NC8as_T4_v3", "Standard_NC6s_v3", "Standard_NC24ads_A100_v4",
)
MONITOR_DOCS = "https://learn.microsoft.com/azure/azure-monitor"


def _kind(r: Resource | PolicyResource) -> str:
    return str(get(r.props, "properties.computeType", ""))


@RULES.resource(
    "governance-tags-required",
    types=["*"],
    description="Every Azure resource that takes tags carries the required tags.",
    severity="medium",
    remediation="Add the missing tags (the platform sets them from mlops-platform:tags on every resource).",
    url="https://learn.microsoft.com/azure/cloud-adoption-framework/ready/azure-best-practices/resource-tagging",
    # The Append/Add/Inherit-if-missing policies act only on a resource that lacks the tag: one that has it, as this
    # rule requires, is what they leave alone. Those that fix or overwrite the value carry a config: note
    # (tagValuePatterns) in policies/lib/anchors/azure_policy.tsv, or a reason.
    refs=Refs(
        mcsb=("AM-2",),
        azure_policy=(
            "871b6d14-10aa-478d-b590-94f262ecfa99", "1e30110a-5ceb-460c-a204-c1c3969c6d62",
            "2a0e14a6-b0a6-4fab-991a-187a4f81c498", "40df99da-1232-49b1-a39a-6da8d878f469",
            "49c88fc8-6fd1-46fd-a676-f12d1d3a4c71", "4f9dc7db-30c1-420c-b61a-e1d640128d26",
            "5ffd78d9-436d-4b41-a421-5baa819e3008", "726aca4c-86e9-4b04-b0c5-073027359532",
            "8ce3da23-7156-49e4-b145-24f95f9dcb46", "96670d01-0a4d-4649-9c89-2d3abc0a5025",
            "9ea02ca2-71db-412d-8b00-7c7ca9fcd32d", "d157c373-a6c4-483d-aaad-570756956268",
            "ea3f2387-9b95-492a-a190-fcdc54f7b070",
        ),
        psrule=("Azure.Resource.RequiredTags", "Azure.Resource.UseTags"),
        pulumi=("required tags",),
    ),
    config={
        "requiredTags": setting("array", list(REQUIRED_TAGS), "Tag names every resource needs.",
                                items={"type": "string"}),
        "exemptTypes": setting("array", [], "azure-native types exempt from the rule (beyond those that take no "
                               "tags, which it never checks).", items={"type": "string"}),
        "tagValuePatterns": setting("object", {}, "Tag name -> regular expression its value must match in full "
                                    "(the tag is then required too); (?i) makes it case-insensitive, as Azure "
                                    "Policy's equals is.", additionalProperties={"type": "string"}),
    },
)
def tags_required(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    # Which types take tags comes from the SDK (policies/lib/taggable.py). A type the list does not know (a newer
    # SDK than the one it was made from) is checked when it is given tags, which only a taggable type can be.
    if not r.type.startswith("azure-native:") or r.type in cfg["exemptTypes"]:
        return
    if r.type not in TAGGABLE and "tags" not in r.props:
        return
    tags = r.props.get("tags") or {}
    patterns: Mapping[str, str] = cfg["tagValuePatterns"]
    missing = [t for t in dict.fromkeys([*cfg["requiredTags"], *patterns]) if not tags.get(t)]
    if missing:
        yield f"missing tags: {', '.join(missing)}"
    for name, pattern in patterns.items():
        value = tags.get(name)
        if isinstance(value, str) and value and not re.fullmatch(pattern, value):
            yield f"tag {name} is {value!r}; it must match {pattern!r}"


@RULES.resource(
    "governance-region-allowed",
    types=["*"],
    description="Resources are deployed only to approved regions.",
    severity="high",
    remediation="Set location (mlops-platform:region) to an allowed region, or extend allowedRegions in the pack "
                "config after review.",
    url="https://learn.microsoft.com/azure/governance/policy/samples/built-in-policies#general",
    refs=Refs(mcsb=("DP-1",),
              azure_policy=("e56962a6-4747-49cd-b67b-bf8b01975c4c", "e765b5de-1225-4ba3-bd56-1ac6695af988"),
              psrule=("Azure.Resource.AllowedRegions", "Azure.ACR.ReplicaLocation", "Azure.Log.ReplicaLocation")),
    config={
        "allowedRegions": setting("array", ["westeurope", "northeurope", "swedencentral"],
                                  "ARM location names resources may use.", items={"type": "string"}),
        "globalLocations": setting("array", ["global"], "Locations of global resources (alerts, DNS).",
                                   items={"type": "string"}),
    },
)
def region_allowed(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not r.type.startswith("azure-native:"):
        return
    # replication.location: a Log Analytics workspace's replica (API 2025-02-01 and later,
    # https://learn.microsoft.com/azure/azure-monitor/logs/workspace-replication) holds a copy of the data too.
    for path in ("location", "replication.location"):
        location = get(r.props, path)
        if not isinstance(location, str):
            continue
        normalised = location.replace(" ", "").lower()
        if normalised not in cfg["allowedRegions"] and normalised not in cfg["globalLocations"]:
            yield f"{path} {location!r} is not allowed; use one of {', '.join(cfg['allowedRegions'])}"


def _vm_sizes(r: Resource) -> list[tuple[str, str]]:
    if r.type == ML_COMPUTE:
        size = get(r.props, "properties.properties.vmSize")
        return [("properties.properties.vmSize", size)] if size else []
    if r.type == ML_ONLINE_DEPLOYMENT:
        size = get(r.props, "properties.instanceType")
        return [("properties.instanceType", size)] if size else []
    if r.type == AKS:
        return [(f"agentPoolProfiles[{i}].vmSize", p.get("vmSize")) for i, p in
                enumerate(r.props.get("agentPoolProfiles", []) or []) if p.get("vmSize")]
    return []


@RULES.resource(
    "governance-vmsize-allowed",
    types=[ML_COMPUTE, ML_ONLINE_DEPLOYMENT, AKS],
    description="Compute uses only the VM sizes allowed in the environment.",
    severity="high",
    remediation="Choose a size from the environment's list (mlops-platform:allowed_vm_sizes, or the allowedVmSizes "
                "of this pack's environment config).",
    url=f"{ML_DOCS}/concept-compute-target",
    refs=Refs(mcsb=("AM-2",), azure_policy=("cccc23c7-8427-4f53-ad12-b6a63eb452b3",)),
    config={"allowedVmSizes": setting("array", list(ALLOWED_VM_SIZES), "Allowed VM sizes.",
                                      items={"type": "string"})},
)
def vm_size(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    allowed = {s.lower() for s in cfg["allowedVmSizes"]}
    for path, size in _vm_sizes(r):
        if str(size).lower() not in allowed:
            yield f"{path} {size!r} is not allowed here"


@RULES.resource(
    "governance-mlcluster-max-nodes",
    types=[ML_COMPUTE],
    description="Compute clusters stay under the environment's node ceiling.",
    severity="medium",
    remediation="Lower scaleSettings.maxNodeCount (teams' max_nodes) or raise maxNodes after a capacity review.",
    url=f"{ML_DOCS}/how-to-manage-quotas",
    refs=Refs(mcsb=("AM-2",)),
    config={"maxNodes": setting("integer", 10, "Largest maxNodeCount allowed.", minimum=1)},
)
def max_nodes(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if _kind(r) == "AmlCompute":
        count = get(r.props, "properties.properties.scaleSettings.maxNodeCount", 0)
        if count > cfg["maxNodes"]:
            yield f"scaleSettings.maxNodeCount is {int(count)}; the ceiling is {cfg['maxNodes']}"


@RULES.resource(
    "governance-mlcluster-low-priority",
    types=[ML_COMPUTE],
    description="Compute clusters use low-priority nodes where the environment requires it.",
    severity="low",
    remediation="Set vmPriority LowPriority (teams' priority) for interruptible work.",
    url=f"{ML_DOCS}/how-to-use-low-priority-batch",
    refs=Refs(mcsb=("AM-2",)),
    config={"required": setting("boolean", False, "Require LowPriority on every cluster.")},
)
def low_priority(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if cfg["required"] and _kind(r) == "AmlCompute":
        priority = get(r.props, "properties.properties.vmPriority", "Dedicated")
        if priority != "LowPriority":
            yield f"vmPriority is {priority!r}; use 'LowPriority'"


@RULES.resource(
    "governance-mlinstance-idle-shutdown",
    types=[ML_COMPUTE],
    description="Compute instances shut down when idle, within the allowed time.",
    severity="medium",
    remediation="Set properties.properties.idleTimeBeforeShutdown (teams' idle_shutdown) to an ISO 8601 duration "
                "between 15 minutes and the maximum.",
    url=f"{ML_DOCS}/how-to-create-compute-instance#configure-idle-shutdown",
    refs=Refs(mcsb=("AM-2",), azure_policy=("679ddf89-ab8f-48a5-9029-e76054077449",),
              psrule=("Azure.ML.ComputeIdleShutdown",)),
    config={"maxIdle": setting("string", "PT3H", "Longest idle time before shutdown (ISO 8601).")},
)
def idle_shutdown(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if _kind(r) != "ComputeInstance":
        return
    value = get(r.props, "properties.properties.idleTimeBeforeShutdown")
    if not value:
        yield "properties.properties.idleTimeBeforeShutdown is not set"
        return
    idle, ceiling = parse_iso_duration(str(value)), parse_iso_duration(cfg["maxIdle"])
    if idle is None:
        yield f"idleTimeBeforeShutdown {value!r} is not an ISO 8601 duration"
    elif ceiling is not None and idle > ceiling:
        yield f"idleTimeBeforeShutdown is {value}; at most {cfg['maxIdle']} is allowed"


def _profiles(r: Resource) -> list[Mapping[str, Any]]:
    return list(r.props.get("profiles", []) or [])


@RULES.resource(
    "governance-autoscale-capacity",
    types=[AUTOSCALE_SETTING],
    description="Autoscale profiles keep minimum <= default <= maximum within the environment's bounds.",
    severity="high",
    remediation="Fix each profile's capacity: minimum at least minInstances, default between minimum and maximum, "
                "maximum at most maxInstances.",
    url=f"{MONITOR_DOCS}/autoscale/autoscale-best-practices",
    refs=Refs(mcsb=("AM-2",)),
    config={
        "minInstances": setting("integer", 1, "Lowest minimum allowed (availability).", minimum=0),
        "maxInstances": setting("integer", 20, "Highest maximum allowed (cost).", minimum=1),
    },
)
def autoscale_capacity(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    for profile in _profiles(r):
        name = profile.get("name", "?")
        cap = profile.get("capacity") or {}
        try:
            low, default, high = (int(float(cap[k])) for k in ("minimum", "default", "maximum"))
        except (KeyError, TypeError, ValueError):
            yield f"profile {name}: capacity needs numeric minimum, default and maximum"
            continue
        if not low <= default <= high:
            yield f"profile {name}: capacity minimum {low}, default {default}, maximum {high} are not in order"
        if low < cfg["minInstances"]:
            yield f"profile {name}: minimum {low} is below {cfg['minInstances']}"
        if high > cfg["maxInstances"]:
            yield f"profile {name}: maximum {high} is above {cfg['maxInstances']}"


@RULES.resource(
    "governance-autoscale-no-flapping",
    types=[AUTOSCALE_SETTING],
    description="Scale-out and scale-in thresholds on the same metric are far enough apart not to flap, and "
                "every profile can scale both ways.",
    severity="high",
    remediation="Keep the scale-out threshold at least minGap above the scale-in threshold for the same metric, "
                "and pair every scale-out rule with a scale-in rule.",
    url=f"{MONITOR_DOCS}/autoscale/autoscale-flapping",
    refs=Refs(mcsb=("AM-2",)),
    config={"minGap": setting("number", 20, "Smallest distance between scale-out and scale-in thresholds.",
                              minimum=0)},
)
def autoscale_flapping(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    for profile in _profiles(r):
        name = profile.get("name", "?")
        out: dict[str, float] = {}
        scale_in: dict[str, float] = {}
        for rule in profile.get("rules", []) or []:
            metric = get(rule, "metricTrigger.metricName")
            threshold = get(rule, "metricTrigger.threshold")
            direction = get(rule, "scaleAction.direction")
            if direction == "Increase":
                out[metric] = min(out.get(metric, threshold), threshold)
            elif direction == "Decrease":
                scale_in[metric] = max(scale_in.get(metric, threshold), threshold)
        if out and not scale_in:
            yield f"profile {name}: scales out but never scales in"
        for metric, high in out.items():
            if metric in scale_in and high - scale_in[metric] < cfg["minGap"]:
                yield (f"profile {name}: {metric} scales out at {high:g} and in at {scale_in[metric]:g}; keep them "
                       f"at least {cfg['minGap']:g} apart")


@RULES.resource(
    "governance-autoscale-cooldowns",
    types=[AUTOSCALE_SETTING],
    description="Every autoscale rule waits a cooldown before acting again.",
    severity="medium",
    remediation="Set scaleAction.cooldown on every rule to at least minCooldown (ISO 8601, for example PT5M).",
    url=f"{MONITOR_DOCS}/autoscale/autoscale-understanding-settings",
    refs=Refs(mcsb=("AM-2",)),
    config={"minCooldown": setting("string", "PT5M", "Shortest cooldown allowed (ISO 8601).")},
)
def autoscale_cooldowns(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    floor = parse_iso_duration(cfg["minCooldown"])
    for profile in _profiles(r):
        for i, rule in enumerate(profile.get("rules", []) or []):
            value = get(rule, "scaleAction.cooldown")
            cooldown = parse_iso_duration(str(value)) if value else None
            if cooldown is None or (floor is not None and cooldown < floor):
                yield (f"profile {profile.get('name', '?')} rule {i}: cooldown is {value!r}; use at least "
                       f"{cfg['minCooldown']}")


@RULES.resource(
    "governance-autoscale-enabled",
    types=[AUTOSCALE_SETTING],
    description="Autoscale settings are enabled, and every profile either scales on rules or fixes the count.",
    severity="high",
    remediation="Set enabled to true (the REST API's default is false) and give every profile scale rules, or "
                "equal minimum and maximum capacity.",
    url=f"{MONITOR_DOCS}/autoscale/autoscale-understanding-settings",
    refs=Refs(mcsb=("AM-2",)),
)
def autoscale_enabled(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    # Microsoft.Insights/autoscalesettings properties.enabled: "the enabled flag. Specifies whether automatic scaling
    # is enabled for the resource. The default value is 'false'."
    if r.props.get("enabled") is not True:
        yield f"enabled is {r.props.get('enabled')!r}; autoscale acts only when it is true"
    for profile in _profiles(r):
        cap = profile.get("capacity") or {}
        fixed = cap.get("minimum") is not None and str(cap.get("minimum")) == str(cap.get("maximum"))
        if not (profile.get("rules") or []) and not fixed:
            yield (f"profile {profile.get('name', '?')}: has no rules, so its count stays at default between minimum "
                   f"{cap.get('minimum')} and maximum {cap.get('maximum')}")


@RULES.stack(
    "governance-onlinedeployment-autoscaled",
    description="Every managed online deployment is the target of an enabled autoscale setting.",
    severity="high",
    remediation="Create a monitor.AutoscaleSetting with targetResourceUri set to the deployment's id, enabled true, "
                "and paired scale-out and scale-in rules (components.autoscale.Autoscale).",
    url=f"{ML_DOCS}/how-to-autoscale-endpoints",
    refs=Refs(mcsb=("AM-2",)),
)
def deployment_autoscaled(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
                          ) -> Iterator[tuple[str, str | None]]:
    # The ARM response nests the setting under properties (properties.enabled, properties.targetResourceUri); the
    # inputs are flat. Whether a setting is enabled at all is governance-autoscale-enabled's check (on the inputs);
    # here a setting counts unless it is known to be disabled.
    settings = [a for a in of_type(resources, AUTOSCALE_SETTING)
                if peek(a.props, "properties.enabled", peek(a.props, "enabled")) is not False]
    links = Links.of(resources)
    targeted = links.referenced(
        settings, lambda a: [peek(a.props, "properties.targetResourceUri"), peek(a.props, "targetResourceUri")],
        prop="targetResourceUri")
    for deployment in of_type(resources, ML_ONLINE_DEPLOYMENT):
        if not managed_deployment(deployment.props):
            continue
        if deployment.urn not in targeted:
            yield f"{label(deployment)} is the target of no enabled autoscale setting", deployment.urn


#: Metrics of managed online endpoints and deployments by namespace, "Name in REST API" as Azure Monitor lists them
#: (learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-machinelearningservices-workspaces-
#: onlineendpoints-metrics and ...-onlineendpoints-deployments-metrics). The pack cannot import the platform's names.
_LATENCY = ["RequestLatency_P50", "RequestLatency_P90", "RequestLatency_P95", "RequestLatency_P99"]
KNOWN_METRICS = {
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints": [
        "ConnectionsActive", "DataCollectionErrorsPerMinute", "DataCollectionEventsPerMinute", "NetworkBytes",
        "NewConnectionsPerSecond", "RequestLatency", *_LATENCY, "RequestsPerMinute"],
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments": [
        "CpuMemoryUtilizationPercentage", "CpuUtilizationPercentage", "DataCollectionErrorsPerMinute",
        "DataCollectionEventsPerMinute", "DeploymentCapacity", "DiskUtilization", "GpuEnergyJoules",
        "GpuMemoryUtilizationPercentage", "GpuUtilizationPercentage", *_LATENCY, "RequestsPerMinute"],
}


@RULES.resource(
    "governance-autoscale-metrics-known",
    types=[AUTOSCALE_SETTING],
    description="Autoscale rules on Azure ML online endpoints and deployments read metrics those resources emit.",
    severity="high",
    remediation="Use a metric name from Azure Monitor's supported-metrics list of the rule's metricNamespace (for "
                "example CpuUtilizationPercentage for deployments, RequestLatency_P95 for endpoints); a rule on a "
                "metric the resource never emits never fires.",
    url=f"{MONITOR_DOCS}/reference/supported-metrics/metrics-index",
    refs=Refs(mcsb=("AM-2",)),
    config={"knownMetrics": setting("object", KNOWN_METRICS, "Metric namespace (case-insensitive) -> the metric "
                                    "names it has; rules on other namespaces are not checked.",
                                    additionalProperties={"type": "array", "items": {"type": "string"}})},
)
def autoscale_metrics_known(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    known = {namespace.lower(): set(names) for namespace, names in cfg["knownMetrics"].items()}
    for profile in _profiles(r):
        for i, rule in enumerate(profile.get("rules", []) or []):
            namespace = known_str(peek(rule, "metricTrigger.metricNamespace"))
            metric = known_str(peek(rule, "metricTrigger.metricName"))
            if namespace is not None and metric is not None and namespace.lower() in known \
                    and metric not in known[namespace.lower()]:
                yield (f"profile {profile.get('name', '?')} rule {i}: {namespace} has no metric {metric!r}; use one "
                       f"of {', '.join(sorted(known[namespace.lower()]))}")


@RULES.resource(
    "governance-onlinedeployment-min-instances",
    types=[ML_ONLINE_DEPLOYMENT],
    description="Managed online deployments start with at least the environment's minimum instance count.",
    severity="high",
    remediation="Set sku.capacity (the instance count) to at least minInstances; Microsoft recommends at least 3 "
                "for high availability, and the platform requires it in prod (mlops-platform instances.min).",
    url=f"{ML_DOCS}/reference-yaml-deployment-managed-online",
    refs=Refs(mcsb=("BR-1",)),
    config={"minInstances": setting("integer", 1, "Fewest instances a deployment starts with.", minimum=1)},
)
def deployment_min_instances(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not managed_deployment(r.props):
        return
    capacity = peek(r.props, "sku.capacity")
    if capacity is UNKNOWN:
        return
    # Numbers arrive over the analyzer protocol as floats (protobuf Struct): 3.0 is 3.
    count = int(capacity) if isinstance(capacity, (int, float)) and not isinstance(capacity, bool) \
        and capacity == int(capacity) else None
    if count is None or count < cfg["minInstances"]:
        yield f"sku.capacity is {count if count is not None else capacity!r}; start with at least " \
              f"{cfg['minInstances']} instances"


@RULES.resource(
    "governance-onlinedeployment-health-and-timeout",
    types=[ML_ONLINE_DEPLOYMENT],
    description="Managed online deployments set liveness and readiness probes, and a request timeout within the "
                "allowed maximum.",
    severity="medium",
    remediation="Set properties.livenessProbe and properties.readinessProbe (initialDelay, period, timeout, "
                "failureThreshold) and properties.requestSettings.requestTimeout at most maxRequestTimeout "
                "(the service allows at most PT180S).",
    url=f"{ML_DOCS}/reference-yaml-deployment-managed-online",
    refs=Refs(mcsb=("BR-1",)),
    config={"maxRequestTimeout": setting("string", "PT180S", "Longest request timeout (ISO 8601).")},
)
def deployment_health_and_timeout(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not managed_deployment(r.props):
        return
    for probe in ("livenessProbe", "readinessProbe"):
        if peek(r.props, f"properties.{probe}") is None:
            yield f"properties.{probe} is not set; the service's default probe does not reflect the model's start-up"
    value = known_str(peek(r.props, "properties.requestSettings.requestTimeout"))
    timeout, ceiling = (parse_iso_duration(value) if value else None), parse_iso_duration(cfg["maxRequestTimeout"])
    if value is not None and (timeout is None or (ceiling is not None and timeout > ceiling)):
        yield f"properties.requestSettings.requestTimeout is {value}; at most {cfg['maxRequestTimeout']} is allowed"


ALERTABLE = {"online endpoint": ML_ONLINE_ENDPOINT, "compute cluster": ML_COMPUTE}


def _action_groups(kind: str, props: Any) -> list[Any]:
    """The action groups an alert of type ``kind`` notifies, each known id or :data:`UNKNOWN`, in each type's shape:
    metric alerts ``actions[].actionGroupId``, log search alerts ``actions.actionGroups[]`` (plain ids), activity log
    alerts ``actions.actionGroups[].actionGroupId``."""
    if kind == METRIC_ALERT:
        groups = [peek(a, "actionGroupId") for a in peek_items(props, "actions")]
    elif kind == ACTIVITY_LOG_ALERT:
        groups = [peek(g, "actionGroupId") for g in peek_items(props, "actions.actionGroups")]
    else:
        groups = peek_items(props, "actions.actionGroups")
    return [g for g in groups if g is UNKNOWN or g]


@RULES.resource(
    "governance-alerts-notify",
    types=[METRIC_ALERT, SCHEDULED_QUERY_RULE, ACTIVITY_LOG_ALERT],
    description="Alert rules are enabled and notify at least one action group.",
    severity="high",
    remediation="Set enabled to true and add the team's or the platform's action group to actions (an alert without "
                "one fires without telling anyone).",
    url=f"{MONITOR_DOCS}/alerts/action-groups",
    refs=Refs(mcsb=("LT-1", "IR-2")),
)
def alerts_notify(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if peek(r.props, "enabled", True) is False:
        yield "enabled is false; a disabled alert never fires"
    if not _action_groups(r.type, r.props):
        yield "actions name no action group"


#: Receiver lists of an action group (Microsoft.Insights/actionGroups).
RECEIVER_KINDS = ("emailReceivers", "smsReceivers", "webhookReceivers", "itsmReceivers", "azureAppPushReceivers",
                  "automationRunbookReceivers", "voiceReceivers", "logicAppReceivers", "azureFunctionReceivers",
                  "armRoleReceivers", "eventHubReceivers", "incidentReceivers")


@RULES.resource(
    "governance-actiongroup-receivers",
    types=[ACTION_GROUP],
    description="Action groups are enabled and have at least one receiver.",
    severity="medium",
    remediation="Set enabled to true and add a receiver (emailReceivers, webhookReceivers, armRoleReceivers, ...); "
                "email addresses must confirm the one-time passcode Azure sends them before mail is delivered.",
    url=f"{MONITOR_DOCS}/alerts/action-groups",
    refs=Refs(mcsb=("IR-2",)),
)
def action_group_receivers(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if peek(r.props, "enabled", True) is False:
        yield "enabled is false; the group notifies nobody"
    if not any(peek(r.props, key) is UNKNOWN or peek_items(r.props, key) for key in RECEIVER_KINDS):
        yield "has no receivers"


@RULES.resource(
    "governance-webtest-reliable",
    types=[WEB_TEST],
    description="Availability tests are enabled, run from enough locations to tell an outage from a network problem, "
                "retry before failing and check the TLS certificate of https URLs.",
    severity="medium",
    remediation="Set enabled to true, list at least minLocations locations (Microsoft's recommended minimum is five), "
                "set retryEnabled to true and validationRules.sSLCheck to true for an https requestUrl.",
    url=f"{MONITOR_DOCS}/app/availability",
    refs=Refs(mcsb=("LT-1",)),
    config={"minLocations": setting("integer", 5, "Fewest test locations.", minimum=1)},
)
def webtest_reliable(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if peek(r.props, "enabled") is False:
        yield "enabled is false"
    locations = peek_items(r.props, "locations")
    if len(locations) < cfg["minLocations"]:
        yield f"runs from {len(locations)} location(s); use at least {cfg['minLocations']}"
    if peek(r.props, "retryEnabled") is not True:
        yield "retryEnabled is not true; one failed attempt would count as a failure"
    url = known_str(peek(r.props, "request.requestUrl"))
    if url is not None and url.lower().startswith("https://") and peek(r.props, "validationRules.sSLCheck") is not True:
        yield "validationRules.sSLCheck is not true; the TLS certificate of the https URL goes unchecked"


@RULES.stack(
    "governance-alerts-wired",
    description="Every online endpoint and compute cluster is watched by an enabled alert with an action group.",
    severity="high",
    remediation="Create a monitor.MetricAlert (or ScheduledQueryRule) scoped to the endpoint, or to the workspace "
                "with a ClusterName dimension for the cluster, with at least one action group in actions.",
    url=f"{MONITOR_DOCS}/alerts/alerts-create-metric-alert-rule",
    refs=Refs(mcsb=("LT-1",)),
)
def alerts_wired(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    alerts = [a for a in of_type(resources, METRIC_ALERT, SCHEDULED_QUERY_RULE)
              if peek(a.props, "enabled", True) is not False and _action_groups(canonical(a.resource_type), a.props)]
    watched = [r for r in of_type(resources, ML_ONLINE_ENDPOINT)]
    watched += [c for c in of_type(resources, ML_COMPUTE) if _kind(c) == "AmlCompute"]
    # An alert watches what its scopes or its criteria came from (a ClusterName dimension built from the cluster's
    # name output depends on the cluster, known or not), or a cluster its dimension names literally.
    targeted = Links.of(resources).referenced(alerts, lambda a: peek_items(a.props, "scopes"))
    clusters = {name for a in alerts for name in _cluster_names(a)}
    for resource in watched:
        names = {known_str(peek(resource.props, key)) for key in ("name", "computeName")} - {None}
        if resource.urn not in targeted and not names & clusters:
            yield f"{label(resource)} has no alert with an action group", resource.urn


def _cluster_names(alert: PolicyResource) -> set[str]:
    """Clusters an alert on the workspace names in its ClusterName dimension (the names known now)."""
    return {value for criterion in peek_items(alert.props, "criteria.allOf")
            for dimension in peek_items(criterion, "dimensions") if peek(dimension, "name") == "ClusterName"
            for value in peek_items(dimension, "values") if isinstance(value, str)}


@RULES.stack(
    "governance-budget-per-environment",
    description="Each environment has a cost budget with notifications, where the config requires one.",
    severity="medium",
    remediation="Create a consumption.Budget (amount > 0, timeGrain Monthly) with at least one notification.",
    url="https://learn.microsoft.com/azure/cost-management-billing/costs/tutorial-acm-create-budgets",
    refs=Refs(mcsb=("AM-2",)),
    config={"required": setting("boolean", False, "Require a budget in this stack.")},
)
def budget(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    if not cfg["required"]:
        return
    budgets = [b for b in of_type(resources, BUDGET)
               if (b.props.get("amount") or 0) > 0 and b.props.get("notifications")]
    if not budgets:
        yield "the stack has no budget with an amount and notifications", None



@RULES.stack(
    "governance-location-matches-resource-group",
    description="Resources are deployed to the region of the resource group that holds them (global resources "
                "excepted).",
    severity="low",
    remediation="Set location to the resource group's location (the platform uses mlops-platform:region for both); "
                "global resources (alerts, action groups) use 'global'.",
    url="https://learn.microsoft.com/azure/azure-resource-manager/management/overview#resource-group-location-alignment",
    refs=Refs(mcsb=("AM-2",), azure_policy=("0a914e76-4921-4c19-b460-a2d36003525a",)),
    config={"globalLocations": setting("array", ["global"], "Locations of global resources, allowed in any group.",
                                       items={"type": "string"})},
)
def location_matches_group(resources: Sequence[PolicyResource], cfg: Mapping[str, Any],
                           ) -> Iterator[tuple[str, str | None]]:
    groups = {g.urn: known_str(peek(g.props, "location")) for g in of_type(resources, RESOURCE_GROUP)}
    if not groups:
        return
    links = Links.of(resources)
    exempt = {g.replace(" ", "").lower() for g in cfg["globalLocations"]}
    for resource in resources:
        location = known_str(peek(resource.props, "location"))
        if resource.urn in groups or not resource.resource_type.startswith("azure-native") or location is None:
            continue
        normalised = location.replace(" ", "").lower()
        if normalised in exempt:
            continue
        for urn in sorted(links.containers(resource) & groups.keys()):
            expected = groups[urn]
            if expected and expected.replace(" ", "").lower() != normalised:
                yield (f"{label(resource)} is in {location!r} but its resource group is in {expected!r}",
                       resource.urn)
                break


#: ARM name rules, from https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
#: (page of 2025-03-14). Key Vault keys, which that page leaves out, follow the REST API's keyName pattern
#: ``^[a-zA-Z0-9-]{1,127}$`` (Microsoft.KeyVault stable keys.json), the same as secrets. Per type: the name input, a
#: pattern, and how the message states the rule.
NAME_RULES: Mapping[str, tuple[str, str, str]] = {
    STORAGE_ACCOUNT: ("accountName", r"[a-z0-9]{3,24}", "3-24 lowercase letters and numbers"),
    KEY_VAULT: ("vaultName", r"(?!.*--)[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]",
                "3-24 alphanumerics and hyphens, starting with a letter, ending with a letter or number, without "
                "consecutive hyphens"),
    KEY_VAULT_SECRET: ("secretName", r"[A-Za-z0-9-]{1,127}", "1-127 alphanumerics and hyphens"),
    KEY_VAULT_KEY: ("keyName", r"[A-Za-z0-9-]{1,127}", "1-127 alphanumerics and hyphens"),
    REGISTRY: ("registryName", r"[A-Za-z0-9]{5,50}", "5-50 alphanumerics"),
    LOG_ANALYTICS: ("workspaceName", r"[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]",
                    "4-63 alphanumerics and hyphens, starting and ending with an alphanumeric"),
    APP_INSIGHTS: ("resourceName", r"[^%&\\?/\x00-\x1f]{0,259}[^%&\\?/\x00-\x1f. ]",
                   "1-260 characters without %&\\?/ or control characters, not ending with a space or period"),
    PRIVATE_ENDPOINT: ("privateEndpointName", r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]",
                       "2-64 alphanumerics, underscores, periods and hyphens, starting with an alphanumeric, ending "
                       "with an alphanumeric or underscore"),
}


@RULES.resource(
    "governance-resource-name-valid",
    types=sorted(NAME_RULES),
    description="Resource names meet Azure Resource Manager's naming rules (and the naming convention, where one "
                "is configured), so that a deployment does not fail on them.",
    severity="low",
    remediation="Choose a name within the type's length and characters (components/naming.py builds valid names), "
                "or leave the name unset for azure-native to generate one.",
    url="https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules",
    refs=Refs(
        mcsb=("AM-2",),
        checkov=("CKV_AZURE_43",),
        psrule=("Azure.ACR.Name", "Azure.ACR.Naming", "Azure.AppInsights.Name", "Azure.AppInsights.Naming",
                "Azure.KeyVault.KeyName", "Azure.KeyVault.Name", "Azure.KeyVault.SecretName", "Azure.Log.Name",
                "Azure.Log.Naming", "Azure.PrivateEndpoint.Name", "Azure.Storage.Name", "Azure.Storage.Naming"),
    ),
    config={"namePatterns": setting("object", {}, "azure-native type -> regular expression names must also match "
                                    "in full (a naming convention, e.g. '^st[a-z0-9]+$' for storage accounts).",
                                    additionalProperties={"type": "string"})},
)
def resource_name(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    key, pattern, rule = NAME_RULES[r.type]
    # A name computed from another resource is unknown until then; an unset name is generated by azure-native.
    name = known_str(peek(r.props, key))
    if name is None:
        return
    if not re.fullmatch(pattern, name):
        yield f"{key} {name!r} is not a valid name: use {rule}"
    convention = cfg["namePatterns"].get(r.type)
    if convention and not re.fullmatch(convention, name):
        yield f"{key} {name!r} does not follow the naming convention {convention!r}"


@RULES.resource(
    "governance-storage-sku-allowed",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts use a replication SKU the environment allows (geo-redundant by default).",
    severity="medium",
    remediation="Set sku.name to an allowed SKU (the platform uses Standard_GRS in prod), or list the SKU in "
                "allowedSkus of this pack's environment config (dev allows Standard_LRS).",
    url="https://learn.microsoft.com/azure/storage/common/storage-redundancy",
    refs=Refs(mcsb=("BR-1",),
              azure_policy=("7433c107-6db4-4ad1-b57a-a76dce0154a1", "bf045164-79ba-4215-8f95-f8048dc1780b"),
              checkov=("CKV_AZURE_206",), psrule=("Azure.Storage.UseReplication",)),
    config={"allowedSkus": setting("array", ["Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"],
                                   "Storage account SKU names allowed (case-insensitive).", items={"type": "string"})},
)
def storage_sku(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    sku = known_str(peek(r.props, "sku.name"))
    # Premium accounts (block blobs, file shares, page blobs) come only as LRS or ZRS: no geo-redundant SKU exists
    # for them (https://learn.microsoft.com/azure/storage/common/storage-redundancy#supported-storage-account-types).
    if sku is not None and sku.lower().startswith("premium_"):
        return
    if sku is not None and sku.lower() not in {s.lower() for s in cfg["allowedSkus"]}:
        yield f"sku.name is {sku!r}; use one of {', '.join(cfg['allowedSkus'])}"


@RULES.resource(
    "governance-alerts-tuned",
    types=[METRIC_ALERT, SCHEDULED_QUERY_RULE],
    description="Metric alerts resolve themselves when the condition clears, and log search alerts do not run more "
                "often than the environment allows.",
    severity="low",
    remediation="Leave autoMitigate unset or true on metric alerts; set evaluationFrequency of scheduled query "
                "rules to at least minEvaluationFrequency (ISO 8601, for example PT5M).",
    url=f"{MONITOR_DOCS}/alerts/alerts-create-metric-alert-rule",
    refs=Refs(mcsb=("LT-1",), psrule=("Azure.Alert.HighFrequencyQuery", "Azure.Alert.MetricAutoMitigate")),
    config={"minEvaluationFrequency": setting("string", "PT5M", "Shortest evaluationFrequency of scheduled query "
                                              "rules (ISO 8601).")},
)
def alerts_tuned(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.type == METRIC_ALERT:
        # REST API 2018-03-01 metricAlerts properties.autoMitigate: "The default is true".
        if peek(r.props, "autoMitigate") is False:
            yield "autoMitigate is false; let the alert resolve itself (true, the default)"
        return
    value = known_str(peek(r.props, "evaluationFrequency"))
    if value is None:
        return
    frequency, floor = parse_iso_duration(value), parse_iso_duration(cfg["minEvaluationFrequency"])
    if frequency is not None and floor is not None and frequency < floor:
        yield f"evaluationFrequency is {value}; at least {cfg['minEvaluationFrequency']} is required"
