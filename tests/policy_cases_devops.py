"""Policy rule cases for Azure DevOps (pulumi-azuredevops).

Helpers and how cases run: ``policy_cases.py``.
"""

from __future__ import annotations

from typing import Any

from policy_cases import _IDS, UNKNOWN, Case, Ref, bad, good, linked, put
from policy_cases import GOOD as BASE

from policies.harness import Resource, Secret
from policies.lib import types as tokens

#: Compliant resources of this area, by kind (added to ``policy_cases.GOOD``; each must pass every rule of every pack).
GOOD: dict[str, dict[str, Any]] = {
    "pipelinesettings": {
        "projectId": "project-1",
        "enforceJobScope": True,
        "enforceJobScopeForRelease": True,
        "enforceReferencedRepoScopedToken": True,
        "enforceSettableVar": True,
        "statusBadgesArePrivate": True,
        "publishPipelineMetadata": True,
    },
    "pipeline": {
        "projectId": "project-1",
        "name": "ml-train",
        "repository": {"repoType": "TfsGit", "repoId": "repo1", "branchName": "refs/heads/main",
                       "ymlPath": "azure-pipelines.yml"},
        "ciTrigger": {"useYaml": True},
        "pullRequestTrigger": {"useYaml": True, "forks": {"enabled": False, "shareSecrets": False}},
        "variables": [
            {"name": "REGION", "value": "westeurope", "allowOverride": False},
            {"name": "API_TOKEN", "isSecret": True, "secretValue": Secret("x"), "allowOverride": False},
        ],
    },
    "pool": {"name": "ml-agents", "autoProvision": False, "autoUpdate": True},
    "elasticpool": {
        "name": "ml-vmss",
        "serviceEndpointId": "endpoint-1",
        "serviceEndpointScope": "project-1",
        "azureResourceId": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/a",
        "desiredIdle": 0,
        "maxCapacity": 2,
        "autoProvision": False,
        "autoUpdate": True,
    },
    "groupvariable": {"projectId": "project-1", "variableGroupId": "1", "name": "API_TOKEN",
                      "secretValue": Secret("x")},
    "genericv2": {"projectId": "project-1", "name": "feed", "type": "externalnugetfeed",
                  "serverUrl": "https://nuget.example.com/v3/index.json", "authorizationScheme": "None"},
    "nuget": {"projectId": "project-1", "serviceEndpointName": "feed", "feedUrl": "https://nuget.example.com/v3/index.json",
              "apiKey": Secret("k")},
}
#: Their Pulumi types (added to ``policy_cases.TYPES``).
TYPES: dict[str, str] = {
    "pipelinesettings": tokens.ADO_PROJECT_PIPELINE_SETTINGS,
    "pipeline": tokens.ADO_BUILD_DEFINITION,
    "pool": tokens.ADO_POOL,
    "elasticpool": tokens.ADO_ELASTIC_POOL,
    "groupvariable": tokens.ADO_VARIABLE_GROUP_VARIABLE,
    "genericv2": tokens.ADO_SERVICE_ENDPOINT_GENERIC_V2,
    "nuget": tokens.ADO_SERVICE_ENDPOINT_NUGET,
}

STORAGE_KEY = "A" * 84 + "b1=="


