"""Resource type tokens the rules look at, as the engine reports them, and their canonical form."""

import re
from functools import lru_cache

ML_WORKSPACE = "azure-native:machinelearningservices:Workspace"
ML_COMPUTE = "azure-native:machinelearningservices:Compute"
ML_ONLINE_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
ML_ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ML_ENVIRONMENT_VERSION = "azure-native:machinelearningservices:EnvironmentVersion"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
KEY_VAULT = "azure-native:keyvault:Vault"
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"
KEY_VAULT_KEY = "azure-native:keyvault:Key"
REGISTRY = "azure-native:containerregistry:Registry"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
LOCK = "azure-native:authorization:ManagementLockByScope"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
AUTOSCALE_SETTING = "azure-native:monitor:AutoscaleSetting"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
ACTIVITY_LOG_ALERT = "azure-native:monitor:ActivityLogAlert"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
AKS = "azure-native:containerservice:ManagedCluster"
BUDGET = "azure-native:consumption:Budget"

ADO_PROJECT = "azuredevops:index/project:Project"
ADO_MIN_REVIEWERS = "azuredevops:index/branchPolicyMinReviewers:BranchPolicyMinReviewers"
ADO_BUILD_VALIDATION = "azuredevops:index/branchPolicyBuildValidation:BranchPolicyBuildValidation"
ADO_SERVICE_ENDPOINT_AZURERM = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"
ADO_RESOURCE_AUTHORIZATION = "azuredevops:index/resourceAuthorization:ResourceAuthorization"
ADO_PIPELINE_AUTHORIZATION = "azuredevops:index/pipelineAuthorization:PipelineAuthorization"
ADO_VARIABLE_GROUP = "azuredevops:index/variableGroup:VariableGroup"
ADO_ENVIRONMENT = "azuredevops:index/environment:Environment"
ADO_CHECK_APPROVAL = "azuredevops:index/checkApproval:CheckApproval"
ADO_CHECK_BRANCH_CONTROL = "azuredevops:index/checkBranchControl:CheckBranchControl"
ADO_PROJECT_PIPELINE_SETTINGS = "azuredevops:index/projectPipelineSettings:ProjectPipelineSettings"
ADO_BUILD_DEFINITION = "azuredevops:index/buildDefinition:BuildDefinition"
ADO_POOL = "azuredevops:index/pool:Pool"
ADO_ELASTIC_POOL = "azuredevops:index/elasticPool:ElasticPool"
ADO_QUEUE = "azuredevops:index/queue:Queue"
ADO_GIT = "azuredevops:index/git:Git"
ADO_VARIABLE_GROUP_VARIABLE = "azuredevops:index/variableGroupVariable:VariableGroupVariable"
ADO_SERVICE_ENDPOINT_GENERIC_V2 = "azuredevops:index/serviceendpointGenericV2:ServiceendpointGenericV2"
ADO_SERVICE_ENDPOINT_NUGET = "azuredevops:index/serviceendpointNuget:ServiceendpointNuget"
ADO_CHECK_REQUIRED_TEMPLATE = "azuredevops:index/checkRequiredTemplate:CheckRequiredTemplate"
#: Every branch policy type: each has enabled, blocking (both default true) and settings.scopes[].
ADO_BRANCH_POLICIES = (
    ADO_MIN_REVIEWERS, ADO_BUILD_VALIDATION,
    "azuredevops:index/branchPolicyAutoReviewers:BranchPolicyAutoReviewers",
    "azuredevops:index/branchPolicyCommentResolution:BranchPolicyCommentResolution",
    "azuredevops:index/branchPolicyMergeTypes:BranchPolicyMergeTypes",
    "azuredevops:index/branchPolicyStatusCheck:BranchPolicyStatusCheck",
    "azuredevops:index/branchPolicyWorkItemLinking:BranchPolicyWorkItemLinking",
)
KEY_VAULT_ACCESS_POLICY = "azure-native:keyvault:AccessPolicy"
REGISTRY_TOKEN = "azure-native:containerregistry:Token"
REGISTRY_WEBHOOK = "azure-native:containerregistry:Webhook"
REGISTRY_CACHE_RULE = "azure-native:containerregistry:CacheRule"
FILE_SERVICE = "azure-native:storage:FileServiceProperties"
ENCRYPTION_SCOPE = "azure-native:storage:EncryptionScope"
DEFENDER_FOR_STORAGE = "azure-native:security:DefenderForStorage"
PRIVATE_DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
ML_DATASTORE = "azure-native:machinelearningservices:Datastore"
ML_WORKSPACE_CONNECTION = "azure-native:machinelearningservices:WorkspaceConnection"
LOAD_TEST = "azure-native:loadtestservice:LoadTest"
QUEUE_SERVICE = "azure-native:storage:QueueServiceProperties"
TABLE_SERVICE = "azure-native:storage:TableServiceProperties"
AKS_AGENT_POOL = "azure-native:containerservice:AgentPool"
AKS_MAINTENANCE_CONFIGURATION = "azure-native:containerservice:MaintenanceConfiguration"
WEB_TEST = "azure-native:applicationinsights:WebTest"


_VERSIONED = re.compile(r"^azure-native(?:_[a-z0-9]+_v\d{8}[a-z]*)?:([a-zA-Z0-9]+)(?:/v\d{8}[a-z]*)?:(\w+)$")


@lru_cache(maxsize=4096)
def canonical(token: str) -> str:
    """The default-version token of an azure-native type, so rules see every API version of a resource.

    ``azure-native:storage/v20230101:StorageAccount`` (v2's versioned modules, and v3 aliases) and
    ``azure-native_storage_v20220901:storage/v20220901:StorageAccount`` (a v3 local package made with ``pulumi
    package add azure-native storage v20220901``; token format from pulumi-azure-native
    ``provider/pkg/provider/provider_parameterize.go``, ``createSchema``) both become
    ``azure-native:storage:StorageAccount``. Other tokens are returned unchanged.
    """
    match = _VERSIONED.match(token)
    return f"azure-native:{match.group(1)}:{match.group(2)}" if match else token
