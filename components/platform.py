"""``Platform``: the whole environment from one validated :class:`~components.config.PlatformConfig`.

Builds the environment-wide pieces once (a shared resource group and the Log Analytics workspace every team's
diagnostics and Application Insights write to), then for each team one :class:`Workspace` and its compute clusters
and personal compute instances. The dev/prod differences live here, in :func:`workspace_args`, as explicit
relaxations of the components' secure defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, monitor, resources

from components.apm import MonitoredDeployment, MonitoredEndpoint, ServiceMonitoring, ServiceMonitoringArgs
from components.autoscale import Autoscale, AutoscaleArgs
from components.compute_cluster import ComputeCluster, ComputeClusterArgs
from components.compute_instance import INSTANCE_USER_ACTIONS, ComputeInstance, ComputeInstanceArgs
from components.config import PROJECT, PlatformConfig, TeamConfig
from components.interfaces import lock, log_analytics_workspace, propagation_wait
from components.load_testing import LoadTesting, LoadTestingArgs
from components.naming import Namer, role_assignment_name
from components.serving import OnlineEndpoint, OnlineEndpointArgs
from components.serving_config import EndpointConfig
from components.workspace import Workspace, WorkspaceArgs

SHARED = "shared"


@dataclass(frozen=True)
class PlatformArgs:
    """Inputs of a :class:`Platform`."""

    config: PlatformConfig
    """The validated stack configuration (``components.config.parse_config``)."""


def platform_tags(config: PlatformConfig) -> dict[str, str]:
    """The stack's tags plus the ones the platform always sets."""
    return {**config.tags, "environment": config.environment, "managed-by": "pulumi", "platform": PROJECT}


def workspace_args(config: PlatformConfig, team: TeamConfig, log_analytics_workspace_id: pulumi.Input[str],
                   tenant_id: pulumi.Input[str], subscription_id: pulumi.Input[str]) -> WorkspaceArgs:
    """Workspace settings for a team: prod keeps every secure default; dev relaxes network and cost settings."""
    prod = config.is_prod
    return WorkspaceArgs(
        location=config.region,
        prefix=config.prefix,
        environment=config.environment,
        tenant_id=tenant_id,
        subscription_id=subscription_id,
        tags={**platform_tags(config), "team": team.name},
        log_analytics_workspace_id=log_analytics_workspace_id,
        log_retention_days=config.log_retention_days,
        isolation_mode=config.network.isolation_mode,
        outbound_rules=config.network.outbound_rules,
        public_network_access=not prod,
        private_endpoint_subnet_id=config.network.private_endpoint_subnet_id,
        network_default_deny=prod,
        registry_premium=prod,
        storage_sku="Standard_GRS" if prod else "Standard_LRS",
        blob_retention_days=30 if prod else 7,
        hbi_workspace=config.hbi_workspace,
        # The prod registry is private, so images are built on the team's first cluster.
        image_build_compute=team.clusters[0].name if prod and team.clusters else None,
        lock=config.locks,
        private_dns_zone_ids=config.network.private_dns_zone_ids,
        users=tuple(dict.fromkeys(inst.object_id for inst in team.instances)),
        personal_compute=bool(team.instances),
        generation=config.generation,
    )


def instance_user_role(component: pulumi.ComponentResource, name: str, config: PlatformConfig,
                       subscription_id: pulumi.Input[str], scopes: list[pulumi.Output[str]],
                       ) -> authorization.RoleDefinition:
    """The custom role of compute instance users (``INSTANCE_USER_ACTIONS``), assignable in ``scopes`` (every team's
    resource group: a set that does not shrink while assignments still use the role, which Azure refuses). Custom
    role names are unique in a tenant, so the name carries the stack's naming identity; its GUID is derived from the
    subscription and that identity."""
    identity = Namer(config.prefix, SHARED, config.environment, config.region, config.generation).identity
    subscription = pulumi.Output.from_input(subscription_id)
    return authorization.RoleDefinition(
        f"{name}-instance-user-role",
        role_definition_id=subscription.apply(lambda sub: role_assignment_name(sub, identity, "instance-user-role")),
        scope=subscription.apply(lambda sub: f"/subscriptions/{sub}"),
        role_name=f"ML compute instance user ({identity.replace('|', ' ')})",
        description="Start, stop, restart and use an Azure ML compute instance assigned to you (mlops-platform).",
        role_type="CustomRole",
        permissions=[authorization.PermissionArgs(actions=list(INSTANCE_USER_ACTIONS))],
        assignable_scopes=scopes,
        opts=pulumi.ResourceOptions(parent=component),
    )


