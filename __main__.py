"""mlops-platform: load and validate the stack config, build the platform, export its outputs."""

import pulumi

from components import greenfield
from components.config import ConfigError, from_pulumi
from components.platform import Platform, PlatformArgs

try:
    config = from_pulumi()
except ConfigError as error:
    # RunError makes the CLI print the message alone, without a Python traceback.
    raise pulumi.RunError(f"invalid stack configuration:\n{error}") from None

if config.greenfield:
    # Before any resource: drop azure-native's versioned-type aliases (components/greenfield.py says when it is safe).
    greenfield.enable()

platform = Platform("platform", PlatformArgs(config=config))

pulumi.export("environment", config.environment)
pulumi.export("region", config.region)
pulumi.export("log_analytics_workspace_id", platform.log_analytics_workspace_id)
pulumi.export("workspaces", {team: ws.workspace_name for team, ws in platform.workspaces.items()})
pulumi.export("workspace_resource_groups", {team: ws.resource_group_name for team, ws in platform.workspaces.items()})
pulumi.export("compute_instances", {key: ci.compute_name for key, ci in platform.instances.items()})
