"""Policy rule cases for tags, regions, names, private endpoints and their DNS, role definitions.

Helpers and how cases run: ``policy_cases.py``.
"""

from __future__ import annotations

import copy
from typing import Any

import policy_cases
from policy_cases import RG, SUB, TAGS, WHERE, Case, Ref, bad, good, linked, put

from policies.harness import Resource
from policies.lib import types as tokens

PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
HUB = f"{SUB}/resourceGroups/rg-hub-network-prod-weu/providers/Microsoft.Network/privateDnsZones/"
ML_ZONES = ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net")
INSTANCE_ACTIONS = [
    "Microsoft.MachineLearningServices/workspaces/read",
    "Microsoft.MachineLearningServices/workspaces/computes/read",
    "Microsoft.MachineLearningServices/workspaces/computes/start/action",
    "Microsoft.MachineLearningServices/workspaces/computes/stop/action",
]

ACTION_GROUP_ID = f"{RG}/providers/Microsoft.Insights/actionGroups/ag-mlops-fraud-prod-weu"
DEPLOYMENTS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
#: Compliant resources of this area, by kind (added to ``policy_cases.GOOD``; each must pass every rule of every pack).
GOOD: dict[str, dict[str, Any]] = {
    "gov-roledef": {
        "roleName": "ML compute instance user (mlops shared prod weu)",
        "roleType": "CustomRole",
        "scope": SUB,
        "permissions": [{"actions": INSTANCE_ACTIONS}],
        "assignableScopes": [RG],
    },
    "gov-pep": {
        **WHERE,
        "privateEndpointName": "pep-mlops-fraud-blob-prod-weu",
        "subnet": {"id": f"{SUB}/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe"},
        "privateLinkServiceConnections": [{
            "name": "pep-mlops-fraud-blob-prod-weu-blob", "groupIds": ["blob"],
            "privateLinkServiceId": f"{RG}/providers/Microsoft.Storage/storageAccounts/stmlopsfraudprodweu",
        }],
    },
    "gov-dnszonegroup": {
        "privateDnsZoneGroupName": "default",
        "privateDnsZoneConfigs": [{"name": "blob", "privateDnsZoneId": f"{HUB}privatelink.blob.core.windows.net"}],
    },
    "gov-metricalert": {
        "location": "global", "tags": TAGS, "enabled": True, "autoMitigate": True, "evaluationFrequency": "PT5M",
        "windowSize": "PT15M", "scopes": [f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws"],
        "actions": [{"actionGroupId": ACTION_GROUP_ID}],
    },
    "gov-queryrule": {**WHERE, "enabled": True, "evaluationFrequency": "PT5M", "windowSize": "PT15M",
                      "actions": {"actionGroups": [ACTION_GROUP_ID]}},
    "gov-activityalert": {
        "location": "global", "tags": TAGS, "enabled": True, "scopes": [RG],
        "condition": {"allOf": [{"field": "category", "equals": "Autoscale"}]},
        "actions": {"actionGroups": [{"actionGroupId": ACTION_GROUP_ID}]},
    },
    "gov-actiongroup": {
        "location": "Global", "tags": TAGS, "groupShortName": "fraud", "enabled": True,
        "emailReceivers": [{"name": "email-0", "emailAddress": "ml@contoso.com", "useCommonAlertSchema": True}],
    },
}
#: Their Pulumi types (added to ``policy_cases.TYPES``).
TYPES: dict[str, str] = {
    "gov-roledef": tokens.ROLE_DEFINITION,
    "gov-pep": tokens.PRIVATE_ENDPOINT,
    "gov-dnszonegroup": tokens.PRIVATE_DNS_ZONE_GROUP,
    "gov-metricalert": tokens.METRIC_ALERT,
    "gov-queryrule": tokens.SCHEDULED_QUERY_RULE,
    "gov-activityalert": tokens.ACTIVITY_LOG_ALERT,
    "gov-actiongroup": tokens.ACTION_GROUP,
}

ROLE = "security-roledefinition-least-privilege"
NAMES = "governance-resource-name-valid"
PE_NAME_RULE = ("2-64 alphanumerics, underscores, periods and hyphens, starting with an alphanumeric, ending with an "
                "alphanumeric or underscore")
KV_NAME_RULE = ("3-24 alphanumerics and hyphens, starting with a letter, ending with a letter or number, without "
                "consecutive hyphens")


def _named(kind: str, key: str, name: str) -> Resource:
    return bad(kind, put(key, name))


def resource_cases() -> list[Case]:
    c = Case
    return [
        # --- security: custom role definitions ---
        c(ROLE, [good("gov-roledef")]),
        # Assignable scopes created in the same deployment are unknown on a first preview.
        c(ROLE, [bad("gov-roledef", put("assignableScopes", [policy_cases.UNKNOWN]))]),
        c(
            ROLE,
            [bad("gov-roledef", put("permissions", [{"actions": ["*"], "notActions": ["Microsoft.Authorization/*"]},
                                                    {"actions": ["*/read"], "dataActions": ["*"]}]))],
            ["permissions[0].actions grants '*', which spans every resource provider (Owner or Contributor); list "
             "the specific actions the role needs",
             "permissions[1].dataActions grants '*', which spans every data operation of every resource provider; "
             "list the specific actions the role needs"],
        ),
        # Azure expands * anywhere in an action string, case-insensitively: these all grant role assignment, and
        # Microsoft.* (without the Authorization writes) is still Contributor on every first-party provider.
        c(
            ROLE,
            [bad("gov-roledef", put("permissions", [{"actions": [
                "microsoft.authorization/roleAssignments/write", "Microsoft.Authorization/role*/write",
                "Microsoft.Authorization/roleAssignments/w*"]},
                {"actions": ["Microsoft.Authorization/*"],
                 "notActions": ["Microsoft.Authorization/*/write", "Microsoft.Authorization/*/delete"]},
                {"actions": ["Microsoft.*"], "notActions": ["Microsoft.Authorization/*"]}]))],
            ["permissions[0].actions grants 'microsoft.authorization/roleAssignments/write', which includes "
             "Microsoft.Authorization/roleAssignments/write; list the specific actions the role needs",
             "permissions[0].actions grants 'Microsoft.Authorization/role*/write', which includes "
             "Microsoft.Authorization/roleAssignments/write, Microsoft.Authorization/roleDefinitions/write, "
             "Microsoft.Authorization/roleManagementPolicies/write; list the specific actions the role needs",
             "permissions[0].actions grants 'Microsoft.Authorization/roleAssignments/w*', which includes "
             "Microsoft.Authorization/roleAssignments/write; list the specific actions the role needs",
             "permissions[1].actions grants 'Microsoft.Authorization/*', which includes "
             "Microsoft.Authorization/elevateAccess/action; list the specific actions the role needs",
             "permissions[2].actions grants 'Microsoft.*', which spans every resource provider (Owner or "
             "Contributor); list the specific actions the role needs"],
        ),
        # notActions take away what they match: Microsoft.Authorization/* without its writes, deletes and actions is
        # read-only; Reader's */read and a storage data role's blob data actions pass.
        c(ROLE, [bad("gov-roledef", put("permissions", [
            {"actions": ["Microsoft.Authorization/*", "*/read"],
             "notActions": ["Microsoft.Authorization/*/write", "Microsoft.Authorization/*/delete",
                            "Microsoft.Authorization/*/action"]},
            {"dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"]}]))]),
        # Excluding only part of what a pattern grants still reports the rest; a configured data operation counts.
        c(
            ROLE,
            [bad("gov-roledef", put("permissions", [
                {"actions": ["Microsoft.Authorization/roleAssignments/*"],
                 "notActions": ["Microsoft.Authorization/roleAssignments/delete"]},
                {"dataActions": ["Microsoft.KeyVault/vaults/secrets/*"],
                 "notDataActions": ["Microsoft.KeyVault/vaults/secrets/setSecret/action"]}]))],
            ["permissions[0].actions grants 'Microsoft.Authorization/roleAssignments/*', which includes "
             "Microsoft.Authorization/roleAssignments/write; list the specific actions the role needs",
             "permissions[1].dataActions grants 'Microsoft.KeyVault/vaults/secrets/*', which includes "
             "Microsoft.KeyVault/vaults/secrets/getSecret/action; list the specific actions the role needs"],
            config={"sensitiveDataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action",
                                             "Microsoft.KeyVault/vaults/secrets/setSecret/action"]},
        ),
        c(
            ROLE,
            [bad("gov-roledef", put("assignableScopes", [SUB, "/", "/providers/Microsoft.Management/managementGroups/"
                                                                     "mg-root", RG]))],
            [f"assignableScopes holds '{SUB}' (subscription scope); make the role assignable only at resource or "
             "resource group scope",
             "assignableScopes holds '/' (root scope); make the role assignable only at resource or resource group "
             "scope",
             "assignableScopes holds '/providers/Microsoft.Management/managementGroups/mg-root' (management group "
             "scope); make the role assignable only at resource or resource group scope"],
        ),
        c(ROLE, [good("gov-roledef")], ["the stack defines a custom role; custom roles are not allowed here (use a "
                                        "built-in role)"], config={"customRolesAllowed": False}),
        # --- governance: names ---
        c(NAMES, [good("storage"), good("vault"), good("registry"), good("gov-pep")]),
        c(NAMES, [_named("storage", "accountName", "stmlopsfraudprodweu"), _named("vault", "vaultName", "kv-ml-prod1"),
                  _named("secret", "secretName", "db-password"), _named("key", "keyName", "cmk-1"),
                  _named("registry", "registryName", "crmlopsfraudprod"),
                  _named("loganalytics", "workspaceName", "log-mlops-prod-weu"),
                  _named("appinsights", "resourceName", "appi-mlops-fraud-prod-weu"),
                  _named("gov-pep", "privateEndpointName", "pep_x")]),
        # Names computed from other resources are not known until then.
        c(NAMES, [_named("storage", "accountName", policy_cases.UNKNOWN)]),
        c(NAMES, [_named("storage", "accountName", "st-MLops")],
          ["accountName 'st-MLops' is not a valid name: use 3-24 lowercase letters and numbers"]),
        c(NAMES, [_named("vault", "vaultName", "kv--ml"), _named("vault", "vaultName", "1kv-ml"),
                  _named("vault", "vaultName", "kv-mlops-fraud-prod-weu-01")],
          [f"vaultName 'kv--ml' is not a valid name: use {KV_NAME_RULE}",
           f"vaultName '1kv-ml' is not a valid name: use {KV_NAME_RULE}",
           f"vaultName 'kv-mlops-fraud-prod-weu-01' is not a valid name: use {KV_NAME_RULE}"]),
        c(NAMES, [_named("secret", "secretName", "db_password"), _named("registry", "registryName", "cr-ml")],
          ["secretName 'db_password' is not a valid name: use 1-127 alphanumerics and hyphens",
           "registryName 'cr-ml' is not a valid name: use 5-50 alphanumerics"]),
        c(NAMES, [_named("loganalytics", "workspaceName", "log-"), _named("appinsights", "resourceName", "appi.")],
          ["workspaceName 'log-' is not a valid name: use 4-63 alphanumerics and hyphens, starting and ending with "
           "an alphanumeric",
           "resourceName 'appi.' is not a valid name: use 1-260 characters without %&\\?/ or control characters, "
           "not ending with a space or period"]),
        c(NAMES, [_named("gov-pep", "privateEndpointName", "pep-" + "x" * 61), _named("gov-pep", "privateEndpointName",
                                                                                     "pep-")],
          [f"privateEndpointName '{'pep-' + 'x' * 61}' is not a valid name: use {PE_NAME_RULE}",
           f"privateEndpointName 'pep-' is not a valid name: use {PE_NAME_RULE}"]),
        c(NAMES, [_named("storage", "accountName", "mlopsfraud")],
          ["accountName 'mlopsfraud' does not follow the naming convention '^st[a-z0-9]+$'"],
          config={"namePatterns": {tokens.STORAGE_ACCOUNT: "^st[a-z0-9]+$"}}),
        # --- governance: storage replication ---
        c("governance-storage-sku-allowed", [bad("storage", put("sku", {"name": "Standard_RAGZRS"})),
                                             good("storage"),
                                             # Premium comes only as LRS or ZRS: not reported.
                                             bad("storage", put("sku", {"name": "Premium_LRS"}))]),
        c("governance-storage-sku-allowed", [bad("storage", put("sku", {"name": "Standard_LRS"}))],
          ["sku.name is 'Standard_LRS'; use one of Standard_GRS, Standard_RAGRS, Standard_GZRS, Standard_RAGZRS"]),
        c("governance-storage-sku-allowed", [bad("storage", put("sku", {"name": "Standard_LRS"}))],
          config={"allowedSkus": ["Standard_LRS", "Standard_GRS"]}),
        # --- governance: alert tuning ---
        c("governance-alerts-tuned", [good("gov-metricalert"), good("gov-queryrule"),
                                      bad("gov-metricalert", put("autoMitigate", None)),
                                      bad("gov-queryrule", put("evaluationFrequency", "PT15M"))]),
        c("governance-alerts-tuned", [bad("gov-metricalert", put("autoMitigate", False)),
                                      bad("gov-queryrule", put("evaluationFrequency", "PT1M"))],
          ["autoMitigate is false; let the alert resolve itself (true, the default)",
           "evaluationFrequency is PT1M; at least PT5M is required"]),
        # --- governance: autoscale enabled, alerts that notify someone ---
        c("governance-autoscale-enabled", [good("autoscale"), bad("autoscale", lambda p: p["profiles"].append(
            {"name": "weekend", "capacity": {"minimum": "2", "default": "2", "maximum": "2"}}))]),
        c("governance-autoscale-enabled", [bad("autoscale", put("enabled", None))],
          ["enabled is None; autoscale acts only when it is true"]),
        c("governance-autoscale-enabled", [bad("autoscale", put("enabled", False))],
          ["enabled is False; autoscale acts only when it is true"]),
        c("governance-autoscale-enabled", [bad("autoscale", put("profiles.0.rules", []))],
          ["profile default: has no rules, so its count stays at default between minimum 1 and maximum 5"]),
        c("governance-alerts-notify", [good("gov-metricalert"), good("gov-queryrule"), good("gov-activityalert")]),
        c("governance-alerts-notify", [bad("gov-metricalert", put("actions", []))],
          ["actions name no action group"]),
        c("governance-alerts-notify", [bad("gov-queryrule", put("actions", None))], ["actions name no action group"]),
        c("governance-alerts-notify", [bad("gov-activityalert", put("actions.actionGroups", []))],
          ["actions name no action group"]),
        c("governance-alerts-notify", [bad("gov-activityalert", put("enabled", False))],
          ["enabled is false; a disabled alert never fires"]),
        c("governance-actiongroup-receivers", [good("gov-actiongroup"), bad("gov-actiongroup", lambda p: p.update(
            emailReceivers=[], webhookReceivers=[{"name": "hook", "serviceUri": "https://ops.contoso.com/hook"}]))]),
        c("governance-actiongroup-receivers", [bad("gov-actiongroup", put("emailReceivers", []))],
          ["has no receivers"]),
        c("governance-actiongroup-receivers", [bad("gov-actiongroup", put("enabled", False))],
          ["enabled is false; the group notifies nobody"]),
        c("governance-webtest-reliable", [good("webtest")]),
        c("governance-webtest-reliable",
          [bad("webtest", lambda p: p.update(locations=p["locations"][:1], retryEnabled=False, validationRules={}))],
          ["runs from 1 location(s); use at least 5",
           "retryEnabled is not true; one failed attempt would count as a failure",
           "validationRules.sSLCheck is not true; the TLS certificate of the https URL goes unchecked"]),
        c("governance-webtest-reliable", [bad("webtest", put("enabled", False))], ["enabled is false"]),
        c("governance-webtest-reliable",
          [bad("webtest", lambda p: p.update(locations=p["locations"][:3]))], config={"minLocations": 3}),
        # --- governance: autoscale metrics, deployment capacity, probes and timeout ---
        c("governance-autoscale-metrics-known", [good("autoscale"), bad("autoscale", lambda p: [
            rule["metricTrigger"].update(metricNamespace=DEPLOYMENTS) for rule in p["profiles"][0]["rules"]])]),
        c("governance-autoscale-metrics-known", [bad("autoscale", lambda p: p["profiles"][0]["rules"][0][
            "metricTrigger"].update(metricNamespace=DEPLOYMENTS.upper(), metricName="CpuPercentage"))],
          [f"profile default rule 0: {DEPLOYMENTS.upper()} has no metric 'CpuPercentage'; use one of "
           "CpuMemoryUtilizationPercentage, CpuUtilizationPercentage, DataCollectionErrorsPerMinute, "
           "DataCollectionEventsPerMinute, DeploymentCapacity, DiskUtilization, GpuEnergyJoules, "
           "GpuMemoryUtilizationPercentage, GpuUtilizationPercentage, RequestLatency_P50, RequestLatency_P90, "
           "RequestLatency_P95, RequestLatency_P99, RequestsPerMinute"]),
        c("governance-autoscale-metrics-known", [bad("autoscale", lambda p: p["profiles"][0]["rules"][0][
            "metricTrigger"].update(metricNamespace="Microsoft.Compute/virtualMachineScaleSets",
                                    metricName="Percentage CPU"))]),
        c("governance-onlinedeployment-min-instances", [good("deployment"), bad("deployment", put("sku.capacity", 1)),
                                                        bad("deployment", put("properties.endpointComputeType",
                                                                              "Kubernetes"))]),
        c("governance-onlinedeployment-min-instances", [bad("deployment", put("sku.capacity", 2))],
          ["sku.capacity is 2; start with at least 3 instances"], config={"minInstances": 3}),
        c("governance-onlinedeployment-min-instances", [bad("deployment", put("sku", None))],
          ["sku.capacity is None; start with at least 1 instances"]),
        c("governance-onlinedeployment-health-and-timeout", [good("deployment")]),
        c("governance-onlinedeployment-health-and-timeout",
          [bad("deployment", lambda p: (p["properties"].pop("livenessProbe"),
                                        p["properties"]["requestSettings"].update(requestTimeout="PT181S")))],
          ["properties.livenessProbe is not set; the service's default probe does not reflect the model's start-up",
           "properties.requestSettings.requestTimeout is PT181S; at most PT180S is allowed"]),
        c("governance-onlinedeployment-health-and-timeout",
          [bad("deployment", put("properties.requestSettings.requestTimeout", "PT30S"))],
          ["properties.requestSettings.requestTimeout is PT30S; at most PT10S is allowed"],
          config={"maxRequestTimeout": "PT10S"}),
        # --- governance: tag values ---
        c("governance-tags-required", [good("storage")],
          config={"tagValuePatterns": {"data-classification": "(?i)internal|confidential"}}),
        c("governance-tags-required",
          [bad("storage", put("tags", {**TAGS, "environment": "prod", "data-classification": "public"})),
           bad("vault", put("tags", TAGS))],
          ["tag data-classification is 'public'; it must match '(?i)internal|confidential'",
           "missing tags: environment"],
          config={"tagValuePatterns": {"data-classification": "(?i)internal|confidential", "environment": "prod"}}),
    ]


