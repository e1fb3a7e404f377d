"""How the packs cover the reference rule sets (``docs/policy-anchors.md``), and why prod relaxes some rules.

Both feed the catalogue (``docs/policies.md``); tests check that every anchor row is mapped and that the prod configs'
advisory overrides are exactly the documented exceptions.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: The anchor rule sets, one table each in ``policies/lib/anchors/<file>.tsv`` (see its README): file -> (name shown,
#: the ``Refs`` field rules cite its ids in).
SOURCES: Mapping[str, tuple[str, str]] = {
    "azure_policy": ("Azure Policy", "azure_policy"),
    "checkov": ("Checkov", "checkov"),
    "psrule": ("PSRule for Azure", "psrule"),
    "adoscanner": ("ADOScanner", "ado"),
}
ANCHOR_DIR = Path(__file__).resolve().parent / "anchors"


@dataclass(frozen=True)
class Anchor:
    """One rule of an anchor rule set: either some rule of the packs cites its id, or ``reason`` says why none does.

    A cited anchor's ``reason`` may be a ``config:`` note instead: the citing rule meets it only with the setting the
    note names, not with its defaults."""

    source: str
    id: str
    title: str
    resource: str
    reason: str

    @property
    def needs_config(self) -> bool:
        """Cited, but met only with a non-default setting of the citing rule (a ``config:`` note)."""
        return self.reason.startswith("config:")

    @property
    def excluded(self) -> str:
        """Why no rule covers this anchor (empty when one does)."""
        return "" if self.needs_config else self.reason


def load_anchors(directory: Path = ANCHOR_DIR) -> dict[str, list[Anchor]]:
    """Every anchor table, by source file name."""
    tables: dict[str, list[Anchor]] = {}
    for source in SOURCES:
        with open(directory / f"{source}.tsv", newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            tables[source] = [
                Anchor(source, row["id"], row["title"], row["resource"], row["reason"] or "") for row in reader
            ]
    return tables


#: (resource, check) as written in policy-anchors.md -> the rules that cover it, or a reason it is left out.
ANCHORS: Mapping[tuple[str, str], tuple[str, ...] | str] = {
    ("ML workspace", "public network access disabled (prod)"): ("security-mlworkspace-public-network-disabled",),
    ("ML workspace", 'managed network isolation "allow only approved outbound"'): (
        "security-mlworkspace-approved-outbound-only",
    ),
    ("ML workspace", "private endpoint for the workspace"): ("security-mlworkspace-private-endpoint",),
    ("ML workspace", "customer-managed key (where required)"): ("security-mlworkspace-customer-managed-key",),
    ("ML workspace", "HBI workspace not reachable publicly"): ("security-mlworkspace-hbi-private",),
    ("ML workspace", "managed identity (user-assigned preferred)"): ("security-mlworkspace-user-assigned-identity",),
    ("ML workspace", "diagnostic settings to Log Analytics"): ("security-diagnostics-enabled",),
    ("ML compute", "local auth disabled"): ("security-mlcompute-local-auth-disabled",),
    ("ML compute", "in a VNet / managed network"): ("security-mlcompute-network-isolated",),
    ("ML compute", "no node public IP"): ("security-mlcompute-no-public-ip",),
    ("ML compute cluster", "min nodes 0 (cost; nodes re-image only at 0)"): ("patching-mlcluster-scale-to-zero",),
    ("ML compute cluster", "SSH not public"): ("security-mlcompute-ssh-closed",),
    ("ML compute instance", "idle shutdown set (15 min to 3 days)"): ("governance-mlinstance-idle-shutdown",),
    ("ML compute instance", "recreated regularly for OS updates (patch)"): ("patching-mlinstance-recreated-recently",),
    ("ML compute instance", "SSH not public"): ("security-mlcompute-ssh-closed",),
    ("online endpoint", "public network access disabled (prod)"): ("security-onlineendpoint-public-network-disabled",),
    ("online endpoint", "Entra ID token auth rather than keys"): ("security-onlineendpoint-entra-auth",),
    ("online deployment", "egress public network disabled (prod)"): ("security-onlinedeployment-egress-disabled",),
    ("online deployment", "App Insights enabled"): ("security-onlinedeployment-app-insights",),
    ("storage", "HTTPS only"): ("security-storage-https-only",),
    ("storage", "minimum TLS 1.2"): ("patching-tls-minimum",),
    ("storage", "no anonymous blob access"): (
        "security-storage-no-public-blob-access",
        "security-storage-container-private",
    ),
    ("storage", "public network off, default deny, trusted services bypass"): ("security-storage-network-restricted",),
    ("storage", "shared key off; SAS expiry policy"): (
        "security-storage-shared-key-disabled",
        "security-storage-sas-expiry-policy",
    ),
    ("storage", "infrastructure encryption / CMK"): ("security-storage-infrastructure-encryption",),
    ("storage", "blob soft delete, versioning; no cross-tenant replication"): (
        "security-storage-blob-soft-delete",
        "security-storage-blob-versioning",
        "security-storage-no-cross-tenant-replication",
    ),
    ("Key Vault", "soft delete + purge protection"): ("security-keyvault-soft-delete-purge-protection",),
    ("Key Vault", "RBAC permission model"): ("security-keyvault-rbac",),
    ("Key Vault", "public access off / default deny"): ("security-keyvault-network-restricted",),
    ("Key Vault secret/key", "expiry, rotation policy, HSM for keys"): (
        "security-keyvault-secret-expiry",
        "security-keyvault-key-expiry-rotation",
        "security-keyvault-key-hsm",
    ),
    ("ACR", "admin user off; anonymous pull off"): (
        "security-acr-admin-user-disabled",
        "security-acr-anonymous-pull-disabled",
    ),
    ("ACR", "public network off; SKU supports private link"): ("security-acr-public-network-disabled",),
    ("ACR", "retention, quarantine, trust policies; export off"): (
        "security-acr-retention-policy",
        "security-acr-quarantine",
        "security-acr-content-trust",
        "security-acr-export-disabled",
    ),
    ("App Insights", "local auth off; workspace-based; public ingestion/query off"): (
        "security-appinsights-local-auth-disabled",
        "security-appinsights-workspace-based",
        "security-appinsights-public-access-disabled",
    ),
    ("Log Analytics", "local auth off; public access off; retention"): (
        "security-loganalytics-local-auth-disabled",
        "security-loganalytics-public-access-disabled",
        "security-loganalytics-retention",
    ),
    (
        "autoscale setting",
        "min <= default <= max; scale-in and scale-out thresholds far enough apart not to flap; cooldowns",
    ): ("governance-autoscale-capacity", "governance-autoscale-no-flapping", "governance-autoscale-cooldowns"),
    ("metric alerts", "endpoints and clusters have alerts wired to an action group"): ("governance-alerts-wired",),
    ("AKS (if used)", "auto-upgrade and node-OS upgrade channels; minimum Kubernetes version from config"): (
        "patching-aks-upgrade-channels",
        "patching-aks-kubernetes-version",
    ),
    ("role assignment", "no Owner/Contributor at subscription scope for workload identities; least privilege"): (
        "security-roleassignment-least-privilege",
    ),
    ("Azure DevOps repo", "main needs >= 2 reviewers, votes reset on push; build validation required"): (
        "security-ado-branch-reviewers",
        "security-ado-build-validation",
    ),
    ("Azure DevOps service connection", "workload identity federation, no stored secret; not open to all pipelines"): (
        "security-ado-service-connection-federated",
        "security-ado-resource-not-open",
    ),
    ("Azure DevOps variable group", "no secret-looking value stored in plain text"): (
        "security-ado-variable-group-secrets",
    ),
    ("Azure DevOps environment", "prod has an approval check and branch control"): (
        "security-ado-prod-environment-checks",
    ),
    ("Azure DevOps project", "private"): ("security-ado-project-private",),
    (
        "pipeline YAML",
        "no `latest` images, no secrets via setvariable",
    ): "Left out of the packs: pipeline YAML files are not Pulumi resources, so no analyzer sees them. They belong "
    "to the pipeline lint of the CI/CD issue, which validates the files this project ships.",
    ("ML environment", "image pinned (no `:latest`), base OS not end-of-life"): (
        "patching-mlenvironment-image-pinned",
        "patching-mlenvironment-base-os-supported",
    ),
    ("ML environment", 'framework versions at or above the patched minimums (the "patch check for frameworks")'): (
        "patching-mlenvironment-framework-minimums",
        "patching-mlenvironment-frameworks-pinned",
    ),
    ("ML datastore", "identity-based access, no account key, SAS or service principal secret"): (
        "security-mldatastore-identity-access",
    ),
    ("ML workspace connection", "Entra ID or managed identity, no key, token or password"): (
        "security-mlconnection-identity-access",
    ),
    ("ML registry", "public network access disabled"): ("security-mlregistry-public-network-disabled",),
    ("online / serverless deployment", "models only from approved registries"): (
        "security-mldeployment-approved-models",
    ),
    ("storage", "private endpoint; no local users; customer-managed key where required; Defender not switched off"): (
        "security-storage-private-endpoint",
        "security-storage-local-users-disabled",
        "security-storage-customer-managed-key",
        "security-storage-defender-not-disabled",
    ),
    ("storage services", "blob service settings present; file share soft delete"): (
        "security-storage-services-configured",
        "security-storage-file-share-soft-delete",
    ),
    ("storage", "geo-redundant SKU"): ("governance-storage-sku-allowed",),
    ("Key Vault", "private endpoint"): ("security-keyvault-private-endpoint",),
    ("Key Vault secret/key", "secret content type; key type, RSA size and curve"): (
        "security-keyvault-secret-content-type",
        "security-keyvault-key-strength",
    ),
    (
        "ACR",
        "private endpoint; dedicated data endpoint; customer-managed key where required; ARM-audience tokens off",
    ): (
        "security-acr-private-endpoint",
        "security-acr-dedicated-data-endpoint",
        "security-acr-customer-managed-key",
        "security-acr-arm-audience-token-disabled",
    ),
    (
        "ACR tokens, webhooks, cache rules",
        "repository-scoped tokens disabled; webhooks over HTTPS; cache only approved upstreams",
    ): ("security-acr-token-disabled", "security-acr-webhook-https", "security-acr-cache-rule-sources"),
    ("Log Analytics", "saved queries in customer storage where required"): (
        "security-loganalytics-query-customer-storage",
    ),
    ("Application Insights web test", "standard tests, not retired URL ping or multi-step tests"): (
        "patching-appinsights-webtest-standard",
    ),
    ("metric and log alerts", "alerts resolve themselves; log queries not more often than every 5 minutes"): (
        "governance-alerts-tuned",
    ),
    ("autoscale setting", "enabled; every profile scales on rules or fixes the count"): (
        "governance-autoscale-enabled",
    ),
    ("online deployment", "target of an enabled autoscale setting"): ("governance-onlinedeployment-autoscaled",),
    ("autoscale setting", "rules read metrics the online endpoint or deployment emits"): (
        "governance-autoscale-metrics-known",
    ),
    ("online deployment", "instance count at least the environment's minimum (3 in prod); probes; request timeout"): (
        "governance-onlinedeployment-min-instances",
        "governance-onlinedeployment-health-and-timeout",
    ),
    ("alerts (metric, log search, activity log)", "enabled and notify at least one action group"): (
        "governance-alerts-notify",
    ),
    ("action group", "enabled, with at least one receiver"): ("governance-actiongroup-receivers",),
    ("Application Insights web test", "enabled, at least five locations, retries, TLS certificate checked"): (
        "governance-webtest-reliable",
    ),
    ("private endpoint", "DNS zone group with the zones of its sub-resource"): (
        "security-privateendpoint-dns-zone-group",
    ),
    (
        "role definition",
        "custom roles without wildcard or authorization-write actions, not assignable at subscription or above",
    ): ("security-roledefinition-least-privilege",),
    ("any resource", "location matches its resource group's"): ("governance-location-matches-resource-group",),
    ("any named resource", "names follow the ARM name rules"): ("governance-resource-name-valid",),
    (
        "Azure DevOps project",
        "pipeline settings: job scope, protected repositories, no queue-time variables, private badges",
    ): ("security-ado-project-pipeline-settings",),
    (
        "Azure DevOps build definition",
        "job token scoped to the project; no secrets for fork builds; no settable variables",
    ): (
        "security-ado-build-definition-job-scope",
        "security-ado-build-definition-untrusted-code",
        "security-ado-build-definition-queue-time-variables",
    ),
    ("Azure DevOps agent pool", "no auto-provisioning into every project; agents update themselves"): (
        "security-ado-agent-pool-no-auto-provision",
        "patching-ado-agent-pool-auto-update",
    ),
    (
        "Azure DevOps protected resources",
        "service connections, variable groups, queues and repositories have branch control or approval",
    ): ("security-ado-resource-branch-control",),
    (
        "Azure DevOps YAML pipeline",
        "default branch and required-template branches have a blocking branch policy",
    ): ("security-ado-pipeline-branch-protected",),
    (
        "Azure DevOps service connection",
        "no classic Azure connections; token or API key rather than user name and password",
    ): ("security-ado-service-connection-secure-auth",),
}

#: Rules that prod's configs keep advisory, and why. Everything else is mandatory in prod.
PROD_EXCEPTIONS: Mapping[str, str] = {
    "security-acr-quarantine": "Azure ML builds environment images into the workspace registry and cannot release "
    "quarantined images; quarantine would stall every build.",
    "security-acr-content-trust": "Docker Content Trust is being retired in Azure Container Registry; enforce image "
    "signatures (Notation) at deployment time instead.",
    "security-appinsights-public-access-disabled": "Needs an Azure Monitor Private Link Scope for the senders; "
    "without one, telemetry stops arriving. Planned with the APM issue.",
    "security-loganalytics-public-access-disabled": "Needs an Azure Monitor Private Link Scope for senders and "
    "readers; planned with the APM issue.",
    "security-acr-arm-audience-token-disabled": "Turning ARM-audience tokens off breaks clients that still use them "
    "(AKS image pulls, Bicep module publishing); no Microsoft page says "
    "Azure ML image builds and compute pulls work without them. Enforce "
    "after trying it on a subscription.",
}
