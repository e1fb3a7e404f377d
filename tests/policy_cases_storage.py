"""Policy rule cases for storage accounts, their services, containers, shares and encryption scopes.

Helpers and how cases run: ``policy_cases.py``.
"""

from __future__ import annotations

from typing import Any

from policy_cases import GOOD as BASE
from policy_cases import WHERE, Case, Ref, bad, good, linked, put

from policies.harness import Resource
from policies.lib import types as tokens

KEY_URI = "https://kv-fraud.vault.azure.net/keys/st-cmk"
#: Compliant resources of this area, by kind (added to ``policy_cases.GOOD``; each must pass every rule of every pack).
GOOD: dict[str, dict[str, Any]] = {
    "fileservice": {"shareDeleteRetentionPolicy": {"enabled": True, "days": 7}},
    "encryptionscope": {"source": "Microsoft.Storage", "requireInfrastructureEncryption": True, "state": "Enabled"},
    "defender": {
        "properties": {
            "isEnabled": True,
            "overrideSubscriptionLevelSettings": True,
            "malwareScanning": {"onUpload": {"isEnabled": True, "capGBPerMonth": 5000}},
            "sensitiveDataDiscovery": {"isEnabled": True},
        },
    },
}
#: Their Pulumi types (added to ``policy_cases.TYPES``).
TYPES: dict[str, str] = {
    "fileservice": tokens.FILE_SERVICE,
    "encryptionscope": tokens.ENCRYPTION_SCOPE,
    "defender": tokens.DEFENDER_FOR_STORAGE,
}

CMK = {"keySource": "Microsoft.Keyvault", "keyVaultProperties": {"keyVaultUri": "https://kv-fraud.vault.azure.net",
                                                                  "keyName": "st-cmk"},
       "services": {"blob": {"enabled": True, "keyType": "Account"}, "file": {"enabled": True, "keyType": "Account"},
                    "queue": {"enabled": True, "keyType": "Account"}, "table": {"enabled": True, "keyType": "Account"}}}


