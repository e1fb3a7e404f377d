"""Azure Container Registry: authentication, network exposure and image hygiene policies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..lib.props import expect, get
from ..lib.rules import Refs, Resource, setting
from ..lib.types import REGISTRY
from . import RULES

DOCS = "https://learn.microsoft.com/azure/container-registry"


def _premium(r: Resource) -> bool:
    return get(r.props, "sku.name") == "Premium"


@RULES.resource(
    "security-acr-admin-user-disabled",
    types=[REGISTRY],
    description="Container registries have the shared admin account disabled.",
    severity="critical",
    remediation="Set adminUserEnabled to false; pull with managed identities (AcrPull).",
    url=f"{DOCS}/container-registry-authentication",
    refs=Refs(mcsb=("IM-1",), azure_policy=("dc921057-6b28-4fbe-9b83-f7bec05db6c2",), checkov=("CKV_AZURE_137",),
              psrule=("Azure.ACR.AdminUser",)),
)
def acr_admin(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("adminUserEnabled") is True:
        yield "adminUserEnabled is true"


@RULES.resource(
    "security-acr-anonymous-pull-disabled",
    types=[REGISTRY],
    description="Container registries do not allow anonymous pulls.",
    severity="critical",
    remediation="Set anonymousPullEnabled to false.",
    url=f"{DOCS}/anonymous-pull-access",
    refs=Refs(mcsb=("PA-1",), azure_policy=("9f2dea28-e834-476c-99c5-3507b4728395",), checkov=("CKV_AZURE_138",),
              psrule=("Azure.ACR.AnonymousAccess",)),
)
def acr_anonymous(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("anonymousPullEnabled") is True:
        yield "anonymousPullEnabled is true"


@RULES.resource(
    "security-acr-public-network-disabled",
    types=[REGISTRY],
    description="Container registries are Premium (private link capable) with public network access disabled.",
    severity="high",
    remediation="Use sku.name Premium and set publicNetworkAccess to Disabled; Azure ML's managed network reaches "
                "the registry through a private endpoint.",
    url=f"{DOCS}/container-registry-private-link",
    refs=Refs(mcsb=("NS-2",), azure_policy=("0fdf0491-d080-4575-b627-ad0e843cba0f",
                                            "e8eef0a8-67cf-4eb4-9386-14b0e78733d4"), checkov=("CKV_AZURE_139",)),
)
def acr_public(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not _premium(r):
        yield f"sku.name is {get(r.props, 'sku.name')!r}; only Premium supports private link"
    yield from expect(r.props, "publicNetworkAccess", "Disabled")


@RULES.resource(
    "security-acr-retention-policy",
    types=[REGISTRY],
    description="Premium registries delete untagged manifests after a retention period.",
    severity="low",
    remediation="Set policies.retentionPolicy.status to enabled with days at most the maximum.",
    url=f"{DOCS}/container-registry-retention-policy",
    refs=Refs(mcsb=("PV-6",), checkov=("CKV_AZURE_167",), psrule=("Azure.ACR.Retention",)),
    config={"maxDays": setting("integer", 30, "Longest retention of untagged manifests, in days.", minimum=0)},
)
def acr_retention(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not _premium(r):
        return
    if get(r.props, "policies.retentionPolicy.status") != "enabled":
        yield "policies.retentionPolicy.status is not 'enabled'"
    elif (get(r.props, "policies.retentionPolicy.days") or 0) > cfg["maxDays"]:
        yield f"policies.retentionPolicy.days is above {cfg['maxDays']}"


@RULES.resource(
    "security-acr-content-trust",
    types=[REGISTRY],
    description="Premium registries have content trust enabled, so signed images can be enforced by clients.",
    severity="low",
    remediation="Set policies.trustPolicy.status to enabled (type Notary).",
    url=f"{DOCS}/container-registry-content-trust",
    refs=Refs(mcsb=("AM-5",), checkov=("CKV_AZURE_164",), psrule=("Azure.ACR.ContentTrust",)),
)
def acr_trust(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if _premium(r) and get(r.props, "policies.trustPolicy.status") != "enabled":
        yield "policies.trustPolicy.status is not 'enabled'"


@RULES.resource(
    "security-acr-quarantine",
    types=[REGISTRY],
    description="Premium registries quarantine pushed images until a scanner releases them.",
    severity="low",
    remediation="Set policies.quarantinePolicy.status to enabled and run a scanner that marks images as passed. "
                "Azure ML builds its own environment images and cannot release them: leave this advisory for "
                "registries that Azure ML writes to.",
    url=f"{DOCS}/container-registry-quarantine-pattern",
    refs=Refs(mcsb=("PV-5",), checkov=("CKV_AZURE_166",), psrule=("Azure.ACR.Quarantine",)),
)
def acr_quarantine(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if _premium(r) and get(r.props, "policies.quarantinePolicy.status") != "enabled":
        yield "policies.quarantinePolicy.status is not 'enabled'"


@RULES.resource(
    "security-acr-export-disabled",
    types=[REGISTRY],
    description="Premium registries do not allow artifacts to be exported (data exfiltration).",
    severity="medium",
    remediation="Set policies.exportPolicy.status to disabled (requires publicNetworkAccess Disabled).",
    url=f"{DOCS}/data-loss-prevention",
    refs=Refs(mcsb=("DP-2",), azure_policy=("524b0254-c285-4903-bee6-bb8126cde579",)),
)
def acr_export(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if _premium(r) and get(r.props, "policies.exportPolicy.status") != "disabled":
        yield "policies.exportPolicy.status is not 'disabled'"