class Platform(pulumi.ComponentResource):
    """Every team's ML environment for one stack (type ``mlops:platform:Platform``)."""

    log_analytics_workspace_id: pulumi.Output[str]
    action_group_id: pulumi.Output[str]
    shared_resource_group_name: pulumi.Output[str]
    workspaces: dict[str, Workspace]
    clusters: dict[str, ComputeCluster]
    instances: dict[str, ComputeInstance]
    endpoints: dict[str, OnlineEndpoint]
    """``<team>-<endpoint>`` -> the endpoint component."""
    monitoring: dict[str, ServiceMonitoring]
    """Team -> the monitoring of its endpoints."""
    load_testing: LoadTesting | None
    """Azure Load Testing of the environment, when some endpoint declares its expected load."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:platform:Platform", name, None, opts)
        config = args.config
        tags = {**platform_tags(config), "team": SHARED}
        names = Namer(config.prefix, SHARED, config.environment, config.region, config.generation)
        stateful = pulumi.ResourceOptions(parent=self, protect=config.locks, retain_on_delete=config.locks)
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))

        rg = resources.ResourceGroup(
            f"{name}-{SHARED}-rg", resource_group_name=names.resource_group(), location=config.region, tags=tags,
            opts=stateful,
        )
        log_name = names.log_analytics()
        law, law_diagnostics = log_analytics_workspace(self, f"{name}-{SHARED}", log_name, rg.name, config.region,
                                                       config.log_retention_days, tags, stateful)
        if config.locks:
            lock(self, f"{name}-{SHARED}-log", log_name, law.id, [law_diagnostics])
        action_group = monitor.ActionGroup(
            f"{name}-{SHARED}-ag",
            action_group_name=names.action_group(),
            group_short_name=f"{config.prefix}-{config.environment}"[:12],
            resource_group_name=rg.name,
            location="global",
            enabled=True,
            email_receivers=[monitor.MicrosoftCommonEmailReceiverArgs(
                name=f"email-{i}", email_address=email, use_common_alert_schema=True)
                for i, email in enumerate(config.alert_emails)],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.workspaces, self.clusters, self.instances, self.endpoints, self.monitoring = {}, {}, {}, {}, {}
        for team in config.teams:
            self.workspaces[team.name] = Workspace(
                team.name,
                workspace_args(config, team, law.id, client.tenant_id, client.subscription_id),
                opts=pulumi.ResourceOptions(parent=self),
            )
        user_role, user_role_ready = None, []
        if any(team.instances for team in config.teams):
            user_role = instance_user_role(self, name, config, client.subscription_id,
                                           [ws.resource_group_id for ws in self.workspaces.values()])
            # A new custom role must replicate before it can be assigned.
            user_role_ready = [propagation_wait(self, f"{name}-instance-user-role", [user_role])]

        for team in config.teams:
            ws = self.workspaces[team.name]
            team_tags = {**platform_tags(config), "team": team.name}
            child = pulumi.ResourceOptions(parent=self)
            for cluster in team.clusters:
                key = f"{team.name}-{cluster.name}"
                self.clusters[key] = ComputeCluster(
                    key,
                    ComputeClusterArgs(
                        resource_group_name=ws.resource_group_name,
                        workspace_name=ws.workspace_name,
                        location=config.region,
                        compute_name=cluster.name,
                        vm_size=cluster.vm_size,
                        vm_priority=cluster.priority,
                        min_nodes=cluster.min_nodes,
                        max_nodes=cluster.max_nodes,
                        idle_scale_down=cluster.idle_scale_down,
                        identity_id=ws.compute_identity_id,
                        workspace_id=ws.workspace_id,
                        action_group_id=action_group.id,
                        tags=team_tags,
                        after=[ws.compute_ready],  # its identity's grants, applied
                    ),
                    opts=child,
                )
            team_names = Namer(config.prefix, team.name, config.environment, config.region, config.generation)
            for inst in team.instances:
                key = f"{team.name}-{inst.user}"
                self.instances[key] = ComputeInstance(
                    key,
                    ComputeInstanceArgs(
                        resource_group_name=ws.resource_group_name,
                        workspace_name=ws.workspace_name,
                        location=config.region,
                        compute_name=team_names.compute_instance(inst.user),
                        user_object_id=inst.object_id,
                        tenant_id=client.tenant_id,
                        vm_size=inst.vm_size,
                        patch_date=inst.patch_date,
                        idle_shutdown=inst.idle_shutdown,
                        schedule=inst.schedule,
                        identity_id=ws.instance_identity_id,
                        tags=team_tags,
                        subscription_id=client.subscription_id,
                        user_role_definition_id=user_role.id if user_role is not None else None,
                        after=[ws.compute_ready, *user_role_ready],  # grants applied, the user role replicated
                    ),
                    opts=child,
                )

            if team.endpoints:
                self._serving(config, team, ws, team_tags, law.id, action_group.id, client)

        self.load_testing = None
        loaded = [(team, e) for team in config.teams for e in team.endpoints if e.load is not None]
        if config.load_testing.enabled and loaded:
            self.load_testing = LoadTesting(f"{name}-loadtest", LoadTestingArgs(
                load_test_name=names.load_test(), identity_name=names.load_test_identity(), location=config.region,
                resource_group_name=rg.name, subscription_id=client.subscription_id, naming_identity=names.identity,
                endpoint_ids={f"{team.name}-{e.name}": self.endpoints[f"{team.name}-{e.name}"].endpoint_id
                              for team, e in loaded},
                # Every team's resource group, as for the instance user role: the set shrinks only when a team
                # goes, and Azure refuses to drop a scope from a role that assignments there still use.
                assignable_scopes=[ws.resource_group_id for ws in self.workspaces.values()],
                pipeline_principal_id=config.load_testing.pipeline_principal_id,
                pipeline_principal_type=config.load_testing.pipeline_principal_type, tags=tags,
            ), opts=pulumi.ResourceOptions(parent=self))

        self.action_group_id = action_group.id
        self.log_analytics_workspace_id = law.id
        self.shared_resource_group_name = rg.name
        self.register_outputs(
            {
                "log_analytics_workspace_id": self.log_analytics_workspace_id,
                "action_group_id": self.action_group_id,
                "shared_resource_group_name": self.shared_resource_group_name,
                "workspace_names": {team: ws.workspace_name for team, ws in self.workspaces.items()},
                "scoring_uris": {key: ep.scoring_uri for key, ep in self.endpoints.items()},
                "load_test": {"name": self.load_testing.load_test_name,
                              "engine_identity_id": self.load_testing.engine_identity_id,
                              "engine_client_id": self.load_testing.engine_client_id} if self.load_testing else None,
            }
        )

    def _serving(self, config: PlatformConfig, team: TeamConfig, ws: Workspace, tags: dict[str, str],
                 log_analytics_id: pulumi.Input[str], platform_action_group_id: pulumi.Input[str],
                 client: authorization.AwaitableGetClientConfigResult | pulumi.Output) -> None:
        """A team's endpoints, their autoscale and their monitoring; endpoints take public requests in dev only."""
        names = Namer(config.prefix, team.name, config.environment, config.region, config.generation)
        child = pulumi.ResourceOptions(parent=self)
        monitored = []
        for endpoint in team.endpoints:
            key = f"{team.name}-{endpoint.name}"
            azure_name = names.online_endpoint(endpoint.name)
            component = OnlineEndpoint(key, OnlineEndpointArgs(
                config=endpoint, endpoint_name=azure_name, identity_name=names.endpoint_identity(endpoint.name),
                location=config.region, subscription_id=client.subscription_id,
                resource_group_name=ws.resource_group_name, workspace_name=ws.workspace_name,
                workspace_id=ws.workspace_id, storage_account_id=ws.storage_account_id,
                storage_account_name=ws.storage_account_name, container_registry_id=ws.container_registry_id,
                deployer_object_id=client.object_id, deployer_principal_type=config.deployer_principal_type,
                registries=config.model_registries,
                public_network_access=not config.is_prod,
                tags=tags, after=[ws.compute_ready],
            ), opts=child)
            self.endpoints[key] = component
            watched = []
            for deployment in endpoint.deployments:
                autoscale = Autoscale(f"{key}-{deployment.name}", AutoscaleArgs(
                    autoscale_name=names.autoscale_setting(endpoint.name, deployment.name), location=config.region,
                    resource_group_name=ws.resource_group_name, deployment_name=deployment.name,
                    deployment_id=component.deployment_ids[deployment.name], endpoint_id=component.endpoint_id,
                    instances=deployment.instances, rules=endpoint.autoscale, slo=endpoint.slo,
                    log_analytics_workspace_id=log_analytics_id, notify_emails=team.alert_emails, tags=tags,
                ), opts=child)
                watched.append(MonitoredDeployment(deployment.name, component.deployment_ids[deployment.name],
                                                   autoscale.autoscale_setting_id,
                                                   _max_instances(endpoint, deployment.name)))
            monitored.append(MonitoredEndpoint(
                name=endpoint.name, azure_name=azure_name, endpoint_id=component.endpoint_id,
                scoring_uri=component.scoring_uri, slo=endpoint.slo, public=not config.is_prod, deployments=watched,
            ))
        self.monitoring[team.name] = ServiceMonitoring(f"{team.name}-apm", ServiceMonitoringArgs(
            team=team.name, environment=config.environment, location=config.region,
            resource_group_name=ws.resource_group_name, resource_group_id=ws.resource_group_id,
            action_group_name=names.action_group(), emails=team.alert_emails,
            platform_action_group_id=platform_action_group_id, log_analytics_workspace_id=log_analytics_id,
            application_insights_id=pulumi.Output.from_input(client.subscription_id).apply(
                lambda sub: f"/subscriptions/{sub}/resourceGroups/{names.resource_group()}/providers/"
                            f"Microsoft.Insights/components/{names.application_insights()}"),
            endpoints=monitored, tags=tags,
        ), opts=child)


def _max_instances(endpoint: EndpointConfig, deployment: str) -> int | None:
    """The most instances autoscale may give ``deployment``: its own maximum or a schedule's, whichever is higher;
    ``None`` when a profile holds it there by design (its minimum is that maximum), where running at the maximum
    says nothing about demand."""
    counts = [next(d.instances for d in endpoint.deployments if d.name == deployment),
              *(s.instances for s in endpoint.autoscale.schedules)]
    highest = max(c.maximum for c in counts)
    return None if any(c.minimum >= highest for c in counts) else highest
