"""Key Vault and its keys and secrets: recovery, permission model, network exposure, expiry and rotation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.graph import UNKNOWN, is_set, label, peek, peek_items
from ..lib.props import get
from ..lib.rules import Refs, Resource, setting
from ..lib.types import (
    KEY_VAULT,
    KEY_VAULT_ACCESS_POLICY,
    KEY_VAULT_KEY,
    KEY_VAULT_SECRET,
)
from . import RULES
from .network import private_link_findings

KV_DOCS = "https://learn.microsoft.com/azure/key-vault"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _as_of(cfg: Mapping[str, Any]) -> dt.date:
    return dt.date.fromisoformat(cfg["asOf"]) if cfg["asOf"] else dt.date.today()


def _validity(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    """The finding when properties.attributes.expires (seconds since 1970) lies more than maxValidityDays after the
    evaluation date, which stands in for the creation time of the version this deployment writes."""
    expires = peek(r.props, "properties.attributes.expires")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool):
        return
    expiry = (_EPOCH + dt.timedelta(seconds=float(expires))).date()
    as_of = _as_of(cfg)
    days = (expiry - as_of).days
    if days > cfg["maxValidityDays"]:
        yield (f"properties.attributes.expires is {expiry.isoformat()}, {days} days after {as_of.isoformat()}; "
               f"at most {cfg['maxValidityDays']} days are allowed")


def _validity_config(what: str) -> dict[str, dict[str, Any]]:
    return {
        "maxValidityDays": setting("integer", 365, f"Longest validity of a {what} (expiry minus creation), in days.",
                                   minimum=1),
        "asOf": setting("string", "", "Creation date to measure validity from (YYYY-MM-DD); empty means today."),
    }


@RULES.resource(
    "security-keyvault-soft-delete-purge-protection",
    types=[KEY_VAULT],
    description="Key Vaults keep deleted secrets recoverable and cannot be purged before the retention ends.",
    severity="critical",
    remediation="Set properties.enableSoftDelete and properties.enablePurgeProtection to true "
                "(purge protection cannot be turned off again).",
    url=f"{KV_DOCS}/general/soft-delete-overview",
    refs=Refs(mcsb=("DP-8",), cis=("8.5",), azure_policy=("1e66c121-a66a-4b1f-9b83-0fd99bf0fc2d",
                                                          "0b60c0b2-2dc2-4e1c-b5c9-abbed971de53"),
              checkov=("CKV_AZURE_42", "CKV_AZURE_110", "CKV_AZURE_111"), psrule=("Azure.KeyVault.SoftDelete",
                                                                 "Azure.KeyVault.PurgeProtect"),
              pulumi=("key vault purge protection",)),
)
def kv_soft_delete(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if get(r.props, "properties.enableSoftDelete") is False:
        yield "properties.enableSoftDelete is false"
    if get(r.props, "properties.enablePurgeProtection") is not True:
        yield "properties.enablePurgeProtection is not true"


@RULES.resource(
    "security-keyvault-rbac",
    types=[KEY_VAULT, KEY_VAULT_ACCESS_POLICY],
    description="Key Vaults use the Azure RBAC permission model, not access policies.",
    severity="high",
    remediation="Set properties.enableRbacAuthorization to true, grant Key Vault data roles per identity, and "
                "remove properties.accessPolicies and keyvault.AccessPolicy resources (ignored under RBAC, they "
                "grant access again if RBAC is ever switched off).",
    url=f"{KV_DOCS}/general/rbac-guide",
    refs=Refs(mcsb=("PA-7",), azure_policy=("12d4fa5e-1f9f-4c21-97a9-b99b3c6611b5",),
              psrule=("Azure.KeyVault.AccessPolicy", "Azure.KeyVault.RBAC")),
)
def kv_rbac(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.type == KEY_VAULT_ACCESS_POLICY:
        yield "a vault access policy grants access outside Azure RBAC; use role assignments instead"
        return
    if get(r.props, "properties.enableRbacAuthorization") is not True:
        yield "properties.enableRbacAuthorization is not true"
    entries = peek_items(r.props, "properties.accessPolicies")
    if entries:
        yield (f"properties.accessPolicies has {len(entries)} entries; remove them (they apply again if RBAC is "
               "switched off)")


@RULES.resource(
    "security-keyvault-network-restricted",
    types=[KEY_VAULT],
    description="Key Vaults deny network access by default (firewall default action Deny).",
    severity="high",
    remediation="Set properties.networkAcls.defaultAction to Deny with bypass AzureServices (also when "
                "properties.publicNetworkAccess is Disabled, so the firewall stays closed if public access is turned "
                "on again).",
    url=f"{KV_DOCS}/general/network-security",
    refs=Refs(mcsb=("NS-2",), azure_policy=("55615ac9-af46-4a59-874e-391cc3dfb490",
                                            "ac673a9a-f77d-4846-b2d8-a57f8e1c01dc"),
              checkov=("CKV_AZURE_109",), psrule=("Azure.KeyVault.Firewall",)),
)
def kv_network(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    action = get(r.props, "properties.networkAcls.defaultAction")
    if action == "Deny":
        return
    # The API documents the values in lower case ('enabled', the SDK's default, or 'disabled').
    if str(get(r.props, "properties.publicNetworkAccess", "enabled")).lower() == "disabled":
        yield (f"properties.networkAcls.defaultAction is {action!r}; use 'Deny' so the vault stays closed if public "
               "network access is enabled again")
    else:
        yield f"properties.networkAcls.defaultAction is {action!r} and public network access is enabled; use 'Deny'"


@RULES.resource(
    "security-keyvault-secret-expiry",
    types=[KEY_VAULT_SECRET],
    description="Key Vault secrets have an expiry date within the maximum validity period.",
    severity="medium",
    remediation="Set properties.attributes.expires (seconds since 1970-01-01) and rotate the secret before it.",
    url=f"{KV_DOCS}/secrets/about-secrets",
    refs=Refs(mcsb=("IM-8",), azure_policy=("98728c90-32c7-4049-8429-847dc0f4fe37",
                                            "342e8053-e12e-4c44-be01-c3c2f318400f"), checkov=("CKV_AZURE_41",)),
    config=_validity_config("secret version"),
)
def kv_secret_expiry(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not is_set(r.props, "properties.attributes.expires"):
        yield "properties.attributes.expires is not set"
    else:
        yield from _validity(r, cfg)


@RULES.resource(
    "security-keyvault-key-expiry-rotation",
    types=[KEY_VAULT_KEY],
    description="Key Vault keys expire within the maximum validity period and rotate automatically.",
    severity="medium",
    remediation="Set properties.attributes.expires and properties.rotationPolicy (lifetimeActions with a rotate "
                "action before expiry).",
    url=f"{KV_DOCS}/keys/how-to-configure-key-rotation",
    refs=Refs(mcsb=("DP-6",), azure_policy=("152b15f7-8e1f-4c1f-ab71-8c010ba5dbc0",
                                            "d8cf8476-a2ec-4916-896e-992351803c44",
                                            "49a22571-d204-4c91-a7b6-09b1a586fbc9"), checkov=("CKV_AZURE_40",),
              psrule=("Azure.KeyVault.AutoRotationPolicy",)),
    # ARM creates a key once and "does not update existing keys" (Keys_CreateIfNotExist, keys.json): the validity
    # is decided when the deployment creates it.
    config=_validity_config("key"),
)
def kv_key_expiry(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not is_set(r.props, "properties.attributes.expires"):
        yield "properties.attributes.expires is not set"
    else:
        yield from _validity(r, cfg)
    if not is_set(r.props, "properties.rotationPolicy"):
        yield "properties.rotationPolicy is not set"
        return
    if peek(r.props, "properties.rotationPolicy.lifetimeActions") is UNKNOWN:
        return
    actions = peek_items(r.props, "properties.rotationPolicy.lifetimeActions")
    types = [peek(action, "action.type") for action in actions]
    if not any(kind is UNKNOWN or str(kind).lower() == "rotate" for kind in types):
        yield "properties.rotationPolicy.lifetimeActions has no action of type 'rotate'"


@RULES.resource(
    "security-keyvault-key-hsm",
    types=[KEY_VAULT_KEY],
    description="Key Vault keys are backed by a hardware security module where the config requires it.",
    severity="medium",
    remediation="Use properties.kty RSA-HSM or EC-HSM (needs a Premium vault).",
    url=f"{KV_DOCS}/keys/about-keys",
    refs=Refs(mcsb=("DP-6",), azure_policy=("587c79fe-dd04-4a5e-9d0b-f89598c7261b",), checkov=("CKV_AZURE_112",)),
    config={"required": setting("boolean", True, "Require HSM-backed keys.")},
)
def kv_key_hsm(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    kty = str(get(r.props, "properties.kty", ""))
    if cfg["required"] and not kty.endswith("-HSM"):
        yield f"properties.kty is {kty or 'missing'!r}; use RSA-HSM or EC-HSM"


@RULES.resource(
    "security-keyvault-secret-content-type",
    types=[KEY_VAULT_SECRET],
    description="Key Vault secrets declare their content type, so consumers and rotation know what they hold.",
    severity="low",
    remediation="Set properties.contentType to a description of the value (e.g. text/plain, application/x-pkcs12).",
    url="https://learn.microsoft.com/azure/templates/microsoft.keyvault/vaults/secrets",
    refs=Refs(mcsb=("IM-8",), azure_policy=("75262d3e-ba4a-4f43-85f8-9f72c090e5e3",), checkov=("CKV_AZURE_114",)),
)
def kv_secret_content_type(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not is_set(r.props, "properties.contentType"):
        yield "properties.contentType is not set"


#: API defaults of keys/properties (2024-11-01): "Default for RSA and RSA-HSM keys is 2048", "Default for EC and
#: EC-HSM keys is P-256".
_DEFAULT_RSA_SIZE, _DEFAULT_CURVE = 2048, "P-256"


@RULES.resource(
    "security-keyvault-key-strength",
    types=[KEY_VAULT_KEY],
    description="Key Vault keys use an allowed key type with at least the minimum RSA key size or an allowed "
                "elliptic curve.",
    severity="medium",
    remediation="Set properties.kty to an allowed type; RSA keys need properties.keySize of at least the minimum "
                "(3072 or 4096 recommended), EC keys an allowed properties.curveName.",
    url=f"{KV_DOCS}/keys/about-keys",
    refs=Refs(mcsb=("DP-6",), azure_policy=("75c4f823-d65c-4f29-a733-01d0077fdbcb",
                                            "82067dbb-e53b-4e06-b631-546d197452d9",
                                            "ff25f3c8-b739-4538-9d07-3d6d25cfb255")),
    config={
        "allowedKeyTypes": setting("array", ["RSA", "RSA-HSM", "EC", "EC-HSM"], "Accepted properties.kty values.",
                                   items={"type": "string"}),
        "minRsaKeySize": setting("integer", 2048, "Smallest RSA key size, in bits.", minimum=1024),
        "allowedCurves": setting("array", ["P-256", "P-256K", "P-384", "P-521"],
                                 "Accepted properties.curveName values of EC keys.", items={"type": "string"}),
    },
)
def kv_key_strength(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    kty = peek(r.props, "properties.kty")
    if kty is UNKNOWN:
        return
    if kty not in cfg["allowedKeyTypes"]:
        found = "not set" if kty is None else f"{kty!r}"
        yield f"properties.kty is {found}; use one of {', '.join(cfg['allowedKeyTypes'])}"
    elif str(kty).startswith("RSA"):
        size = peek(r.props, "properties.keySize")
        if size is None and cfg["minRsaKeySize"] > _DEFAULT_RSA_SIZE:
            yield (f"properties.keySize is not set (the API then uses {_DEFAULT_RSA_SIZE}); RSA keys need at least "
                   f"{cfg['minRsaKeySize']} bits")
        elif isinstance(size, (int, float)) and size < cfg["minRsaKeySize"]:
            # Numbers arrive as protobuf floats: 1024.0 is shown as 1024.
            yield f"properties.keySize is {size:g}; RSA keys need at least {cfg['minRsaKeySize']} bits"
    elif str(kty).startswith("EC"):
        curve = peek(r.props, "properties.curveName")
        allowed = ", ".join(cfg["allowedCurves"])
        if curve is None and _DEFAULT_CURVE not in cfg["allowedCurves"]:
            yield f"properties.curveName is not set (the API then uses {_DEFAULT_CURVE!r}); use one of {allowed}"
        elif curve is not None and curve is not UNKNOWN and curve not in cfg["allowedCurves"]:
            yield f"properties.curveName is {curve!r}; use one of {allowed}"


@RULES.stack(
    "security-keyvault-private-endpoint",
    description="Every Key Vault is reached through a private endpoint (group vault): its own, or one the managed "
                "network of its Azure ML workspace creates.",
    severity="high",
    remediation="Create a network.PrivateEndpoint whose privateLinkServiceConnections target the vault with groupIds "
                "[vault], or use the vault in an Azure ML workspace whose managedNetwork.isolationMode is "
                "AllowOnlyApprovedOutbound (or AllowInternetOutbound with properties.publicNetworkAccess Disabled).",
    url=f"{KV_DOCS}/general/private-link-service",
    refs=Refs(mcsb=("NS-2",), azure_policy=("a6abeaec-4d90-4a02-805f-6b26c4d3fbe9",
                                            "9d4fad1f-5189-4a42-b29e-cf7929c6b6df"), checkov=("CKV2_AZURE_32",)),
)
def kv_private_endpoint(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
                        ) -> Iterator[tuple[str, str | None]]:
    for vault, finding in private_link_findings(resources, KEY_VAULT, "vault", "keyVault",
                                                "properties.publicNetworkAccess"):
        yield f"{label(vault)} {finding}", vault.urn
