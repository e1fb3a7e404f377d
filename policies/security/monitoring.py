"""Logging and diagnostics: Application Insights, Log Analytics and diagnostic settings."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.graph import UNKNOWN, Links, is_set, known_str, label, of_type, peek, peek_items
from ..lib.props import get
from ..lib.rules import Refs, Resource, setting
from ..lib.types import (
    APP_INSIGHTS,
    AUTOSCALE_SETTING,
    BLOB_SERVICE,
    DIAGNOSTIC_SETTING,
    FILE_SERVICE,
    KEY_VAULT,
    LOG_ANALYTICS,
    ML_ONLINE_ENDPOINT,
    ML_REGISTRY,
    ML_WORKSPACE,
    QUEUE_SERVICE,
    REGISTRY,
    STORAGE_ACCOUNT,
    TABLE_SERVICE,
    canonical,
)
from . import RULES
from .storage import STORAGE_SERVICES, account_services

DOCS = "https://learn.microsoft.com/azure/azure-monitor"


@RULES.resource(
    "security-appinsights-local-auth-disabled",
    types=[APP_INSIGHTS],
    description="Application Insights accepts telemetry authenticated with Microsoft Entra only (no instrumentation "
                "key alone).",
    severity="high",
    remediation="Set disableLocalAuth to true and give senders the Monitoring Metrics Publisher role.",
    url=f"{DOCS}/app/azure-ad-authentication",
    refs=Refs(mcsb=("IM-1",), azure_policy=("199d5677-e4d9-4264-9465-efe1839c06bd",),
              psrule=("Azure.AppInsights.LocalAuth",)),
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
    refs=Refs(mcsb=("LT-5",), azure_policy=("d550e854-df1a-4de9-bf44-cd894b39a95e",),
              psrule=("Azure.AppInsights.Workspace",)),
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
                "Monitor Private Link Scope (AMPLS) connects the senders; without AMPLS telemetry stops arriving. Set "
                "forceCustomerStorageForProfiler to true, so that behind Private Link Profiler and Snapshot Debugger "
                "data goes only to your own storage; if they are used, link that account with "
                "applicationinsights.ComponentLinkedStorageAccount (this rule does not check the link).",
    url=f"{DOCS}/logs/private-link-security",
    refs=Refs(mcsb=("NS-2",),
              azure_policy=("1bc02227-0cb6-4e11-8f53-eb0b22eab7e8", "dddfa1af-dcd6-42f4-b5b0-e1db01e0b405",
                            "0c4bd2e8-8872-4f37-a654-03f6f38ddc76")),
)
def appi_public(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    yield from _private_ingestion_and_query(r)
    # With Private Link, Profiler and Snapshot Debugger data must go to the team's own storage (BYOS).
    if peek(r.props, "forceCustomerStorageForProfiler") not in (True, UNKNOWN):
        yield ("forceCustomerStorageForProfiler is not true; behind Private Link, Profiler and Snapshot Debugger data "
               "must go to your own linked storage account")


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
    refs=Refs(mcsb=("NS-2",),
              azure_policy=("6c53d030-cc64-46f0-906d-2bc061cd1334", "d3ba9c42-9dd5-441a-957c-274031c750c0")),
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


@RULES.resource(
    "security-loganalytics-query-customer-storage",
    types=[LOG_ANALYTICS],
    description="Log Analytics keeps saved queries and log alert queries in the customer's own storage account "
                "(encrypted with its key) where the config requires it.",
    severity="medium",
    remediation="Set forceCmkForQuery to true and link a storage account with a customer-managed key through "
                "operationalinsights.LinkedStorageAccount (dataSourceType Query, and Alerts for log search alerts); "
                "the workspace needs a managed identity for the link.",
    url=f"{DOCS}/logs/private-storage",
    refs=Refs(mcsb=("DP-5",), azure_policy=("fa298e57-9444-42ba-bf04-86e8470e32c7",)),
    config={"required": setting("boolean", False, "Require customer storage for queries on every workspace (where "
                                "the organisation requires customer-managed keys).")},
)
def law_query_storage(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if cfg["required"] and peek(r.props, "forceCmkForQuery") not in (True, UNKNOWN):
        yield "forceCmkForQuery is not true; keep saved queries in your own storage account"


DIAGNOSED = {"ML workspace": ML_WORKSPACE, "Key Vault": KEY_VAULT, "container registry": REGISTRY,
             "storage account": STORAGE_ACCOUNT, "Log Analytics": LOG_ANALYTICS, "Application Insights": APP_INSIGHTS,
             "ML registry": ML_REGISTRY, "ML online endpoint": ML_ONLINE_ENDPOINT,
             "autoscale setting": AUTOSCALE_SETTING}
#: Types whose setting must enable resource logs (the "Enable logging by category group ... to Log Analytics" DINEs
#: deploy categoryGroup allLogs for each; Key Vault and registry audit rows accept their audit categories).
LOG_TYPES = (ML_WORKSPACE, ML_REGISTRY, ML_ONLINE_ENDPOINT, KEY_VAULT, REGISTRY, LOG_ANALYTICS, AUTOSCALE_SETTING)
#: Types whose setting must also enable metrics (storage accounts have metrics only; App Insights sends metrics only
#: because its telemetry already is in Log Analytics).
METRIC_TYPES = (ML_WORKSPACE, KEY_VAULT, REGISTRY, STORAGE_ACCOUNT, LOG_ANALYTICS, APP_INSIGHTS)
SERVICE_TYPES = {BLOB_SERVICE: "blobServices", FILE_SERVICE: "fileServices", QUEUE_SERVICE: "queueServices",
                 TABLE_SERVICE: "tableServices"}
STORAGE_LOG_CATEGORIES = ["StorageRead", "StorageWrite", "StorageDelete"]
#: Categories that, all enabled, count as the logs a type needs (besides categoryGroup allLogs or audit).
LOG_CATEGORIES = {KEY_VAULT: ["AuditEvent"],
                  REGISTRY: ["ContainerRegistryLoginEvents", "ContainerRegistryRepositoryEvents"],
                  **{service: STORAGE_LOG_CATEGORIES for service in STORAGE_SERVICES}}
_SERVICE_SCOPE = re.compile(r"^(.+)/(blobservices|fileservices|queueservices|tableservices)/default$", re.IGNORECASE)


# An unset logs or metrics list is unknown on a first preview (the provider marks every output it has no input for
# unknown), so a list not known now counts as not set: lists are literals in practice, and so a first preview and
# the stack after up report the same. An item, or a field of one, not known now counts as enabled.


def _enabled(item: Any) -> bool:
    value = peek(item, "enabled")
    return value is True or value is UNKNOWN


def _sends_logs(setting: PolicyResource, categories: Sequence[str]) -> bool:
    """Whether ``setting`` enables categoryGroup allLogs or audit, or every one of ``categories`` (if any)."""
    enabled = [item for item in peek_items(setting.props, "logs") if item is UNKNOWN or _enabled(item)]
    if any(item is UNKNOWN or peek(item, "categoryGroup") is UNKNOWN or peek(item, "category") is UNKNOWN
           or str(peek(item, "categoryGroup") or "").lower() in ("alllogs", "audit") for item in enabled):
        return True
    named = {str(peek(item, "category") or "").lower() for item in enabled}
    return bool(categories) and all(c.lower() in named for c in categories)


def _any_logs(setting: PolicyResource) -> bool:
    return any(item is UNKNOWN or _enabled(item) for item in peek_items(setting.props, "logs"))


def _sends_metrics(setting: PolicyResource) -> bool:
    return any(item is UNKNOWN or _enabled(item) for item in peek_items(setting.props, "metrics"))


def _scope(setting: PolicyResource) -> str | None:
    """The resource a setting is on, when known now: from its own id, or its resourceUri."""
    own = known_str(peek(setting.props, "id"))
    cut = own.lower().rfind("/providers/microsoft.insights/diagnosticsettings/") if own else -1
    if own and cut > 0:
        return own[:cut].rstrip("/")
    uri = known_str(peek(setting.props, "resourceUri"))
    return uri.rstrip("/") if uri else None


def _logs_wanted(kind: str, cfg: Mapping[str, Any]) -> str:
    categories = cfg["logCategories"].get(kind) or []
    extra = f" (or categor{'ies' if len(categories) > 1 else 'y'} {', '.join(categories)})" if categories else ""
    return f"logs[] with categoryGroup allLogs or audit{extra}"


@dataclass
class _Found:
    """What the settings on one resource (or storage service) send."""

    any: bool = False
    logs: bool = False
    metrics: bool = False

    def add(self, setting: PolicyResource, categories: Sequence[str]) -> None:
        self.any = True
        self.logs = self.logs or _sends_logs(setting, categories)
        self.metrics = self.metrics or _sends_metrics(setting)

    def missing(self, kind: str, needs_logs: bool, needs_metrics: bool, cfg: Mapping[str, Any]) -> list[str]:
        return ([_logs_wanted(kind, cfg)] if needs_logs and not self.logs else []) + (
            ["metrics[] (enabled)"] if needs_metrics and not self.metrics else [])


@RULES.stack(
    "security-diagnostics-enabled",
    description="Every workspace and supporting resource sends its resource logs and metrics to Log Analytics "
                "(storage: the account's metrics and each service's logs).",
    severity="high",
    remediation="Create a monitor.DiagnosticSetting with resourceUri set to the resource and workspaceId set to the "
                "Log Analytics workspace, with logs [{categoryGroup: allLogs, enabled: true}] and metrics "
                "[{category: AllMetrics, enabled: true}] as the resource type supports them. For a storage account: "
                "one on the account (metrics Transaction) and one on each of its <account id>/blobServices/default, "
                "fileServices/default, queueServices/default and tableServices/default (logs allLogs; blob and file "
                "also metrics Transaction).",
    url=f"{DOCS}/essentials/diagnostic-settings",
    refs=Refs(mcsb=("LT-3", "LT-4"),
              azure_policy=(
                  "afe0c3be-ba3b-4544-ba52-0c99672a8ad6", "cf820ca0-f99e-4f3e-84fb-66e913812d21",
                  # Logs by category group to Log Analytics: autoscale, ML registries, online endpoints, Log
                  # Analytics, ML workspaces (and the ML workspace DINE with metrics), container registries, Key Vault.
                  "30499756-47d6-493c-9e57-ee3db2d9fa96", "33835ef6-bc67-4bde-bf5f-5a857f195a57",
                  "5cfb9e8a-2f13-40bd-a527-c89bc596d299", "818719e5-1338-4776-9a9d-3c31e4df5986",
                  "90c90eda-bfe7-4c67-bf26-410420ed1047", "f59276f0-5740-4aaf-821d-45d185aa210e",
                  "56288eb2-4350-461d-9ece-2bb242269dce", "6b359d8f-f88d-4052-aa7c-32015963ecc1",
                  "951af2fa-529b-416e-ab6e-066fd85ac459", "bef3f64c-5290-43b7-85b0-9b254eef4c47",
                  # Storage: the account's metrics, and blob, file, queue and table service logs.
                  "59759c62-9a22-4cdf-ae64-074495983fef", "b4fe1a3b-0715-4c6c-a5ea-ffc33cf823cb",
                  "25a70cc8-2bd4-47f1-90b6-1478e4662c96", "7bd000e3-37c7-4928-9f31-86c4b77c5c45",
                  "2fb86bf3-d221-43d1-96d1-2434af34eaa0",
                  # Audit-level logs on supported types; logs and metrics for selected types.
                  "187242f4-89c6-4c43-9a4e-188c0efacc5f", "7f89b1eb-583c-429a-8828-af049802c1d9",
              ),
              checkov=("CKV_AZURE_33", "CKV2_AZURE_20", "CKV2_AZURE_21"),
              psrule=("Azure.ACR.AuditLogs", "Azure.KeyVault.Logs")),
    config={
        "resourceTypes": setting("array", sorted(DIAGNOSED.values()),
                                 "Resource types that need a diagnostic setting sending to Log Analytics.",
                                 items={"type": "string"}),
        "logTypes": setting("array", sorted(LOG_TYPES), "Of those, the types whose setting must enable resource "
                            "logs: categoryGroup allLogs or audit, or the type's logCategories.",
                            items={"type": "string"}),
        "metricTypes": setting("array", sorted(METRIC_TYPES), "Of those, the types whose setting must enable "
                               "metrics.", items={"type": "string"}),
        "logCategories": setting("object", LOG_CATEGORIES, "By type or storage service: log categories that, all "
                                 "enabled, count like categoryGroup allLogs or audit.",
                                 additionalProperties={"type": "array", "items": {"type": "string"}}),
        "storageServices": setting("array", list(STORAGE_SERVICES), "Storage services that need their own setting "
                                   "enabling logs (those the account's kind has).",
                                   items={"type": "string", "enum": list(STORAGE_SERVICES)}),
        "storageServiceMetrics": setting("array", ["blobServices", "fileServices"], "Storage services whose setting "
                                         "must also enable metrics.",
                                         items={"type": "string", "enum": list(STORAGE_SERVICES)}),
    },
)
def diagnostics(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    # workspaceId unknown on a first preview still names a workspace. resourceUri is a path parameter, so it is no
    # output: a setting is linked through its property dependency, or through its own id once known.
    links = Links.of(resources)
    settings = [d for d in of_type(resources, DIAGNOSTIC_SETTING) if is_set(d.props, "workspaceId")]
    wanted = set(cfg["resourceTypes"])
    accounts = of_type(resources, STORAGE_ACCOUNT) if STORAGE_ACCOUNT in wanted else []
    others = [r for r in of_type(resources, *wanted) if canonical(r.resource_type) != STORAGE_ACCOUNT]
    found: dict[str, _Found] = {}
    by_urn = {r.urn: r for r in others}
    for d in settings:
        for urn in links.targets(d, [peek(d.props, "resourceUri")], prop="resourceUri", own_id=True):
            if urn in by_urn:
                kind = canonical(by_urn[urn].resource_type)
                found.setdefault(urn, _Found()).add(d, cfg["logCategories"].get(kind) or [])
    for resource in others:
        kind = canonical(resource.resource_type)
        seen = found.get(resource.urn, _Found())
        if not seen.any:
            yield f"{label(resource)} has no diagnostic setting sending to Log Analytics", resource.urn
            continue
        missing = seen.missing(kind, kind in cfg["logTypes"], kind in cfg["metricTypes"], cfg)
        if missing:
            yield (f"{label(resource)}: no diagnostic setting sending to Log Analytics enables "
                   f"{' and '.join(missing)}", resource.urn)
    if accounts:
        yield from _storage(resources, accounts, settings, links, cfg)


def _storage(resources: Sequence[PolicyResource], accounts: Sequence[PolicyResource],
             settings: Sequence[PolicyResource], links: Links, cfg: Mapping[str, Any]
             ) -> Iterator[tuple[str, str | None]]:
    """Each storage account needs a setting on itself (metrics) and one on each of its services (logs). Once ids
    are known a setting's scope tells which; on a first preview a setting is matched to the account through its
    resourceUri dependency, and one that enables logs stands for a service (an account has no log categories)."""
    by_id = {i.lower(): a for a in accounts if (i := known_str(peek(a.props, "id")))}
    by_urn = {a.urn: a for a in accounts}
    services = {r.urn: (SERVICE_TYPES[canonical(r.resource_type)], r)
                for r in of_type(resources, *SERVICE_TYPES)}
    on: dict[str, dict[str | None, list[PolicyResource]]] = {a.urn: {} for a in accounts}
    for d in settings:
        scope = _scope(d)
        service: str | None = None  # None: not known yet; "": the account itself
        if scope is not None:
            match = _SERVICE_SCOPE.match(scope)
            service = next(s for s in STORAGE_SERVICES if s.lower() == match.group(2).lower()) if match else ""
            account = by_id.get((match.group(1) if match else scope).lower())
            if account is not None:
                on[account.urn].setdefault(service, []).append(d)
                continue
        for urn in links.targets(d, prop="resourceUri"):
            if urn in by_urn:
                on[urn].setdefault(service, []).append(d)
            elif urn in services:
                name, service_resource = services[urn]
                for owner in links.targets(service_resource, prop="accountName") & set(by_urn):
                    on[owner].setdefault(name, []).append(d)
    for account in accounts:
        yield from _storage_account(account, on[account.urn], cfg)


def _storage_account(account: PolicyResource, on: Mapping[str | None, list[PolicyResource]],
                     cfg: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    has = account_services(account)
    needed = [s for s in cfg["storageServices"] if s in has]
    unknown = on.get(None, [])
    pool = [d for d in unknown if _any_logs(d)]
    itself = on.get("", []) + [d for d in unknown if not _any_logs(d)]
    if not itself and not pool and not any(on.get(s) for s in STORAGE_SERVICES):
        yield f"{label(account)} has no diagnostic setting sending to Log Analytics", account.urn
        return
    needs_metrics = STORAGE_ACCOUNT in cfg["metricTypes"]
    if not itself:
        yield f"{label(account)} has no diagnostic setting on the account itself sending to Log Analytics", account.urn
    elif needs_metrics and not any(_sends_metrics(d) for d in itself):
        yield (f"{label(account)}: no diagnostic setting on the account sending to Log Analytics enables metrics[] "
               "(enabled)", account.urn)
    unmet: list[tuple[str, list[str]]] = []
    for service in needed:
        seen = _Found()
        for d in on.get(service, []):
            seen.add(d, cfg["logCategories"].get(service) or [])
        missing = seen.missing(service, True, service in cfg["storageServiceMetrics"], cfg)
        if missing:
            unmet.append((service, missing))
    inferred = [service for service, _ in unmet if not _claim(pool, service, cfg)]
    if unknown:
        if inferred:
            yield (f"{label(account)}: {len(inferred)} of its services ({', '.join(needed)}) "
                   f"{'has' if len(inferred) == 1 else 'have'} no diagnostic setting sending to Log Analytics that "
                   f"enables {_logs_wanted(inferred[0], cfg)} (and metrics[] for "
                   f"{', '.join(cfg['storageServiceMetrics']) or 'none'}); which is known once the settings exist",
                   account.urn)
        return
    for service, missing in unmet:
        yield (f"{label(account)}: no diagnostic setting on {service}/default sending to Log Analytics enables "
               f"{' and '.join(missing)}", account.urn)


def _claim(pool: list[PolicyResource], service: str, cfg: Mapping[str, Any]) -> bool:
    """Take from ``pool`` a setting of unknown scope that would meet ``service``'s needs."""
    for d in pool:
        if _sends_logs(d, cfg["logCategories"].get(service) or []) and (
                service not in cfg["storageServiceMetrics"] or _sends_metrics(d)):
            pool.remove(d)
            return True
    return False
