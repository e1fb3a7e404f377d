"""Azure DevOps delivery settings managed with pulumi-azuredevops: projects, branch policies, service connections,
variable groups, and approvals on the production environment."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.graph import UNKNOWN, Links, is_set, known_str, label, of_type, peek, peek_items
from ..lib.props import get
from ..lib.rules import Refs, Resource, setting
from ..lib.types import (
    ADO_BRANCH_POLICIES,
    ADO_BUILD_DEFINITION,
    ADO_BUILD_VALIDATION,
    ADO_CHECK_APPROVAL,
    ADO_CHECK_BRANCH_CONTROL,
    ADO_CHECK_REQUIRED_TEMPLATE,
    ADO_ELASTIC_POOL,
    ADO_ENVIRONMENT,
    ADO_GIT,
    ADO_MIN_REVIEWERS,
    ADO_PIPELINE_AUTHORIZATION,
    ADO_POOL,
    ADO_PROJECT,
    ADO_PROJECT_PIPELINE_SETTINGS,
    ADO_QUEUE,
    ADO_RESOURCE_AUTHORIZATION,
    ADO_SERVICE_ENDPOINT_AZURERM,
    ADO_SERVICE_ENDPOINT_GENERIC_V2,
    ADO_SERVICE_ENDPOINT_NUGET,
    ADO_VARIABLE_GROUP,
    ADO_VARIABLE_GROUP_VARIABLE,
)
from . import RULES

DOCS = "https://learn.microsoft.com/azure/devops"
SECRET_NAME = re.compile(r"(secret|password|passwd|token|key|connection.?string|sas|credential|pat)$", re.I)
#: Values that are secrets whatever the variable is called: ADOScanner's ``SecretsInVariables`` patterns
#: (ControlSettings.json; its "general password" pattern is left out, it matches most mixed-case words with a digit)
#: and the connection-string keys and PEM private keys Azure services hand out.
SECRET_VALUES = (
    ("a password in a connection string", re.compile(r"(password|pwd)\s*=\s*\w+", re.I)),
    ("a storage account key", re.compile(r"^[A-Za-z0-9/+]{86}==$")),
    ("a SAS token", re.compile(r"[?&]sv=\d{4}-\d\d-\d\d&.*\bsig=[^&\s]+")),
    # Before July 2024 52 base32 characters; since then 84 characters with the fixed signature AZDO at positions
    # 76-80 (use-personal-access-tokens-to-authenticate#changes-to-format).
    ("an Azure DevOps personal access token",
     re.compile(r"^[a-z2-7]{52}$|^(?=[A-Za-z0-9]{84}$)[A-Za-z0-9]{75,76}AZDO")),
    ("an account key in a connection string", re.compile(r"(AccountKey|SharedAccessKey)\s*=\s*[^;\s]+", re.I)),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)
#: URL-valued variables (ADOScanner's ``URLs`` patterns).
URL_VALUE = re.compile(r"(www\.|https?:|ftp:)\S+\w", re.I)


@RULES.resource(
    "security-ado-project-private",
    types=[ADO_PROJECT],
    description="Azure DevOps projects are private.",
    severity="critical",
    remediation="Set visibility to private.",
    url=f"{DOCS}/organizations/projects/make-project-public",
    refs=Refs(mcsb=("DS-6",), ado=("ADO_Project_AuthZ_Set_Visibility_Private_Or_Enterprise",)),
)
def project_private(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.props.get("visibility", "private") != "private":
        yield f"visibility is {r.props.get('visibility')!r}; set it to 'private'"


@RULES.resource(
    "security-ado-branch-reviewers",
    types=[ADO_MIN_REVIEWERS],
    description="Protected branches need enough reviewers, and a new push resets the votes.",
    severity="high",
    remediation="Set settings.reviewerCount to at least the minimum, settings.onPushResetApprovedVotes (or "
                "onPushResetAllVotes) to true, settings.submitterCanVote to false, and enabled and blocking to true.",
    url=f"{DOCS}/repos/git/branch-policies",
    refs=Refs(mcsb=("DS-6",), checkov=("CKV2_ADO_1",)),
    config={"minReviewers": setting("integer", 2, "Fewest required reviewers.", minimum=1)},
)
def branch_reviewers(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    count = get(r.props, "settings.reviewerCount", 0)
    if count < cfg["minReviewers"]:
        yield f"settings.reviewerCount is {int(count)}; require at least {cfg['minReviewers']}"
    if not (get(r.props, "settings.onPushResetApprovedVotes") or get(r.props, "settings.onPushResetAllVotes")):
        yield "votes are not reset on push (settings.onPushResetApprovedVotes)"
    if get(r.props, "settings.submitterCanVote"):
        yield "settings.submitterCanVote is true"
    if r.props.get("enabled") is False or r.props.get("blocking") is False:
        yield "the policy is not enabled and blocking"


@RULES.stack(
    "security-ado-build-validation",
    description="Every protected branch that requires reviewers also requires a passing build.",
    severity="high",
    remediation="Add an azuredevops.BranchPolicyBuildValidation (enabled, blocking) with the same repository and "
                "branch scope as the reviewer policy.",
    url=f"{DOCS}/repos/git/branch-policies#build-validation",
    refs=Refs(mcsb=("DS-6",)),
)
def build_validation(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
                     ) -> Iterator[tuple[str, str | None]]:
    builds = [b for b in of_type(resources, ADO_BUILD_VALIDATION) if b.props.get("enabled", True)]
    validated = [scope for b in builds for scope in _branch_scopes(b)]
    for reviewers in of_type(resources, ADO_MIN_REVIEWERS):
        for repository, repos, branch in _branch_scopes(reviewers):
            covered = any(ref == branch and ((repository is not None and repository == other) or repos & other_repos)
                          for other, other_repos, ref in validated)
            if not covered:
                yield f"{label(reviewers)}: branch {branch} has no build validation policy", reviewers.urn


def _branch_scopes(policy: PolicyResource) -> list[tuple[str | None, frozenset[str], object]]:
    """``(repository id if known, repository resources the settings came from, branch)`` per scope of a branch
    policy. A repository created in the same stack has no id before ``up``; both policies then depend on it."""
    repos = frozenset(d.urn for d in policy.property_dependencies.get("settings", []))
    return [(known_str(peek(scope, "repositoryId")), repos, peek(scope, "repositoryRef"))
            for scope in get(policy.props, "settings.scopes", []) or []]


@RULES.resource(
    "security-ado-service-connection-federated",
    types=[ADO_SERVICE_ENDPOINT_AZURERM],
    description="Azure service connections use workload identity federation, store no secret, reach no more than a "
                "resource group or a pre-created identity's own roles, and target an allowed Azure cloud.",
    severity="critical",
    remediation="Set serviceEndpointAuthenticationScheme to WorkloadIdentityFederation and remove "
                "credentials.serviceprincipalkey and credentials.serviceprincipalcertificate; scope the connection to "
                "a subscription, not a management group, and either set resourceGroup or give credentials of an "
                "identity whose roles you grant yourself; keep environment in allowedEnvironments.",
    url=f"{DOCS}/pipelines/library/connect-to-azure",
    refs=Refs(mcsb=("IM-3", "IM-8", "PA-7"), ado=(
        "ADO_ServiceConnection_AuthN_Use_Cert_Auth_for_SPN", "ADO_ServiceConnection_AuthZ_Use_Least_Privilege_Access",
        "ADO_ServiceConnection_Cannot_Use_Disallowed_Environment")),
    config={"allowedEnvironments": setting("array", ["AzureCloud"], "Accepted environment values (Azure clouds).",
                                           items={"type": "string"})},
)
def service_connection(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    scheme = r.props.get("serviceEndpointAuthenticationScheme", "ServicePrincipal")
    if scheme != "WorkloadIdentityFederation":
        yield f"serviceEndpointAuthenticationScheme is {scheme!r}; use 'WorkloadIdentityFederation'"
    for secret in ("serviceprincipalkey", "serviceprincipalcertificate"):
        if is_set(r.props, f"credentials.{secret}"):
            yield f"credentials.{secret} is set; a federated connection stores no secret"
    # Scope and creation mode as the provider sends them (terraform-provider-azuredevops
    # resource_serviceendpoint_azurerm.go): a management group id or name makes scopeLevel ManagementGroup; no
    # credentials makes creationMode Automatic, and Azure DevOps then creates the identity and grants it Contributor
    # on the subscription, or on resourceGroup when that is set. ADOScanner fails exactly these two.
    for key in ("azurermManagementGroupId", "azurermManagementGroupName"):
        if is_set(r.props, key):
            yield f"{key} is set: the connection reaches every subscription of a management group; scope it to a " \
                  "subscription and resource group"
            break
    else:
        automatic = scheme in ("ServicePrincipal", "WorkloadIdentityFederation") and not is_set(
            r.props, "credentials.serviceprincipalid")
        if automatic and not is_set(r.props, "resourceGroup"):
            yield "credentials and resourceGroup are not set: Azure DevOps creates the identity and grants it " \
                  "Contributor on the whole subscription; set resourceGroup, or give credentials of an identity " \
                  "with narrower roles"
    environment = peek(r.props, "environment") or "AzureCloud"
    if environment is not UNKNOWN and environment not in cfg["allowedEnvironments"]:
        yield f"environment is {environment!r}; allowed: {', '.join(cfg['allowedEnvironments'])}"


#: The authorization scheme each service connection type must use (ADOScanner CheckSecureAuthN,
#: ADO.ServiceConnection.ps1): a token or API key rather than a user name and password.
SECURE_SCHEMES = {"externalnpmregistry": "Token", "externalnugetfeed": "None", "externaltfs": "Token",
                  "microsoftswagger": "Token"}
#: ServiceendpointNuget inputs weaker than the scheme required of NuGet connections: 'None' is the API key.
NUGET_WEAKER = {"none": ("username", "password", "personalAccessToken"), "token": ("username", "password")}


@RULES.resource(
    "security-ado-service-connection-secure-auth",
    types=[ADO_SERVICE_ENDPOINT_GENERIC_V2, ADO_SERVICE_ENDPOINT_NUGET],
    description="Service connections are not classic Azure connections and authenticate with a token or API key, "
                "not a user name and password.",
    severity="high",
    remediation="Replace a connection of type 'azure' (classic) with a ServiceEndpointAzureRM using workload "
                "identity federation; for npm, NuGet, Azure Repos/TFS and Swagger connections use the token or API "
                "key scheme (ServiceendpointNuget: apiKey, not username and password or a personal access token).",
    url=f"{DOCS}/pipelines/library/service-endpoints",
    refs=Refs(mcsb=("IM-3", "IM-8"), ado=("ADO_ServiceConnection_AuthN_Use_Secure_Auth_Method",
                                   "ADO_ServiceConnection_AuthZ_Dont_Use_Classic_Connections")),
    config={"requiredSchemes": setting(
        "object", SECURE_SCHEMES, "Service connection type (case-insensitive) -> the authorizationScheme it must "
        "use ('None' with an API key for NuGet).", additionalProperties={"type": "string"})},
)
def service_connection_auth(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    required = {k.lower(): v for k, v in cfg["requiredSchemes"].items()}
    if r.type == ADO_SERVICE_ENDPOINT_NUGET:
        if (want := required.get("externalnugetfeed")) is None:
            return  # NuGet connections not graded
        weaker = NUGET_WEAKER.get(want.lower(), ())
        if given := [key for key in weaker if is_set(r.props, key)]:
            yield (f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set; NuGet connections must use "
                   f"{want!r} ({'apiKey' if want.lower() == 'none' else 'personalAccessToken or apiKey'})")
        return
    kind, scheme = known_str(peek(r.props, "type")), known_str(peek(r.props, "authorizationScheme"))
    if kind is None:
        return
    if kind.lower() == "azure":
        yield ("type is 'azure', a classic Azure service connection; use a ServiceEndpointAzureRM (Azure Resource "
               "Manager, workload identity federation) scoped to a resource group")
    elif scheme is not None and (want := required.get(kind.lower())) and scheme.lower() != want.lower():
        yield f"authorizationScheme is {scheme!r}; {kind} connections must use {want!r}"


@RULES.resource(
    "security-ado-resource-not-open",
    types=[ADO_RESOURCE_AUTHORIZATION, ADO_PIPELINE_AUTHORIZATION, ADO_VARIABLE_GROUP, ADO_SERVICE_ENDPOINT_GENERIC_V2],
    description="Service connections, variable groups, agent queues, repositories and environments are authorized "
                "for named pipelines of their own project only.",
    severity="high",
    remediation="Authorize each pipeline explicitly: give PipelineAuthorization a pipelineId, or "
                "ResourceAuthorization a definitionId; never authorize a resource for all pipelines (VariableGroup "
                "allowAccess false) and do not share service connections with other projects (sharedProjectIds).",
    url=f"{DOCS}/pipelines/security/resources",
    refs=Refs(mcsb=("PA-7",), ado=(
        "ADO_AgentPool_AuthZ_Dont_Grant_All_Pipelines_Access", "ADO_Environment_AuthZ_Dont_Grant_All_Pipelines_Access",
        "ADO_Repository_AuthZ_Dont_Grant_All_Pipelines_Access",
        "ADO_ServiceConnection_AuthZ_Dont_Grant_All_Pipelines_Access",
        "ADO_ServiceConnection_SI_Review_Pipeline_Sharing",
        "ADO_ServiceConnection_SI_Dont_Share_Across_Projects",
        "ADO_VariableGroup_AuthZ_Dont_Grant_All_Pipelines_Access_On_VG_With_Secrets")),
)
def resource_not_open(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.type == ADO_PIPELINE_AUTHORIZATION and not r.props.get("pipelineId"):
        yield "no pipelineId: the resource would be open to every pipeline in the project"
    if r.type == ADO_RESOURCE_AUTHORIZATION and r.props.get("authorized") and not r.props.get("definitionId"):
        yield "authorized without definitionId: the resource would be open to every pipeline in the project"
    if r.type == ADO_VARIABLE_GROUP and peek(r.props, "allowAccess") is True:
        yield "allowAccess is true: the variable group would be open to every pipeline in the project; set it to false"
    if r.type == ADO_SERVICE_ENDPOINT_GENERIC_V2 and is_set(r.props, "sharedProjectIds"):
        yield "sharedProjectIds is set: the service connection is shared with other projects; leave it empty"


@RULES.resource(
    "security-ado-variable-group-secrets",
    types=[ADO_VARIABLE_GROUP, ADO_VARIABLE_GROUP_VARIABLE, ADO_BUILD_DEFINITION],
    description="Variable groups and pipeline definitions keep secrets (by name or by value) as secret variables "
                "(or in Key Vault), never in plain text.",
    severity="critical",
    remediation="Mark the variable isSecret and move the value to secretValue (VariableGroupVariable: secretValue "
                "instead of value), or link the group to Key Vault (keyVault block).",
    url=f"{DOCS}/pipelines/process/set-secret-variables",
    refs=Refs(mcsb=("IM-8",), ado=("ADO_VariableGroup_DP_No_PlainText_Secrets_In_Variables",
                                   "ADO_Build_DP_No_PlainText_Secrets_In_Definition")),
)
def variable_group_secrets(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    variables = [r.props] if r.type == ADO_VARIABLE_GROUP_VARIABLE else peek_items(r.props, "variables")
    for variable in variables:
        if variable is UNKNOWN or not is_set(variable, "value") or peek(variable, "isSecret") is True:
            continue
        name = str(peek(variable, "name") or "")
        value = peek(variable, "value")
        if SECRET_NAME.search(name):
            yield f"variable {name} looks like a secret and is stored in plain text"
            continue
        kind = next((kind for kind, pattern in SECRET_VALUES if isinstance(value, str) and pattern.search(value)),
                    None)
        if kind:
            yield f"variable {name} holds {kind} in plain text"


@RULES.stack(
    "security-ado-prod-environment-checks",
    description="Production environments require a manual approval and deployments from protected branches only.",
    severity="high",
    remediation="Add azuredevops.CheckApproval (at least one approver, requester cannot approve) and "
                "azuredevops.CheckBranchControl (allowedBranches refs/heads/main, verifyBranchProtection true) with "
                "targetResourceType environment on the production environment.",
    url=f"{DOCS}/pipelines/process/approvals",
    refs=Refs(mcsb=("DS-6",), ado=("ADO_Environment_AuthZ_Enable_PreDeployment_Approval",
                                   "ADO_Environment_SI_Use_Good_Branch_Hygiene")),
    config={"productionPattern": setting("string", "(^|[-_.])prod(uction)?($|[-_.])",
                                         "Regular expression matching production environment names."),
            "productionBranches": setting("array", ["refs/heads/main", "refs/heads/master"],
                                          "Branches a branch control on a production environment may allow.",
                                          items={"type": "string"})},
)
def prod_environment_checks(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
                            ) -> Iterator[tuple[str, str | None]]:
    pattern = re.compile(cfg["productionPattern"], re.I)
    links = Links.of(resources)
    approvals = [(c, links.targets(c, [peek(c.props, "targetResourceId")], prop="targetResourceId"))
                 for c in of_type(resources, ADO_CHECK_APPROVAL)]
    branch_controls = [(c, links.targets(c, [peek(c.props, "targetResourceId")], prop="targetResourceId"))
                       for c in of_type(resources, ADO_CHECK_BRANCH_CONTROL)]
    for env in of_type(resources, ADO_ENVIRONMENT):
        if not pattern.search(str(env.props.get("name", env.name))):
            continue
        approval = [c for c, targets in approvals if env.urn in targets]
        if not approval:
            yield f"{label(env)} has no approval check", env.urn
        elif all(c.props.get("requesterCanApprove") for c in approval):
            yield f"{label(env)}: the requester can approve their own deployment", env.urn
        branch = [c for c, targets in branch_controls if env.urn in targets]
        if not branch:
            yield f"{label(env)} has no branch control check", env.urn
            continue
        if not any(c.props.get("verifyBranchProtection") for c in branch):
            yield f"{label(env)}: branch control does not verify branch protection", env.urn
        # Every check must pass, so one branch control limited to production branches is enough.
        allowed = [peek(c.props, "allowedBranches") for c in branch]
        if UNKNOWN not in allowed and not any(
                value and set(_branches(value)) <= set(cfg["productionBranches"]) for value in allowed):
            found = "; ".join(repr(value) if value else "not set (default '*')" for value in allowed)
            yield (f"{label(env)}: branch control allowedBranches is {found}; allow only "
                   f"{', '.join(cfg['productionBranches'])}"), env.urn


def _branches(value: str) -> list[str]:
    """The entries of a CheckBranchControl ``allowedBranches`` (comma-separated)."""
    return [entry.strip() for entry in value.split(",") if entry.strip()]


#: ProjectPipelineSettings inputs that must be true, with what each one does (Project settings > Pipelines >
#: Settings; terraform-provider-azuredevops resource_project_pipeline_settings.go: each is Optional and Computed, so
#: leaving one out keeps whatever the project has).
PIPELINE_SETTINGS = (
    ("enforceJobScope", "limits the job access token of non-release pipelines to the project"),
    ("enforceJobScopeForRelease", "limits the job access token of release pipelines to the project"),
    ("enforceReferencedRepoScopedToken", "limits YAML pipelines to the repositories they reference"),
    ("enforceSettableVar", "limits the variables that can be set at queue time"),
    ("statusBadgesArePrivate", "disables anonymous access to status badges"),
    ("publishPipelineMetadata", "publishes pipeline metadata for artifact checks"),
)


@RULES.resource(
    "security-ado-project-pipeline-settings",
    types=[ADO_PROJECT_PIPELINE_SETTINGS],
    description="Project pipeline settings limit job access tokens to the project and its referenced repositories, "
                "limit queue-time variables, keep status badges private and publish pipeline metadata.",
    severity="medium",
    remediation="Set enforceJobScope, enforceJobScopeForRelease, enforceReferencedRepoScopedToken, "
                "enforceSettableVar, statusBadgesArePrivate and publishPipelineMetadata to true.",
    url=f"{DOCS}/pipelines/process/access-tokens#job-authorization-scope",
    refs=Refs(mcsb=("PA-7", "DS-6"), ado=(
        "ADO_Project_AuthZ_Limit_Non_Release_Pipeline_Scope", "ADO_Project_AuthZ_Limit_Release_Pipeline_Scope",
        "ADO_Project_AuthZ_Limit_Pipeline_Scope_To_Referenced_Repos",
        "ADO_Project_SI_Limit_Variables_Settable_At_Queue_Time", "ADO_Project_DP_Disable_Anonymous_Access_To_Badges",
        "ADO_Project_DP_Publish_Metadata_From_Pipeline",
        # enforceJobScope is what scopes a build pipeline's token to its project: terraform-provider-azuredevops
        # never sends a definition-level jobAuthorizationScope (resource_build_definition.go expandBuildDefinition).
        "ADO_Build_AuthZ_Limit_Pipeline_Access")),
)
def project_pipeline_settings(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    for key, what in PIPELINE_SETTINGS:
        value = peek(r.props, key)
        if value is None:
            yield f"{key} is not set, so the project keeps its current value; set it to true ({what})"
        elif value is False:
            yield f"{key} is false; set it to true ({what})"


@RULES.resource(
    "security-ado-build-definition-job-scope",
    types=[ADO_BUILD_DEFINITION],
    description="Classic agent jobs run with a job access token scoped to their project and do not hand the token "
                "to scripts.",
    severity="medium",
    remediation="On classic pipelines (repository.repoType Git) set jobs[].jobAuthorizationScope to 'project' and "
                "leave jobs[].allowScriptsAuthAccessOption false. Every build pipeline's token is limited to its "
                "project by the project's enforceJobScope (security-ado-project-pipeline-settings); the "
                "definition-level jobAuthorizationScope is never sent by the provider.",
    url=f"{DOCS}/pipelines/process/access-tokens#job-authorization-scope",
    refs=Refs(mcsb=("PA-7",), ado=("ADO_Build_AuthZ_Restrict_Access_To_OAuth_Token_For_Agent_Jobs",)),
)
def build_job_scope(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    # terraform-provider-azuredevops (resource_build_definition.go, expandBuildDefinition) sends jobs, as a classic
    # designer process, only for repoType Git; every other definition is a YAML process and its jobs are dropped.
    # A job's scope defaults to projectCollection, the organization-wide token.
    if peek(r.props, "repository.repoType") != "Git":
        return
    for index, job in enumerate(peek_items(r.props, "jobs")):
        if job is UNKNOWN:
            continue
        where = f"jobs[{index}] ({peek(job, 'name')})"
        yield from _job_scope(f"{where}.jobAuthorizationScope", peek(job, "jobAuthorizationScope"))
        if peek(job, "allowScriptsAuthAccessOption") is True:
            yield f"{where}.allowScriptsAuthAccessOption is true: scripts can read System.AccessToken; set it to false"


def _job_scope(key: str, scope: Any) -> Iterator[str]:
    if scope is None:
        yield f"{key} is not set (default 'projectCollection'); set it to 'project'"
    elif scope is not UNKNOWN and scope != "project":
        yield f"{key} is {scope!r}; set it to 'project'"


@RULES.resource(
    "security-ado-build-definition-untrusted-code",
    types=[ADO_BUILD_DEFINITION],
    description="Pipelines never give secrets to fork builds, do not build pull requests from forks of external "
                "repositories, and run CI or scheduled builds only of trusted repository types.",
    severity="high",
    remediation="Set pullRequestTrigger.forks.shareSecrets to false; for repositories outside Azure Repos set "
                "pullRequestTrigger.forks.enabled to false and remove ciTrigger and schedules (or list the repository "
                "type in trustedRepoTypes after review).",
    url=f"{DOCS}/pipelines/repos/github#contributions-from-forks",
    refs=Refs(mcsb=("DS-6",), ado=(
        "ADO_Build_DP_Disable_CI_On_External_Sources", "ADO_Build_DP_Dont_Allow_Forked_Builds_Run_As_Regular_Builds",
        "ADO_Build_DP_Dont_Allow_Forked_PublicRepo_Builds_In_PrivateProjects",
        "ADO_Build_DP_Dont_Make_Secrets_Available_To_Forked_Builds")),
    config={"trustedRepoTypes": setting("array", ["TfsGit"], "repository.repoType values whose CI and scheduled "
                                        "builds are allowed (TfsGit: Azure Repos).", items={"type": "string"})},
)
def build_untrusted_code(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if peek(r.props, "pullRequestTrigger.forks.shareSecrets") is True:
        yield "pullRequestTrigger.forks.shareSecrets is true: builds of forks get the pipeline's secrets; set it to " \
              "false"
    repo_type = known_str(peek(r.props, "repository.repoType"))
    if repo_type is None:
        return
    # A fork of an Azure Repos repository lives in the same organization; ADOScanner fails fork builds of public
    # external repositories, and visibility is not an input, so every external repository counts.
    if repo_type != "TfsGit" and peek(r.props, "pullRequestTrigger.forks.enabled") is True:
        yield f"pullRequestTrigger.forks.enabled is true for a {repo_type} repository: anyone who forks it can run " \
              "code in the pipeline; set it to false"
    if repo_type in cfg["trustedRepoTypes"]:
        return
    trusted = ", ".join(cfg["trustedRepoTypes"]) or "none"
    if is_set(r.props, "ciTrigger"):
        yield f"ciTrigger is set for a {repo_type} repository (trusted repository types: {trusted}); remove it"
    if peek_items(r.props, "schedules"):
        yield f"schedules build a {repo_type} repository (trusted repository types: {trusted}); remove them"


@RULES.resource(
    "security-ado-build-definition-queue-time-variables",
    types=[ADO_BUILD_DEFINITION],
    description="Pipeline variables cannot be set at queue time, except reviewed ones, and never URL-valued ones.",
    severity="medium",
    remediation="Set variables[].allowOverride to false (it defaults to true); list a variable that must stay "
                "settable in settableVariables, unless its value is a URL.",
    url=f"{DOCS}/pipelines/security/inputs",
    refs=Refs(mcsb=("DS-6",), ado=("ADO_Build_SI_Review_Variables_Settable_At_Queue_Time",
                                   "ADO_Build_SI_Review_URL_Variables_Settable_At_Queue_Time")),
    config={"settableVariables": setting("array", [], "Variable names reviewed to stay settable at queue time.",
                                         items={"type": "string"})},
)
def build_queue_time_variables(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    for variable in peek_items(r.props, "variables"):
        if variable is UNKNOWN:
            continue
        override = peek(variable, "allowOverride")
        if override is False or override is UNKNOWN:
            continue
        found = "true" if override is True else "not set (default true)"
        name = str(peek(variable, "name") or "")
        value = peek(variable, "value")
        if isinstance(value, str) and URL_VALUE.search(value):
            yield f"variable {name} holds a URL and can be set at queue time (allowOverride is {found}); set " \
                  "allowOverride to false"
        elif name not in cfg["settableVariables"]:
            yield f"variable {name} can be set at queue time (allowOverride is {found}); set allowOverride to false " \
                  "or list it in settableVariables"


@RULES.resource(
    "security-ado-agent-pool-no-auto-provision",
    types=[ADO_POOL, ADO_ELASTIC_POOL],
    description="Agent pools are not provisioned into every project of the organization.",
    severity="high",
    remediation="Set autoProvision to false and add the pool to the projects that need it with azuredevops.Queue.",
    url=f"{DOCS}/pipelines/agents/pools-queues",
    refs=Refs(mcsb=("PA-7",), ado=("ADO_AgentPool_AuthZ_Dont_Enable_Auto_Provisioning",)),
)
def agent_pool_no_auto_provision(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if peek(r.props, "autoProvision") is True:
        yield "autoProvision is true: every project of the organization gets a queue for this pool; set it to false"


#: What CheckBranchControl / CheckApproval targetResourceType each protected resource has.
BRANCH_CONTROL_TARGETS = {ADO_VARIABLE_GROUP: "variablegroup", ADO_QUEUE: "queue", ADO_GIT: "repository"}
ALL_BRANCHES = {"*", "refs/*", "refs/heads/*"}


def _check_target_type(resource: PolicyResource) -> str | None:
    """The targetResourceType a check on ``resource`` has: endpoint for every service connection type."""
    if resource.resource_type in BRANCH_CONTROL_TARGETS:
        return BRANCH_CONTROL_TARGETS[resource.resource_type]
    module = resource.resource_type.split(":")[1].rsplit("/", 1)[-1].lower()
    if module.startswith("serviceendpoint") and not module.endswith("permissions"):
        return "endpoint"
    return None


def _check_targets(links: Links, check: PolicyResource) -> set[str]:
    """What a check targets: through targetResourceId's dependencies, or by id (a repository's targetResourceId is
    ``<projectId>.<repositoryId>``)."""
    value = peek(check.props, "targetResourceId")
    values = [value, *value.split(".")] if isinstance(value, str) else [value]
    return links.targets(check, values, prop="targetResourceId")


@RULES.stack(
    "security-ado-resource-branch-control",
    description="Service connections, variable groups, agent queues and repositories can be used only from "
                "protected branches (branch control) or after an approval.",
    severity="medium",
    remediation="Add an azuredevops.CheckBranchControl on the resource (targetResourceId, targetResourceType) with "
                "allowedBranches listing the protected branches (e.g. refs/heads/main) and verifyBranchProtection "
                "true, or an azuredevops.CheckApproval.",
    url=f"{DOCS}/pipelines/process/approvals#branch-control",
    refs=Refs(mcsb=("DS-6", "PA-7"), ado=(
        "ADO_AgentPool_AuthZ_Enable_Branch_Control", "ADO_Repository_AuthZ_Enable_Branch_Control",
        "ADO_ServiceConnection_AuthZ_Enable_Branch_Control", "ADO_VariableGroup_AuthZ_Enable_Branch_Control")),
    config={"targetTypes": setting("array", ["endpoint", "variablegroup", "queue", "repository"],
                                   "Resource kinds (check targetResourceType) that need a branch control or approval.",
                                   items={"type": "string",
                                          "enum": ["endpoint", "variablegroup", "queue", "repository"]})},
)
def resource_branch_control(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
                            ) -> Iterator[tuple[str, str | None]]:
    links = Links.of(resources)
    branch_controls = of_type(resources, ADO_CHECK_BRANCH_CONTROL)
    checked: set[str] = set()
    for check in [*branch_controls, *of_type(resources, ADO_CHECK_APPROVAL)]:
        checked |= _check_targets(links, check)
    for resource in resources:
        kind = _check_target_type(resource)
        if kind in cfg["targetTypes"] and resource.urn not in checked:
            yield f"{label(resource)} has no branch control or approval check", resource.urn
    for check in branch_controls:
        kind = peek(check.props, "targetResourceType")
        if kind is UNKNOWN or kind == "environment":
            continue  # production environments: security-ado-prod-environment-checks
        allowed = peek(check.props, "allowedBranches")
        if allowed is UNKNOWN:
            pass
        elif not allowed:
            yield f"{label(check)}: allowedBranches is not set (default '*', every branch); list the protected " \
                  "branches", check.urn
        elif isinstance(allowed, str) and ALL_BRANCHES & set(_branches(allowed)):
            yield f"{label(check)}: allowedBranches is {allowed!r}, which allows every branch; list the protected " \
                  "branches", check.urn
        verify = peek(check.props, "verifyBranchProtection")
        if verify is not True and verify is not UNKNOWN:
            found = "false" if verify is False else "not set (default false)"
            yield f"{label(check)}: verifyBranchProtection is {found}; set it to true", check.urn


def _full_ref(branch: str) -> str:
    """``main`` as the ref Azure DevOps compares, ``refs/heads/main``."""
    return branch if branch.startswith("refs/") else f"refs/heads/{branch}"


class _Protection:
    """The enabled, blocking branch policies of a stack, scope by scope, with the repositories each scope names."""

    def __init__(self, resources: Sequence[PolicyResource], links: Links, repos: Mapping[str, PolicyResource]):
        self.repos = repos
        #: (scope, the stack repositories it names; None when that cannot be told yet)
        self.scopes: list[tuple[Any, set[str] | None]] = []
        for policy in of_type(resources, *ADO_BRANCH_POLICIES):
            if peek(policy.props, "enabled") is False or peek(policy.props, "blocking") is False:
                continue
            scopes = peek_items(policy.props, "settings.scopes")
            # The engine records property dependencies per input (settings), not per scope: on a first preview
            # they say which repository an unknown repositoryId is only when one scope has one and they hold one.
            depends = links.targets(policy, prop="settings", fallback=False) & repos.keys()
            unknown = sum(1 for scope in scopes if peek(scope, "repositoryId") is UNKNOWN)
            for scope in scopes:
                repo_id = peek(scope, "repositoryId")
                if repo_id is UNKNOWN:
                    self.scopes.append((scope, depends if unknown == 1 and len(depends) == 1 else None))
                else:
                    self.scopes.append((scope, links.named(repo_id) & repos.keys()))

    def covers(self, repo_urns: set[str], repo_id: str | None, branch: str) -> bool:
        """Whether some scope protects ``branch`` of the repository created as ``repo_urns`` or with id ``repo_id``.
        What is not known yet (an id, a ref computed elsewhere, a default branch left to Azure DevOps) counts as
        protected: the rule reports only what the stack shows to be unprotected."""
        return any(self._scope_covers(scope, named, repo_urns, repo_id, branch) for scope, named in self.scopes)

    def _scope_covers(self, scope: Any, named: set[str] | None, repo_urns: set[str], repo_id: str | None,
                      branch: str) -> bool:
        scope_repo = peek(scope, "repositoryId")
        if scope_repo is UNKNOWN:
            if named is not None and not named & repo_urns:
                return False
        elif scope_repo is not None:  # no repositoryId: every repository of the project
            known = known_str(scope_repo)
            same_id = known is not None and repo_id is not None and known.lower() == repo_id.lower()
            if not (same_id or (named or set()) & repo_urns):
                return False
        match = str(peek(scope, "matchType") or "Exact").lower()
        if match == "defaultbranch":
            defaults = {known_str(peek(self.repos[u].props, "defaultBranch")) for u in repo_urns if u in self.repos}
            return not defaults or None in defaults or _full_ref(branch).lower() in {
                _full_ref(d).lower() for d in defaults if d}
        ref = peek(scope, "repositoryRef")
        if ref is UNKNOWN:
            return True
        ref_text = known_str(ref)
        if ref_text is None:
            return False
        wanted, target = _full_ref(ref_text).lower(), _full_ref(branch).lower()
        return target == wanted if match == "exact" else target.startswith(wanted)


def _projects(links: Links, resource: PolicyResource, projects: Mapping[str, PolicyResource]) -> set[str]:
    """The names ``resource``'s projectId may stand for (lower case): the stack project it links to, or the literal
    value (a project name or id); empty when it cannot be told."""
    value = peek(resource.props, "projectId")
    linked = links.targets(resource, [value], prop="projectId", fallback=False) & projects.keys()
    names = {known_str(peek(projects[u].props, "name")) for u in linked}
    if not linked and known_str(value):
        names.add(known_str(value))
    return {n.lower() for n in names if n}


@RULES.stack(
    "security-ado-pipeline-branch-protected",
    description="The default branch of every YAML pipeline in an Azure Repos repository, and the branch every "
                "required template comes from, has an enabled, blocking branch policy in the stack.",
    severity="medium",
    remediation="Add a branch policy (for example azuredevops.BranchPolicyMinReviewers, enabled and blocking) whose "
                "settings.scopes name the repository and the pipeline's repository.branchName, or the "
                "repositoryRef of the CheckRequiredTemplate's template.",
    url=f"{DOCS}/pipelines/security/templates",
    refs=Refs(mcsb=("DS-6",), ado=(
        "ADO_Build_DP_Verify_Default_Branch", "ADO_AgentPool_DP_Use_Template_From_Protected_Branch",
        "ADO_Environment_DP_Use_Template_From_Protected_Branch", "ADO_Repository_DP_Use_Template_From_Protected_Branch",
        "ADO_SecureFile_DP_Use_Template_From_Protected_Branch",
        "ADO_ServiceConnection_DP_Use_Template_From_Protected_Branch",
        "ADO_VariableGroup_DP_Use_Template_From_Protected_Branch")),
    config={"externalRepositories": setting(
        "boolean", False, "Also report branches of repositories this stack does not create (their branch policies "
                          "may be managed elsewhere, where the stack cannot see them).")},
)
def pipeline_branch_protected(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
                              ) -> Iterator[tuple[str, str | None]]:
    links = Links.of(resources)
    repos = {r.urn: r for r in of_type(resources, ADO_GIT)}
    protection = _Protection(resources, links, repos)

    def unprotected(repo_urns: set[str], repo_id: str | None, branch: str) -> bool:
        if not repo_urns and not cfg["externalRepositories"]:
            return False
        return not protection.covers(repo_urns, repo_id, branch)

    # ADOScanner's CheckYAMLDefaultBranch: YAML pipelines only (classic pipelines keep their definition in Azure
    # DevOps, not in the branch). repository.repoType defaults to GitHub and branchName to master.
    for pipeline in of_type(resources, ADO_BUILD_DEFINITION):
        if peek(pipeline.props, "repository.repoType") != "TfsGit" or not is_set(pipeline.props, "repository.ymlPath"):
            continue
        repo_id = peek(pipeline.props, "repository.repoId")
        branch = peek(pipeline.props, "repository.branchName") or "master"
        if branch is UNKNOWN:
            continue
        repo_urns = links.targets(pipeline, [repo_id], prop="repository", fallback=False) & repos.keys()
        if unprotected(repo_urns, known_str(repo_id), str(branch)):
            yield (f"{label(pipeline)}: its default branch {_full_ref(str(branch))} has no enabled, blocking branch "
                   "policy", pipeline.urn)
    # ADOScanner's CheckTemplateBranchFor*: the branch each required template (Azure Repos) comes from. The
    # template names its repository "project/repo", or "repo" in the check's own project; repository names are
    # unique only within a project.
    projects = {r.urn: r for r in of_type(resources, ADO_PROJECT)}
    by_name: dict[tuple[str, str], set[str]] = {}
    for urn, repo in repos.items():
        if name := known_str(peek(repo.props, "name")):
            for project in _projects(links, repo, projects):
                by_name.setdefault((project, name.lower()), set()).add(urn)
    for check in of_type(resources, ADO_CHECK_REQUIRED_TEMPLATE):
        depends = links.targets(check, prop="requiredTemplates", fallback=False) & repos.keys()
        for template in peek_items(check.props, "requiredTemplates"):
            kind, name, ref = (peek(template, key) for key in ("repositoryType", "repositoryName", "repositoryRef"))
            if (kind or "azuregit") != "azuregit" or not known_str(ref):
                continue
            if known_str(name):
                project, _, repo_name = name.rpartition("/")
                owners = {project.lower()} if project else _projects(links, check, projects)
                repo_urns = set().union(*(by_name.get((p, repo_name.lower()), set()) for p in owners))
            else:
                repo_urns = depends if len(depends) == 1 else set()
            if unprotected(repo_urns, None, str(ref)):
                yield (f"{label(check)}: required template {peek(template, 'templatePath')} comes from "
                       f"{name}@{_full_ref(str(ref))}, which has no enabled, blocking branch policy", check.urn)
