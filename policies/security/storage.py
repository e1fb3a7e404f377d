"""Storage accounts and their blob services: network exposure, authentication, encryption and data protection."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..lib.props import get
from ..lib.rules import Refs, Resource, setting
from ..lib.types import BLOB_CONTAINER, BLOB_SERVICE, STORAGE_ACCOUNT
from . import RULES

STORAGE_DOCS = "https://learn.microsoft.com/azure/storage"



@RULES.resource(
    "security-storage-https-only",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts accept encrypted (HTTPS) traffic only.",
    severity="high",
    remediation="Set enableHttpsTrafficOnly to true.",
    url=f"{STORAGE_DOCS}/common/storage-require-secure-transfer",
    refs=Refs(mcsb=("DP-3",), cis=("3.1",), azure_policy=("404c3081-a854-4457-ae30-26a93ef643f9",),
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
    refs=Refs(mcsb=("PA-1", "DP-2"), cis=("3.7",), azure_policy=("4fa4b6c0-31ca-4c0d-b10d-24b96f62a751",),
              checkov=("CKV_AZURE_190",), psrule=("Azure.Storage.BlobPublicAccess",), pulumi=("storage public blob",)),
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
    refs=Refs(mcsb=("PA-1",), checkov=("CKV_AZURE_34",)),
)
def container_private(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    value = r.props.get("publicAccess")
    if value not in (None, "None"):
        yield f"publicAccess is {value!r}; set it to 'None'"


@RULES.resource(
    "security-storage-network-restricted",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts deny network access by default (or disable public network access) and let "
                "trusted Azure services through.",
    severity="high",
    remediation="Set publicNetworkAccess to Disabled, or networkRuleSet.defaultAction to Deny with bypass "
                "AzureServices; reach the account through private endpoints.",
    url=f"{STORAGE_DOCS}/common/storage-network-security",
    refs=Refs(mcsb=("NS-2",), cis=("3.8", "3.9"), azure_policy=("34c877ad-507e-4c82-993e-3452a6e0ad3c",),
              checkov=("CKV_AZURE_35", "CKV_AZURE_36", "CKV_AZURE_59"), psrule=("Azure.Storage.Firewall",)),
)
def storage_network(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("publicNetworkAccess") == "Disabled":
        return
    action = get(r.props, "networkRuleSet.defaultAction")
    if action != "Deny":
        yield f"networkRuleSet.defaultAction is {action!r} and public network access is enabled; use 'Deny'"
    elif "AzureServices" not in str(get(r.props, "networkRuleSet.bypass", "")):
        yield "networkRuleSet.bypass does not include AzureServices; trusted services such as Azure ML are blocked"


@RULES.resource(
    "security-storage-shared-key-disabled",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts accept Microsoft Entra authorization only (shared keys off).",
    severity="high",
    remediation="Set allowSharedKeyAccess to false and grant identities data-plane roles (Storage Blob Data ...).",
    url=f"{STORAGE_DOCS}/common/shared-key-authorization-prevent",
    refs=Refs(mcsb=("IM-1",), azure_policy=("8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54",), checkov=("CKV2_AZURE_40",)),
)
def storage_shared_key(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("allowSharedKeyAccess") is not False:
        yield "allowSharedKeyAccess is not false"


@RULES.resource(
    "security-storage-sas-expiry-policy",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts limit how long SAS tokens may be valid.",
    severity="medium",
    remediation="Set sasPolicy.sasExpirationPeriod (for example 1.00:00:00) and expirationAction.",
    url=f"{STORAGE_DOCS}/common/sas-expiration-policy",
    refs=Refs(mcsb=("IM-8",), checkov=("CKV2_AZURE_41",)),
    config={"maxDays": setting("integer", 7, "Longest SAS validity allowed, in days.", minimum=1)},
)
def storage_sas(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    period = get(r.props, "sasPolicy.sasExpirationPeriod")
    if not period:
        yield "sasPolicy.sasExpirationPeriod is not set"
        return
    days = int(str(period).split(".")[0]) if "." in str(period) else 0
    if days > cfg["maxDays"]:
        yield f"sasPolicy.sasExpirationPeriod is {period}; at most {cfg['maxDays']} days are allowed"


@RULES.resource(
    "security-storage-infrastructure-encryption",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts encrypt data twice (infrastructure encryption), or with a customer-managed key.",
    severity="medium",
    remediation="Set encryption.requireInfrastructureEncryption to true when creating the account (it cannot be "
                "changed later), or encryption.keySource to Microsoft.Keyvault.",
    url=f"{STORAGE_DOCS}/common/infrastructure-encryption-enable",
    refs=Refs(mcsb=("DP-4", "DP-5"), azure_policy=("4733ea7b-a883-42fe-8cac-97454c2a9e4a",),
              checkov=("CKV2_AZURE_1",)),
)
def storage_infra_encryption(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if (get(r.props, "encryption.requireInfrastructureEncryption") is not True
            and get(r.props, "encryption.keySource") != "Microsoft.Keyvault"):
        yield "neither infrastructure encryption nor a customer-managed key is configured"


@RULES.resource(
    "security-storage-no-cross-tenant-replication",
    types=[STORAGE_ACCOUNT],
    description="Storage accounts do not replicate objects to other Microsoft Entra tenants.",
    severity="high",
    remediation="Set allowCrossTenantReplication to false.",
    url=f"{STORAGE_DOCS}/blobs/object-replication-prevent-cross-tenant-policies",
    refs=Refs(mcsb=("DP-2",), azure_policy=("92a89a79-6c52-4a7e-a03f-61306fc49312",), checkov=("CKV_AZURE_206",)),
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
    refs=Refs(mcsb=("BR-1",), cis=("3.11",), checkov=("CKV2_AZURE_38",),
              psrule=("Azure.Storage.SoftDelete", "Azure.Storage.ContainerSoftDelete")),
    config={"minDays": setting("integer", 7, "Shortest soft-delete retention allowed, in days.", minimum=1)},
)
def blob_soft_delete(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    for policy in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        if get(r.props, f"{policy}.enabled") is not True:
            yield f"{policy} is not enabled"
        elif (days := get(r.props, f"{policy}.days") or 0) < cfg["minDays"]:
            yield f"{policy}.days is {days:g}; keep at least {cfg['minDays']} days"


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