def resource_cases() -> list[Case]:
    c = Case
    return [
        # Network: rule lists and the exact bypass (anchors 2a1a9cdf, 7809fda1).
        c(
            "security-storage-network-restricted",
            [bad("storage", lambda p: p.update(networkRuleSet={
                "defaultAction": "Deny", "bypass": "Logging, Metrics, AzureServices",
                "ipRules": [{"iPAddressOrRange": "203.0.113.0/24", "action": "Allow"}],
                "virtualNetworkRules": [{"virtualNetworkResourceId": "/subscriptions/x/snet", "action": "Allow"}]}))],
            ["networkRuleSet.bypass is 'Logging, Metrics, AzureServices'; bypass AzureServices only",
             "networkRuleSet.ipRules has 1 entry; leave it empty and reach the account through private endpoints",
             "networkRuleSet.virtualNetworkRules has 1 entry; leave it empty and reach the account through private "
             "endpoints"],
        ),
        c(
            "security-storage-network-restricted",
            [bad("storage", put("networkRuleSet.virtualNetworkRules",
                                [{"virtualNetworkResourceId": "/subscriptions/x/snet", "action": "Allow"}]))],
            config={"allowedRuleLists": ["virtualNetworkRules"]},
        ),
        # SAS: the whole DD.HH:MM:SS counts, and longer tokens are refused (anchor 7aa1c9d5).
        c(
            "security-storage-sas-expiry-policy",
            [bad("storage", lambda p: p.update(sasPolicy={"sasExpirationPeriod": "7.01:00:00",
                                                          "expirationAction": "Log"}))],
            ["sasPolicy.sasExpirationPeriod is 7.01:00:00; at most 7 days are allowed",
             "sasPolicy.expirationAction is 'Log'; set it to 'Block' so longer tokens are refused"],
        ),
        c("security-storage-sas-expiry-policy",
          [bad("storage", lambda p: p.update(sasPolicy={"sasExpirationPeriod": "7.00:00:00",
                                                        "expirationAction": "Log"}))],
          config={"expirationAction": "Log"}),
        c(
            "security-storage-sas-expiry-policy",
            [bad("storage", put("sasPolicy.sasExpirationPeriod", "P1D"))],
            ["sasPolicy.sasExpirationPeriod is 'P1D'; use the form DD.HH:MM:SS"],
        ),
        # Encryption scopes (anchor bfecdea6); keySource compares case-insensitively.
        c("security-storage-infrastructure-encryption", [good("encryptionscope")]),
        c("security-storage-infrastructure-encryption",
          [bad("storage", lambda p: p.update(encryption={**CMK, "keySource": "Microsoft.KeyVault"}))]),
        c(
            "security-storage-infrastructure-encryption",
            [bad("encryptionscope", put("requireInfrastructureEncryption", None))],
            ["requireInfrastructureEncryption is not true; set it when creating the encryption scope"],
        ),
        # Local users (CKV_AZURE_244): unset counts as on.
        c("security-storage-local-users-disabled", [good("storage")]),
        c(
            "security-storage-local-users-disabled",
            [bad("storage", put("isLocalUserEnabled", None))],
            ["isLocalUserEnabled is not false"],
        ),
        # Customer-managed keys: required by config; queues and tables always follow the account's key.
        c("security-storage-customer-managed-key", [good("storage"), good("encryptionscope")]),
        c("security-storage-customer-managed-key",
          [bad("storage", put("encryption", CMK)),
           bad("encryptionscope",
               lambda p: p.update(source="Microsoft.KeyVault", keyVaultProperties={"keyUri": KEY_URI}))],
          config={"required": True}),
        c(
            "security-storage-customer-managed-key",
            [good("storage"), good("encryptionscope")],
            ["encryption.keySource is 'Microsoft.Storage'; set it to 'Microsoft.Keyvault' with a key in Key Vault",
             "source is 'Microsoft.Storage'; set it to 'Microsoft.KeyVault' with a key in Key Vault"],
            config={"required": True},
        ),
        c(
            "security-storage-customer-managed-key",
            [bad("storage", lambda p: p.update(encryption={
                "keySource": "Microsoft.Keyvault", "keyVaultProperties": {"keyName": "st-cmk"},
                "services": {"blob": {"keyType": "Account"}, "table": {"keyType": "Service"}}}))],
            ["encryption.keyVaultProperties.keyVaultUri is not set",
             "encryption.services.queue.keyType is None; set it to 'Account' so queues use the customer-managed key",
             "encryption.services.table.keyType is 'Service'; set it to 'Account' so tables use the customer-managed "
             "key"],
        ),
        c(
            "security-storage-customer-managed-key",
            [bad("encryptionscope", lambda p: p.update(source="Microsoft.KeyVault"))],
            ["keyVaultProperties.keyUri is not set"],
            config={"required": True},
        ),
        # File share soft delete (Azure.Storage.FileShareSoftDelete).
        c("security-storage-file-share-soft-delete", [good("fileservice")]),
        c(
            "security-storage-file-share-soft-delete",
            [bad("fileservice", put("shareDeleteRetentionPolicy", None))],
            ["shareDeleteRetentionPolicy is not enabled"],
        ),
        c(
            "security-storage-file-share-soft-delete",
            [bad("fileservice", put("shareDeleteRetentionPolicy.days", 3))],
            ["shareDeleteRetentionPolicy.days is 3; keep at least 7 days"],
        ),
        # Defender for Storage per-account settings (Azure.Storage.Defender.MalwareScan / DataScan).
        c("security-storage-defender-not-disabled", [good("defender"), Resource(tokens.DEFENDER_FOR_STORAGE, "d", {})]),
        c(
            "security-storage-defender-not-disabled",
            [bad("defender", lambda p: p.update(properties={
                "isEnabled": True, "overrideSubscriptionLevelSettings": True,
                "malwareScanning": {"onUpload": {"isEnabled": False}},
                "sensitiveDataDiscovery": {"isEnabled": False}}))],
            ["properties.malwareScanning.onUpload.isEnabled is false; leave it true or unset",
             "properties.sensitiveDataDiscovery.isEnabled is false; leave it true or unset"],
        ),
        c(
            "security-storage-defender-not-disabled",
            [bad("defender", put("properties.isEnabled", False))],
            ["properties.isEnabled is false; leave it true or unset"],
        ),
        # Without the override the subscription's plan applies for now; the message says when the false bites.
        c(
            "security-storage-defender-not-disabled",
            [bad("defender", lambda p: p.update(properties={"isEnabled": False}))],
            ["properties.isEnabled is false (it turns Defender off for the account once "
             "properties.overrideSubscriptionLevelSettings is true); leave it true or unset"],
        ),
    ]


