"""``ComputeInstance``: a personal Azure ML compute instance for one user, patched by recreation.

Azure gets the latest OS image onto a compute instance only by recreating it. The instance therefore carries a patch
date from the stack config: it is written into the instance description and into the ``mlops-patch-date`` tag that
the patching policy reads. The instance's ``properties`` are marked ``replace_on_changes`` (with
``delete_before_replace``, because the compute name stays the same), so moving the date forward in
``Pulumi.<stack>.yaml`` is a reviewed pull request that recreates the instance on the newest image at the next
``pulumi up``.

The person the instance is assigned to gets a role with exactly the actions Microsoft lists for using an instance
created on their behalf (``INSTANCE_USER_ACTIONS``), on this instance only; their storage data roles come with the
team's workspace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from components.compute_base import ComputeTargetArgs, compute_identity
from components.config import ScheduleConfig
from components.interfaces import Grant, grant

PATCH_DATE_TAG = "mlops-patch-date"
#: Inputs whose change replaces the instance. Azure updates an existing compute instance only partly (settings such
#: as schedules or idle shutdown are ignored on update), so any change to them recreates it; the description, which
#: carries the patch date, is among them. Tags too: Compute_Update (PATCH) carries only cluster scale settings, so
#: azure-native updates a compute by a full PUT, which re-sends the instance's schedules and idle settings, and such
#: a re-PUT is reported to fail (Azure/azure-quickstart-templates#11830, Azure/bicep#17617). A tag change therefore
#: recreates the instance like any other; files on the workspace file share survive, the local disk does not.
RECREATE_ON = ("properties", "identity", "tags")
#: What the person an instance is assigned to may do with it, and nothing else: the actions
#: how-to-create-compute-instance lists for "create on behalf of" (start, stop, restart, use, schedules) and for
#: single sign-on, plus reading the workspace and its computes so studio can show the instance. No built-in role has
#: exactly these (AzureML Data Scientist allows far more), so the Platform defines one custom role per stack.
INSTANCE_USER_ACTIONS = (
    "Microsoft.MachineLearningServices/workspaces/read",
    "Microsoft.MachineLearningServices/workspaces/computes/read",
    "Microsoft.MachineLearningServices/workspaces/computes/start/action",
    "Microsoft.MachineLearningServices/workspaces/computes/stop/action",
    "Microsoft.MachineLearningServices/workspaces/computes/restart/action",
    "Microsoft.MachineLearningServices/workspaces/computes/applicationaccess/action",
    "Microsoft.MachineLearningServices/workspaces/computes/updateSchedules/action",
    "Microsoft.MachineLearningServices/workspaces/computes/enableSso/action",
)


@dataclass(frozen=True, kw_only=True)
class ComputeInstanceArgs(ComputeTargetArgs):
    """Inputs of a :class:`ComputeInstance`; defaults are the secure settings."""

    compute_name: str
    """Compute name, 3-24 characters and unique within the Azure region (see ``Namer.compute_instance``)."""
    user_object_id: str
    """Microsoft Entra object id of the user the instance is assigned to (personal instance)."""
    tenant_id: pulumi.Input[str]
    """Tenant of that user."""
    patch_date: dt.date
    """Date of the OS image the instance runs; changing it recreates the instance."""
    idle_shutdown: str = "PT60M"
    """ISO 8601 idle time before the instance shuts down (15 minutes to 3 days)."""
    schedule: ScheduleConfig | None = None
    """Start/stop schedule; ``None`` relies on idle shutdown alone."""
    subscription_id: pulumi.Input[str] | None = None
    """Subscription of the role assignment below (with ``user_role_definition_id``)."""
    user_role_definition_id: pulumi.Input[str] | None = None
    """Full id of a role with ``INSTANCE_USER_ACTIONS``: assigned to the user on this instance alone (``None``: the
    user's access is managed elsewhere)."""


class ComputeInstance(pulumi.ComponentResource):
    """A personal compute instance (type ``mlops:ml:ComputeInstance``)."""

    compute_name: pulumi.Output[str]
    compute_id: pulumi.Output[str]
    patch_date: pulumi.Output[str]

    def __init__(self, name: str, args: ComputeInstanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:ml:ComputeInstance", name, None, opts)
        patch = args.patch_date.isoformat()
        compute = ml.Compute(
            f"{name}-compute",
            compute_name=args.compute_name,
            resource_group_name=args.resource_group_name,
            workspace_name=args.workspace_name,
            location=args.location,
            identity=compute_identity(args.identity_id),
            properties=ml.ComputeInstanceArgs(
                compute_type="ComputeInstance",
                disable_local_auth=True,
                description=f"Personal compute instance; OS image of {patch}",
                properties=ml.ComputeInstancePropertiesArgs(
                    vm_size=args.vm_size,
                    compute_instance_authorization_type="personal",
                    personal_compute_instance_settings=ml.PersonalComputeInstanceSettingsArgs(
                        assigned_user=ml.AssignedUserArgs(object_id=args.user_object_id, tenant_id=args.tenant_id)
                    ),
                    ssh_settings=ml.ComputeInstanceSshSettingsArgs(ssh_public_access="Disabled"),
                    enable_node_public_ip=False,
                    idle_time_before_shutdown=args.idle_shutdown,
                    schedules=_schedules(args.schedule),
                ),
            ),
            tags={**args.tags, PATCH_DATE_TAG: patch},
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=list(RECREATE_ON),
                                        delete_before_replace=True, depends_on=list(args.after)),
        )
        if args.user_role_definition_id is not None and args.subscription_id is not None:
            grant(self, name, "user", args.user_object_id, args.subscription_id,
                  [Grant("compute instance user", "ci", compute.id, definition_id=args.user_role_definition_id)],
                  unique=f"{name}|{args.compute_name}", principal_type="User")
        self.compute_name = compute.name
        self.compute_id = compute.id
        self.patch_date = pulumi.Output.from_input(patch)
        self.register_outputs(
            {"compute_name": self.compute_name, "compute_id": self.compute_id, "patch_date": self.patch_date}
        )


def _schedules(schedule: ScheduleConfig | None) -> ml.ComputeSchedulesArgs | None:
    if schedule is None:
        return None
    entries = [
        ml.ComputeStartStopScheduleArgs(
            action=action,
            trigger_type="Cron",
            cron=ml.CronArgs(expression=expression, time_zone=schedule.time_zone),
            status="Enabled",
        )
        for action, expression in (("Start", schedule.start), ("Stop", schedule.stop))
        if expression
    ]
    return ml.ComputeSchedulesArgs(compute_start_stop=entries)
