"""``python -m loadtest config``: the Azure Load Testing test of an endpoint, generated from its SLO and load.

Writes a folder the pipeline hands to ``AzureLoadTest@1`` (``loadTestConfigFile``) or ``az load test create
--load-test-config-file``: ``loadtest.yaml`` in Azure Load Testing's YAML format, the repository's locustfile and its
request rows. Everything comes from what the program registers (the preflight's evaluation: the endpoint's Azure
name and region, the load testing resource, the engine identity) and from the endpoint's configuration:

- ``failureCriteria`` from the SLO: ``p95(response_time_ms) > <latency_p95_ms>`` and ``percentage(error) >
  <error_rate_percent>`` (the grammar of reference-test-config-yaml; thresholds of response times are whole
  milliseconds, which the Azure/load-testing action requires);
- users from the expected peak (``load.peak_rps``, one request per second per user, the locustfile's default) and
  ``engineInstances = ceil(users / 500)`` ("We recommend running up to 500 users from a test engine instance",
  how-to-high-scale-load; at most 400 engines per run);
- ``referenceIdentities`` with the engine identity (``kind: Engine``): the engines get tokens for the endpoint from
  it; the endpoint must use ``AADToken`` auth, the only mode that identity can use;
- ``autoStop`` when more than 10 x the SLO's error rate fails over a minute (at least 5 %, at most 90 %).

The file is validated against ``alt_schema.json`` (the documented keys and the criteria grammar) before it is
written. Not verified against the service itself (no subscription here): whether ``LOCUST_RUN_TIME`` takes a Locust
duration such as ``10m`` (the docs show a bare number without a unit).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from components.config import PlatformConfig, TeamConfig
from components.serving_config import EndpointConfig
from loadtest.errors import LoadtestError
from loadtest.stack import endpoint_config, live_deployment, require_load

SCHEMA = Path(__file__).with_name("alt_schema.json")
#: "We recommend running up to 500 users from a test engine instance" (how-to-high-scale-load).
USERS_PER_ENGINE = 500
#: "Engine instances per test run | 1-400" (resource-limits-quotas-capacity).
MAX_ENGINES = 400
PER_USER_RPS = 1
CONFIG_FILE = "loadtest.yaml"
LOCUSTFILE = "locustfile.py"
SAMPLE = "sample-request.json"
_SUBNET = re.compile(r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Network/"
                     r"virtualNetworks/[^/]+/subnets/[^/]+$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _guid(text: str, what: str) -> str:
    if not _GUID.match(text):
        raise LoadtestError(f"{what} {text!r} is not a GUID")
    return text.lower()


def _record(records: Any, kind: str, parent: str) -> Any:
    """The one resource of type ``kind`` whose parent component's URN contains ``parent``."""
    found = [r for r in records if r.type == kind and parent in r.parent]
    if len(found) != 1:
        raise LoadtestError(f"the program registered {len(found)} {kind.rsplit(':', 1)[-1]} under "
                            f"{parent.strip('$:')}; expected one")
    return found[0]


def test_id(team: str, endpoint: str, environment: str) -> str:
    """2-50 characters of ``[a-z0-9_-]`` (reference-test-config-yaml)."""
    text = f"{team}-{endpoint}-{environment}".lower()
    return text if len(text) <= 50 else f"{text[:41]}-{environment[:8]}"