def resource_cases() -> list[Case]:
    c = Case
    return [
        # --- existing rules, extended
        c("security-ado-service-connection-federated", [bad("connection", put("resourceGroup", "rg-ml"))]),
        c(
            "security-ado-service-connection-federated",
            [bad("connection", lambda p: p.update(azurermManagementGroupId="mg-ml", environment="AzureChinaCloud"))],
            [
                "azurermManagementGroupId is set: the connection reaches every subscription of a management group; "
                "scope it to a subscription and resource group",
                "environment is 'AzureChinaCloud'; allowed: AzureCloud",
            ],
        ),
        c(
            "security-ado-service-connection-federated",
            [bad("connection", put("credentials", None))],
            ["credentials and resourceGroup are not set: Azure DevOps creates the identity and grants it Contributor "
             "on the whole subscription; set resourceGroup, or give credentials of an identity with narrower roles"],
        ),
        c("security-ado-service-connection-federated",
          [bad("connection", lambda p: p.update(credentials=None, resourceGroup="rg-ml"))]),
        c("security-ado-resource-not-open", [good("variables"), good("genericv2")]),
        # --- service connection authentication (ADOScanner CheckSecureAuthN and CheckClassicConnection)
        c("security-ado-service-connection-secure-auth", [
            good("genericv2"), good("nuget"),
            bad("genericv2", lambda p: p.update(type="externaltfs", authorizationScheme="Token")),
            # Types ADOScanner does not grade, and a scheme computed elsewhere, are left alone.
            bad("genericv2", lambda p: p.update(type="generic", authorizationScheme="UsernamePassword")),
            bad("genericv2", put("authorizationScheme", UNKNOWN))]),
        c(
            "security-ado-service-connection-secure-auth",
            [bad("genericv2", lambda p: p.update(type="azure", authorizationScheme="Certificate")),
             bad("genericv2", lambda p: p.update(type="ExternalNpmRegistry", authorizationScheme="UsernamePassword")),
             bad("nuget", lambda p: (p.pop("apiKey"), p.update(username="ci", password=Secret("p")))),
             bad("nuget", lambda p: (p.pop("apiKey"), p.update(personalAccessToken=Secret("t"))))],
            ["type is 'azure', a classic Azure service connection; use a ServiceEndpointAzureRM (Azure Resource "
             "Manager, workload identity federation) scoped to a resource group",
             "authorizationScheme is 'UsernamePassword'; ExternalNpmRegistry connections must use 'Token'",
             "username and password are set; NuGet connections must use 'None' (apiKey)",
             "personalAccessToken is set; NuGet connections must use 'None' (apiKey)"],
        ),
        c("security-ado-service-connection-secure-auth",
          [bad("nuget", lambda p: (p.pop("apiKey"), p.update(personalAccessToken=Secret("t"))))],
          config={"requiredSchemes": {"externalnugetfeed": "Token"}}),
        c("security-ado-service-connection-secure-auth",
          [bad("nuget", lambda p: (p.pop("apiKey"), p.update(username="ci", password=Secret("p"))))],
          config={"requiredSchemes": {"externalnpmregistry": "Token"}}),
        c(
            "security-ado-resource-not-open",
            [bad("variables", put("allowAccess", True)), bad("genericv2", put("sharedProjectIds", ["project-2"]))],
            ["allowAccess is true: the variable group would be open to every pipeline in the project; set it to false",
             "sharedProjectIds is set: the service connection is shared with other projects; leave it empty"],
        ),
        c("security-ado-variable-group-secrets", [good("groupvariable"), good("pipeline")]),
        c(
            "security-ado-variable-group-secrets",
            [
                bad("groupvariable", lambda p: p.update(secretValue=None, value="hunter2")),
                bad("pipeline", lambda p: p["variables"].extend([
                    {"name": "STORAGE",
                     "value": f"DefaultEndpointsProtocol=https;AccountName=st;AccountKey={STORAGE_KEY}"},
                    {"name": "BLOB_URL", "value": "https://st.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=co"
                                                  "&sp=r&se=2030-01-01&st=2024-01-01&spr=https&sig=abc"},
                    {"name": "ADO", "value": "a" * 52},
                    # The format since July 2024: 84 characters with AZDO near the end.
                    {"name": "ADO_NEW", "value": "Ab1" * 25 + "xAZDOq7Z9"},
                    {"name": "DB", "value": "Server=db;Database=ml;User Id=ml;Password=hunter2;"},
                    {"name": "SIGNING", "value": "-----BEGIN RSA PRIVATE KEY-----\nMIIE..."},
                    {"name": "KEY", "value": STORAGE_KEY},
                    {"name": "SAFE_TOKEN", "isSecret": True, "secretValue": Secret("x")},
                ])),
            ],
            [
                "variable API_TOKEN looks like a secret and is stored in plain text",
                "variable STORAGE holds an account key in a connection string in plain text",
                "variable BLOB_URL holds a SAS token in plain text",
                "variable ADO holds an Azure DevOps personal access token in plain text",
                "variable ADO_NEW holds an Azure DevOps personal access token in plain text",
                "variable DB holds a password in a connection string in plain text",
                "variable SIGNING holds a private key in plain text",
                "variable KEY looks like a secret and is stored in plain text",
            ],
        ),
        # --- project pipeline settings
        c("security-ado-project-pipeline-settings", [good("pipelinesettings")]),
        c(
            "security-ado-project-pipeline-settings",
            [bad("pipelinesettings", lambda p: p.update(enforceJobScope=False, statusBadgesArePrivate=None))],
            [
                "enforceJobScope is false; set it to true (limits the job access token of non-release pipelines to "
                "the project)",
                "statusBadgesArePrivate is not set, so the project keeps its current value; set it to true (disables "
                "anonymous access to status badges)",
            ],
        ),
        # --- build definitions
        c("security-ado-build-definition-job-scope", [good("pipeline")]),
        # The provider sends jobs only for repoType Git (classic); on a YAML definition they are dropped, and the
        # definition-level scope is never sent (the project's enforceJobScope decides).
        c("security-ado-build-definition-job-scope", [
            bad("pipeline", put("jobs", [{"name": "build", "refName": "Job_1", "condition": "succeeded()",
                                          "jobAuthorizationScope": "projectCollection"}]))]),
        c("security-ado-build-definition-job-scope", [bad("pipeline", lambda p: p.update(
            repository={"repoType": "Git", "repoId": "https://git.example.com/ml.git", "branchName": "main"},
            agentSpecification="ubuntu-24.04", jobs=[
                {"name": "build", "refName": "Job_1", "condition": "succeeded()", "jobAuthorizationScope": "project",
                 "allowScriptsAuthAccessOption": False}]))]),
        c(
            "security-ado-build-definition-job-scope",
            [bad("pipeline", lambda p: p.update(
                repository={"repoType": "Git", "repoId": "https://git.example.com/ml.git", "branchName": "main"},
                agentSpecification="ubuntu-24.04", jobs=[
                    {"name": "build", "refName": "Job_1", "condition": "succeeded()",
                     "jobAuthorizationScope": "projectCollection", "allowScriptsAuthAccessOption": True},
                    {"name": "test", "refName": "Job_2", "condition": "succeeded()"}]))],
            [
                "jobs[0] (build).jobAuthorizationScope is 'projectCollection'; set it to 'project'",
                "jobs[0] (build).allowScriptsAuthAccessOption is true: scripts can read System.AccessToken; set it to "
                "false",
                "jobs[1] (test).jobAuthorizationScope is not set (default 'projectCollection'); set it to 'project'",
            ],
        ),
        c("security-ado-build-definition-untrusted-code", [good("pipeline")]),
        # An external repository without CI, schedules or fork builds; or trusted after review.
        c("security-ado-build-definition-untrusted-code", [bad("pipeline", lambda p: (
            p["repository"].update(repoType="GitHub", repoId="contoso/ml"), p.pop("ciTrigger")))]),
        c("security-ado-build-definition-untrusted-code",
          [bad("pipeline", lambda p: p["repository"].update(repoType="GitHub", repoId="contoso/ml"))],
          config={"trustedRepoTypes": ["TfsGit", "GitHub"]}),
        c(
            "security-ado-build-definition-untrusted-code",
            [bad("pipeline", lambda p: (
                p["repository"].update(repoType="GitHub", repoId="contoso/ml"),
                p["pullRequestTrigger"].update(forks={"enabled": True, "shareSecrets": True}),
                p.update(schedules=[{"branchFilters": [{"includes": ["main"]}], "daysToBuilds": ["Mon"]}])))],
            [
                "pullRequestTrigger.forks.shareSecrets is true: builds of forks get the pipeline's secrets; set it "
                "to false",
                "pullRequestTrigger.forks.enabled is true for a GitHub repository: anyone who forks it can run code "
                "in the pipeline; set it to false",
                "ciTrigger is set for a GitHub repository (trusted repository types: TfsGit); remove it",
                "schedules build a GitHub repository (trusted repository types: TfsGit); remove them",
            ],
        ),
        c("security-ado-build-definition-queue-time-variables", [good("pipeline")]),
        c("security-ado-build-definition-queue-time-variables",
          [bad("pipeline", put("variables.0.allowOverride", True))], config={"settableVariables": ["REGION"]}),
        c(
            "security-ado-build-definition-queue-time-variables",
            [bad("pipeline", lambda p: p["variables"].extend([
                {"name": "MODEL", "value": "fraud"},
                {"name": "FEED", "value": "https://pkgs.dev.azure.com/contoso/_packaging/ml", "allowOverride": True},
            ]))],
            [
                "variable MODEL can be set at queue time (allowOverride is not set (default true)); set allowOverride "
                "to false or list it in settableVariables",
                "variable FEED holds a URL and can be set at queue time (allowOverride is true); set allowOverride to "
                "false",
            ],
            config={"settableVariables": ["FEED"]},
        ),
        # --- agent pools
        c("security-ado-agent-pool-no-auto-provision", [good("pool"), good("elasticpool")]),
        c(
            "security-ado-agent-pool-no-auto-provision",
            [bad("pool", put("autoProvision", True)), bad("elasticpool", put("autoProvision", True))],
            ["autoProvision is true: every project of the organization gets a queue for this pool; set it to "
             "false"] * 2,
        ),
        c("patching-ado-agent-pool-auto-update", [good("pool"), good("elasticpool"),
                                                  bad("pool", put("autoUpdate", None))]),
        c(
            "patching-ado-agent-pool-auto-update",
            [bad("pool", put("autoUpdate", False)), bad("elasticpool", put("autoUpdate", False))],
            ["autoUpdate is false: the pool's agents keep their version and miss agent fixes; set it to true"] * 2,
        ),
    ]