def _service(kind: str, name: str, account: Resource, props: dict[str, Any] | None = None) -> Resource:
    """A blob or file service of ``account``: its accountName comes from the account, and its id (after up) is the
    one Azure gives it, ``<account id>/blobServices/default`` (``linked`` names other types under the group)."""
    segment = "blobServices" if kind == "blob" else "fileServices"
    return linked(kind, name, {**(props if props is not None else GOOD.get(kind, BASE.get(kind, {}))),
                               "accountName": Ref(account.resolved_urn, "name")}, under=(account, f"{segment}/default"))


def stack_cases() -> list[Case]:
    c = Case
    st = linked("storage", "st")
    st_other = linked("storage", "st-other")
    blob_store = linked("storage", "st-blob", {**BASE["storage"], "kind": "BlockBlobStorage"})
    hns = linked("storage", "st-dl", {**BASE["storage"], "isHnsEnabled": True})
    files = linked("storage", "st-files", {**BASE["storage"], "kind": "FileStorage"})
    page_blobs = linked("storage", "st-pages", {**BASE["storage"], "sku": {"name": "premium_lrs"}})

    def endpoint(name: str, target: Resource, group: str, key: str = "privateLinkServiceConnections") -> Resource:
        return linked(tokens.PRIVATE_ENDPOINT, name, {
            **WHERE, key: [{"name": name, "groupIds": [group], "privateLinkServiceId": Ref(target.resolved_urn)}]})

    return [
        c("security-storage-private-endpoint", [st, endpoint("pep-blob", st, "blob")], stack=True),
        c("security-storage-private-endpoint",
          [st, st_other, endpoint("pep-file", st, "file"), endpoint("pep-other", st_other, "dfs")], stack=True),
        c(
            "security-storage-private-endpoint",
            [st, st_other, endpoint("pep-blob", st, "blob"),
             endpoint("pep-manual", st_other, "blob", "manualPrivateLinkServiceConnections")],
            ["st-other (StorageAccount) has no private endpoint (automatic connection) to a storage service"],
            stack=True,
        ),
        c(
            "security-storage-private-endpoint",
            [st, endpoint("pep-ws", st, "amlworkspace")],
            ["st (StorageAccount) has no private endpoint (automatic connection) to a storage service"],
            stack=True,
        ),
        c("security-storage-services-configured", [st, _service("blob", "st-blob", st)], stack=True),
        c("security-storage-services-configured",
          [st, _service("blob", "st-blob", st), _service("fileservice", "st-file", st)],
          config={"requireFileService": True}, stack=True),
        # Premium block blob and premium StorageV2 (page blob) accounts have no Azure Files, FileStorage accounts
        # no blobs, and Azure.Storage.FileShareSoftDelete leaves accounts with a hierarchical namespace out.
        c("security-storage-services-configured",
          [blob_store, _service("blob", "st-blob-blob", blob_store), hns, _service("blob", "st-dl-blob", hns),
           page_blobs, _service("blob", "st-pages-blob", page_blobs),
           files, _service("fileservice", "st-files-file", files)], config={"requireFileService": True}, stack=True),
        c(
            "security-storage-services-configured",
            [st, st_other, _service("fileservice", "st-other-file", st_other)],
            ["st (StorageAccount) has no BlobServiceProperties in this stack; blob soft delete and versioning are not "
             "set",
             "st-other (StorageAccount) has no BlobServiceProperties in this stack; blob soft delete and versioning "
             "are not set"],
            stack=True,
        ),
        c(
            "security-storage-services-configured",
            [st, st_other, _service("blob", "st-blob", st), _service("fileservice", "st-other-file", st_other)],
            ["st (StorageAccount) has no FileServiceProperties in this stack; file share soft delete is not set",
             "st-other (StorageAccount) has no BlobServiceProperties in this stack; blob soft delete and versioning "
             "are not set"],
            config={"requireFileService": True},
            stack=True,
        ),
    ]
