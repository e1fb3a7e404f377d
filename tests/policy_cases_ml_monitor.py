"""Policy rule cases for Azure ML, monitoring (diagnostics, Application Insights, Log Analytics, alerts) and AKS.

Helpers and how cases run: ``policy_cases.py``.
"""

from __future__ import annotations

from typing import Any

from policy_cases import GOOD as BASE
from policy_cases import RG, WHERE, Case, Ref, bad, good, linked, put

from policies.harness import Resource
from policies.lib import types as tokens

#: Compliant resources of this area, by kind (added to ``policy_cases.GOOD``; each must pass every rule of every pack).
GOOD: dict[str, dict[str, Any]] = {
    "datastore": {
        "properties": {
            "datastoreType": "AzureBlob",
            "accountName": "stfraud",
            "containerName": "data",
            "credentials": {"credentialsType": "None"},
            "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity",
        },
    },
    "mlconnection": {
        "properties": {"category": "AzureBlob", "authType": "AAD", "target": "https://stfraud.blob.core.windows.net/"},
    },
    "mlregistry": {**WHERE, "publicNetworkAccess": "Disabled", "identity": {"type": "SystemAssigned"},
                   "regionDetails": [{"location": "westeurope"}]},
    "serverless": {**WHERE, "sku": {"name": "Consumption"},
                   "properties": {"modelSettings": {"modelId": "azureml:fraud-model:3"}}},
    "aksnodepool": {"tags": WHERE["tags"], "orchestratorVersion": "1.33.2", "vmSize": "Standard_D4s_v3", "count": 2,
                    "mode": "User"},
    "webtest": {**WHERE, "webTestKind": "standard", "kind": "standard", "syntheticMonitorId": "ep-health",
                "locations": [{"location": loc} for loc in ("emea-nl-ams-azr", "emea-gb-db3-azr", "emea-fr-pra-edge",
                                                            "emea-ch-zrh-edge", "emea-ru-msa-edge")],
                "frequency": 300, "enabled": True, "retryEnabled": True,
                "validationRules": {"expectedHttpStatusCode": 401, "sSLCheck": True},
                "request": {"requestUrl": "https://ep.westeurope.inference.ml.azure.com/health", "httpVerb": "GET"}},
    "loadtest": {**WHERE, "identity": {"type": "UserAssigned", "userAssignedIdentities": [
        f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-loadtest"]}},
}
#: Their Pulumi types (added to ``policy_cases.TYPES``).
TYPES: dict[str, str] = {
    "datastore": tokens.ML_DATASTORE,
    "mlconnection": tokens.ML_WORKSPACE_CONNECTION,
    "mlregistry": tokens.ML_REGISTRY,
    "serverless": "azure-native:machinelearningservices:ServerlessEndpoint",
    "aksnodepool": tokens.AKS_AGENT_POOL,
    "webtest": tokens.WEB_TEST,
    "loadtest": tokens.LOAD_TEST,
}

REGISTRY_MODEL = "azureml://registries/azureml/models/Phi-4/versions/7"


def resource_cases() -> list[Case]:
    c = Case
    return [
        # --- Azure ML datastores and connections: identity, not keys ---
        c("security-mldatastore-identity-access", [good("datastore")]),
        c("security-mldatastore-identity-access", [bad("datastore", put("properties.credentials", None))]),
        c(
            "security-mldatastore-identity-access",
            [bad("datastore", put("properties.credentials", {
                "credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey", "key": "k"}}))],
            ["properties.credentials.credentialsType is 'AccountKey'; use one of ['None'] (identity-based access)"],
        ),
        c(
            "security-mldatastore-identity-access",
            [bad("datastore", put("properties.credentials", {"credentialsType": "Sas"}))],
            ["properties.credentials.credentialsType is 'Sas'; use one of ['None'] (identity-based access)"],
        ),
        c("security-mlconnection-identity-access", [good("mlconnection")]),
        c("security-mlconnection-identity-access",
          [bad("mlconnection", put("properties.authType", "ManagedIdentity")),
           bad("mlconnection", put("properties.authType", "ProjectManagedIdentity")),
           bad("mlconnection", put("properties.authType", "UserEntraToken"))]),
        c(
            "security-mlconnection-identity-access",
            [bad("mlconnection", put("properties.authType", "AccountKey"))],
            ["properties.authType is 'AccountKey'; use one of ['AAD', 'ManagedIdentity', 'ProjectManagedIdentity', "
             "'AccountManagedIdentity', 'UserEntraToken', 'None']"],
        ),
        c(
            "security-mlconnection-identity-access",
            [bad("mlconnection", put("properties.authType", "ApiKey"))],
            ["properties.authType is 'ApiKey'; use one of ['AAD', 'ManagedIdentity', 'ProjectManagedIdentity', "
             "'AccountManagedIdentity', 'UserEntraToken', 'None']"],
        ),
        # --- Azure Load Testing: engines authenticate with a managed identity ---
        c("security-loadtest-managed-identity", [good("loadtest"),
                                                 bad("loadtest", put("identity.type", "SystemAssigned,UserAssigned"))]),
        c("security-loadtest-managed-identity", [bad("loadtest", put("identity", None))],
          ["identity.type is 'missing'; attach the test engines' user-assigned identity"]),
        c("security-loadtest-managed-identity", [bad("loadtest", put("identity.type", "SystemAssigned"))],
          ["identity.type is 'SystemAssigned'; attach the test engines' user-assigned identity"]),
        c("security-loadtest-managed-identity", [bad("loadtest", put("identity.userAssignedIdentities", []))],
          ["identity.userAssignedIdentities is empty; list the test engines' identity"]),
        # --- Azure ML registries ---
        c("security-mlregistry-public-network-disabled", [good("mlregistry"),
                                                           bad("mlregistry", put("publicNetworkAccess", "disabled"))]),
        c(
            "security-mlregistry-public-network-disabled",
            [bad("mlregistry", put("publicNetworkAccess", None))],
            ["publicNetworkAccess is 'Enabled (default)'; set it to 'Disabled'"],
        ),
        c(
            "security-mlregistry-public-network-disabled",
            [bad("mlregistry", put("publicNetworkAccess", "Enabled"))],
            ["publicNetworkAccess is 'Enabled'; set it to 'Disabled'"],
        ),
        # --- Approved registry models (anchors 12e5dd16, 19539b54) ---
        c("security-mldeployment-approved-models", [good("deployment"), good("serverless")]),
        c("security-mldeployment-approved-models",
          [bad("deployment", put("properties.model", "azureml:fraud-model:3")),
           bad("deployment", put("properties.model", f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/"
                                                     "ws/models/fraud/versions/3"))]),
        c("security-mldeployment-approved-models",
          [bad("deployment", put("properties.model", REGISTRY_MODEL))],
          config={"allowedModels": ["azureml://registries/azureml/"]}),
        c(
            "security-mldeployment-approved-models",
            [bad("deployment", put("properties.model", REGISTRY_MODEL))],
            [f"properties.model is {REGISTRY_MODEL!r}, a registry model outside allowedModels []"],
        ),
        c(
            "security-mldeployment-approved-models",
            [bad("serverless", put("properties.modelSettings.modelId", REGISTRY_MODEL))],
            [f"properties.modelSettings.modelId is {REGISTRY_MODEL!r}, a denied registry model"],
            config={"allowedModels": ["azureml://registries/azureml/"],
                    "deniedModels": ["azureml://registries/azureml/models/phi-4/"]},
        ),
        c(
            "security-mldeployment-approved-models",
            [bad("deployment", put("properties.model", "/subscriptions/s/resourceGroups/rg/providers/"
                                   "Microsoft.MachineLearningServices/registries/public/models/m/versions/1"))],
            ["properties.model is '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
             "registries/public/models/m/versions/1', a registry model outside allowedModels "
             "['azureml://registries/azureml/']"],
            config={"allowedModels": ["azureml://registries/azureml/"]},
        ),
        # --- Application Insights: profiler storage (anchor 0c4bd2e8) ---
        c(
            "security-appinsights-public-access-disabled",
            [bad("appinsights", put("forceCustomerStorageForProfiler", None))],
            ["forceCustomerStorageForProfiler is not true; behind Private Link, Profiler and Snapshot Debugger data "
             "must go to your own linked storage account"],
        ),
        # --- Log Analytics: saved queries in customer storage (anchor fa298e57) ---
        c("security-loganalytics-query-customer-storage", [good("loganalytics")]),
        c("security-loganalytics-query-customer-storage",
          [bad("loganalytics", put("forceCmkForQuery", True))], config={"required": True}),
        c(
            "security-loganalytics-query-customer-storage",
            [good("loganalytics")],
            ["forceCmkForQuery is not true; keep saved queries in your own storage account"],
            config={"required": True},
        ),
        # --- Availability tests ---
        c("patching-appinsights-webtest-standard", [good("webtest")]),
        c(
            "patching-appinsights-webtest-standard",
            [bad("webtest", lambda p: p.update(webTestKind="ping", kind="ping"))],
            ["webTestKind is 'ping'; use one of standard"],
        ),
        # --- AKS node pool versions (Azure.AKS.PoolVersion, and Azure.AKS.Version for separate pools) ---
        c("patching-aks-kubernetes-version", [good("aksnodepool")]),
        c("patching-aks-kubernetes-version",
          [bad("aks", put("agentPoolProfiles", [{"name": "system", "orchestratorVersion": "1.33.2"},
                                                {"name": "user", "orchestratorVersion": "1.33"}]))]),
        c(
            "patching-aks-kubernetes-version",
            [bad("aksnodepool", put("orchestratorVersion", "1.29.4"))],
            ["orchestratorVersion is 1.29.4; at least 1.32.0 is required"],
        ),
        c(
            "patching-aks-kubernetes-version",
            [bad("aks", put("agentPoolProfiles", [{"name": "system", "orchestratorVersion": "1.32.5"},
                                                {"name": "old", "orchestratorVersion": "1.30.1"}]))],
            ["agentPoolProfiles[0].orchestratorVersion is 1.32.5 but kubernetesVersion is 1.33.2; use the "
             "cluster's version",
             "agentPoolProfiles[1].orchestratorVersion is 1.30.1; at least 1.32.0 is required"],
        ),
    ]


def _setting(name: str, target: Resource, law: Resource, suffix: str = "", logs: Any = None,
             metrics: Any = None) -> Resource:
    """A diagnostic setting on ``target`` (or its ``suffix`` child) sending to ``law``."""
    props: dict[str, Any] = {"resourceUri": Ref(target.resolved_urn, suffix=suffix),
                             "workspaceId": Ref(law.resolved_urn)}
    if logs is not None:
        props["logs"] = logs
    if metrics is not None:
        props["metrics"] = metrics
    return linked(tokens.DIAGNOSTIC_SETTING, name, props, extends=Ref(target.resolved_urn, suffix=suffix))


ALL_LOGS = [{"categoryGroup": "allLogs", "enabled": True}]
AUDIT = [{"categoryGroup": "audit", "enabled": True}]
METRICS = [{"category": "AllMetrics", "enabled": True}]
TRANSACTION = [{"category": "Transaction", "enabled": True}]
STORAGE_CATEGORIES = [{"category": c, "enabled": True} for c in ("StorageRead", "StorageWrite", "StorageDelete")]
SERVICES = ("blobServices", "fileServices", "queueServices", "tableServices")


def stack_cases() -> list[Case]:
    c = Case
    law = linked("loganalytics", "law")
    vault = linked("vault", "kv")
    acr = linked("registry", "cr")
    ws = linked("workspace", "mlw")
    mlreg = linked("mlregistry", "mlr")
    law_diag = _setting("law-diag", law, law, logs=AUDIT, metrics=METRICS)
    kv_diag = _setting("kv-diag", vault, law, logs=ALL_LOGS, metrics=METRICS)
    cr_diag = _setting("cr-diag", acr, law, logs=[
        {"category": "ContainerRegistryLoginEvents", "enabled": True},
        {"category": "ContainerRegistryRepositoryEvents", "enabled": True}], metrics=METRICS)
    ws_diag = _setting("mlw-diag", ws, law, logs=ALL_LOGS, metrics=METRICS)
    mlreg_diag = _setting("mlr-diag", mlreg, law, logs=ALL_LOGS)
    compliant = [law, vault, acr, ws, mlreg, law_diag, kv_diag, cr_diag, ws_diag, mlreg_diag]

    storage = linked("storage", "st")
    account_diag = _setting("st-diag", storage, law, metrics=TRANSACTION)

    def service(name: str, logs: Any = ALL_LOGS) -> Resource:
        metrics = TRANSACTION if name in ("blobServices", "fileServices") else None
        return _setting(f"st-{name}-diag", storage, law, f"/{name}/default", logs=logs, metrics=metrics)

    services = [service(name) for name in SERVICES]
    files_only = linked("storage", "st", {**BASE["storage"], "kind": "FileStorage"})
    # Serving: a deployment, the environment version it runs, and its autoscale setting.
    env = linked("environment", "env")
    blue = linked("deployment", "blue", {**BASE["deployment"], "properties": {
        **BASE["deployment"]["properties"], "environmentId": Ref(env.resolved_urn)}})
    latest = linked("deployment", "green", {**BASE["deployment"], "properties": {
        **BASE["deployment"]["properties"], "environmentId": "azureml:train-env@latest"}})
    from_storage = linked("deployment", "green", {**BASE["deployment"], "properties": {
        **BASE["deployment"]["properties"], "environmentId": Ref(storage.resolved_urn)}})

    def autoscale(target: Resource) -> Resource:
        return linked("autoscale", f"{target.name}-autoscale", {**BASE["autoscale"],
                                                                "targetResourceUri": Ref(target.resolved_urn)})

    # A premium StorageV2 account holds page blobs only: it has no file, queue or table service to log.
    page_blobs = linked("storage", "st", {**BASE["storage"], "sku": {"name": "Premium_LRS"}})
    pinned = "patching-onlinedeployment-environment-pinned"
    scaled = "governance-onlinedeployment-autoscaled"
    return [
        # An environment id is fixed when it names a version; on a first preview, when it is a version's id.
        c(pinned, [env, blue, linked("deployment", "other")], stack=True),
        c(pinned, [env, blue, latest],
          ["green (OnlineDeployment): properties.environmentId 'azureml:train-env@latest' does not name a fixed "
           "version"], stack=True),
        c(pinned, [storage, from_storage],
          ["green (OnlineDeployment) takes properties.environmentId from no environment version of this stack, so "
           "no fixed version can be shown"], stack=True, phases=("preview",)),
        c(pinned, [storage, from_storage],
          [f"green (OnlineDeployment): properties.environmentId '{RG}/providers/Microsoft.Storage/storageAccounts/st' "
           "does not name a fixed version"], stack=True, phases=("deployed", "ids-only")),
        # Every managed deployment has an enabled autoscale setting on it. The setting names its target in
        # properties.targetResourceUri of the ARM response, which the harness's state after up does not rebuild, so
        # these cases run where the engine's graph links the two (the first preview and after up).
        c(scaled, [env, blue, autoscale(blue)], stack=True, phases=("preview", "deployed")),
        c(scaled, [env, blue, linked("autoscale", "blue-autoscale", {**BASE["autoscale"], "properties": {
            "enabled": True, "targetResourceUri": Ref(blue.resolved_urn)}})], stack=True),
        c(scaled, [env, blue, latest, autoscale(blue)],
          ["green (OnlineDeployment) is the target of no enabled autoscale setting"], stack=True,
          phases=("preview", "deployed")),
        c(scaled, [env, blue], ["blue (OnlineDeployment) is the target of no enabled autoscale setting"], stack=True),
        # Logs (categoryGroup allLogs or audit, or the audit categories) and metrics, each where the type needs them.
        c("security-diagnostics-enabled", compliant, stack=True),
        c("security-diagnostics-enabled",
          [law, vault, law_diag, _setting("kv-diag", vault, law, logs=[{"category": "AuditEvent", "enabled": True}],
                                          metrics=METRICS)], stack=True),
        c(
            "security-diagnostics-enabled",
            [law, vault, acr, ws, mlreg, law_diag,
             _setting("kv-diag", vault, law, metrics=METRICS),
             _setting("cr-diag", acr, law, logs=[{"category": "ContainerRegistryLoginEvents", "enabled": True}],
                      metrics=METRICS),
             _setting("mlw-diag", ws, law, logs=[{"categoryGroup": "allLogs", "enabled": False}])],
            ["kv (Vault): no diagnostic setting sending to Log Analytics enables logs[] with categoryGroup allLogs "
             "or audit (or category AuditEvent)",
             "cr (Registry): no diagnostic setting sending to Log Analytics enables logs[] with categoryGroup "
             "allLogs or audit (or categories ContainerRegistryLoginEvents, ContainerRegistryRepositoryEvents)",
             "mlw (Workspace): no diagnostic setting sending to Log Analytics enables logs[] with categoryGroup "
             "allLogs or audit and metrics[] (enabled)",
             "mlr (Registry) has no diagnostic setting sending to Log Analytics"],
            stack=True,
        ),
        # Storage: the account's metrics, and each service's logs (blob and file also metrics).
        c("security-diagnostics-enabled", [law, law_diag, storage, account_diag, *services], stack=True),
        c("security-diagnostics-enabled",
          [law, law_diag, storage, account_diag, *services[:3], service("tableServices", STORAGE_CATEGORIES)],
          stack=True),
        c("security-diagnostics-enabled",
          [law, law_diag, files_only, _setting("st-diag", files_only, law, metrics=TRANSACTION),
           _setting("st-file-diag", files_only, law, "/fileServices/default", logs=ALL_LOGS, metrics=TRANSACTION)],
          stack=True),
        c("security-diagnostics-enabled",
          [law, law_diag, page_blobs, _setting("st-diag", page_blobs, law, metrics=TRANSACTION),
           _setting("st-blob-diag", page_blobs, law, "/blobServices/default", logs=ALL_LOGS, metrics=TRANSACTION)],
          stack=True),
        c(
            "security-diagnostics-enabled",
            [law, law_diag, storage],
            ["st (StorageAccount) has no diagnostic setting sending to Log Analytics"],
            stack=True,
        ),
        c(
            "security-diagnostics-enabled",
            [law, law_diag, storage, _setting("st-diag", storage, law, metrics=[]), *services],
            ["st (StorageAccount): no diagnostic setting on the account sending to Log Analytics enables metrics[] "
             "(enabled)"],
            stack=True,
        ),
        # Which service lacks its setting is known once the settings exist; a first preview counts them.
        c(
            "security-diagnostics-enabled",
            [law, law_diag, storage, account_diag, *services[:3]],
            ["st (StorageAccount): no diagnostic setting on tableServices/default sending to Log Analytics enables "
             "logs[] with categoryGroup allLogs or audit (or categories StorageRead, StorageWrite, StorageDelete)"],
            stack=True,
            phases=("deployed", "ids-only"),
        ),
        c(
            "security-diagnostics-enabled",
            [law, law_diag, storage, account_diag, *services[:3]],
            ["st (StorageAccount): 1 of its services (blobServices, fileServices, queueServices, tableServices) has "
             "no diagnostic setting sending to Log Analytics that enables logs[] with categoryGroup allLogs or audit "
             "(or categories StorageRead, StorageWrite, StorageDelete) (and metrics[] for blobServices, "
             "fileServices); which is known once the settings exist"],
            stack=True,
            phases=("preview",),
        ),
    ]