def stack_cases() -> list[Case]:
    c = Case
    project = linked(tokens.ADO_PROJECT, "ml", dict(BASE["project"]))
    endpoint = linked("connection", "azure", {**BASE["connection"], "projectId": Ref(project.resolved_urn)})
    group = linked("variables", "ml-vars", {**BASE["variables"], "projectId": Ref(project.resolved_urn)})
    queue = linked(tokens.ADO_QUEUE, "agents", {"projectId": Ref(project.resolved_urn), "agentPoolId": 7})
    repo = linked(tokens.ADO_GIT, "ml-repo", {"projectId": Ref(project.resolved_urn), "name": "ml",
                                              "initialization": {"initType": "Clean"}})

    def branch_control(name: str, target: Any, kind: str, **props: Any) -> Any:
        return linked(tokens.ADO_CHECK_BRANCH_CONTROL, name, {
            "projectId": Ref(project.resolved_urn), "targetResourceType": kind, "targetResourceId": target,
            "allowedBranches": "refs/heads/main", "verifyBranchProtection": True, **props})

    on_endpoint = branch_control("endpoint-branches", Ref(endpoint.resolved_urn), "endpoint")
    on_group = branch_control("group-branches", Ref(group.resolved_urn), "variablegroup")
    on_repo = branch_control("repo-branches", Ref(repo.resolved_urn), "repository")
    approval = linked(tokens.ADO_CHECK_APPROVAL, "queue-approval", {
        "projectId": Ref(project.resolved_urn), "targetResourceType": "queue",
        "targetResourceId": Ref(queue.resolved_urn),
        "approvers": ["group-descriptor"], "requesterCanApprove": False})
    # A repository's check targets '<projectId>.<repositoryId>'; a literal id links only once ids are known.
    on_repo_by_id = branch_control("repo-branches", f"project-1.{_IDS[repo.resolved_urn][0]}", "repository")
    loose = branch_control("endpoint-branches", Ref(endpoint.resolved_urn), "endpoint",
                           allowedBranches="refs/heads/main, refs/heads/*", verifyBranchProtection=False)
    unset = linked(tokens.ADO_CHECK_BRANCH_CONTROL, "group-branches", {
        "projectId": Ref(project.resolved_urn), "targetResourceType": "variablegroup",
        "targetResourceId": Ref(group.resolved_urn)})
    env = linked(tokens.ADO_ENVIRONMENT, "prod", {"name": "ml-prod"})
    env_approval = linked(tokens.ADO_CHECK_APPROVAL, "approval", {
        "requesterCanApprove": False, "targetResourceType": "environment", "targetResourceId": Ref(env.resolved_urn)})

    def env_branch(allowed: str | None) -> Any:
        props = {"verifyBranchProtection": True, "targetResourceType": "environment",
                 "targetResourceId": Ref(env.resolved_urn)}
        if allowed is not None:
            props["allowedBranches"] = allowed
        return linked(tokens.ADO_CHECK_BRANCH_CONTROL, "branch", props)

    everything = [project, endpoint, group, queue, repo]
    return [
        c("security-ado-resource-branch-control", [*everything, on_endpoint, on_group, on_repo, approval], stack=True),
        c("security-ado-resource-branch-control", [*everything, on_endpoint, on_group, on_repo_by_id, approval],
          stack=True, phases=("deployed", "ids-only")),
        c(
            "security-ado-resource-branch-control",
            [*everything, loose, unset],
            [
                "agents (Queue) has no branch control or approval check",
                "ml-repo (Git) has no branch control or approval check",
                "endpoint-branches (CheckBranchControl): allowedBranches is 'refs/heads/main, refs/heads/*', which "
                "allows every branch; list the protected branches",
                "endpoint-branches (CheckBranchControl): verifyBranchProtection is false; set it to true",
                "group-branches (CheckBranchControl): allowedBranches is not set (default '*', every branch); list "
                "the protected branches",
                "group-branches (CheckBranchControl): verifyBranchProtection is not set (default false); set it to "
                "true",
            ],
            stack=True,
        ),
        c("security-ado-resource-branch-control", [*everything], config={"targetTypes": []}, stack=True),
        c("security-ado-prod-environment-checks", [env, env_approval, env_branch("refs/heads/main")], stack=True),
        c(
            "security-ado-prod-environment-checks",
            [env, env_approval, env_branch(None)],
            ["prod (Environment): branch control allowedBranches is not set (default '*'); allow only refs/heads/main, "
             "refs/heads/master"],
            stack=True,
        ),
        c(
            "security-ado-prod-environment-checks",
            [env, env_approval, env_branch("refs/heads/main, refs/heads/feature/*")],
            ["prod (Environment): branch control allowedBranches is 'refs/heads/main, refs/heads/feature/*'; allow "
             "only refs/heads/main, refs/heads/master"],
            stack=True,
        ),
        *_branch_protection_cases(project, repo, env),
    ]


