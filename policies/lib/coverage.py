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
    """One rule of an anchor rule set: either some rule of the packs cites its id, or ``reason`` says why none does."""

    source: str
    id: str
    title: str
    resource: str
    reason: str


def load_anchors(directory: Path = ANCHOR_DIR) -> dict[str, list[Anchor]]:
    """Every anchor table, by source file name."""
    tables: dict[str, list[Anchor]] = {}
    for source in SOURCES:
        with open(directory / f"{source}.tsv", newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            tables[source] = [Anchor(source, row["id"], row["title"], row["resource"], row["reason"] or "")
                              for row in reader]
    return tables

#: (resource, check) as written in policy-anchors.md -> the rules that cover it, or a reason it is left out.
ANCHORS: Mapping[tuple[str, str], tuple[str, ...] | str] = {
    ("ML workspace", "public network access disabled (prod)"): ("security-mlworkspace-public-network-disabled",),
    ("ML workspace", 'managed network isolation "allow only approved outbound"'):
        ("security-mlworkspace-approved-outbound-only",),
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
    ("storage", "no anonymous blob access"): ("security-storage-no-public-blob-access",
                                              "security-storage-container-private"),
    ("storage", "public network off, default deny, trusted services bypass"): ("security-storage-network-restricted",),
    ("storage", "shared key off; SAS expiry policy"): ("security-storage-shared-key-disabled",
                                                       "security-storage-sas-expiry-policy"),
    ("storage", "infrastructure encryption / CMK"): ("security-storage-infrastructure-encryption",),
    ("storage", "blob soft delete, versioning; no cross-tenant replication"): (
        "security-storage-blob-soft-delete", "security-storage-blob-versioning",
        "security-storage-no-cross-tenant-replication"),
    ("Key Vault", "soft delete + purge protection"): ("security-keyvault-soft-delete-purge-protection",),
    ("Key Vault", "RBAC permission model"): ("security-keyvault-rbac",),
    ("Key Vault", "public access off / default deny"): ("security-keyvault-network-restricted",),
    ("Key Vault secret/key", "expiry, rotation policy, HSM for keys"): (
        "security-keyvault-secret-expiry", "security-keyvault-key-expiry-rotation", "security-keyvault-key-hsm"),
    ("ACR", "admin user off; anonymous pull off"): ("security-acr-admin-user-disabled",
                                                    "security-acr-anonymous-pull-disabled"),
    ("ACR", "public network off; SKU supports private link"): ("security-acr-public-network-disabled",),
    ("ACR", "retention, quarantine, trust policies; export off"): (
        "security-acr-retention-policy", "security-acr-quarantine", "security-acr-content-trust",
        "security-acr-export-disabled"),
    ("App Insights", "local auth off; workspace-based; public ingestion/query off"): (
        "security-appinsights-local-auth-disabled", "security-appinsights-workspace-based",
        "security-appinsights-public-access-disabled"),
    ("Log Analytics", "local auth off; public access off; retention"): (
        "security-loganalytics-local-auth-disabled", "security-loganalytics-public-access-disabled",
        "security-loganalytics-retention"),
    ("autoscale setting", "min <= default <= max; scale-in and scale-out thresholds far enough apart not to flap; "
                          "cooldowns"): ("governance-autoscale-capacity", "governance-autoscale-no-flapping",
                                         "governance-autoscale-cooldowns"),
    ("metric alerts", "endpoints and clusters have alerts wired to an action group"): ("governance-alerts-wired",),
    ("AKS (if used)", "auto-upgrade and node-OS upgrade channels; minimum Kubernetes version from config"): (
        "patching-aks-upgrade-channels", "patching-aks-kubernetes-version"),
    ("role assignment", "no Owner/Contributor at subscription scope for workload identities; least privilege"): (
        "security-roleassignment-least-privilege",),
    ("Azure DevOps repo", "main needs >= 2 reviewers, votes reset on push; build validation required"): (
        "security-ado-branch-reviewers", "security-ado-build-validation"),
    ("Azure DevOps service connection", "workload identity federation, no stored secret; not open to all pipelines"):
        ("security-ado-service-connection-federated", "security-ado-resource-not-open"),
    ("Azure DevOps variable group", "no secret-looking value stored in plain text"): (
        "security-ado-variable-group-secrets",),
    ("Azure DevOps environment", "prod has an approval check and branch control"): (
        "security-ado-prod-environment-checks",),
    ("Azure DevOps project", "private"): ("security-ado-project-private",),
    ("pipeline YAML", "no `latest` images, no secrets via setvariable"):
        "Left out of the packs: pipeline YAML files are not Pulumi resources, so no analyzer sees them. They belong "
        "to the pipeline lint of the CI/CD issue, which validates the files this project ships.",
    ("ML environment", "image pinned (no `:latest`), base OS not end-of-life"): (
        "patching-mlenvironment-image-pinned", "patching-mlenvironment-base-os-supported"),
    ("ML environment", 'framework versions at or above the patched minimums (the "patch check for frameworks")'): (
        "patching-mlenvironment-framework-minimums", "patching-mlenvironment-frameworks-pinned"),
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