def build(*, team: str, endpoint: str, environment: str, host: str, slo_p95_ms: int, slo_error_percent: float,
          peak_rps: float, engine_identity_id: str, engine_client_id: str | None, duration_minutes: int
          ) -> dict[str, Any]:
    """The test configuration (a dict to dump as YAML)."""
    users = math.ceil(peak_rps / PER_USER_RPS)
    engines = math.ceil(users / USERS_PER_ENGINE)
    if engines > MAX_ENGINES:
        raise LoadtestError(f"{team}/{endpoint}: {users} users need {engines} engines; Azure Load Testing runs at "
                            f"most {MAX_ENGINES} per test (lower load.peak_rps or split the test)")
    env = [{"name": "LOCUST_USERS", "value": str(users)},
           {"name": "LOCUST_SPAWN_RATE", "value": str(max(1, math.ceil(users / 60)))},  # all users within a minute
           {"name": "LOCUST_RUN_TIME", "value": f"{duration_minutes}m"},
           {"name": "SCORING_HOST", "value": host},
           {"name": "SCORING_AUTH", "value": "aad"},
           {"name": "LT_PER_USER_RPS", "value": str(PER_USER_RPS)}]
    if engine_client_id:
        env.append({"name": "AZURE_CLIENT_ID", "value": engine_client_id})
    error_stop = min(90, max(5, math.ceil(slo_error_percent * 10)))
    return {
        "version": "v0.1",
        "testId": test_id(team, endpoint, environment),
        "displayName": f"{team}/{endpoint} ({environment})"[:50],
        "description": f"SLO load test of {team}/{endpoint} at {peak_rps:g} req/s (mlops-platform)"[:100],
        "testType": "Locust",
        "testPlan": LOCUSTFILE,
        "engineInstances": engines,
        "configurationFiles": [SAMPLE],
        "env": env,
        "failureCriteria": [f"p95(response_time_ms) > {int(slo_p95_ms)}",
                            f"percentage(error) > {slo_error_percent:g}"],
        "autoStop": {"errorPercentage": error_stop, "timeWindow": 60},
        "referenceIdentities": [{"kind": "Engine", "type": "UserAssigned", "value": engine_identity_id}],
    }


def validate(config: dict[str, Any]) -> None:
    """Refuse a configuration outside the documented format (``alt_schema.json``)."""
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    problems = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.path))
    if problems:
        first = problems[0]
        where = "/".join(str(p) for p in first.path) or "(top)"
        raise LoadtestError(f"the generated Azure Load Testing configuration is invalid at {where}: {first.message}")


def testable(config: PlatformConfig, team: TeamConfig, endpoint: EndpointConfig) -> None:
    """Refuse an endpoint Azure Load Testing cannot test as this configuration describes."""
    require_load(config, team, endpoint)
    if endpoint.auth_mode != "AADToken":
        raise LoadtestError(f"{team.name}/{endpoint.name} uses auth_mode {endpoint.auth_mode}; the load test engines "
                            "authenticate with their managed identity, which only AADToken endpoints accept")
    if not config.load_testing.enabled:
        raise LoadtestError(f"Pulumi.{config.stack}.yaml sets load_testing.enabled: false; there is no load testing "
                            "resource to run the test")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack")
    parser.add_argument("endpoint", metavar="TEAM/ENDPOINT")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="project directory (default: current)")
    parser.add_argument("--subscription-id", default=os.environ.get("AZURE_SUBSCRIPTION_ID"),
                        help="subscription of the stack (default: AZURE_SUBSCRIPTION_ID): the engine identity's id")
    parser.add_argument("--engine-client-id",
                        help="client id of the engine identity (`pulumi stack output platform`, load_test."
                             "engine_client_id); without it the engines use their only identity")
    parser.add_argument("--subnet-id",
                        help="subnet the engines run in (subnetId), required for an endpoint without public network "
                             "access (prod): it must reach the endpoint's private endpoint")
    parser.add_argument("--duration", type=int, default=10, metavar="MINUTES", help="test length (default 10)")
    parser.add_argument("--output", type=Path, metavar="DIR",
                        help="where the folder is written (default out/loadtest/<team>-<endpoint>/alt)")


