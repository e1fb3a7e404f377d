"""Azure DevOps delivery settings managed with pulumi-azuredevops: projects, branch policies, service connections,
variable groups, and approvals on the production environment."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.graph import Links, known_str, label, of_type, peek
from ..lib.props import get
from ..lib.rules import Refs, Resource, setting
from ..lib.types import (
    ADO_BUILD_VALIDATION,
    ADO_CHECK_APPROVAL,
    ADO_CHECK_BRANCH_CONTROL,
    ADO_ENVIRONMENT,
    ADO_MIN_REVIEWERS,
    ADO_PIPELINE_AUTHORIZATION,
    ADO_PROJECT,
    ADO_RESOURCE_AUTHORIZATION,
    ADO_SERVICE_ENDPOINT_AZURERM,
    ADO_VARIABLE_GROUP,
)
from . import RULES

DOCS = "https://learn.microsoft.com/azure/devops"
SECRET_NAME = re.compile(r"(secret|password|passwd|token|key|connection.?string|sas|credential|pat)$", re.I)


@RULES.resource(
    "security-ado-project-private",
    types=[ADO_PROJECT],
    description="Azure DevOps projects are private.",
    severity="critical",
    remediation="Set visibility to private.",
    url=f"{DOCS}/organizations/projects/make-project-public",
    refs=Refs(mcsb=("DS-6",), ado=("project visibility",)),
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
    refs=Refs(mcsb=("DS-6",), checkov=("CKV2_ADO_1",), ado=("branch policy: minimum reviewers",)),
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
    refs=Refs(mcsb=("DS-6",), ado=("branch policy: build validation",)),
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
    description="Azure service connections use workload identity federation and store no secret.",
    severity="critical",
    remediation="Set serviceEndpointAuthenticationScheme to WorkloadIdentityFederation and remove "
                "credentials.serviceprincipalkey and credentials.serviceprincipalcertificate.",
    url=f"{DOCS}/pipelines/library/connect-to-azure",
    refs=Refs(mcsb=("IM-3", "IM-8"), ado=("service connection authentication",)),
)
def service_connection(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    scheme = r.props.get("serviceEndpointAuthenticationScheme", "ServicePrincipal")
    if scheme != "WorkloadIdentityFederation":
        yield f"serviceEndpointAuthenticationScheme is {scheme!r}; use 'WorkloadIdentityFederation'"
    for secret in ("serviceprincipalkey", "serviceprincipalcertificate"):
        if get(r.props, f"credentials.{secret}"):
            yield f"credentials.{secret} is set; a federated connection stores no secret"


@RULES.resource(
    "security-ado-resource-not-open",
    types=[ADO_RESOURCE_AUTHORIZATION, ADO_PIPELINE_AUTHORIZATION],
    description="Service connections, variable groups and environments are authorized for named pipelines only.",
    severity="high",
    remediation="Authorize each pipeline explicitly: give PipelineAuthorization a pipelineId, or "
                "ResourceAuthorization a definitionId; never authorize a resource for all pipelines.",
    url=f"{DOCS}/pipelines/security/resources",
    refs=Refs(mcsb=("PA-7",), ado=("service connection open to all pipelines",)),
)
def resource_not_open(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.type == ADO_PIPELINE_AUTHORIZATION and not r.props.get("pipelineId"):
        yield "no pipelineId: the resource would be open to every pipeline in the project"
    if r.type == ADO_RESOURCE_AUTHORIZATION and r.props.get("authorized") and not r.props.get("definitionId"):
        yield "authorized without definitionId: the resource would be open to every pipeline in the project"


@RULES.resource(
    "security-ado-variable-group-secrets",
    types=[ADO_VARIABLE_GROUP],
    description="Variable groups keep secret-looking values as secret variables (or in Key Vault).",
    severity="critical",
    remediation="Mark the variable isSecret with secretValue, or link the group to Key Vault (keyVault block).",
    url=f"{DOCS}/pipelines/library/variable-groups",
    refs=Refs(mcsb=("IM-8",), ado=("variable group secrets in plain text",)),
)
def variable_group_secrets(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    for variable in r.props.get("variables", []) or []:
        name = str(get(variable, "name", ""))
        if SECRET_NAME.search(name) and get(variable, "value") and not get(variable, "isSecret"):
            yield f"variable {name} looks like a secret and is stored in plain text"


@RULES.stack(
    "security-ado-prod-environment-checks",
    description="Production environments require a manual approval and deployments from protected branches only.",
    severity="high",
    remediation="Add azuredevops.CheckApproval (at least one approver, requester cannot approve) and "
                "azuredevops.CheckBranchControl (allowedBranches refs/heads/main, verifyBranchProtection true) with "
                "targetResourceType environment on the production environment.",
    url=f"{DOCS}/pipelines/process/approvals",
    refs=Refs(mcsb=("DS-6",), ado=("environment approvals and checks",)),
    config={"productionPattern": setting("string", "(^|[-_.])prod(uction)?($|[-_.])",
                                         "Regular expression matching production environment names.")},
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
        elif not any(c.props.get("verifyBranchProtection") for c in branch):
            yield f"{label(env)}: branch control does not verify branch protection", env.urn
