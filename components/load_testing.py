"""``LoadTesting``: Azure Load Testing for one environment, allowed to score the environment's online endpoints.

Creates (type ``mlops:loadtest:LoadTesting``):

- a user-assigned identity for the test engines. Azure Load Testing "assigns this identity to the engine instances"
  when a test names it (``referenceIdentities`` of kind ``Engine`` in the test configuration), and the locustfile
  gets a Microsoft Entra token for ``https://ml.azure.com`` from it (how-to-test-secured-endpoints);
- the load testing resource (``Microsoft.LoadTestService/loadTests``) carrying that identity: "Assign the managed
  identity that the target endpoint identifies to the Azure Load Testing resource" (same page);
- a custom role whose only permission is ``Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/
  action``, what invoking an ``aad_token`` endpoint needs ("any role allowing ...onlineEndpoints/score/action",
  how-to-authenticate-online-endpoint; no built-in role is narrower: AzureML Data Scientist can also delete
  endpoints and list keys), assigned to the engine identity at each endpoint's own scope;
- Load Test Contributor for the pipeline's identity on the resource only: create, upload and run tests (data
  actions ``loadtests/*``), read the resource, never change or delete it (built-in-roles/devops).

Tests and test runs are not ARM resources: the pipeline creates them on the data plane (``AzureLoadTest@1``, or
``az load test create --load-test-config-file``) from the configuration ``python -m loadtest config`` writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, loadtestservice, managedidentity

from components.interfaces import Grant, grant, propagation_wait
from components.naming import role_assignment_name

#: The one action the engines need on an endpoint (how-to-authenticate-online-endpoint, "Invoke managed online
#: endpoints with Microsoft Entra token (aad_token)").
SCORE_ACTION = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action"
SCORER_ROLE = "ML online endpoint scorer"


@dataclass(frozen=True)
class LoadTestingArgs:
    """Inputs of a :class:`LoadTesting`."""

    load_test_name: str
    identity_name: str
    location: str
    resource_group_name: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    naming_identity: str
    """The stack's naming identity (``components.naming.Namer.identity``): makes the custom role's name and the
    role assignments' GUIDs unique in the tenant."""
    endpoint_ids: Mapping[str, pulumi.Input[str]]
    """``<team>-<endpoint>`` -> ARM id of every online endpoint the engines may score."""
    assignable_scopes: Sequence[pulumi.Input[str]]
    """Where the scorer role may be assigned (every team's resource group, a set that does not shrink)."""
    pipeline_principal_id: str | None = None
    """Object id of the identity that creates and runs tests (the pipeline); ``None``: nobody gets that role here."""
    pipeline_principal_type: str = "ServicePrincipal"
    tags: Mapping[str, str] = field(default_factory=dict)


class LoadTesting(pulumi.ComponentResource):
    """Azure Load Testing of one environment (type ``mlops:loadtest:LoadTesting``)."""

    load_test_id: pulumi.Output[str]
    load_test_name: pulumi.Output[str]
    data_plane_uri: pulumi.Output[str]
    engine_identity_id: pulumi.Output[str]
    engine_client_id: pulumi.Output[str]
    engine_principal_id: pulumi.Output[str]

    def __init__(self, name: str, args: LoadTestingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:loadtest:LoadTesting", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-engine-identity", resource_name_=args.identity_name, resource_group_name=args.resource_group_name,
            location=args.location, tags=dict(args.tags), opts=child,
        )
        load_test = loadtestservice.LoadTest(
            f"{name}-load-test", load_test_name=args.load_test_name, resource_group_name=args.resource_group_name,
            location=args.location,
            description="Load tests of the environment's online endpoints (mlops-platform)",
            identity=loadtestservice.ManagedServiceIdentityArgs(
                type=loadtestservice.ManagedServiceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[identity.id],
            ),
            tags=dict(args.tags), opts=child,
        )
        subscription = pulumi.Output.from_input(args.subscription_id)
        role = authorization.RoleDefinition(
            f"{name}-scorer-role",
            role_definition_id=subscription.apply(
                lambda sub: role_assignment_name(sub, args.naming_identity, "endpoint-scorer-role")),
            scope=subscription.apply(lambda sub: f"/subscriptions/{sub}"),
            role_name=f"{SCORER_ROLE} ({args.naming_identity.replace('|', ' ')})",
            description="Send scoring requests to Azure ML online endpoints, nothing else (mlops-platform load tests).",
            role_type="CustomRole",
            permissions=[authorization.PermissionArgs(actions=[SCORE_ACTION])],
            assignable_scopes=list(args.assignable_scopes),
            opts=child,
        )
        role_ready = propagation_wait(self, f"{name}-scorer-role", [role])  # a new role replicates first
        grant(self, name, "engine", identity.principal_id, args.subscription_id,
              [Grant(SCORER_ROLE, f"ep-{key}", endpoint_id, definition_id=role.id)
               for key, endpoint_id in sorted(args.endpoint_ids.items())],
              args.naming_identity, depends_on=[role_ready])
        if args.pipeline_principal_id:
            grant(self, name, "pipeline", args.pipeline_principal_id, args.subscription_id,
                  [Grant("Load Test Contributor", "lt", load_test.id)], args.naming_identity,
                  principal_type=args.pipeline_principal_type)
        self.load_test_id = load_test.id
        self.load_test_name = load_test.name
        self.data_plane_uri = load_test.data_plane_uri
        self.engine_identity_id = identity.id
        self.engine_client_id = identity.client_id
        self.engine_principal_id = identity.principal_id
        self.register_outputs({
            "load_test_id": self.load_test_id, "load_test_name": self.load_test_name,
            "data_plane_uri": self.data_plane_uri, "engine_identity_id": self.engine_identity_id,
            "engine_client_id": self.engine_client_id, "engine_principal_id": self.engine_principal_id,
        })
