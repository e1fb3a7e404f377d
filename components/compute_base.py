"""What every Azure ML compute target of a workspace shares: where it lives, its identity, its tags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import machinelearningservices as ml


@dataclass(frozen=True, kw_only=True)
class ComputeTargetArgs:
    """Inputs common to :class:`ComputeClusterArgs` and :class:`ComputeInstanceArgs` (keyword-only)."""

    resource_group_name: pulumi.Input[str]
    """Resource group of the workspace."""
    workspace_name: pulumi.Input[str]
    """The Azure ML workspace the compute belongs to."""
    location: str
    """Azure region of the workspace."""
    vm_size: str
    """VM size, for example ``Standard_DS3_v2``."""
    identity_id: pulumi.Input[str] | None = None
    """User-assigned identity of the compute; ``None`` gives it a system-assigned identity."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the compute resource."""
    after: Sequence[pulumi.Resource] = ()
    """Resources the compute waits for (the workspace's ``compute_ready``: its identity's grants applied)."""


def compute_identity(identity_id: pulumi.Input[str] | None) -> ml.ManagedServiceIdentityArgs:
    """The managed identity block of a compute target."""
    if identity_id is None:
        return ml.ManagedServiceIdentityArgs(type="SystemAssigned")
    return ml.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=[identity_id])