def stack_cases() -> list[Case]:
    """Whole-stack cases; each runs in every phase and must report the same."""
    c = Case
    ws_id = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/mlw"

    def endpoint(name: str, group: str, key: str = "privateLinkServiceConnections") -> Resource:
        return linked(tokens.PRIVATE_ENDPOINT, name, {
            **WHERE, "privateEndpointName": name,
            key: [{"name": name, "groupIds": [group], "privateLinkServiceId": ws_id}]})

    def zone_group(target: Resource, *zone_ids: Any) -> Resource:
        return linked(tokens.PRIVATE_DNS_ZONE_GROUP, f"{target.name}-dns", {
            "privateEndpointName": Ref(target.resolved_urn, "name"), "privateDnsZoneGroupName": "default",
            "resourceGroupName": RG.rsplit("/", 1)[-1],
            "privateDnsZoneConfigs": [{"name": f"zone{i}", "privateDnsZoneId": zone_id}
                                      for i, zone_id in enumerate(zone_ids)]},
            under=(target, "privateDnsZoneGroups/default"))

    pep_ml = endpoint("pep-mlw", "amlworkspace")
    pep_blob = endpoint("pep-blob", "blob", "manualPrivateLinkServiceConnections")
    pep_other = endpoint("pep-sql", "sqlServer")
    zone = linked(PRIVATE_ZONE, "zone-notebooks", {"location": "global", "tags": TAGS},
                  azure_name="privatelink.notebooks.azure.net")
    dns = "security-privateendpoint-dns-zone-group"

    rg = linked("azure-native:resources:ResourceGroup", "rg", {"location": "westeurope", "tags": TAGS},
                azure_name=RG.rsplit("/", 1)[-1])

    def in_rg(kind: str, name: str, **props: Any) -> Resource:
        return linked(kind, name, {**copy.deepcopy(policy_cases.GOOD[kind]), **props,
                                   "resourceGroupName": Ref(rg.resolved_urn, "name")})

    where = "governance-location-matches-resource-group"
    return [
        c(dns, [pep_ml, zone_group(pep_ml, *(HUB + z for z in ML_ZONES)), pep_blob,
                zone_group(pep_blob, HUB + "privatelink.blob.core.windows.net"), pep_other], stack=True),
        # A zone created in the same deployment: unknown on a first preview, its id names it after up.
        c(dns, [pep_ml, zone, zone_group(pep_ml, HUB + ML_ZONES[0], Ref(zone.resolved_urn))], stack=True),
        c(
            dns,
            [pep_ml, zone_group(pep_ml, HUB + ML_ZONES[0]), pep_blob],
            ["pep-mlw (PrivateEndpoint): its private DNS zone groups do not link privatelink.notebooks.azure.net "
             "(sub-resource amlworkspace)",
             "pep-blob (PrivateEndpoint) has no private DNS zone group; sub-resource blob needs "
             "privatelink.blob.core.windows.net"],
            stack=True,
        ),
        c(dns, [pep_blob], config={"required": False}, stack=True),
        c(where, [rg, in_rg("storage", "st"), in_rg("gov-metricalert", "alert")], stack=True),
        c(where, [rg, in_rg("storage", "st", location="northeurope"), in_rg("vault", "kv")],
          ["st (StorageAccount) is in 'northeurope' but its resource group is in 'westeurope'"], stack=True),
    ]
