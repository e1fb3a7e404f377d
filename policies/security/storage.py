"""Storage accounts and their blob services: network exposure, authentication, encryption and data protection."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.graph import Links, is_set, label, of_type, peek
from ..lib.props import get
from ..lib.rules import Refs, Resource, setting
from ..lib.types import (
    BLOB_CONTAINER,
    BLOB_SERVICE,
    DEFENDER_FOR_STORAGE,
    ENCRYPTION_SCOPE,
    FILE_SERVICE,
    STORAGE_ACCOUNT,
)
from . import RULES
from .network import private_endpoint_targets

STORAGE_DOCS = "https://learn.microsoft.com/azure/storage"
#: ``sasPolicy.sasExpirationPeriod`` as the API takes it: ``DD.HH:MM:SS`` (the day part may be left out).
_SAS_PERIOD = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{2}):(?P<seconds>\d{2})$")
#: The network rule lists of ``networkRuleSet`` (2024-01-01 ``NetworkRuleSet``): each opens the account to more than
#: the trusted services and private endpoints.
_RULE_LISTS = ("ipRules", "virtualNetworkRules", "resourceAccessRules")
#: Private link sub-resources (group ids) of a storage account (Learn, storage-private-endpoints, "Creating a
#: private endpoint").
STORAGE_GROUPS = frozenset({"blob", "blob_secondary", "file", "queue", "queue_secondary", "table", "table_secondary",
                            "web", "web_secondary", "dfs", "dfs_secondary"})



@RULES.resource(
    "security-storage-https-only",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts accept encrypted (HTTPS) traffic only.",
    severity="high",
    remediation="Set enableHttpsTrafficOnly to true.",
    url=f"{STORAGE_DOCS}/common/storage-require-secure-transfer",
    refs=Refs(mcsb=("DP-3",), cis=("3.1",),
              azure_policy=("404c3081-a854-4457-ae30-26a93ef643f9", "f81e3117-0093-4b17-8a60-82363134f0eb"),
              checkov=("CKV_AZURE_3",), psrule=("Azure.Storage.SecureTransfer",), pulumi=("storage HTTPS",)),
)
def storage_https(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("enableHttpsTrafficOnly") is False:
        yield "enableHttpsTrafficOnly is false"


@RULES.resource(
    "security-storage-no-public-blob-access",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts allow no anonymous (public) access to blobs.",
    severity="critical",
    remediation="Set allowBlobPublicAccess to false.",
    url=f"{STORAGE_DOCS}/blobs/anonymous-read-access-prevent",
    refs=Refs(mcsb=("PA-1", "DP-2"), cis=("3.7",),
              azure_policy=("4fa4b6c0-31ca-4c0d-b10d-24b96f62a751", "13502221-8df0-4414-9937-de9c5c4e396b"),
              checkov=("CKV_AZURE_190", "CKV2_AZURE_47"), psrule=("Azure.Storage.BlobPublicAccess",),
              pulumi=("storage public blob",)),
)
def storage_public_blob(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("allowBlobPublicAccess") is not False:
        yield "allowBlobPublicAccess is not false"


@RULES.resource(
    "security-storage-container-private",
    types=[BLOB_CONTAINER],
    description="Blob containers allow no anonymous access.",
    severity="critical",
    remediation="Set publicAccess to None (or leave it unset).",
    url=f"{STORAGE_DOCS}/blobs/anonymous-read-access-configure",
    refs=Refs(mcsb=("PA-1",), checkov=("CKV_AZURE_34", "CKV2_AZURE_8"), psrule=("Azure.Storage.BlobAccessType",)),
)
def container_private(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    value = r.props.get("publicAccess")
    if value not in (None, "None"):
        yield f"publicAccess is {value!r}; set it to 'None'"


@RULES.resource(
    "security-storage-network-restricted",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts deny network access by default (or disable public network access), let trusted "
                "Azure services through and open no other network path.",
    severity="high",
    remediation="Set publicNetworkAccess to Disabled, or networkRuleSet.defaultAction to Deny with bypass "
                "AzureServices only and no ipRules, virtualNetworkRules or resourceAccessRules; reach the account "
                "through private endpoints.",
    url=f"{STORAGE_DOCS}/common/storage-network-security",
    refs=Refs(mcsb=("NS-2",), cis=("3.8", "3.9"),
              azure_policy=("34c877ad-507e-4c82-993e-3452a6e0ad3c", "2a1a9cdf-e04d-429a-8416-3bfb72a1b26f",
                            "db4f9b05-5ffd-4b34-b714-3c710dbb3fd6", "7809fda1-ba27-48c1-9c63-1f5aee46ba89",
                            "41a72361-06e3-4e80-832a-690bd0708bc1", "c9d007d0-c057-4772-b18c-01e546713bcd"),
              checkov=("CKV_AZURE_35", "CKV_AZURE_36", "CKV_AZURE_59"), psrule=("Azure.Storage.Firewall",)),
    config={"allowedRuleLists": setting(
        "array", [], "networkRuleSet lists that may have entries (ipRules, virtualNetworkRules, resourceAccessRules) "
                     "for a reviewed exception; by default all stay empty.",
        items={"type": "string", "enum": list(_RULE_LISTS)})},
)
def storage_network(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    # Disabled public network access refuses every request that does not come through a private endpoint, the
    # firewall rules included (Azure Policy b2982f36: it "denies all logins that match IP or virtual network-based
    # firewall rules"), so the rule set is then moot.
    if r.props.get("publicNetworkAccess") == "Disabled":
        return
    action = get(r.props, "networkRuleSet.defaultAction")
    if action != "Deny":
        yield f"networkRuleSet.defaultAction is {action!r} and public network access is enabled; use 'Deny'"
    else:
        bypass = str(get(r.props, "networkRuleSet.bypass", ""))
        values = {part.strip() for part in bypass.split(",") if part.strip()}
        if "AzureServices" not in values:
            yield ("networkRuleSet.bypass does not include AzureServices; trusted services such as Azure ML are "
                   "blocked")
        elif values != {"AzureServices"}:
            # Logging and Metrics let anyone read the account's Storage Analytics logs or metrics from any network.
            yield f"networkRuleSet.bypass is {bypass!r}; bypass AzureServices only"
    for key in _RULE_LISTS:
        entries = get(r.props, f"networkRuleSet.{key}") or []
        if entries and key not in cfg["allowedRuleLists"]:
            count = f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}"
            yield f"networkRuleSet.{key} has {count}; leave it empty and reach the account through private endpoints"


@RULES.resource(
    "security-storage-shared-key-disabled",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts accept Microsoft Entra authorization only (shared keys off).",
    severity="high",
    remediation="Set allowSharedKeyAccess to false and grant identities data-plane roles (Storage Blob Data ...).",
    url=f"{STORAGE_DOCS}/common/shared-key-authorization-prevent",
    refs=Refs(mcsb=("IM-1",),
              azure_policy=("8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54", "fd9903f1-38c2-4d36-8e44-5c1c20c561e8"),
              checkov=("CKV2_AZURE_40",), psrule=("Azure.Storage.LocalAuth",)),
)
def storage_shared_key(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("allowSharedKeyAccess") is not False:
        yield "allowSharedKeyAccess is not false"


@RULES.resource(
    "security-storage-sas-expiry-policy",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts limit how long SAS tokens may be valid and refuse tokens that are valid longer.",
    severity="medium",
    remediation="Set sasPolicy.sasExpirationPeriod (DD.HH:MM:SS, for example 1.00:00:00) and "
                "sasPolicy.expirationAction to Block.",
    url=f"{STORAGE_DOCS}/common/sas-expiration-policy",
    refs=Refs(mcsb=("IM-8",), azure_policy=("bc1b984e-ddae-40cc-801a-050a030e4fbe",
                                            "7aa1c9d5-3d7e-4579-8117-d85e99211757"),
              checkov=("CKV2_AZURE_41",)),
    config={
        "maxDays": setting("integer", 7, "Longest SAS validity allowed, in days.", minimum=1),
        "expirationAction": setting("string", "Block", "Required sasPolicy.expirationAction: Block refuses longer "
                                                       "tokens, Log only records them.", enum=["Block", "Log"]),
    },
)
def storage_sas(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    period = get(r.props, "sasPolicy.sasExpirationPeriod")
    if not period:
        yield "sasPolicy.sasExpirationPeriod is not set"
        return
    match = _SAS_PERIOD.match(str(period))
    if match is None:
        yield f"sasPolicy.sasExpirationPeriod is {period!r}; use the form DD.HH:MM:SS"
    elif dt.timedelta(**{k: int(v) for k, v in match.groupdict().items() if v}) > dt.timedelta(days=cfg["maxDays"]):
        yield f"sasPolicy.sasExpirationPeriod is {period}; at most {cfg['maxDays']} days are allowed"
    action = get(r.props, "sasPolicy.expirationAction")
    if cfg["expirationAction"] == "Block" and action != "Block":
        yield f"sasPolicy.expirationAction is {action!r}; set it to 'Block' so longer tokens are refused"


@RULES.resource(
    "security-storage-infrastructure-encryption",
    types=[STORAGE_ACCOUNT, ENCRYPTION_SCOPE],
    description="Storage accounts encrypt data twice (infrastructure encryption), or with a customer-managed key; "
                "encryption scopes always encrypt twice.",
    severity="medium",
    remediation="Set encryption.requireInfrastructureEncryption to true when creating the account (it cannot be "
                "changed later), or encryption.keySource to Microsoft.Keyvault; set requireInfrastructureEncryption "
                "to true when creating an encryption scope.",
    url=f"{STORAGE_DOCS}/common/infrastructure-encryption-enable",
    refs=Refs(mcsb=("DP-4", "DP-5"), azure_policy=("4733ea7b-a883-42fe-8cac-97454c2a9e4a",
                                                   "bfecdea6-31c4-4045-ad42-71b9dc87247d")),
)
def storage_infra_encryption(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.type == ENCRYPTION_SCOPE:
        if r.props.get("requireInfrastructureEncryption") is not True:
            yield "requireInfrastructureEncryption is not true; set it when creating the encryption scope"
        return
    if (get(r.props, "encryption.requireInfrastructureEncryption") is not True
            and str(get(r.props, "encryption.keySource", "")).lower() != "microsoft.keyvault"):
        yield "neither infrastructure encryption nor a customer-managed key is configured"


@RULES.resource(
    "security-storage-no-cross-tenant-replication",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts do not replicate objects to other Microsoft Entra tenants.",
    severity="high",
    remediation="Set allowCrossTenantReplication to false.",
    url=f"{STORAGE_DOCS}/blobs/object-replication-prevent-cross-tenant-policies",
    refs=Refs(mcsb=("DP-2",), azure_policy=("92a89a79-6c52-4a7e-a03f-61306fc49312",)),
)
def storage_cross_tenant(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("allowCrossTenantReplication") is not False:
        yield "allowCrossTenantReplication is not false"


@RULES.resource(
    "security-storage-blob-soft-delete",
    types=[BLOB_SERVICE],
    description="Deleted blobs and containers can be recovered (soft delete) for a minimum number of days.",
    severity="medium",
    remediation="Enable deleteRetentionPolicy and containerDeleteRetentionPolicy with days at least the minimum.",
    url=f"{STORAGE_DOCS}/blobs/soft-delete-blob-overview",
    refs=Refs(mcsb=("BR-1",), cis=("3.11",), azure_policy=("9fbd64e3-67b8-489b-98e5-fa0007d17e76",),
              checkov=("CKV2_AZURE_38",),
              psrule=("Azure.Storage.SoftDelete", "Azure.Storage.ContainerSoftDelete")),
    config={"minDays": setting("integer", 7, "Shortest soft-delete retention allowed, in days.", minimum=1)},
)
def blob_soft_delete(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    for policy in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        yield from _retention(r, policy, cfg["minDays"])


def _retention(r: Resource, policy: str, min_days: int) -> Iterator[str]:
    """A soft-delete retention policy (``enabled``, ``days``) that is on and keeps at least ``min_days``."""
    if get(r.props, f"{policy}.enabled") is not True:
        yield f"{policy} is not enabled"
    elif (days := get(r.props, f"{policy}.days") or 0) < min_days:
        yield f"{policy}.days is {days:g}; keep at least {min_days} days"


@RULES.resource(
    "security-storage-blob-versioning",
    types=[BLOB_SERVICE],
    description="Blob versioning keeps previous versions of overwritten data (training data, models).",
    severity="medium",
    remediation="Set isVersioningEnabled to true.",
    url=f"{STORAGE_DOCS}/blobs/versioning-overview",
    refs=Refs(mcsb=("BR-1",),
              azure_policy=("c36a325b-ae04-4863-ad4f-19c6678f8e08", "978deb5d-c9a7-41f8-b4b2-b76880d0de1f")),
)
def blob_versioning(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("isVersioningEnabled") is not True:
        yield "isVersioningEnabled is not true"


@RULES.resource(
    "security-storage-local-users-disabled",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts have no local users (SFTP and NFS users with their own passwords, SSH keys and "
                "shared keys that bypass Microsoft Entra authorization).",
    severity="high",
    remediation="Set isLocalUserEnabled to false.",
    url=f"{STORAGE_DOCS}/blobs/secure-file-transfer-protocol-support-authorize-access",
    refs=Refs(mcsb=("IM-1",), checkov=("CKV_AZURE_244",)),
)
def storage_local_users(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    # The REST API documents no default ("Enables local users feature, if set to true"; storage.json 2024-01-01),
    # so only an explicit false is known to be off before deployment.
    if r.props.get("isLocalUserEnabled") is not False:
        yield "isLocalUserEnabled is not false"


@RULES.resource(
    "security-storage-customer-managed-key",
    types=[STORAGE_ACCOUNT, ENCRYPTION_SCOPE],
    description="Storage accounts and encryption scopes encrypt data with a customer-managed key where the config "
                "requires it, and an account with one uses it for queues and tables too.",
    severity="medium",
    remediation="Set encryption.keySource to Microsoft.Keyvault with encryption.keyVaultProperties (keyVaultUri, "
                "keyName), and encryption.services.queue.keyType and .table.keyType to Account when creating the "
                "account (they cannot be changed later); give an encryption scope source Microsoft.KeyVault and "
                "keyVaultProperties.keyUri.",
    url=f"{STORAGE_DOCS}/common/customer-managed-keys-overview",
    refs=Refs(mcsb=("DP-5",),
              azure_policy=("6fac406b-40ca-413b-bf8e-0bf964659c25",
                            "b5ec538c-daa0-4006-8596-35468b9148e8",
                            "f0e5abd0-2554-4736-b7c0-4ffef23475ef",
                            "7c322315-e26d-4174-a99e-f49d351b4688"),
              checkov=("CKV2_AZURE_1",)),
    config={"required": setting("boolean", False, "Require a customer-managed key on every storage account and "
                                                  "encryption scope.")},
)
def storage_cmk(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    # Key sources compare case-insensitively (the API's enums; Azure Policy writes Microsoft.Keyvault).
    if r.type == ENCRYPTION_SCOPE:
        source = get(r.props, "source")
        if cfg["required"]:
            if str(source or "").lower() != "microsoft.keyvault":
                yield f"source is {source!r}; set it to 'Microsoft.KeyVault' with a key in Key Vault"
            elif not is_set(r.props, "keyVaultProperties.keyUri"):
                yield "keyVaultProperties.keyUri is not set"
        return
    source = get(r.props, "encryption.keySource")
    if str(source or "").lower() != "microsoft.keyvault":
        if cfg["required"]:
            yield f"encryption.keySource is {source!r}; set it to 'Microsoft.Keyvault' with a key in Key Vault"
        return
    for key in ("keyVaultUri", "keyName"):
        if not is_set(r.props, f"encryption.keyVaultProperties.{key}"):
            yield f"encryption.keyVaultProperties.{key} is not set"
    # Queues and tables default to a service-scoped key, which stays Microsoft-managed (account-encryption-key-create).
    for service in ("queue", "table"):
        kind = get(r.props, f"encryption.services.{service}.keyType")
        if kind != "Account":
            yield (f"encryption.services.{service}.keyType is {kind!r}; set it to 'Account' so {service}s use the "
                   "customer-managed key")


@RULES.resource(
    "security-storage-file-share-soft-delete",
    types=[FILE_SERVICE],
    description="Deleted file shares (Azure ML keeps notebooks on one) can be recovered (soft delete) for a minimum "
                "number of days.",
    severity="medium",
    remediation="Set shareDeleteRetentionPolicy.enabled to true and shareDeleteRetentionPolicy.days to at least the "
                "minimum.",
    url=f"{STORAGE_DOCS}/files/storage-files-enable-soft-delete",
    refs=Refs(mcsb=("BR-1",), psrule=("Azure.Storage.FileShareSoftDelete",)),
    config={"minDays": setting("integer", 7, "Shortest share soft-delete retention allowed, in days.", minimum=1,
                               maximum=365)},
)
def file_share_soft_delete(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    yield from _retention(r, "shareDeleteRetentionPolicy", cfg["minDays"])


@RULES.resource(
    "security-storage-defender-not-disabled",
    types=[DEFENDER_FOR_STORAGE],
    description="Per-account Defender for Storage settings do not switch off threat protection, malware scanning "
                "or sensitive data discovery.",
    severity="high",
    remediation="Leave properties.isEnabled, properties.malwareScanning.onUpload.isEnabled and "
                "properties.sensitiveDataDiscovery.isEnabled true (or unset, so the subscription's Defender for "
                "Storage plan applies).",
    url="https://learn.microsoft.com/azure/defender-for-cloud/defender-for-storage-infrastructure-as-code-enablement",
    refs=Refs(mcsb=("LT-1",), psrule=("Azure.Storage.Defender.MalwareScan", "Azure.Storage.Defender.DataScan")),
)
def defender_not_disabled(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    for path in ("properties.isEnabled", "properties.malwareScanning.onUpload.isEnabled",
                 "properties.sensitiveDataDiscovery.isEnabled"):
        if get(r.props, path) is not False:
            continue
        if path == "properties.isEnabled" and get(r.props, "properties.overrideSubscriptionLevelSettings") is not True:
            # Without the override the subscription's plan still applies; the setting waits for the override.
            yield (f"{path} is false (it turns Defender off for the account once "
                   "properties.overrideSubscriptionLevelSettings is true); leave it true or unset")
        else:
            yield f"{path} is false; leave it true or unset"


def _account_kind(account: PolicyResource) -> str:
    kind = peek(account.props, "kind")
    return kind if isinstance(kind, str) and kind else "StorageV2"


#: The services an account of each kind has (StorageV2 and Storage: all four, or with a premium SKU, page blobs
#: only: https://learn.microsoft.com/azure/storage/common/storage-account-overview, "Types of storage accounts").
KIND_SERVICES = {"BlobStorage": ("blobServices",), "BlockBlobStorage": ("blobServices",),
                 "FileStorage": ("fileServices",)}
STORAGE_SERVICES = ("blobServices", "fileServices", "queueServices", "tableServices")


def account_services(account: PolicyResource) -> tuple[str, ...]:
    """The services (``blobServices``, ``fileServices``, ``queueServices``, ``tableServices``) ``account`` has."""
    kind = _account_kind(account)
    if kind in KIND_SERVICES:
        return KIND_SERVICES[kind]
    sku = peek(peek(account.props, "sku"), "name")
    return ("blobServices",) if isinstance(sku, str) and sku.lower().startswith("premium_") else STORAGE_SERVICES


@RULES.stack(
    "security-storage-private-endpoint",
    description="Every storage account has a private endpoint to one of its services (blob, file, queue, table, "
                "web or dfs).",
    severity="high",
    remediation="Create a network.PrivateEndpoint whose privateLinkServiceConnections target the account with "
                "groupIds such as [blob] or [file] (set mlops-platform:network.private_endpoint_subnet_id); a "
                "manual connection does not count, as it waits for approval.",
    url=f"{STORAGE_DOCS}/common/storage-private-endpoints",
    refs=Refs(mcsb=("NS-2",),
              azure_policy=("1604f626-4d8d-4124-8bb8-b1e5f95562de", "6edd7eda-6dd8-40f7-810d-67160c639cd9",
                            "9f766f00-8d11-464e-80e1-4091d7874074"),
              checkov=("CKV2_AZURE_33",)),
)
def storage_private_endpoint(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
                             ) -> Iterator[tuple[str, str | None]]:
    # Only automatic connections: the anchors need an Approved connection, and a manual one stays Pending until the
    # account's owner approves it.
    linked = private_endpoint_targets(resources, STORAGE_GROUPS, keys=("privateLinkServiceConnections",))
    for account in of_type(resources, STORAGE_ACCOUNT):
        if account.urn not in linked:
            yield f"{label(account)} has no private endpoint (automatic connection) to a storage service", account.urn


@RULES.stack(
    "security-storage-services-configured",
    description="Every storage account has its blob service settings (and, where the config requires it, its file "
                "service settings) in the stack, so soft delete and versioning are set rather than left to defaults.",
    severity="medium",
    remediation="Add a storage.BlobServiceProperties (blobServicesName default) and, for standard StorageV2 and "
                "Storage and for FileStorage accounts without a hierarchical namespace, a "
                "storage.FileServiceProperties (fileServicesName default) for the account.",
    url=f"{STORAGE_DOCS}/blobs/soft-delete-blob-enable",
    refs=Refs(mcsb=("BR-1",), azure_policy=("9fbd64e3-67b8-489b-98e5-fa0007d17e76",),
              psrule=("Azure.Storage.FileShareSoftDelete",)),
    config={"requireFileService": setting(
        "boolean", False, "Also require a FileServiceProperties (share soft delete) for every account with a file "
                          "service (standard StorageV2 and Storage, FileStorage) without a hierarchical namespace.")},
)
def storage_services(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
                     ) -> Iterator[tuple[str, str | None]]:
    # A service's accountName is a URL path parameter, never an output: it links through its property dependency
    # or, with ids known, as the account above the service's own id (<account id>/blobServices/default).
    links = Links.of(resources)
    configured = {token: set().union(*([links.targets(s, prop="accountName") | links.containers(s)
                                        for s in of_type(resources, token)] or [set()]))
                  for token in (BLOB_SERVICE, FILE_SERVICE)}
    for account in of_type(resources, STORAGE_ACCOUNT):
        services = account_services(account)
        if "blobServices" in services and account.urn not in configured[BLOB_SERVICE]:
            yield (f"{label(account)} has no BlobServiceProperties in this stack; blob soft delete and versioning "
                   "are not set", account.urn)
        # Unknown on a first preview means not given as an input (the default, false); a hierarchical namespace
        # must be chosen at creation.
        hns = peek(account.props, "isHnsEnabled")
        if (cfg["requireFileService"] and "fileServices" in services and hns is not True
                and account.urn not in configured[FILE_SERVICE]):
            yield (f"{label(account)} has no FileServiceProperties in this stack; file share soft delete is not "
                   "set", account.urn)
