"""Policy rule cases for Key Vault (vaults, keys, secrets) and container registries.

Helpers and how cases run: ``policy_cases.py``.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from policy_cases import GOOD as BASE
from policy_cases import WHERE, Case, Ref, bad, good, linked, put

from policies.harness import Resource
from policies.lib import types as tokens

#: An expiry 180 days from now: inside the default maximum validity (365 days) whenever the tests run.
_EXPIRES = int(time.time()) + 180 * 86400
#: The evaluation date of the validity cases (config asOf), so their messages do not depend on today.
_AS_OF = "2026-11-21"


def _registry() -> dict[str, Any]:
    registry = copy.deepcopy(BASE["registry"])
    registry["dataEndpointEnabled"] = True
    registry["policies"]["azureADAuthenticationAsArmPolicy"] = {"status": "disabled"}
    return registry


def _with(kind: str, **properties: Any) -> dict[str, Any]:
    resource = copy.deepcopy(BASE[kind])
    resource["properties"].update(properties)
    return resource


#: Compliant resources of this area, by kind (added to ``policy_cases.GOOD``; each must pass every rule of every pack).
#: ``registry``, ``secret`` and ``key`` replace the base ones with what the rules of this area add.
GOOD: dict[str, dict[str, Any]] = {
    "registry": _registry(),
    "secret": _with("secret", contentType="text/plain", attributes={"expires": _EXPIRES}),
    "key": _with("key", attributes={"expires": _EXPIRES}),
    "acrtoken": {"status": "disabled", "scopeMapId": "/subscriptions/s/resourceGroups/rg/providers/"
                 "Microsoft.ContainerRegistry/registries/cr/scopeMaps/_repositories_pull"},
    "webhook": {**WHERE, "serviceUri": "https://hooks.example.com/acr", "actions": ["push"], "status": "enabled"},
}
#: Their Pulumi types (added to ``policy_cases.TYPES``).
TYPES: dict[str, str] = {"acrtoken": tokens.REGISTRY_TOKEN, "webhook": tokens.REGISTRY_WEBHOOK}


def resource_cases() -> list[Case]:
    c = Case
    cache_rule = Resource(tokens.REGISTRY_CACHE_RULE, "cache-ubuntu",
                          {"sourceRepository": "docker.io/library/ubuntu", "targetRepository": "ubuntu"})
    access_policy = Resource(tokens.KEY_VAULT_ACCESS_POLICY, "kv-reader", {"policy": {
        "tenantId": "t", "objectId": "o", "permissions": {"secrets": ["get", "list"]}}})
    return [
        # --- registry ---
        c("security-acr-arm-audience-token-disabled", [good("registry")]),
        c(
            "security-acr-arm-audience-token-disabled",
            [bad("registry", put("policies.azureADAuthenticationAsArmPolicy", None))],
            ["policies.azureADAuthenticationAsArmPolicy.status is not set (the registry then accepts ARM-audience "
             "tokens); set it to 'disabled'"],
        ),
        c(
            "security-acr-arm-audience-token-disabled",
            [bad("registry", put("policies.azureADAuthenticationAsArmPolicy.status", "enabled"))],
            ["policies.azureADAuthenticationAsArmPolicy.status is 'enabled'; set it to 'disabled'"],
        ),
        c("security-acr-dedicated-data-endpoint", [good("registry")]),
        c("security-acr-dedicated-data-endpoint",
          [bad("registry", lambda p: p.update(sku={"name": "Basic"}, dataEndpointEnabled=None))]),
        c(
            "security-acr-dedicated-data-endpoint",
            [bad("registry", put("dataEndpointEnabled", None))],
            ["dataEndpointEnabled is not true"],
        ),
        c("security-acr-customer-managed-key", [good("registry")]),
        c(
            "security-acr-customer-managed-key",
            [bad("registry", put("encryption", {"status": "enabled", "keyVaultProperties": {
                "keyIdentifier": "https://kv.vault.azure.net/keys/acr", "identity": "client-id"}}))],
            config={"required": True},
        ),
        c(
            "security-acr-customer-managed-key",
            [good("registry")],
            ["encryption.status is 'disabled'; configure a customer-managed key"],
            config={"required": True},
        ),
        c(
            "security-acr-customer-managed-key",
            [bad("registry", put("encryption", {"status": "enabled"}))],
            ["encryption.keyVaultProperties.keyIdentifier is not set"],
            config={"required": True},
        ),
        c(
            "security-acr-export-disabled",
            [bad("registry", put("publicNetworkAccess", "Enabled"))],
            ["publicNetworkAccess is 'Enabled'; export is only blocked with public network access 'Disabled'"],
        ),
        c("security-acr-token-disabled", [good("acrtoken")]),
        c(
            "security-acr-token-disabled",
            [bad("acrtoken", put("status", "enabled"))],
            ["status is 'enabled'; a repository-scoped token is an active credential, set it to 'disabled'"],
        ),
        c(
            "security-acr-token-disabled",
            [bad("acrtoken", put("status", None))],
            ["status is not set (a new token is enabled); set it to 'disabled'"],
        ),
        c("security-acr-webhook-https", [good("webhook")]),
        c(
            "security-acr-webhook-https",
            [bad("webhook", put("serviceUri", "http://hooks.example.com/acr"))],
            ["serviceUri uses scheme 'http'; use 'https'"],
        ),
        c("security-acr-cache-rule-sources", [cache_rule], config={"allowedSources": ["docker.io/library/*"]}),
        c(
            "security-acr-cache-rule-sources",
            [cache_rule],
            ["sourceRepository is 'docker.io/library/ubuntu'; approved sources: none"],
        ),
        c(
            "security-acr-cache-rule-sources",
            [cache_rule],
            ["sourceRepository is 'docker.io/library/ubuntu'; approved sources: mcr.microsoft.com/*"],
            config={"allowedSources": ["mcr.microsoft.com/*"]},
        ),
        # --- Key Vault ---
        c(
            "security-keyvault-network-restricted",
            [bad("vault", lambda p: p["properties"].update(publicNetworkAccess="Disabled"))],
        ),
        c(
            "security-keyvault-network-restricted",
            [bad("vault", lambda p: p["properties"].update(publicNetworkAccess="disabled", networkAcls=None))],
            ["properties.networkAcls.defaultAction is None; use 'Deny' so the vault stays closed if public network "
             "access is enabled again"],
        ),
        c(
            "security-keyvault-rbac",
            [bad("vault", put("properties.accessPolicies", [
                {"tenantId": "t", "objectId": "o", "permissions": {"secrets": ["get"]}}]))],
            ["properties.accessPolicies has 1 entries; remove them (they apply again if RBAC is switched off)"],
        ),
        c(
            "security-keyvault-rbac",
            [access_policy],
            ["a vault access policy grants access outside Azure RBAC; use role assignments instead"],
        ),
        c("security-keyvault-secret-expiry", [good("secret")], config={"asOf": _AS_OF, "maxValidityDays": 1200}),
        c(
            "security-keyvault-secret-expiry",
            [bad("secret", put("properties.attributes.expires", 1893456000))],
            ["properties.attributes.expires is 2030-01-01, 1137 days after 2026-11-21; at most 365 days are "
             "allowed"],
            config={"asOf": _AS_OF},
        ),
        c(
            "security-keyvault-key-expiry-rotation",
            [bad("key", put("properties.attributes.expires", 1893456000))],
            ["properties.attributes.expires is 2030-01-01, 1137 days after 2026-11-21; at most 1000 days are "
             "allowed"],
            config={"asOf": _AS_OF, "maxValidityDays": 1000},
        ),
        c(
            "security-keyvault-key-expiry-rotation",
            [bad("key", put("properties.rotationPolicy.lifetimeActions", [{"action": {"type": "notify"}}]))],
            ["properties.rotationPolicy.lifetimeActions has no action of type 'rotate'"],
        ),
        c("security-keyvault-secret-content-type", [good("secret")]),
        c(
            "security-keyvault-secret-content-type",
            [bad("secret", put("properties.contentType", ""))],
            ["properties.contentType is not set"],
        ),
        c("security-keyvault-key-strength", [good("key")]),
        c("security-keyvault-key-strength", [bad("key", lambda p: p["properties"].update(kty="EC-HSM",
                                                                                         curveName="P-384"))]),
        c(
            "security-keyvault-key-strength",
            [bad("key", put("properties.keySize", 1024))],
            ["properties.keySize is 1024; RSA keys need at least 2048 bits"],
        ),
        c(
            "security-keyvault-key-strength",
            [good("key")],
            ["properties.keySize is not set (the API then uses 2048); RSA keys need at least 3072 bits"],
            config={"minRsaKeySize": 3072},
        ),
        c(
            "security-keyvault-key-strength",
            [bad("key", put("properties.kty", "EC-HSM"))],
            ["properties.curveName is not set (the API then uses 'P-256'); use one of P-384, P-521"],
            config={"allowedCurves": ["P-384", "P-521"]},
        ),
        c(
            "security-keyvault-key-strength",
            [bad("key", lambda p: p["properties"].update(kty="EC", curveName="P-256K"))],
            ["properties.curveName is 'P-256K'; use one of P-256, P-384"],
            config={"allowedCurves": ["P-256", "P-384"]},
        ),
        c(
            "security-keyvault-key-strength",
            [bad("key", put("properties.kty", "EC-HSM"))],
            ["properties.kty is 'EC-HSM'; use one of RSA-HSM"],
            config={"allowedKeyTypes": ["RSA-HSM"]},
        ),
    ]


def stack_cases() -> list[Case]:
    c = Case
    cr = linked("registry", "cr")
    cr_public = linked("registry", "cr", {**GOOD["registry"], "publicNetworkAccess": "Enabled"})
    cr_basic = linked("registry", "cr", {**GOOD["registry"], "sku": {"name": "Basic"}})
    kv = linked("vault", "kv")
    kv_private = linked("vault", "kv", _with("vault", publicNetworkAccess="disabled"))

    def workspace(mode: str, registry: Resource, vault: Resource) -> Resource:
        return linked("workspace", "ws", {**BASE["workspace"], "managedNetwork": {"isolationMode": mode},
                                          "containerRegistry": Ref(registry.resolved_urn),
                                          "keyVault": Ref(vault.resolved_urn)})

    def endpoint_to(target: Resource, group: str, key: str = "privateLinkServiceConnections") -> Resource:
        return linked(tokens.PRIVATE_ENDPOINT, f"pep-{group}", {
            **WHERE, key: [{"name": group, "groupIds": [group], "privateLinkServiceId": Ref(target.resolved_urn)}]})

    no_endpoint = ("has no private endpoint with group {0}, and the managed network of its workspace creates none "
                   "(isolation mode AllowOnlyApprovedOutbound, or AllowInternetOutbound with public network access "
                   "Disabled)")
    no_workspace = "has no private endpoint with group {0} and no Azure ML workspace with a managed network in this " \
                   "stack uses it"
    return [
        c("security-acr-private-endpoint", [cr, endpoint_to(cr, "registry")], stack=True),
        c("security-acr-private-endpoint", [cr, endpoint_to(cr, "registry", "manualPrivateLinkServiceConnections")],
          stack=True),
        c("security-acr-private-endpoint", [cr, kv, workspace("AllowOnlyApprovedOutbound", cr, kv)], stack=True),
        c("security-acr-private-endpoint", [cr, kv, workspace("AllowInternetOutbound", cr, kv)], stack=True),
        c(
            "security-acr-private-endpoint",
            [cr_public, kv, workspace("AllowInternetOutbound", cr_public, kv)],
            [f"cr (Registry) {no_endpoint.format('registry')}"],
            stack=True,
        ),
        c(
            "security-acr-private-endpoint",
            [cr, kv, workspace("Disabled", cr, kv), endpoint_to(cr, "blob")],
            [f"cr (Registry) {no_endpoint.format('registry')}"],
            stack=True,
        ),
        c("security-acr-private-endpoint", [cr], [f"cr (Registry) {no_workspace.format('registry')}"], stack=True),
        c(
            "security-acr-private-endpoint",
            [cr_basic, endpoint_to(cr_basic, "registry")],
            ["cr (Registry) has sku.name 'Basic'; only Premium registries support private endpoints"],
            stack=True,
        ),
        c("security-keyvault-private-endpoint", [kv, endpoint_to(kv, "vault")], stack=True),
        c("security-keyvault-private-endpoint", [cr, kv, workspace("AllowOnlyApprovedOutbound", cr, kv)], stack=True),
        c("security-keyvault-private-endpoint", [cr, kv_private, workspace("AllowInternetOutbound", cr, kv_private)],
          stack=True),
        c(
            "security-keyvault-private-endpoint",
            [cr, kv, workspace("AllowInternetOutbound", cr, kv)],
            [f"kv (Vault) {no_endpoint.format('vault')}"],
            stack=True,
        ),
        c(
            "security-keyvault-private-endpoint",
            [kv, endpoint_to(kv, "registry")],
            [f"kv (Vault) {no_workspace.format('vault')}"],
            stack=True,
        ),
    ]
