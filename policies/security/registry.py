"""Azure Container Registry: authentication, network exposure and image hygiene policies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from pulumi_policy import PolicyResource

from ..lib.graph import UNKNOWN, is_set, known_str, label, of_type, peek
from ..lib.props import expect, get
from ..lib.rules import Refs, Resource, setting
from ..lib.types import REGISTRY, REGISTRY_CACHE_RULE, REGISTRY_TOKEN, REGISTRY_WEBHOOK
from . import RULES
from .network import private_link_findings

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
    refs=Refs(mcsb=("IM-1",), azure_policy=("dc921057-6b28-4fbe-9b83-f7bec05db6c2",
                                            "79fdfe03-ffcb-4e55-b4d0-b925b8241759"), checkov=("CKV_AZURE_137",),
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
    refs=Refs(mcsb=("PA-1",), azure_policy=("9f2dea28-e834-476c-99c5-3507b4728395",
                                            "cced2946-b08a-44fe-9fd9-e4ed8a779897"), checkov=("CKV_AZURE_138",),
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
                                            "a3701552-92ea-433e-9d17-33b7f1208fc9",
                                            "bd560fc0-3c69-498a-ae9f-aa8eb7de0e13",
                                            "d0793b48-0edc-4296-a390-4c75d1bdfd71"),
              checkov=("CKV_AZURE_139", "CKV_AZURE_163"), psrule=("Azure.ACR.Firewall", "Azure.ACR.MinSku")),
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
    remediation="Set policies.exportPolicy.status to disabled and publicNetworkAccess to Disabled (\"To disable "
                "artifact export, public access to the registry must also be disabled\").",
    url=f"{DOCS}/data-loss-prevention",
    refs=Refs(mcsb=("DP-2",), azure_policy=("524b0254-c285-4903-bee6-bb8126cde579",),
              psrule=("Azure.ACR.ExportPolicy",)),
)
def acr_export(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not _premium(r):
        return
    if get(r.props, "policies.exportPolicy.status") != "disabled":
        yield "policies.exportPolicy.status is not 'disabled'"
    public = get(r.props, "publicNetworkAccess", "Enabled")
    if str(public).lower() != "disabled":
        yield f"publicNetworkAccess is {public!r}; export is only blocked with public network access 'Disabled'"


@RULES.resource(
    "security-acr-arm-audience-token-disabled",
    types=[REGISTRY],
    description="Container registries accept only Microsoft Entra tokens issued for the registry (ACR audience), "
                "not Azure Resource Manager tokens.",
    severity="medium",
    remediation="Set policies.azureADAuthenticationAsArmPolicy.status to disabled (the default, enabled, accepts "
                "ARM-audience tokens). Clients then need ACR-audience tokens; check that every puller (Azure ML "
                "image builds and computes, AKS, CI) obtains them before enforcing.",
    url=f"{DOCS}/container-registry-disable-authentication-as-arm",
    refs=Refs(mcsb=("IM-1",), azure_policy=("42781ec6-6127-4c30-bdfa-fb423a0047d3",
                                            "785596ed-054f-41bc-aaec-7f3d0ba05725")),
)
def acr_arm_audience(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    status = get(r.props, "policies.azureADAuthenticationAsArmPolicy.status")
    if status is None:
        yield ("policies.azureADAuthenticationAsArmPolicy.status is not set (the registry then accepts "
               "ARM-audience tokens); set it to 'disabled'")
    elif str(status).lower() != "disabled":
        yield f"policies.azureADAuthenticationAsArmPolicy.status is {status!r}; set it to 'disabled'"


@RULES.resource(
    "security-acr-dedicated-data-endpoint",
    types=[REGISTRY],
    description="Premium registries serve layers from a dedicated data endpoint, so firewalls allow one "
                "registry-specific name instead of the wildcard storage endpoint.",
    severity="low",
    remediation="Set dataEndpointEnabled to true (Premium only; with a private endpoint Azure enables it anyway).",
    url=f"{DOCS}/container-registry-dedicated-data-endpoints",
    refs=Refs(mcsb=("NS-2",), checkov=("CKV_AZURE_237",)),
)
def acr_data_endpoint(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if _premium(r) and r.props.get("dataEndpointEnabled") is not True:
        yield "dataEndpointEnabled is not true"


@RULES.resource(
    "security-acr-customer-managed-key",
    types=[REGISTRY],
    description="Container registries encrypt their content with a customer-managed key where the config requires "
                "it.",
    severity="medium",
    remediation="Create the registry (Premium) with encryption.status enabled and encryption.keyVaultProperties "
                "(keyIdentifier of a Key Vault key, identity of a user-assigned identity with access to it); a "
                "registry cannot switch to a customer-managed key after creation.",
    url=f"{DOCS}/tutorial-enable-customer-managed-keys",
    refs=Refs(mcsb=("DP-5",), azure_policy=("5b9159ae-1701-4a6f-9a7a-aa9c8ddd0580",)),
    config={"required": setting("boolean", False, "Require a customer-managed key on every registry.")},
)
def acr_cmk(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not cfg["required"]:
        return
    status = peek(r.props, "encryption.status")
    if status is UNKNOWN:
        return
    if str(status).lower() != "enabled":
        yield f"encryption.status is {status or 'disabled'!r}; configure a customer-managed key"
    elif not is_set(r.props, "encryption.keyVaultProperties.keyIdentifier"):
        yield "encryption.keyVaultProperties.keyIdentifier is not set"


@RULES.stack(
    "security-acr-private-endpoint",
    description="Every container registry is Premium and reached through a private endpoint (group registry): its "
                "own, or one the managed network of its Azure ML workspace creates.",
    severity="high",
    remediation="Use sku.name Premium and create a network.PrivateEndpoint whose privateLinkServiceConnections target "
                "the registry with groupIds [registry], or use the registry in an Azure ML workspace whose "
                "managedNetwork.isolationMode is AllowOnlyApprovedOutbound (or AllowInternetOutbound with "
                "publicNetworkAccess Disabled).",
    url=f"{DOCS}/container-registry-private-link",
    refs=Refs(mcsb=("NS-2",), azure_policy=("e8eef0a8-67cf-4eb4-9386-14b0e78733d4",
                                            "d85c6833-7d33-4cf5-a915-aaa2de84405f")),
)
def acr_private_endpoint(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
                         ) -> Iterator[tuple[str, str | None]]:
    basic: set[str] = set()
    for registry in of_type(resources, REGISTRY):
        sku = known_str(peek(registry.props, "sku.name"))
        if sku is not None and sku != "Premium":
            basic.add(registry.urn)
            yield f"{label(registry)} has sku.name {sku!r}; only Premium registries support private endpoints", \
                registry.urn
    for registry, finding in private_link_findings(resources, REGISTRY, "registry", "containerRegistry"):
        if registry.urn not in basic:
            yield f"{label(registry)} {finding}", registry.urn


@RULES.resource(
    "security-acr-token-disabled",
    types=[REGISTRY_TOKEN],
    description="Container registries have no active repository-scoped access tokens (non-Entra credentials).",
    severity="high",
    remediation="Pull and push with Microsoft Entra identities (AcrPull/AcrPush roles); set status to disabled on "
                "containerregistry.Token resources or remove them.",
    url=f"{DOCS}/container-registry-repository-scoped-permissions",
    refs=Refs(mcsb=("IM-1",), azure_policy=("ff05e24e-195c-447e-b322-5e90c9f9f366",
                                            "a9b426fe-8856-4945-8600-18c5dd1cca2a")),
)
def acr_token(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    status = get(r.props, "status")
    if str(status).lower() != "disabled":
        yield (f"status is {status!r}; a repository-scoped token is an active credential, set it to 'disabled'"
               if status is not None else
               "status is not set (a new token is enabled); set it to 'disabled'")


@RULES.resource(
    "security-acr-webhook-https",
    types=[REGISTRY_WEBHOOK],
    description="Container registry webhooks post their notifications over HTTPS.",
    severity="medium",
    remediation="Use an https:// serviceUri (webhook payloads and custom headers, often credentials, travel in it).",
    url=f"{DOCS}/container-registry-webhook",
    refs=Refs(mcsb=("DP-3",), checkov=("CKV2_AZURE_30",)),
)
def acr_webhook(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    uri = peek(r.props, "serviceUri")
    if isinstance(uri, str) and urlsplit(uri.strip()).scheme.lower() != "https":
        yield f"serviceUri uses scheme {urlsplit(uri.strip()).scheme or 'none'!r}; use 'https'"


@RULES.resource(
    "security-acr-cache-rule-sources",
    types=[REGISTRY_CACHE_RULE],
    description="Artifact cache rules pull only from approved upstream repositories.",
    severity="medium",
    remediation="Point sourceRepository at an approved upstream (config allowedSources), or remove the cache rule.",
    url=f"{DOCS}/container-registry-artifact-cache",
    refs=Refs(mcsb=("AM-5",), azure_policy=("84497762-32b6-4ab3-80b6-732ea48b85a2",)),
    config={"allowedSources": setting("array", [], "Approved sourceRepository patterns (shell wildcards, e.g. "
                                      "'mcr.microsoft.com/*'); empty: no cache rule is approved.",
                                      items={"type": "string"})},
)
def acr_cache_rule(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    source = peek(r.props, "sourceRepository")
    if source is UNKNOWN:
        return
    if not any(fnmatchcase(str(source or "").lower(), pattern.lower()) for pattern in cfg["allowedSources"]):
        allowed = ", ".join(cfg["allowedSources"]) or "none"
        yield f"sourceRepository is {source!r}; approved sources: {allowed}"
