"""Logging and diagnostics: Application Insights, Log Analytics and diagnostic settings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.graph import Links, is_set, label, of_type, peek
from ..lib.props import get
from ..lib.rules import Refs, Resource, setting
from ..lib.types import (
    APP_INSIGHTS,
    DIAGNOSTIC_SETTING,
    KEY_VAULT,
    LOG_ANALYTICS,
    ML_WORKSPACE,
    REGISTRY,
    STORAGE_ACCOUNT,
)
from . import RULES

DOCS = "https://learn.microsoft.com/azure/azure-monitor"


@RULES.resource(
    "security-appinsights-local-auth-disabled",
    types=[APP_INSIGHTS],
    description="Application Insights accepts telemetry authenticated with Microsoft Entra only (no instrumentation "
                "key alone).",
    severity="high",
    remediation="Set disableLocalAuth to true and give senders the Monitoring Metrics Publisher role.",
    url=f"{DOCS}/app/azure-ad-authentication",
    refs=Refs(mcsb=("IM-1",), azure_policy=("199d5677-e4d9-4264-9465-efe1839c06bd",)),
)
def appi_local_auth(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("disableLocalAuth") is not True:
        yield "disableLocalAuth is not true"


@RULES.resource(
    "security-appinsights-workspace-based",
    types=[APP_INSIGHTS],
    description="Application Insights stores its telemetry in a Log Analytics workspace (workspace-based).",
    severity="medium",
    remediation="Set workspaceResourceId to the environment's Log Analytics workspace and ingestionMode to "
                "LogAnalytics.",
    url=f"{DOCS}/app/create-workspace-resource",
    refs=Refs(mcsb=("LT-5",), psrule=("Azure.AppInsights.Workspace",)),
)
def appi_workspace(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not is_set(r.props, "workspaceResourceId"):  # unknown: a workspace created in this deployment
        yield "workspaceResourceId is not set"


@RULES.resource(
    "security-appinsights-public-access-disabled",
    types=[APP_INSIGHTS],
    description="Application Insights accepts ingestion and queries only through Azure Monitor Private Link.",
    severity="medium",
    remediation="Set publicNetworkAccessForIngestion and publicNetworkAccessForQuery to Disabled once an Azure "
                "Monitor Private Link Scope (AMPLS) connects the senders; without AMPLS telemetry stops arriving.",
    url=f"{DOCS}/logs/private-link-security",
    refs=Refs(mcsb=("NS-2",),
              azure_policy=("1bc02227-0cb6-4e11-8f53-eb0b22eab7e8", "dddfa1af-dcd6-42f4-b5b0-e1db01e0b405")),
)
def appi_public(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    yield from _private_ingestion_and_query(r)


def _private_ingestion_and_query(r: Resource) -> Iterator[str]:
    """Azure Monitor resources (App Insights, Log Analytics) with ingestion and query behind Private Link."""
    for key in ("publicNetworkAccessForIngestion", "publicNetworkAccessForQuery"):
        if r.props.get(key) != "Disabled":
            yield f"{key} is {r.props.get(key, 'Enabled (default)')!r}; set it to 'Disabled'"


@RULES.resource(
    "security-loganalytics-local-auth-disabled",
    types=[LOG_ANALYTICS],
    description="Log Analytics accepts ingestion authenticated with Microsoft Entra only (no shared keys).",
    severity="high",
    remediation="Set features.disableLocalAuth to true.",
    url=f"{DOCS}/logs/azure-ad-authentication-logs",
    refs=Refs(mcsb=("IM-1",), azure_policy=("e15effd4-2278-4c65-a0da-4d6f6d1890e2",), pulumi=("log analytics",)),
)
def law_local_auth(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if get(r.props, "features.disableLocalAuth") is not True:
        yield "features.disableLocalAuth is not true"


@RULES.resource(
    "security-loganalytics-public-access-disabled",
    types=[LOG_ANALYTICS],
    description="Log Analytics accepts ingestion and queries only through Azure Monitor Private Link.",
    severity="medium",
    remediation="Set publicNetworkAccessForIngestion and publicNetworkAccessForQuery to Disabled once an Azure "
                "Monitor Private Link Scope connects the senders and readers.",
    url=f"{DOCS}/logs/private-link-security",
    refs=Refs(mcsb=("NS-2",), azure_policy=("6c53d030-cc64-46f0-906d-2bc061cd1334",)),
)
def law_public(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    yield from _private_ingestion_and_query(r)


@RULES.resource(
    "security-loganalytics-retention",
    types=[LOG_ANALYTICS],
    description="Log Analytics keeps logs for at least the minimum retention.",
    severity="medium",
    remediation="Set retentionInDays to at least the configured minimum.",
    url=f"{DOCS}/logs/data-retention-configure",
    refs=Refs(mcsb=("LT-6",), pulumi=("log analytics retention",)),
    config={"minDays": setting("integer", 30, "Shortest retention allowed, in days.", minimum=30, maximum=730)},
)
def law_retention(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    days = r.props.get("retentionInDays")
    if days is None or days < cfg["minDays"]:
        yield f"retentionInDays is {days if days is None else int(days)}; keep at least {cfg['minDays']} days"


DIAGNOSED = {"ML workspace": ML_WORKSPACE, "Key Vault": KEY_VAULT, "container registry": REGISTRY,
             "storage account": STORAGE_ACCOUNT, "Log Analytics": LOG_ANALYTICS, "Application Insights": APP_INSIGHTS}


@RULES.stack(
    "security-diagnostics-enabled",
    description="Every workspace and supporting resource sends its logs or metrics to Log Analytics.",
    severity="high",
    remediation="Create a monitor.DiagnosticSetting with resourceUri set to the resource (for storage, the account "
                "and its blobServices/default) and workspaceId set to the Log Analytics workspace.",
    url=f"{DOCS}/essentials/diagnostic-settings",
    refs=Refs(mcsb=("LT-3", "LT-4"), azure_policy=("afe0c3be-ba3b-4544-ba52-0c99672a8ad6",
                                                   "cf820ca0-f99e-4f3e-84fb-66e913812d21")),
    config={"resourceTypes": setting("array", sorted(DIAGNOSED.values()),
                                     "Resource types that need a diagnostic setting.", items={"type": "string"})},
)
def diagnostics(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    # workspaceId unknown on a first preview still names a workspace; resourceUri is a path parameter, so it is
    # no output: the setting is linked through its property dependency, or through its own id once known.
    settings = [d for d in of_type(resources, DIAGNOSTIC_SETTING) if is_set(d.props, "workspaceId")]
    diagnosed = Links.of(resources).referenced(settings, lambda d: [peek(d.props, "resourceUri")], prop="resourceUri",
                                            own_id=True)
    for resource in of_type(resources, *cfg["resourceTypes"]):
        if resource.urn not in diagnosed:
            yield f"{label(resource)} has no diagnostic setting sending to Log Analytics", resource.urn
