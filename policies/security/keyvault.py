"""Key Vault and its keys and secrets: recovery, permission model, network exposure, expiry and rotation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..lib.props import get
from ..lib.rules import Refs, Resource, setting
from ..lib.types import KEY_VAULT, KEY_VAULT_KEY, KEY_VAULT_SECRET
from . import RULES

KV_DOCS = "https://learn.microsoft.com/azure/key-vault"


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
              checkov=("CKV_AZURE_42", "CKV_AZURE_110"), psrule=("Azure.KeyVault.SoftDelete",
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
    types=[KEY_VAULT],
    description="Key Vaults use the Azure RBAC permission model, not access policies.",
    severity="high",
    remediation="Set properties.enableRbacAuthorization to true and grant Key Vault data roles per identity.",
    url=f"{KV_DOCS}/general/rbac-guide",
    refs=Refs(mcsb=("PA-7",), azure_policy=("12d4fa5e-1f9f-4c21-97a9-b99b3c6611b5",)),
)
def kv_rbac(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if get(r.props, "properties.enableRbacAuthorization") is not True:
        yield "properties.enableRbacAuthorization is not true"


@RULES.resource(
    "security-keyvault-network-restricted",
    types=[KEY_VAULT],
    description="Key Vaults deny network access by default (or disable public network access).",
    severity="high",
    remediation="Set properties.publicNetworkAccess to Disabled, or properties.networkAcls.defaultAction to Deny "
                "with bypass AzureServices.",
    url=f"{KV_DOCS}/general/network-security",
    refs=Refs(mcsb=("NS-2",), azure_policy=("55615ac9-af46-4a59-874e-391cc3dfb490",
                                            "405c5871-3e91-4644-8a63-58e19d68ff5b"),
              checkov=("CKV_AZURE_109", "CKV_AZURE_189"), psrule=("Azure.KeyVault.Firewall",)),
)
def kv_network(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if get(r.props, "properties.publicNetworkAccess") == "Disabled":
        return
    action = get(r.props, "properties.networkAcls.defaultAction")
    if action != "Deny":
        yield f"properties.networkAcls.defaultAction is {action!r} and public network access is enabled; use 'Deny'"


@RULES.resource(
    "security-keyvault-secret-expiry",
    types=[KEY_VAULT_SECRET],
    description="Key Vault secrets have an expiry date.",
    severity="medium",
    remediation="Set properties.attributes.expires (seconds since 1970-01-01) and rotate the secret before it.",
    url=f"{KV_DOCS}/secrets/about-secrets",
    refs=Refs(mcsb=("IM-8",), azure_policy=("98728c90-32c7-4049-8429-847dc0f4fe37",), checkov=("CKV_AZURE_41",)),
)
def kv_secret_expiry(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not get(r.props, "properties.attributes.expires"):
        yield "properties.attributes.expires is not set"


@RULES.resource(
    "security-keyvault-key-expiry-rotation",
    types=[KEY_VAULT_KEY],
    description="Key Vault keys expire and have a rotation policy.",
    severity="medium",
    remediation="Set properties.attributes.expires and properties.rotationPolicy (lifetimeActions with a rotate "
                "action before expiry).",
    url=f"{KV_DOCS}/keys/how-to-configure-key-rotation",
    refs=Refs(mcsb=("DP-6",), azure_policy=("152b15f7-8e1f-4c1f-ab71-8c010ba5dbc0",
                                            "d8cf8476-a2ec-4916-896e-992351803c44"), checkov=("CKV_AZURE_40",)),
)
def kv_key_expiry(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not get(r.props, "properties.attributes.expires"):
        yield "properties.attributes.expires is not set"
    if not get(r.props, "properties.rotationPolicy"):
        yield "properties.rotationPolicy is not set"


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
