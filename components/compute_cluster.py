"""``ComputeCluster``: an Azure ML compute cluster (AmlCompute) that scales to zero, with no public exposure."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import monitor

from components.compute_base import ComputeTargetArgs, compute_identity


@dataclass(frozen=True, kw_only=True)
class ComputeClusterArgs(ComputeTargetArgs):
    """Inputs of a :class:`ComputeCluster`; defaults are the secure, cost-controlled settings."""

    compute_name: str | None = None
    """Compute name in the workspace (2-16 characters); defaults to the component name."""
    vm_priority: str = "Dedicated"
    """``Dedicated`` or ``LowPriority`` (cheaper, can be pre-empted)."""
    min_nodes: int = 0
    """Nodes kept when idle. Zero lets the cluster scale to zero, which is also when nodes pick up a new OS image."""
    max_nodes: int = 2
    """Upper bound on nodes."""
    idle_scale_down: str = "PT2M"
    """ISO 8601 duration an idle node waits before it is removed."""
    workspace_id: pulumi.Input[str] | None = None
    """ARM id of the workspace; with ``action_group_id``, an alert watches the cluster's unusable nodes."""
    action_group_id: pulumi.Input[str] | None = None
    """Action group notified by the cluster's alert; ``None`` creates no alert."""


#: Inputs whose change replaces the cluster: Azure updates an existing AmlCompute only in its scale settings.
RECREATE_ON = (
    "identity",
    "properties.description",
    "properties.disableLocalAuth",
    "properties.properties.vmSize",
    "properties.properties.vmPriority",
    "properties.properties.osType",
    "properties.properties.enableNodePublicIp",
    "properties.properties.remoteLoginPortPublicAccess",
)


class ComputeCluster(pulumi.ComponentResource):
    """An AmlCompute cluster (type ``mlops:ml:ComputeCluster``)."""

    compute_name: pulumi.Output[str]
    compute_id: pulumi.Output[str]

    def __init__(self, name: str, args: ComputeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:ml:ComputeCluster", name, None, opts)
        if args.min_nodes < 0 or args.max_nodes < 1 or args.min_nodes > args.max_nodes:
            raise ValueError(f"{name}: need 0 <= min_nodes <= max_nodes and max_nodes >= 1, "
                             f"got min_nodes={args.min_nodes} max_nodes={args.max_nodes}")
        compute = ml.Compute(
            f"{name}-compute",
            compute_name=args.compute_name or name,
            resource_group_name=args.resource_group_name,
            workspace_name=args.workspace_name,
            location=args.location,
            identity=compute_identity(args.identity_id),
            properties=ml.AmlComputeArgs(
                compute_type="AmlCompute",
                disable_local_auth=True,
                description=f"{args.vm_priority} {args.vm_size} cluster managed by Pulumi",
                properties=ml.AmlComputePropertiesArgs(
                    vm_size=args.vm_size,
                    vm_priority=args.vm_priority,
                    os_type="Linux",
                    scale_settings=ml.ScaleSettingsArgs(
                        min_node_count=args.min_nodes,
                        max_node_count=args.max_nodes,
                        node_idle_time_before_scale_down=args.idle_scale_down,
                    ),
                    # The API defaults enableNodePublicIp to true; nodes must only be reachable privately.
                    enable_node_public_ip=False,
                    remote_login_port_public_access="Disabled",
                ),
            ),
            tags=dict(args.tags),
            # The compute name is reused, so the old cluster must go before the new one is created.
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=list(RECREATE_ON), delete_before_replace=True,
                                        depends_on=list(args.after)),
        )
        if args.workspace_id is not None and args.action_group_id is not None:
            # AmlCompute metrics live on the workspace, split by the ClusterName dimension.
            monitor.MetricAlert(
                f"{name}-alert",
                rule_name=f"alert-{name}-unusable-nodes",
                resource_group_name=args.resource_group_name,
                location="global",
                description=f"Nodes of compute cluster {args.compute_name or name} became unusable",
                severity=2,
                enabled=True,
                scopes=[args.workspace_id],
                evaluation_frequency="PT5M",
                window_size="PT15M",
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    all_of=[monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name="unusable-nodes",
                        metric_namespace="Microsoft.MachineLearningServices/workspaces",
                        metric_name="Unusable Nodes",
                        operator="GreaterThan",
                        threshold=0,
                        time_aggregation="Maximum",
                        dimensions=[monitor.MetricDimensionArgs(name="ClusterName", operator="Include",
                                                                values=[compute.name])],
                    )],
                ),
                actions=[monitor.MetricAlertActionArgs(action_group_id=args.action_group_id)],
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.compute_name = compute.name
        self.compute_id = compute.id
        self.register_outputs({"compute_name": self.compute_name, "compute_id": self.compute_id})
