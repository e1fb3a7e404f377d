"""A stack's endpoints as the program sees them: the stack file parsed into the typed configuration.

The tools never keep a second copy of the configuration rules: they go through ``preflight.stack_config`` (the
stack file as the CLI passes it to the program) and ``components.config.parse_config`` (the program's own
validation).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from components.config import PlatformConfig, TeamConfig, parse_config
from components.config_reader import ConfigError
from components.serving_config import EndpointConfig
from loadtest.errors import LoadtestError
from preflight.stack_config import StackConfigError, load_stack_config


def platform_config(project_dir: Path, stack: str, today: dt.date | None = None) -> PlatformConfig:
    """The validated configuration of ``stack`` (``Pulumi.<stack>.yaml`` in ``project_dir``)."""
    try:
        raw = load_stack_config(project_dir, stack)
        return parse_config(raw.values, stack=raw.stack, secret_keys=raw.secret_keys, today=today, root=project_dir)
    except (StackConfigError, ConfigError) as error:
        raise LoadtestError(str(error)) from None


def endpoints(config: PlatformConfig) -> list[tuple[TeamConfig, EndpointConfig]]:
    """Every (team, endpoint) of the stack, in the stack file's order."""
    return [(team, endpoint) for team in config.teams for endpoint in team.endpoints]


def find_endpoint(config: PlatformConfig, ref: str) -> tuple[TeamConfig, EndpointConfig]:
    """The endpoint ``ref`` (``<team>/<endpoint>``) of the stack."""
    known = [f"{team.name}/{endpoint.name}" for team, endpoint in endpoints(config)]
    team_name, slash, endpoint_name = ref.partition("/")
    if not slash or not team_name or not endpoint_name:
        raise LoadtestError(f"endpoint {ref!r} is not <team>/<endpoint>; the stack {config.stack} has: "
                            f"{', '.join(known) or 'no endpoints'}")
    for team, endpoint in endpoints(config):
        if team.name == team_name and endpoint.name == endpoint_name:
            return team, endpoint
    raise LoadtestError(f"the stack {config.stack} has no endpoint {ref!r}; it has: {', '.join(known) or 'none'}")


def endpoint_config(project_dir: Path, stack: str, ref: str) -> tuple[PlatformConfig, TeamConfig, EndpointConfig]:
    """The stack's configuration, and the team and endpoint ``ref`` names."""
    config = platform_config(project_dir, stack)
    team, endpoint = find_endpoint(config, ref)
    return config, team, endpoint


def live_deployment(endpoint: EndpointConfig) -> str:
    """The deployment that takes the largest share of live traffic (the one a load test serves)."""
    return max(endpoint.deployments, key=lambda d: endpoint.traffic.get(d.name, 0)).name


def stack_file(config: PlatformConfig) -> str:
    return f"Pulumi.{config.stack}.yaml"


def require_load(config: PlatformConfig, team: TeamConfig, endpoint: EndpointConfig) -> None:
    """Refuse an endpoint without expected traffic (``load``), naming where to set it."""
    if endpoint.load is None:
        raise LoadtestError(f"{stack_file(config)}: endpoint {team.name}/{endpoint.name} has no `load` section; "
                            "set load.peak_rps (expected peak requests per second) and optionally load.base_rps "
                            "(docs/configuration.md)")