def command(args: argparse.Namespace) -> int:
    from preflight.program import ProgramError, evaluate
    from preflight.stack_config import StackConfigError, load_stack_config

    if not args.subscription_id:
        raise LoadtestError("no subscription: pass --subscription-id or set AZURE_SUBSCRIPTION_ID (the engine "
                            "identity's resource id is built from it)")
    subscription = _guid(args.subscription_id, "subscription id")
    client_id = _guid(args.engine_client_id, "engine client id") if args.engine_client_id else None
    if not 1 <= args.duration <= 24 * 60:
        raise LoadtestError(f"--duration {args.duration}: use 1 to 1440 minutes (a test runs at most 24 hours)")
    project_dir: Path = args.dir.resolve()
    config, team, endpoint = endpoint_config(project_dir, args.stack, args.endpoint)
    testable(config, team, endpoint)
    assert endpoint.load is not None
    try:
        records = evaluate(project_dir, load_stack_config(project_dir, args.stack))
    except (StackConfigError, ProgramError) as error:
        raise LoadtestError(str(error)) from None
    online = _record(records, "azure-native:machinelearningservices:OnlineEndpoint",
                     f"$mlops:serving:OnlineEndpoint::{team.name}-{endpoint.name}")
    identity = _record(records, "azure-native:managedidentity:UserAssignedIdentity", "$mlops:loadtest:LoadTesting::")
    name, location = online.inputs["endpointName"], online.inputs["location"]
    private = (online.inputs.get("properties") or {}).get("publicNetworkAccess") == "Disabled"
    if private and not args.subnet_id:
        raise LoadtestError(f"{team.name}/{endpoint.name} takes no public requests in {config.stack} "
                            "(publicNetworkAccess Disabled); pass --subnet-id with a subnet that reaches its private "
                            "endpoint (the engines are injected there: subnetId, reference-test-config-yaml)")
    if args.subnet_id and not _SUBNET.match(args.subnet_id):
        raise LoadtestError(f"--subnet-id {args.subnet_id!r} is not a subnet id (/subscriptions/<id>/resourceGroups/"
                            "<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>)")
    # The scoring host of a managed online endpoint: <endpoint>.<region>.inference.ml.azure.com (the scoring URI
    # Azure ML reports, https://<name>.<region>.inference.ml.azure.com/score, how-to-deploy-online-endpoints).
    host = f"https://{name}.{location}.inference.ml.azure.com"
    identity_id = (f"/subscriptions/{subscription}/resourceGroups/{identity.inputs['resourceGroupName']}/providers/"
                   f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity.inputs['resourceName']}")
    test = build(team=team.name, endpoint=endpoint.name, environment=config.environment, host=host,
                 slo_p95_ms=endpoint.slo.latency_p95_ms, slo_error_percent=endpoint.slo.error_rate_percent,
                 peak_rps=endpoint.load.peak_rps, engine_identity_id=identity_id, engine_client_id=client_id,
                 duration_minutes=args.duration)
    if args.subnet_id:
        test = {**test, "subnetId": args.subnet_id}
    validate(test)
    out = args.output or project_dir / "out" / "loadtest" / f"{team.name}-{endpoint.name}" / "alt"
    out.mkdir(parents=True, exist_ok=True)
    code = project_dir / next(d for d in endpoint.deployments if d.name == live_deployment(endpoint)).code.path
    for file_name in (LOCUSTFILE, SAMPLE):
        if not (code / file_name).is_file():
            raise LoadtestError(f"{code.relative_to(project_dir)}/{file_name} is missing; the test sends what it says")
        shutil.copyfile(code / file_name, out / file_name)
    (out / CONFIG_FILE).write_text(
        f"# Azure Load Testing test of {team.name}/{endpoint.name} ({config.stack}), generated by `python -m loadtest "
        f"config {args.stack} {args.endpoint}`;\n# do not edit: change the endpoint's slo and load in "
        f"Pulumi.{config.stack}.yaml instead.\n" + yaml.safe_dump(test, sort_keys=False), encoding="utf-8")
    print(f"loadtest: wrote {out / CONFIG_FILE} ({test['engineInstances']} engine(s), "
          f"{test['env'][0]['value']} users) with {LOCUSTFILE} and {SAMPLE}", file=sys.stderr)
    print(out / CONFIG_FILE)
    return 0