def _branch_protection_cases(project: Resource, repo: Resource, env: Resource) -> list[Case]:
    """security-ado-pipeline-branch-protected: a YAML pipeline's default branch and a required template's branch
    need an enabled, blocking branch policy; repositories link through the graph on a preview and by id after."""
    c, rule = Case, "security-ado-pipeline-branch-protected"
    project_id, repo_ref = Ref(project.resolved_urn), Ref(repo.resolved_urn)

    def pipeline(name: str, branch: str | None = "refs/heads/main", repo_id: Any = repo_ref,
                 **repository: Any) -> Resource:
        spec = {"repoType": "TfsGit", "repoId": repo_id, "ymlPath": "azure-pipelines.yml", **repository}
        if branch is not None:
            spec["branchName"] = branch
        return linked("pipeline", name, {**GOOD["pipeline"], "repository": spec})

    def policy(name: str, *scopes: dict[str, Any], kind: str = tokens.ADO_MIN_REVIEWERS, **props: Any) -> Resource:
        return linked(kind, name, {"projectId": project_id, "settings": {"reviewerCount": 2, "scopes": list(scopes)},
                                   **props})

    def scope(ref: str | None = "refs/heads/main", repo_id: Any = repo_ref, **more: Any) -> dict[str, Any]:
        out = {**more}
        if repo_id is not None:
            out["repositoryId"] = repo_id
        if ref is not None:
            out["repositoryRef"] = ref
        return out

    def template(name: str, ref: str, repository: str = "ml/ml", **more: Any) -> Resource:
        return linked(tokens.ADO_CHECK_REQUIRED_TEMPLATE, name, {
            "projectId": project_id, "targetResourceType": "environment", "targetResourceId": Ref(env.resolved_urn),
            "requiredTemplates": [{"repositoryName": repository, "repositoryRef": ref,
                                   "templatePath": "templates/deploy.yml", **more}]})

    train, main = pipeline("train"), policy("main-reviewers", scope())
    deploy = template("prod-template", "refs/heads/main")
    by_id = policy("main-reviewers", scope(repo_id=_IDS[repo.resolved_urn][0]))
    base = [project, repo, env]
    external = pipeline("external", repo_id="4f6a0c1e-0000-4000-8000-00000000abcd")
    mainline = linked(tokens.ADO_GIT, "mainline-repo", {"projectId": project_id, "name": "mainline",
                                                        "defaultBranch": "refs/heads/main",
                                                        "initialization": {"initType": "Clean"}})
    default_scope = policy("default", scope(None, None, matchType="DefaultBranch"))
    tools = linked(tokens.ADO_GIT, "tools-repo", {"projectId": project_id, "name": "tools",
                                                  "initialization": {"initType": "Clean"}})
    return [
        c(rule, [*base, train, main, deploy], stack=True),
        # A policy and a pipeline naming the repository by its literal id (known only after up).
        c(rule, [*base, pipeline("train", repo_id=_IDS[repo.resolved_urn][0]), by_id], stack=True,
          phases=("deployed", "ids-only")),
        # Short branch names, prefix and default-branch scopes, and a scope for every repository of the project.
        c(rule, [*base, pipeline("train", "main"), main, template("prod-template", "refs/heads/release/1.0"),
                 policy("release", scope("refs/heads/release", matchType="Prefix"))], stack=True),
        c(rule, [*base, train, deploy, policy("all-repos", scope(repo_id=None), kind=tokens.ADO_BUILD_VALIDATION)],
          stack=True),
        # Classic and GitHub pipelines, templates outside Azure Repos, and repositories the stack does not create
        # are not judged by default (their policies can live elsewhere).
        c(rule, [*base, pipeline("classic", ymlPath=None), pipeline("github", repoType="GitHub"), external,
                 template("gh-template", "refs/heads/dev", repositoryType="github"),
                 template("other-template", "refs/heads/dev", repository="other/shared")], stack=True),
        c(rule, [*base, external], ["external (BuildDefinition): its default branch refs/heads/main has no enabled, "
                                    "blocking branch policy"],
          config={"externalRepositories": True}, stack=True),
        c(
            rule,
            [*base, pipeline("train", None), deploy, template("hotfix", "refs/heads/hotfix", repository="ml"),
             policy("main-reviewers", scope(), enabled=False),
             policy("advisory", scope(), blocking=False),
             policy("dev", scope("refs/heads/dev")),
             policy("release", scope("refs/heads/release", matchType="Prefix"))],
            ["train (BuildDefinition): its default branch refs/heads/master has no enabled, blocking branch policy",
             "prod-template (CheckRequiredTemplate): required template templates/deploy.yml comes from "
             "ml/ml@refs/heads/main, which has no enabled, blocking branch policy",
             "hotfix (CheckRequiredTemplate): required template templates/deploy.yml comes from "
             "ml@refs/heads/hotfix, which has no enabled, blocking branch policy"],
            stack=True,
        ),
        # A scope protects only the repository it names: a policy on another repository does not count, and of
        # one policy's two scopes (tools/main, ml/dev) neither protects ml/main. On a first preview both scopes'
        # repositoryIds are unknown and the engine's settings dependencies cannot tell them apart: not reported.
        c(rule, [*base, tools, train, policy("tools-main", scope(repo_id=Ref(tools.resolved_urn)))],
          ["train (BuildDefinition): its default branch refs/heads/main has no enabled, blocking branch policy"],
          stack=True),
        c(rule, [*base, tools, train, policy("two", scope(repo_id=Ref(tools.resolved_urn)), scope("refs/heads/dev"))],
          ["train (BuildDefinition): its default branch refs/heads/main has no enabled, blocking branch policy"],
          stack=True, phases=("deployed", "ids-only")),
        c(rule, [*base, tools, train, policy("two", scope(repo_id=Ref(tools.resolved_urn)), scope("refs/heads/dev"))],
          stack=True, phases=("preview",)),
        # Repository names are unique per project: a template from another project's "ml" is not this stack's.
        c(rule, [*base, template("other-template", "refs/heads/main", repository="otherproj/ml")], stack=True),
        # A default-branch scope covers only the repository's default branch (when the stack sets it).
        c(rule, [*base, mainline, pipeline("train", repo_id=Ref(mainline.resolved_urn)), default_scope], stack=True),
        c(rule, [*base, mainline, pipeline("train", "refs/heads/develop", repo_id=Ref(mainline.resolved_urn)),
                 default_scope],
          ["train (BuildDefinition): its default branch refs/heads/develop has no enabled, blocking branch policy"],
          stack=True),
    ]
