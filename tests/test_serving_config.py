"""Online endpoints (``teams[].endpoints``): the typed model, and every bad input refused with its exact message.

Most tests call ``parse_endpoints`` with a fresh ``Reader`` and a project folder under ``tmp_path``, so that the files
the configuration names (scoring code, conda file) are the test's own; a few go through ``parse_config`` with the
shipped dev and prod stacks. ``Reader.number``, which the SLO and autoscale thresholds use, is tested on its own.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, TODAY, encode
from test_config import NS, parse, problems, team

from components.config import parse_config
from components.config_reader import ConfigError, Reader, human
from components.serving_config import (
    AutoscaleConfig,
    CodeConfig,
    DeploymentConfig,
    EndpointConfig,
    EnvironmentConfig,
    InstancesConfig,
    LoadConfig,
    ModelRef,
    ProbeConfig,
    RequestConfig,
    ScheduleProfileConfig,
    SloConfig,
    parse_endpoints,
    parse_model,
)

EP = f"{NS}:teams[0].endpoints[0]"
DEP = f"{EP}.deployments[0]"
SCHED = f"{EP}.autoscale.schedules[0]"
TYPES = ("Standard_DS2_v2", "Standard_DS3_v2")
IMAGE = "mcr.microsoft.com/azureml/minimal:20251021.v1"
DIGEST = "sha256:" + "0123456789abcdef" * 4
CONDA = "serving/fraud/conda.yaml"
CONDA_TEXT = (ROOT / CONDA).read_text(encoding="utf-8")
SLO = {"latency_p95_ms": 300, "error_rate_percent": 1, "availability_percent": 99.5}
PROD_FLOOR = ("is below 3: in prod every deployment keeps at least 3 instances (Microsoft's high-availability "
              "guidance for online endpoints; an idle blue or green deployment takes all live traffic at the switch)")
MODEL_FORMS = ("use azureml://registries/<registry>/models/<name>/versions/<version> or azureml:<name>:<version> with "
               "an explicit version")
NOT_PINNED_VERSION = f"does not pin a version (latest and labels move without a deployment); {MODEL_FORMS}"
NAME_RULE = "lowercase letters and digits in words joined by single hyphens, starting with a letter"
WEEKDAYS = "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday"


# --------------------------------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with the sample's scoring folder: ``serving/fraud/{score.py,conda.yaml}``."""
    (tmp_path / "Pulumi.yaml").write_text("name: mlops-platform\nruntime: python\n", encoding="utf-8")
    folder = tmp_path / "serving" / "fraud"
    folder.mkdir(parents=True)
    (folder / "score.py").write_text("def init() -> None: ...\n\ndef run(raw: str) -> str: ...\n", encoding="utf-8")
    (folder / "conda.yaml").write_text(CONDA_TEXT, encoding="utf-8")
    return tmp_path


def deployment(name: str = "blue", **changes: Any) -> dict[str, Any]:
    """A minimal valid deployment, as the stack config gives it."""
    values: dict[str, Any] = {
        "name": name,
        "model": "azureml:fraud-model:1",
        "environment": {"image": IMAGE, "conda_file": CONDA},
        "code": {"path": "serving/fraud", "scoring_script": "score.py"},
        "instance_type": "Standard_DS2_v2",
        "instances": {"min": 1, "max": 2},
    }
    values.update(changes)
    return values


def endpoint(**changes: Any) -> dict[str, Any]:
    """A minimal valid endpoint: one deployment and an SLO."""
    values: dict[str, Any] = {"name": "score", "deployments": [deployment()], "slo": dict(SLO)}
    values.update(changes)
    return values


def schedule(name: str = "business-hours", **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"name": name, "days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
                              "start": "07:30", "end": "19:00", "instances": {"min": 1, "max": 4}}
    values.update(changes)
    return values


def short(i: int) -> dict[str, Any]:
    """The ``i``-th of several schedules that do not overlap: half an hour every other hour on Mondays."""
    return schedule(f"profile-{i}", days=["Monday"], start=f"{2 * i:02d}:00", end=f"{2 * i:02d}:30")


def read(endpoints: Any, root: Path, environment: str = "dev", instance_types: tuple[str, ...] = TYPES
         ) -> tuple[tuple[EndpointConfig, ...], list[str]]:
    r = Reader()
    parsed = parse_endpoints(r, "teams[0].endpoints", endpoints, environment=environment,
                             instance_types=instance_types, root=root)
    return parsed, r.problems


def valid(e: dict[str, Any], root: Path, environment: str = "dev") -> EndpointConfig:
    parsed, found = read([e], root, environment)
    assert found == []
    [config] = parsed
    return config


def refused(e: dict[str, Any], root: Path, environment: str = "dev",
            instance_types: tuple[str, ...] = TYPES) -> list[str]:
    parsed, found = read([e], root, environment, instance_types)
    assert found, f"expected problems, parsed {parsed}"
    return found


_DELETE = object()


def at(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Mutation of the endpoint that sets (or, with ``_DELETE``, removes) ``path`` (dotted, with list indexes)."""

    def mutate(values: dict[str, Any]) -> None:
        node: Any = values
        *parents, last = path.split(".")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return mutate


def both(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(values: dict[str, Any]) -> None:
        for m in mutations:
            m(values)

    return mutate


def two(**changes: Any) -> Callable[[dict[str, Any]], None]:
    """Mutation to blue and green (green changed by ``changes``), plus endpoint keys such as ``traffic``."""

    def mutate(values: dict[str, Any]) -> None:
        values["deployments"] = [deployment(), deployment("green")]
        values.update(changes)

    return mutate


# --------------------------------------------------------------------------------------------------------------------
# Each bad input, with the exact and only problem reported
# --------------------------------------------------------------------------------------------------------------------

ERRORS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    # endpoint keys and name
    ("unknown endpoint key", at("replicas", 2),
     f"{EP}.replicas: unknown key; allowed keys are auth_mode, autoscale, deployments, load, mirror, name, slo, "
     "traffic"),
    ("name missing", at("name", _DELETE), f"{EP}.name: is required but missing"),
    ("slo missing", at("slo", _DELETE), f"{EP}.slo: is required but missing"),
    ("name not a string", at("name", 5), f"{EP}.name: 5 has the wrong type; expected a non-empty string"),
    ("name with capitals", at("name", "Score"),
     f"{EP}.name: 'Score' is not a valid endpoint name; use 3-16 {NAME_RULE}"),
    ("name starts with digit", at("name", "1score"),
     f"{EP}.name: '1score' is not a valid endpoint name; use 3-16 {NAME_RULE}"),
    ("name ends in hyphen", at("name", "score-"),
     f"{EP}.name: 'score-' is not a valid endpoint name; use 3-16 {NAME_RULE}"),
    ("name with double hyphen", at("name", "fraud--score"),
     f"{EP}.name: 'fraud--score' is not a valid endpoint name; use 3-16 {NAME_RULE}"),
    ("name with underscore", at("name", "fraud_score"),
     f"{EP}.name: 'fraud_score' is not a valid endpoint name; use 3-16 {NAME_RULE}"),
    ("name too short", at("name", "sc"), f"{EP}.name: 'sc' is not a valid endpoint name; use 3-16 {NAME_RULE}"),
    ("name too long", at("name", "a" * 17),
     f"{EP}.name: '{'a' * 17}' is not a valid endpoint name; use 3-16 {NAME_RULE}"),
    # auth_mode
    ("auth mode unknown", at("auth_mode", "Token"),
     f"{EP}.auth_mode: 'Token' is not allowed; use one of AADToken, AMLToken, Key"),
    # deployments
    ("no deployments", both(at("deployments", []), at("traffic", {})),
     f"{EP}.deployments: lists 0 deployments; use 1 or 2 (blue and green)"),
    ("three deployments",
     both(at("deployments", [deployment(), deployment("green"), deployment("red")]), at("traffic", {"blue": 100})),
     f"{EP}.deployments: lists 3 deployments; use 1 or 2 (blue and green)"),
    ("deployment name missing", both(at("deployments.0.name", _DELETE), at("traffic", {})),
     f"{DEP}.name: is required but missing"),
    ("deployment name with capitals", at("deployments.0.name", "Blue"),
     f"{DEP}.name: 'Blue' is not a valid deployment name; use 3-32 {NAME_RULE}"),
    ("deployment name too short", at("deployments.0.name", "bl"),
     f"{DEP}.name: 'bl' is not a valid deployment name; use 3-32 {NAME_RULE}"),
    ("deployment name too long", at("deployments.0.name", "b" * 33),
     f"{DEP}.name: '{'b' * 33}' is not a valid deployment name; use 3-32 {NAME_RULE}"),
    ("deployment name with trailing hyphen", at("deployments.0.name", "blue-"),
     f"{DEP}.name: 'blue-' is not a valid deployment name; use 3-32 {NAME_RULE}"),
    ("duplicate deployment names", two(deployments=[deployment(), deployment()], traffic={"blue": 100}),
     f"{EP}.deployments[1].name: 'blue' duplicates teams[0].endpoints[0].deployments[0]; deployment names must be "
     "unique"),
    ("unknown deployment key", at("deployments.0.replicas", 2),
     f"{DEP}.replicas: unknown key; allowed keys are code, environment, instance_type, instances, liveness_probe, "
     "model, name, readiness_probe, request"),
    # model
    ("model latest", at("deployments.0.model", "azureml:fraud-model:latest"),
     f"{DEP}.model: 'azureml:fraud-model:latest' {NOT_PINNED_VERSION}"),
    ("model LATEST", at("deployments.0.model", "azureml:fraud-model:LATEST"),
     f"{DEP}.model: 'azureml:fraud-model:LATEST' {NOT_PINNED_VERSION}"),
    ("model @latest", at("deployments.0.model", "azureml:fraud-model@latest"),
     f"{DEP}.model: 'azureml:fraud-model@latest' {NOT_PINNED_VERSION}"),
    ("model @label", at("deployments.0.model", "azureml:fraud-model@champion"),
     f"{DEP}.model: 'azureml:fraud-model@champion' {NOT_PINNED_VERSION}"),
    ("registry model latest", at("deployments.0.model", "azureml://registries/shared/models/fraud/versions/latest"),
     f"{DEP}.model: 'azureml://registries/shared/models/fraud/versions/latest' {NOT_PINNED_VERSION}"),
    ("model without azureml prefix", at("deployments.0.model", "fraud-model:1"),
     f"{DEP}.model: 'fraud-model:1' is not a model reference; {MODEL_FORMS}"),
    ("model without version", at("deployments.0.model", "azureml:fraud-model"),
     f"{DEP}.model: 'azureml:fraud-model' is not a model reference; {MODEL_FORMS}"),
    ("registry model without version", at("deployments.0.model", "azureml://registries/shared/models/fraud"),
     f"{DEP}.model: 'azureml://registries/shared/models/fraud' is not a model reference; {MODEL_FORMS}"),
    # environment image
    ("image latest", at("deployments.0.environment.image", "mcr.microsoft.com/azureml/minimal:latest"),
     f"{DEP}.environment.image: 'mcr.microsoft.com/azureml/minimal:latest' is not pinned; give a tag other than "
     "latest, or a digest (@sha256:...), so that a new base image arrives through a reviewed change"),
    ("image without tag", at("deployments.0.environment.image", "mcr.microsoft.com/azureml/minimal"),
     f"{DEP}.environment.image: 'mcr.microsoft.com/azureml/minimal' is not pinned; give a tag other than latest, or "
     "a digest (@sha256:...), so that a new base image arrives through a reviewed change"),
    ("image without registry", at("deployments.0.environment.image", "ubuntu:22.04"),
     f"{DEP}.environment.image: 'ubuntu:22.04' is not an image reference; use <registry>/<repository>:<tag> or "
     "<registry>/<repository>@sha256:<digest>, for example mcr.microsoft.com/azureml/minimal-py312-inference:"
     "<date tag>"),
    ("image with short digest", at("deployments.0.environment.image", "mcr.microsoft.com/azureml/x@sha256:abc"),
     f"{DEP}.environment.image: 'mcr.microsoft.com/azureml/x@sha256:abc' is not an image reference; use "
     "<registry>/<repository>:<tag> or <registry>/<repository>@sha256:<digest>, for example "
     "mcr.microsoft.com/azureml/minimal-py312-inference:<date tag>"),
    ("environment key missing", at("deployments.0.environment", {"image": IMAGE}),
     f"{DEP}.environment.conda_file: is required but missing"),
    # environment conda_file (the file cases that need files of their own are in test_conda_file_contents)
    ("conda file missing", at("deployments.0.environment.conda_file", "serving/fraud/missing.yaml"),
     f"{DEP}.environment.conda_file: 'serving/fraud/missing.yaml' is not a file of the project; give a file path "
     "relative to the project root (the folder of Pulumi.yaml)"),
    ("conda file is a folder", at("deployments.0.environment.conda_file", "serving/fraud"),
     f"{DEP}.environment.conda_file: 'serving/fraud' is not a file of the project; give a file path relative to the "
     "project root (the folder of Pulumi.yaml)"),
    ("conda file outside the project", at("deployments.0.environment.conda_file", "../conda.yaml"),
     f"{DEP}.environment.conda_file: '../conda.yaml' is not allowed; use a file path relative to the project root "
     "(the folder of Pulumi.yaml)"
     ", with / and without .."),
    ("conda file with .. inside", at("deployments.0.environment.conda_file", "serving/../serving/fraud/conda.yaml"),
     f"{DEP}.environment.conda_file: 'serving/../serving/fraud/conda.yaml' is not allowed; use a file path relative "
     "to the project root (the folder of Pulumi.yaml)"
     ", with / and without .."),
    ("conda file absolute", at("deployments.0.environment.conda_file", "/etc/conda.yaml"),
     f"{DEP}.environment.conda_file: '/etc/conda.yaml' is not allowed; use a file path relative to the project root "
     "(the folder of Pulumi.yaml)"
     ", with / and without .."),
    ("conda file with backslashes", at("deployments.0.environment.conda_file", "serving\\fraud\\conda.yaml"),
     f"{DEP}.environment.conda_file: 'serving\\\\fraud\\\\conda.yaml' is not allowed; use a file path relative to "
     "the project root (the folder of Pulumi.yaml)"
     ", with / and without .."),
    # code
    ("code folder missing", at("deployments.0.code.path", "serving/churn"),
     f"{DEP}.code.path: 'serving/churn' is not a folder of the project; give a folder path relative to the project "
     "root (the folder of Pulumi.yaml)"),
    ("code path is a file", at("deployments.0.code.path", "serving/fraud/score.py"),
     f"{DEP}.code.path: 'serving/fraud/score.py' is not a folder of the project; give a folder path relative to the "
     "project root (the folder of Pulumi.yaml)"),
    ("code folder outside the project", at("deployments.0.code.path", "../fraud"),
     f"{DEP}.code.path: '../fraud' is not allowed; use a folder path relative to the project root (the folder of "
     "Pulumi.yaml)"
     ", with / and without .."),
    ("scoring script not python", at("deployments.0.code.scoring_script", "score.txt"),
     f"{DEP}.code.scoring_script: 'score.txt' is not allowed; use a .py file path inside 'serving/fraud'"
     ", with / and without .."),
    ("scoring script outside the folder", at("deployments.0.code.scoring_script", "../score.py"),
     f"{DEP}.code.scoring_script: '../score.py' is not allowed; use a .py file path inside 'serving/fraud'"
     ", with / and without .."),
    ("scoring script absolute", at("deployments.0.code.scoring_script", "/srv/score.py"),
     f"{DEP}.code.scoring_script: '/srv/score.py' is not allowed; use a .py file path inside 'serving/fraud'"
     ", with / and without .."),
    ("scoring script missing", at("deployments.0.code.scoring_script", "main.py"),
     f"{DEP}.code.scoring_script: 'main.py' is not a file in 'serving/fraud'; the scoring script must be part of the "
     "uploaded code folder"),
    ("code key unknown", at("deployments.0.code.entry", "score.py"),
     f"{DEP}.code.entry: unknown key; allowed keys are path, scoring_script"),
    # instance_type
    ("instance type not allowed", at("deployments.0.instance_type", "Standard_NC24ads_A100_v4"),
     f"{DEP}.instance_type: 'Standard_NC24ads_A100_v4' is not allowed in dev; use one of Standard_DS2_v2, "
     "Standard_DS3_v2"),
    # instances
    ("min above max", at("deployments.0.instances", {"min": 3, "max": 2}),
     f"{DEP}.instances.min: 3 is above max 2; min must not exceed max"),
    ("default above max", at("deployments.0.instances", {"min": 1, "max": 2, "default": 5}),
     f"{DEP}.instances.default: 5 is outside min 1 and max 2; use a count between them"),
    ("default below min", at("deployments.0.instances", {"min": 2, "max": 4, "default": 1}),
     f"{DEP}.instances.default: 1 is outside min 2 and max 4; use a count between them"),
    ("max above 50", at("deployments.0.instances", {"min": 1, "max": 51}),
     f"{DEP}.instances.max: 51 is not allowed; use a whole number between 1 and 50"),
    ("min zero", at("deployments.0.instances", {"min": 0, "max": 2}),
     f"{DEP}.instances.min: 0 is not allowed; use a whole number between 1 and 50"),
    ("max missing", at("deployments.0.instances", {"min": 1}), f"{DEP}.instances.max: is required but missing"),
    ("instances key unknown", at("deployments.0.instances", {"min": 1, "max": 2, "count": 1}),
     f"{DEP}.instances.count: unknown key; allowed keys are default, max, min"),
    # probes
    ("probe delay below 1 s", at("deployments.0.liveness_probe", {"initial_delay": "PT0.5S"}),
     f"{DEP}.liveness_probe.initial_delay: 'PT0.5S' is 500 ms; it must be between 1 second and 1 hour"),
    ("probe delay not a duration", at("deployments.0.readiness_probe", {"initial_delay": "10s"}),
     f"{DEP}.readiness_probe.initial_delay: '10s' is not an ISO 8601 duration; use for example PT30M, PT2H or P1D, "
     "between 1 second and 1 hour"),
    ("probe timeout longer than period", at("deployments.0.readiness_probe", {"period": "PT10S", "timeout": "PT20S"}),
     f"{DEP}.readiness_probe.timeout: 'PT20S' is longer than the period 'PT10S'; a probe must time out before the "
     "next one starts"),
    ("probe period above 5 minutes", at("deployments.0.liveness_probe", {"period": "PT6M"}),
     f"{DEP}.liveness_probe.period: 'PT6M' is 6 minutes; it must be between 1 second and 5 minutes"),
    ("liveness success threshold not 1", at("deployments.0.liveness_probe", {"success_threshold": 3}),
     f"{DEP}.liveness_probe.success_threshold: 3 is not allowed; the liveness probe's success_threshold is fixed at "
     "1 (reference-yaml-deployment-managed-online, ProbeSettings)"),
    ("probe failure threshold zero", at("deployments.0.readiness_probe", {"failure_threshold": 0}),
     f"{DEP}.readiness_probe.failure_threshold: 0 is not allowed; use a whole number between 1 and 100"),
    ("probe key unknown", at("deployments.0.readiness_probe", {"path": "/ready"}),
     f"{DEP}.readiness_probe.path: unknown key; allowed keys are failure_threshold, initial_delay, period, "
     "success_threshold, timeout"),
    # request
    ("request timeout above 180 s", at("deployments.0.request", {"timeout": "PT181S"}),
     f"{DEP}.request.timeout: 'PT181S' is 181 seconds; it must be between 1 ms and 3 minutes"),
    ("max concurrent zero", at("deployments.0.request", {"max_concurrent_requests_per_instance": 0}),
     f"{DEP}.request.max_concurrent_requests_per_instance: 0 is not allowed; use a whole number between 1 and 1000"),
    ("max concurrent above 1000", at("deployments.0.request", {"max_concurrent_requests_per_instance": 1001}),
     f"{DEP}.request.max_concurrent_requests_per_instance: 1001 is not allowed; use a whole number between 1 and "
     "1000"),
    # traffic
    ("traffic missing with two deployments", two(),
     f"{EP}.traffic: is required with two deployments; give the initial split, such as {{blue: 100, green: 0}}"),
    ("traffic not summing to 100", two(traffic={"blue": 60, "green": 30}),
     f"{EP}.traffic: sums to 90; the live traffic of the deployments must sum to 100"),
    ("traffic to an unknown deployment", two(traffic={"blue": 100, "purple": 0}),
     f"{EP}.traffic.purple: is not a deployment of this endpoint; use blue, green"),
    ("traffic names a deployment the endpoint lacks", at("traffic", {"blue": 100, "green": 0}),
     f"{EP}.traffic.green: is not a deployment of this endpoint; use blue"),
    # mirror
    ("mirror above 50", two(traffic={"blue": 100}, mirror={"green": 51}),
     f"{EP}.mirror.green: 51 is not allowed; use a whole number between 1 and 50"),
    ("mirror zero", two(traffic={"blue": 100}, mirror={"green": 0}),
     f"{EP}.mirror.green: 0 is not allowed; use a whole number between 1 and 50"),
    ("mirror to a live deployment", two(traffic={"blue": 90, "green": 10}, mirror={"green": 10}),
     f"{EP}.mirror.green: mirrors traffic to 'green', which takes 10% of live traffic; mirror only to a deployment "
     "without live traffic"),
    ("mirror to the only deployment", at("mirror", {"blue": 10}),
     f"{EP}.mirror.blue: mirrors traffic to 'blue', which takes 100% of live traffic; mirror only to a deployment "
     "without live traffic"),
    ("mirror to an unknown deployment", at("mirror", {"green": 10}),
     f"{EP}.mirror.green: is not a deployment of this endpoint; use blue"),
    # slo
    ("slo key unknown", at("slo.latency_p99_ms", 500),
     f"{EP}.slo.latency_p99_ms: unknown key; allowed keys are availability_percent, error_rate_percent, "
     "latency_p95_ms"),
    ("slo latency above the request timeout", at("slo.latency_p95_ms", 5001),
     f"{EP}.slo.latency_p95_ms: 5001 is above the request timeout 5 seconds of deployment blue; requests time out "
     "before they could miss the SLO"),
    ("slo latency above a longer request timeout",
     both(at("deployments.0.request", {"timeout": "PT1.5S"}), at("slo.latency_p95_ms", 1501)),
     f"{EP}.slo.latency_p95_ms: 1501 is above the request timeout 1500 ms of deployment blue; requests time out "
     "before they could miss the SLO"),
    ("slo latency zero", at("slo.latency_p95_ms", 0),
     f"{EP}.slo.latency_p95_ms: 0 is not allowed; use a whole number between 1 and 180000"),
    ("slo error rate zero", at("slo.error_rate_percent", 0),
     f"{EP}.slo.error_rate_percent: 0 is not allowed; use a number above 0 and at most 50"),
    ("slo error rate above 50", at("slo.error_rate_percent", 50.5),
     f"{EP}.slo.error_rate_percent: 50.5 is not allowed; use a number above 0 and at most 50"),
    ("slo availability below 95", at("slo.availability_percent", 94.9),
     f"{EP}.slo.availability_percent: 94.9 is not allowed; use a number at least 95 and at most 99.999"),
    ("slo availability of 100", at("slo.availability_percent", 100),
     f"{EP}.slo.availability_percent: 100 is not allowed; use a number at least 95 and at most 99.999"),
    ("slo availability as text", at("slo.availability_percent", "high"),
     f"{EP}.slo.availability_percent: 'high' has the wrong type; expected a number"),
    # autoscale
    ("autoscale key unknown", at("autoscale", {"memory": {}}),
     f"{EP}.autoscale.memory: unknown key; allowed keys are cooldown, cpu, latency, schedules, window"),
    ("autoscale not an object", at("autoscale", ["cpu"]),
     f'{EP}.autoscale: ["cpu"] has the wrong type; expected an object (a YAML mapping)'),
    ("cpu scale-in equal to scale-out", at("autoscale", {"cpu": {"scale_in_below": 70, "scale_out_above": 70}}),
     f"{EP}.autoscale.cpu.scale_in_below: 70 is not below scale_out_above 70; scale in below a lower CPU than the "
     "one that scales out"),
    ("cpu scale-in above scale-out", at("autoscale", {"cpu": {"scale_in_below": 80}}),
     f"{EP}.autoscale.cpu.scale_in_below: 80 is not below scale_out_above 70; scale in below a lower CPU than the "
     "one that scales out"),
    ("cpu scale-in zero", at("autoscale", {"cpu": {"scale_in_below": 0}}),
     f"{EP}.autoscale.cpu.scale_in_below: 0 is not allowed; use a number above 0 and at most 99"),
    ("cpu scale-out above 100", at("autoscale", {"cpu": {"scale_out_above": 101}}),
     f"{EP}.autoscale.cpu.scale_out_above: 101 is not allowed; use a number at least 1 and at most 100"),
    ("cpu key unknown", at("autoscale", {"cpu": {"target": 50}}),
     f"{EP}.autoscale.cpu.target: unknown key; allowed keys are scale_in_below, scale_out_above"),
    ("latency scale-in at the SLO", at("autoscale", {"latency": {"scale_in_below_ms": 300}}),
     f"{EP}.autoscale.latency.scale_in_below_ms: 300 is not below the SLO's latency_p95_ms 300, where the latency "
     "rule scales out"),
    ("latency scale-in zero", at("autoscale", {"latency": {"scale_in_below_ms": 0}}),
     f"{EP}.autoscale.latency.scale_in_below_ms: 0 is not allowed; use a number above 0 and at most 180000"),
    ("window below 5 minutes", at("autoscale", {"window": "PT1M"}),
     f"{EP}.autoscale.window: 'PT1M' is 1 minute; it must be between 5 minutes and 12 hours"),
    ("window above 12 hours", at("autoscale", {"window": "PT13H"}),
     f"{EP}.autoscale.window: 'PT13H' is 13 hours; it must be between 5 minutes and 12 hours"),
    ("cooldown below 1 minute", at("autoscale", {"cooldown": {"scale_out": "PT30S"}}),
     f"{EP}.autoscale.cooldown.scale_out: 'PT30S' is 30 seconds; it must be between 1 minute and 7 days"),
    ("cooldown above 7 days", at("autoscale", {"cooldown": {"scale_in": "P8D"}}),
     f"{EP}.autoscale.cooldown.scale_in: 'P8D' is 8 days; it must be between 1 minute and 7 days"),
    ("cooldown key unknown", at("autoscale", {"cooldown": {"both": "PT5M"}}),
     f"{EP}.autoscale.cooldown.both: unknown key; allowed keys are scale_in, scale_out"),
    # schedules
    ("schedule day unknown", at("autoscale", {"schedules": [schedule(days=["Monday", "Funday"])]}),
     f"{SCHED}.days[1]: 'Funday' is not a day; use {WEEKDAYS}"),
    ("schedule day lowercase", at("autoscale", {"schedules": [schedule(days=["monday"])]}),
     f"{SCHED}.days[0]: 'monday' is not a day; use {WEEKDAYS}"),
    ("schedule day twice", at("autoscale", {"schedules": [schedule(days=["Monday", "Tuesday", "Monday"])]}),
     f"{SCHED}.days[2]: 'Monday' is listed twice"),
    ("schedule days empty", at("autoscale", {"schedules": [schedule(days=[])]}),
     f"{SCHED}.days: is empty; list the days the profile applies, such as Monday"),
    ("schedule days not a list", at("autoscale", {"schedules": [schedule(days="Monday")]}),
     f"{SCHED}.days: 'Monday' has the wrong type; expected a list"),
    ("schedule start without leading zero", at("autoscale", {"schedules": [schedule(start="7:30")]}),
     f"{SCHED}.start: '7:30' is not a time of day; use HH:MM on a 24-hour clock, such as 08:00"),
    ("schedule end at 24:00", at("autoscale", {"schedules": [schedule(end="24:00")]}),
     f"{SCHED}.end: '24:00' is not a time of day; use HH:MM on a 24-hour clock, such as 08:00"),
    ("schedule minute 60", at("autoscale", {"schedules": [schedule(start="07:60")]}),
     f"{SCHED}.start: '07:60' is not a time of day; use HH:MM on a 24-hour clock, such as 08:00"),
    ("schedule end equal to start", at("autoscale", {"schedules": [schedule(start="08:00", end="08:00")]}),
     f"{SCHED}.end: '08:00' is not after start '08:00'; a profile ends the same day it starts (use two profiles to "
     "span midnight)"),
    ("schedule end before start", at("autoscale", {"schedules": [schedule(start="22:00", end="06:00")]}),
     f"{SCHED}.end: '06:00' is not after start '22:00'; a profile ends the same day it starts (use two profiles to "
     "span midnight)"),
    ("schedule time zone of IANA", at("autoscale", {"schedules": [schedule(time_zone="Europe/Berlin")]}),
     f"{SCHED}.time_zone: 'Europe/Berlin' is not a time zone autoscale knows; use a Windows time zone name such as "
     "UTC or W. Europe Standard Time (components/time_zones.py lists them)"),
    ("schedule time zone abbreviation", at("autoscale", {"schedules": [schedule(time_zone="CET")]}),
     f"{SCHED}.time_zone: 'CET' is not a time zone autoscale knows; use a Windows time zone name such as UTC or "
     "W. Europe Standard Time (components/time_zones.py lists them)"),
    ("schedules that overlap", at("autoscale", {"schedules": [
        schedule(), schedule("lunch", days=["Friday", "Monday"], start="12:00", end="13:00")]}),
     f"{EP}.autoscale.schedules: 'business-hours' (07:30-19:00) and 'lunch' (12:00-13:00) overlap or touch on "
     "Monday; each schedule's end restores the default counts, so one would cut the other short: keep them apart "
     "on shared days"),
    ("schedules that touch", at("autoscale", {"schedules": [
        schedule(), schedule("evening", days=["Friday"], start="19:00", end="22:00")]}),
     f"{EP}.autoscale.schedules: 'business-hours' (07:30-19:00) and 'evening' (19:00-22:00) overlap or touch on "
     "Friday; each schedule's end restores the default counts, so one would cut the other short: keep them apart "
     "on shared days"),
    ("schedule instances missing",
     both(at("autoscale", {"schedules": [schedule()]}), at("autoscale.schedules.0.instances", _DELETE)),
     f"{SCHED}.instances: is required but missing"),
    ("schedule key unknown", at("autoscale", {"schedules": [schedule(weeks=[1])]}),
     f"{SCHED}.weeks: unknown key; allowed keys are days, end, instances, name, start, time_zone"),
    ("schedule name invalid", at("autoscale", {"schedules": [schedule(name="Business Hours")]}),
     f"{SCHED}.name: 'Business Hours' is not a valid schedule name; use 3-32 {NAME_RULE}"),
    ("schedule instances min above max", at("autoscale", {"schedules": [schedule(instances={"min": 5, "max": 4})]}),
     f"{SCHED}.instances.min: 5 is above max 4; min must not exceed max"),
    ("duplicate schedule names", at("autoscale", {"schedules": [schedule(), schedule(days=["Saturday"])]}),
     f"{EP}.autoscale.schedules[1].name: 'business-hours' duplicates teams[0].endpoints[0].autoscale.schedules[0]; "
     "schedule names must be unique"),
    ("ten schedules", at("autoscale", {"schedules": [short(i) for i in range(10)]}),
     f"{EP}.autoscale.schedules: lists 10 profiles; use at most 9 (each schedule takes two of Azure's 20 autoscale "
     "profiles)"),
    # expected load
    ("load without peak", at("load", {"base_rps": 5}), f"{EP}.load.peak_rps: is required but missing"),
    ("load peak zero", at("load", {"peak_rps": 0}),
     f"{EP}.load.peak_rps: 0 is not allowed; use a number above 0 and at most 100000"),
    ("load peak per day", at("load", {"peak_rps": 2_000_000}),
     f"{EP}.load.peak_rps: 2000000 is not allowed; use a number above 0 and at most 100000"),
    ("load peak as text", at("load", {"peak_rps": "lots"}),
     f"{EP}.load.peak_rps: 'lots' has the wrong type; expected a number"),
    ("load base above peak", at("load", {"peak_rps": 10, "base_rps": 12.5}),
     f"{EP}.load.base_rps: 12.5 is above peak_rps 10; the off-peak rate is at most the peak"),
    ("load base negative", at("load", {"peak_rps": 10, "base_rps": -1}),
     f"{EP}.load.base_rps: -1 is not allowed; use a number above 0 and at most 100000"),
    ("load key unknown", at("load", {"peak_rps": 10, "users": 5}),
     f"{EP}.load.users: unknown key; allowed keys are base_rps, peak_rps"),
    ("load not an object", at("load", 40),
     f"{EP}.load: 40 has the wrong type; expected an object (a YAML mapping)"),
]


def test_expected_load_defaults_its_base_to_a_quarter_of_the_peak(project: Path) -> None:
    assert valid(endpoint(load={"peak_rps": 40}), project).load == LoadConfig(peak_rps=40, base_rps=10)
    assert valid(endpoint(load={"peak_rps": 40, "base_rps": 40}), project).load == LoadConfig(40, 40)
    assert valid(endpoint(), project).load is None


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_each_bad_input_is_refused_with_its_message(project: Path, mutate: Callable[[dict[str, Any]], None],
                                                    expected: str) -> None:
    e = endpoint()
    mutate(e)
    assert refused(e, project) == [expected]


@pytest.mark.parametrize("key", ["model", "environment", "code", "instance_type", "instances"])
def test_each_required_deployment_key(project: Path, key: str) -> None:
    d = deployment()
    del d[key]
    assert refused(endpoint(deployments=[d]), project) == [f"{DEP}.{key}: is required but missing"]


def test_missing_deployments_is_reported_first(project: Path) -> None:
    e = endpoint()
    del e["deployments"]
    found = refused(e, project)
    # Also reported: "lists 0 deployments" and (misleadingly) "traffic is required with two deployments".
    assert found[:2] == [f"{EP}.deployments: is required but missing",
                         f"{EP}.deployments: lists 0 deployments; use 1 or 2 (blue and green)"]


def test_slo_lists_every_missing_key(project: Path) -> None:
    assert refused(endpoint(slo={}), project) == [
        f"{EP}.slo.latency_p95_ms: is required but missing",
        f"{EP}.slo.error_rate_percent: is required but missing",
        f"{EP}.slo.availability_percent: is required but missing",
    ]


def test_duplicate_endpoint_names(project: Path) -> None:
    _, found = read([endpoint(), endpoint()], project)
    assert found == [f"{NS}:teams[0].endpoints[1].name: 'score' duplicates teams[0].endpoints[0]; endpoint names must "
                     "be unique"]
    parsed, found = read([endpoint(), endpoint(name="score-shadow")], project)
    assert found == [] and [e.name for e in parsed] == ["score", "score-shadow"]


def test_endpoints_must_be_a_list_of_objects(project: Path) -> None:
    assert read({"name": "score"}, project)[1] == [
        f'{NS}:teams[0].endpoints: {{"name": "score"}} has the wrong type; expected a list']
    assert read(["score"], project)[1] == [
        f"{EP}: 'score' has the wrong type; expected an object (a YAML mapping)"]
    assert read([], project) == ((), [])


# --------------------------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["abc", "a" * 16, "fraud-score-2", "s2x"])
def test_endpoint_names_accepted(project: Path, name: str) -> None:
    assert valid(endpoint(name=name), project).name == name


@pytest.mark.parametrize("name", ["abc", "b" * 32, "blue-2", "green"])
def test_deployment_names_accepted(project: Path, name: str) -> None:
    config = valid(endpoint(deployments=[deployment(name)]), project)
    assert [d.name for d in config.deployments] == [name]
    assert config.traffic == {name: 100}


# --------------------------------------------------------------------------------------------------------------------
# auth_mode
# --------------------------------------------------------------------------------------------------------------------


def test_auth_mode_defaults_to_entra_tokens(project: Path) -> None:
    assert valid(endpoint(), project).auth_mode == "AADToken"


@pytest.mark.parametrize("mode", ["AADToken", "AMLToken", "Key"])
def test_auth_modes_accepted_in_dev(project: Path, mode: str) -> None:
    assert valid(endpoint(auth_mode=mode), project).auth_mode == mode


def test_key_auth_is_refused_in_prod(project: Path) -> None:
    prod = deployment(instances={"min": 3, "max": 6})
    assert valid(endpoint(deployments=[prod], auth_mode="AMLToken"), project, "prod").auth_mode == "AMLToken"
    assert refused(endpoint(deployments=[prod], auth_mode="Key"), project, "prod") == [
        f"{EP}.auth_mode: 'Key' is not allowed in prod: keys cannot be scoped or audited per caller; use AADToken "
        "(or AMLToken)"]


# --------------------------------------------------------------------------------------------------------------------
# Model references
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("azureml://registries/shared-models/models/fraud-model/versions/3",
         ModelRef(name="fraud-model", version="3", registry="shared-models")),
        ("azureml://registries/reg_01/models/fraud.model/versions/2024.11.1",
         ModelRef(name="fraud.model", version="2024.11.1", registry="reg_01")),
        ("azureml:fraud-model:12", ModelRef(name="fraud-model", version="12")),
        ("azureml:fraud-model:v2-latest", ModelRef(name="fraud-model", version="v2-latest")),
    ],
)
def test_model_references_parse(text: str, expected: ModelRef) -> None:
    r = Reader()
    ref = parse_model(r, "m", text)
    assert r.problems == []
    assert ref == expected
    assert ref is not None and ref.uri == text


def test_model_uri_is_built_from_its_parts() -> None:
    assert ModelRef("m", "1").uri == "azureml:m:1"
    assert ModelRef("m", "1", registry="r01").uri == "azureml://registries/r01/models/m/versions/1"


def test_deployment_model_is_a_model_ref(project: Path) -> None:
    config = valid(endpoint(deployments=[deployment(model="azureml://registries/shared/models/fraud/versions/7")]),
                   project)
    assert config.deployments[0].model == ModelRef(name="fraud", version="7", registry="shared")


# --------------------------------------------------------------------------------------------------------------------
# Environment and code
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image", [IMAGE, f"mcr.microsoft.com/azureml/minimal@{DIGEST}",
                                   f"mcr.microsoft.com/azureml/minimal:1.0@{DIGEST}",
                                   "myregistry.azurecr.io:443/team/scoring-base:2026.11.1"])
def test_pinned_images_accepted(project: Path, image: str) -> None:
    config = valid(endpoint(deployments=[deployment(environment={"image": image, "conda_file": CONDA})]), project)
    assert config.deployments[0].environment == EnvironmentConfig(image=image, conda_file=CONDA)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"dependencies: [python=3.11\n", "cannot be read as YAML (ParserError); give a conda environment file"),
        (b"name: x\n\tdependencies: []\n", "cannot be read as YAML (ScannerError); give a conda environment file"),
        (b"\xff\xfe\x00binary", "cannot be read as YAML (UnicodeDecodeError); give a conda environment file"),
        (b"name: fraud-scoring\nchannels: [conda-forge]\n",
         "is not a conda environment file: it has no dependencies list"),
        (b"dependencies: python=3.11\n", "is not a conda environment file: it has no dependencies list"),
        (b"- python=3.11\n", "is not a conda environment file: it has no dependencies list"),
        (b"", "is not a conda environment file: it has no dependencies list"),
    ],
    ids=["unclosed list", "tab indent", "not utf-8", "no dependencies", "dependencies not a list", "a list",
         "empty"],
)
def test_conda_file_contents(project: Path, content: bytes, expected: str) -> None:
    (project / "serving" / "fraud" / "env.yaml").write_bytes(content)
    d = deployment(environment={"image": IMAGE, "conda_file": "serving/fraud/env.yaml"})
    assert refused(endpoint(deployments=[d]), project) == [
        f"{DEP}.environment.conda_file: 'serving/fraud/env.yaml' {expected}"]


def test_conda_file_with_dependencies_is_accepted(project: Path) -> None:
    (project / "env").mkdir()
    (project / "env" / "conda.yml").write_text("dependencies:\n  - python=3.11\n", encoding="utf-8")
    d = deployment(environment={"image": IMAGE, "conda_file": "env/conda.yml"})
    assert valid(endpoint(deployments=[d]), project).deployments[0].environment.conda_file == "env/conda.yml"


def test_files_are_looked_up_below_the_given_root(tmp_path: Path) -> None:
    """An empty root has neither the conda file nor the code folder the deployment names."""
    assert refused(endpoint(), tmp_path) == [
        f"{DEP}.environment.conda_file: 'serving/fraud/conda.yaml' is not a file of the project; give a file path "
        "relative to the project root (the folder of Pulumi.yaml)",
        f"{DEP}.code.path: 'serving/fraud' is not a folder of the project; give a folder path relative to the project "
        "root (the folder of Pulumi.yaml)",
    ]


def test_code_folder_and_nested_scoring_script(project: Path) -> None:
    (project / "serving" / "fraud" / "app").mkdir()
    (project / "serving" / "fraud" / "app" / "main.py").write_text("def init() -> None: ...\n", encoding="utf-8")
    config = valid(endpoint(deployments=[deployment(code={"path": "serving/fraud/", "scoring_script": "app/main.py"})]),
                   project)
    assert config.deployments[0].code == CodeConfig(path="serving/fraud", scoring_script="app/main.py")


# --------------------------------------------------------------------------------------------------------------------
# instance_type and instances
# --------------------------------------------------------------------------------------------------------------------


def test_instance_type_with_no_allowed_types(project: Path) -> None:
    assert refused(endpoint(), project, instance_types=()) == [
        f"{DEP}.instance_type: 'Standard_DS2_v2' is not allowed in dev; no managed online instance type is allowed; "
        "list the ones to offer in allowed_instance_types"]


def test_instance_type_message_names_the_environment(project: Path) -> None:
    d = deployment(instance_type="Standard_E4s_v3", instances={"min": 3, "max": 3})
    assert refused(endpoint(deployments=[d]), project, "prod") == [
        f"{DEP}.instance_type: 'Standard_E4s_v3' is not allowed in prod; use one of Standard_DS2_v2, Standard_DS3_v2"]


def test_instance_default_is_min(project: Path) -> None:
    config = valid(endpoint(deployments=[deployment(instances={"min": 2, "max": 4})]), project)
    assert config.deployments[0].instances == InstancesConfig(minimum=2, maximum=4, default=2)
    config = valid(endpoint(deployments=[deployment(instances={"min": 1, "max": 50, "default": 50})]), project)
    assert config.deployments[0].instances == InstancesConfig(minimum=1, maximum=50, default=50)


@pytest.mark.parametrize("index", [0, 1], ids=["live deployment", "deployment without live traffic"])
def test_prod_keeps_three_instances_in_every_deployment(project: Path, index: int) -> None:
    """In prod min < 3 is refused for the live deployment and, by design (docs/configuration.md: the idle one of blue
    and green takes all traffic at the switch), for the one without live traffic as well."""
    deployments = [deployment(instances={"min": 3, "max": 6}), deployment("green", instances={"min": 3, "max": 6})]
    deployments[index]["instances"] = {"min": 1, "max": 6}
    e = endpoint(deployments=deployments, traffic={"blue": 100, "green": 0})
    assert refused(e, project, "prod") == [f"{EP}.deployments[{index}].instances.min: 1 {PROD_FLOOR}"]
    deployments[index]["instances"] = {"min": 3, "max": 6}
    config = valid(e, project, "prod")
    assert [d.instances.minimum for d in config.deployments] == [3, 3]
    assert config.live("blue") and not config.live("green")


def test_prod_min_of_two_is_refused(project: Path) -> None:
    e = endpoint(deployments=[deployment(instances={"min": 2, "max": 6})])
    assert refused(e, project, "prod") == [f"{DEP}.instances.min: 2 {PROD_FLOOR}"]
    assert valid(e, project, "dev").deployments[0].instances.minimum == 2


# --------------------------------------------------------------------------------------------------------------------
# Probes and request settings
# --------------------------------------------------------------------------------------------------------------------


def test_probe_and_request_defaults(project: Path) -> None:
    d = valid(endpoint(), project).deployments[0]
    assert d.liveness == d.readiness == ProbeConfig()
    assert (d.liveness.initial_delay, d.liveness.period, d.liveness.timeout, d.liveness.failure_threshold,
            d.liveness.success_threshold) == ("PT10S", "PT10S", "PT2S", 30, 1)
    assert d.request == RequestConfig() == RequestConfig(timeout="PT5S", max_concurrent_requests_per_instance=1)


def test_probes_given_keep_the_defaults_of_keys_not_given(project: Path) -> None:
    d = deployment(liveness_probe={"initial_delay": "PT1S"},
                   readiness_probe={"period": "PT5S", "timeout": "PT5S", "success_threshold": 3,
                                    "failure_threshold": 100})
    config = valid(endpoint(deployments=[d]), project).deployments[0]
    assert config.liveness == ProbeConfig(initial_delay="PT1S")
    assert config.readiness == ProbeConfig(period="PT5S", timeout="PT5S", success_threshold=3, failure_threshold=100)


@pytest.mark.parametrize(("request_settings", "expected"), [
    ({"timeout": "PT180S"}, RequestConfig(timeout="PT180S")),
    ({"timeout": "PT3M"}, RequestConfig(timeout="PT3M")),
    ({"timeout": "PT0.5S", "max_concurrent_requests_per_instance": 1000},
     RequestConfig(timeout="PT0.5S", max_concurrent_requests_per_instance=1000)),
])
def test_request_settings_accepted(project: Path, request_settings: dict[str, Any], expected: RequestConfig) -> None:
    e = endpoint(deployments=[deployment(request=request_settings)], slo={**SLO, "latency_p95_ms": 200})
    assert valid(e, project).deployments[0].request == expected


# --------------------------------------------------------------------------------------------------------------------
# Traffic and mirror
# --------------------------------------------------------------------------------------------------------------------


def test_one_deployment_takes_all_traffic_by_default(project: Path) -> None:
    config = valid(endpoint(), project)
    assert config.traffic == {"blue": 100} and config.mirror == {}
    assert config.live("blue") and not config.live("green")


def test_two_deployments_with_a_split(project: Path) -> None:
    e = endpoint(deployments=[deployment(), deployment("green")], traffic={"blue": 80, "green": 20})
    config = valid(e, project)
    assert config.traffic == {"blue": 80, "green": 20}
    assert config.live("blue") and config.live("green")


def test_a_deployment_left_out_of_the_split_takes_no_traffic(project: Path) -> None:
    config = valid(endpoint(deployments=[deployment(), deployment("green")], traffic={"blue": 100},
                            mirror={"green": 50}), project)
    assert config.traffic == {"blue": 100} and not config.live("green")
    assert config.mirror == {"green": 50}


def test_a_bad_traffic_share_is_named_first(project: Path) -> None:
    e = endpoint(deployments=[deployment(), deployment("green")], traffic={"blue": "all", "green": 0})
    # Followed by "traffic: sums to 0", counted without the share that was refused.
    assert refused(e, project)[0] == f"{EP}.traffic.blue: 'all' has the wrong type; expected a whole number"


def test_mirror_to_two_deployments_is_refused(project: Path) -> None:
    """With a valid split one of the two deployments is live, so the live check fires first; without a split the
    mirror's own rule speaks."""
    e = endpoint(deployments=[deployment(), deployment("green")], mirror={"blue": 10, "green": 10})
    assert refused(e, project) == [
        f"{EP}.traffic: is required with two deployments; give the initial split, such as {{blue: 100, green: 0}}",
        f"{EP}.mirror: names more than one deployment; mirror traffic to one deployment",
    ]
    e["traffic"] = {"blue": 100, "green": 0}
    assert refused(e, project) == [
        f"{EP}.mirror.blue: mirrors traffic to 'blue', which takes 100% of live traffic; mirror only to a deployment "
        "without live traffic"]


# --------------------------------------------------------------------------------------------------------------------
# SLO
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("slo", "expected"), [
    ({"latency_p95_ms": 5000, "error_rate_percent": 0.01, "availability_percent": 95},
     SloConfig(latency_p95_ms=5000, error_rate_percent=0.01, availability_percent=95.0)),
    ({"latency_p95_ms": 1, "error_rate_percent": 50, "availability_percent": 99.999},
     SloConfig(latency_p95_ms=1, error_rate_percent=50.0, availability_percent=99.999)),
    ({"latency_p95_ms": "250", "error_rate_percent": "0.5", "availability_percent": "99.9"},
     SloConfig(latency_p95_ms=250, error_rate_percent=0.5, availability_percent=99.9)),
])
def test_slo_bounds_accepted(project: Path, slo: dict[str, Any], expected: SloConfig) -> None:
    assert valid(endpoint(slo=slo), project).slo == expected


@pytest.mark.parametrize(("availability", "budget"), [(99.9, 0.001), (99.5, 0.005), (99.99, 0.0001), (90, 0.1),
                                                      (99.999, 0.00001)])
def test_error_budget(availability: float, budget: float) -> None:
    assert SloConfig(latency_p95_ms=300, error_rate_percent=1, availability_percent=availability).error_budget == budget


def test_slo_latency_is_checked_against_every_deployment(project: Path) -> None:
    e = endpoint(deployments=[deployment(request={"timeout": "PT10S"}), deployment("green")],
                 traffic={"blue": 100}, slo={**SLO, "latency_p95_ms": 8000})
    assert refused(e, project) == [
        f"{EP}.slo.latency_p95_ms: 8000 is above the request timeout 5 seconds of deployment green; requests time out "
        "before they could miss the SLO"]
    e["slo"]["latency_p95_ms"] = 5000
    assert valid(e, project).slo.latency_p95_ms == 5000


# --------------------------------------------------------------------------------------------------------------------
# Autoscale
# --------------------------------------------------------------------------------------------------------------------


def test_autoscale_defaults(project: Path) -> None:
    config = valid(endpoint(), project).autoscale
    assert config == AutoscaleConfig()
    assert (config.cpu_scale_out_above, config.cpu_scale_in_below, config.latency_scale_in_below_ms, config.window,
            config.scale_out_cooldown, config.scale_in_cooldown, config.schedules) == (
        70.0, 30.0, None, "PT10M", "PT5M", "PT10M", ())


def test_autoscale_settings_given(project: Path) -> None:
    e = endpoint(autoscale={"cpu": {"scale_out_above": 80, "scale_in_below": 25.5},
                            "latency": {"scale_in_below_ms": 100}, "window": "PT12H",
                            "cooldown": {"scale_out": "PT1M", "scale_in": "P7D"}})
    assert valid(e, project).autoscale == AutoscaleConfig(
        cpu_scale_out_above=80.0, cpu_scale_in_below=25.5, latency_scale_in_below_ms=100.0, window="PT12H",
        scale_out_cooldown="PT1M", scale_in_cooldown="P7D")


def test_latency_scale_in_threshold() -> None:
    slo = SloConfig(latency_p95_ms=300, error_rate_percent=1, availability_percent=99.5)
    assert AutoscaleConfig().latency_scale_in(slo) == pytest.approx(120.0)
    assert AutoscaleConfig(latency_scale_in_below_ms=90).latency_scale_in(slo) == 90
    assert AutoscaleConfig().latency_scale_in(SloConfig(1000, 1, 99.9)) == pytest.approx(400.0)


def test_schedule_parses_with_utc_by_default(project: Path) -> None:
    config = valid(endpoint(autoscale={"schedules": [schedule(days=["Saturday", "Sunday"], start="00:00",
                                                              end="23:59")]}), project)
    assert config.autoscale.schedules == (ScheduleProfileConfig(
        name="business-hours", days=("Saturday", "Sunday"), start="00:00", end="23:59", time_zone="UTC",
        instances=InstancesConfig(minimum=1, maximum=4, default=1)),)


def test_nine_schedules_are_accepted(project: Path) -> None:
    config = valid(endpoint(autoscale={"schedules": [short(i) for i in range(9)]}), project)
    assert [s.name for s in config.autoscale.schedules] == [f"profile-{i}" for i in range(9)]


def test_prod_schedule_keeps_three_instances(project: Path) -> None:
    e = endpoint(deployments=[deployment(instances={"min": 3, "max": 6})],
                 autoscale={"schedules": [schedule(instances={"min": 2, "max": 6})]})
    assert refused(e, project, "prod") == [f"{SCHED}.instances.min: 2 {PROD_FLOOR}"]


# --------------------------------------------------------------------------------------------------------------------
# Flapping: Azure projects value * n / (n - 1) before scaling in from n instances
# --------------------------------------------------------------------------------------------------------------------


def test_cpu_thresholds_that_flap_are_refused(project: Path) -> None:
    e = endpoint(deployments=[deployment(instances={"min": 1, "max": 4})],
                 autoscale={"cpu": {"scale_in_below": 40, "scale_out_above": 70}})
    assert refused(e, project) == [
        f"{EP}.autoscale.cpu: scale_in_below 40 and scale_out_above 70 flap for deployments[0].instances (min 1): with "
        "2 instances, removing one projects 80 (above the scale-out threshold 70), so Azure would never scale in "
        "to 1; lower scale_in_below or raise min"]


@pytest.mark.parametrize(("minimum", "scale_in"), [(2, 30), (2, 40), (1, 34)],
                         ids=["30*3/2=45", "raising min: 40*3/2=60", "34*2/1=68"])
def test_cpu_thresholds_that_do_not_flap(project: Path, minimum: int, scale_in: float) -> None:
    e = endpoint(deployments=[deployment(instances={"min": minimum, "max": 4})],
                 autoscale={"cpu": {"scale_in_below": scale_in, "scale_out_above": 70}})
    assert valid(e, project).autoscale.cpu_scale_in_below == scale_in


def test_no_flapping_when_min_equals_max(project: Path) -> None:
    e = endpoint(deployments=[deployment(instances={"min": 2, "max": 2})],
                 autoscale={"cpu": {"scale_in_below": 65}, "latency": {"scale_in_below_ms": 290}})
    assert valid(e, project).autoscale.cpu_scale_in_below == 65


def test_latency_thresholds_that_flap_are_refused(project: Path) -> None:
    e = endpoint(deployments=[deployment(instances={"min": 1, "max": 4})],
                 autoscale={"latency": {"scale_in_below_ms": 200}})
    assert refused(e, project) == [
        f"{EP}.autoscale.latency.scale_in_below_ms: 200 and the SLO's latency_p95_ms 300 flap for "
        "deployments[0].instances (min 1): with 2 instances, removing one projects 400 (above the scale-out "
        "threshold 300), so Azure would never scale in to 1; lower scale_in_below_ms or raise min"]
    e["deployments"][0]["instances"] = {"min": 3, "max": 4}  # 200 * 4 / 3 = 266.7 < 300
    assert valid(e, project).autoscale.latency_scale_in_below_ms == 200


def test_flapping_is_checked_for_schedule_profiles(project: Path) -> None:
    e = endpoint(deployments=[deployment(instances={"min": 1, "max": 1})],
                 autoscale={"cpu": {"scale_in_below": 40},
                            "schedules": [schedule(), schedule("weekend", days=["Sunday"])]})
    e["autoscale"]["schedules"][1]["instances"] = {"min": 1, "max": 3}
    e["autoscale"]["schedules"][0]["instances"] = {"min": 2, "max": 3}  # 40 * 3 / 2 = 60: fine
    assert refused(e, project) == [
        f"{EP}.autoscale.cpu: scale_in_below 40 and scale_out_above 70 flap for schedules[1].instances (min 1): with "
        "2 instances, removing one projects 80 (above the scale-out threshold 70), so Azure would never scale in "
        "to 1; lower scale_in_below or raise min"]


def test_default_thresholds_never_flap_at_min_one(project: Path) -> None:
    """30 % CPU and 0.4 x the SLO's latency double to 60 % and 0.8 x: below the scale-out thresholds."""
    e = endpoint(deployments=[deployment(instances={"min": 1, "max": 50})])
    assert valid(e, project).autoscale == AutoscaleConfig()


# --------------------------------------------------------------------------------------------------------------------
# A complete endpoint
# --------------------------------------------------------------------------------------------------------------------


def test_complete_endpoint_parses_into_the_model(project: Path) -> None:
    blue = deployment(instances={"min": 3, "max": 6, "default": 4},
                      liveness_probe={"initial_delay": "PT30S", "failure_threshold": 5},
                      readiness_probe={"period": "PT5S", "timeout": "PT3S", "success_threshold": 2},
                      request={"timeout": "PT2S", "max_concurrent_requests_per_instance": 4})
    green = deployment("green", model="azureml://registries/shared/models/fraud-model/versions/2",
                       environment={"image": f"mcr.microsoft.com/azureml/minimal@{DIGEST}", "conda_file": CONDA},
                       instance_type="Standard_DS3_v2", instances={"min": 3, "max": 3})
    e = {
        "name": "fraud-score",
        "auth_mode": "AMLToken",
        "deployments": [blue, green],
        "traffic": {"blue": 100, "green": 0},
        "mirror": {"green": 20},
        "slo": {"latency_p95_ms": 250, "error_rate_percent": 0.5, "availability_percent": 99.9},
        "autoscale": {
            "cpu": {"scale_out_above": 75, "scale_in_below": 35},
            "window": "PT15M",
            "cooldown": {"scale_out": "PT3M", "scale_in": "PT15M"},
            "schedules": [{"name": "business-hours", "days": ["Monday", "Friday"], "start": "07:30", "end": "19:00",
                           "time_zone": "W. Europe Standard Time", "instances": {"min": 4, "max": 10, "default": 5}}],
        },
    }
    config = valid(copy.deepcopy(e), project, "prod")
    code = CodeConfig(path="serving/fraud", scoring_script="score.py")
    assert config == EndpointConfig(
        name="fraud-score",
        auth_mode="AMLToken",
        deployments=(
            DeploymentConfig(
                name="blue", model=ModelRef(name="fraud-model", version="1"),
                environment=EnvironmentConfig(image=IMAGE, conda_file=CONDA), code=code,
                instance_type="Standard_DS2_v2", instances=InstancesConfig(minimum=3, maximum=6, default=4),
                liveness=ProbeConfig(initial_delay="PT30S", failure_threshold=5),
                readiness=ProbeConfig(period="PT5S", timeout="PT3S", success_threshold=2),
                request=RequestConfig(timeout="PT2S", max_concurrent_requests_per_instance=4)),
            DeploymentConfig(
                name="green", model=ModelRef(name="fraud-model", version="2", registry="shared"),
                environment=EnvironmentConfig(image=f"mcr.microsoft.com/azureml/minimal@{DIGEST}", conda_file=CONDA),
                code=code, instance_type="Standard_DS3_v2", instances=InstancesConfig(minimum=3, maximum=3, default=3)),
        ),
        traffic={"blue": 100, "green": 0},
        mirror={"green": 20},
        slo=SloConfig(latency_p95_ms=250, error_rate_percent=0.5, availability_percent=99.9),
        autoscale=AutoscaleConfig(
            cpu_scale_out_above=75.0, cpu_scale_in_below=35.0, window="PT15M", scale_out_cooldown="PT3M",
            scale_in_cooldown="PT15M",
            schedules=(ScheduleProfileConfig(name="business-hours", days=("Monday", "Friday"), start="07:30",
                                             end="19:00", time_zone="W. Europe Standard Time",
                                             instances=InstancesConfig(minimum=4, maximum=10, default=5)),)),
    )
    assert config.slo.error_budget == 0.001
    assert config.autoscale.latency_scale_in(config.slo) == pytest.approx(100.0)
    assert config.live("blue") and not config.live("green")


# --------------------------------------------------------------------------------------------------------------------
# Through parse_config: the shipped stacks, the root, the team and top-level keys endpoints depend on
# --------------------------------------------------------------------------------------------------------------------


def test_dev_stack_endpoint(dev_values: dict[str, Any]) -> None:
    fraud = parse(dev_values).teams[0]
    assert fraud.alert_emails == ("fraud-ds@contoso.com",)
    [score] = fraud.endpoints
    assert score.name == "score" and score.auth_mode == "AADToken"
    [blue] = score.deployments
    assert blue == DeploymentConfig(
        name="blue", model=ModelRef(name="fraud-model", version="1"),
        environment=EnvironmentConfig(image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20260715.v1",
                                      conda_file="serving/fraud/conda.yaml"),
        code=CodeConfig(path="serving/fraud", scoring_script="score.py"), instance_type="Standard_DS2_v2",
        instances=InstancesConfig(minimum=1, maximum=2, default=1),
        request=RequestConfig(timeout="PT5S", max_concurrent_requests_per_instance=2))
    assert score.traffic == {"blue": 100} and score.mirror == {}
    assert score.slo == SloConfig(latency_p95_ms=300, error_rate_percent=1.0, availability_percent=99.5)
    assert score.autoscale == AutoscaleConfig()
    assert parse(dev_values).teams[1].endpoints == ()


def test_prod_stack_endpoint(prod_values: dict[str, Any]) -> None:
    [score] = parse(prod_values, stack="prod").teams[0].endpoints
    assert [(d.name, d.instance_type, d.instances) for d in score.deployments] == [
        ("blue", "Standard_DS3_v2", InstancesConfig(4, 8, 4)), ("green", "Standard_DS3_v2", InstancesConfig(4, 8, 4))]
    assert score.traffic == {"blue": 100, "green": 0}
    assert score.slo.error_budget == 0.001
    [hours] = score.autoscale.schedules
    assert (hours.days, hours.start, hours.end, hours.time_zone, hours.instances) == (
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"), "07:30", "19:00", "W. Europe Standard Time",
        InstancesConfig(4, 10, 4))
    assert score.autoscale.scale_in_cooldown == "PT15M"


def test_parse_config_reads_files_below_its_root(dev_values: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(encode(dev_values), stack="dev", today=TODAY, root=tmp_path)
    assert caught.value.problems == [
        f"{NS}:teams[0].endpoints[0].deployments[0].environment.conda_file: 'serving/fraud/conda.yaml' is not a file "
        "of the project; give a file path relative to the project root (the folder of Pulumi.yaml)",
        f"{NS}:teams[0].endpoints[0].deployments[0].code.path: 'serving/fraud' is not a folder of the project; give a "
        "folder path relative to the project root (the folder of Pulumi.yaml)",
    ]


def test_team_with_endpoints_needs_alert_emails(dev_values: dict[str, Any]) -> None:
    del team(dev_values)["alert_emails"]
    assert problems(dev_values) == [
        f"{NS}:teams[0].alert_emails: is required because the team has endpoints; list who receives the team's "
        "endpoint alerts"]


def test_endpoint_error_path_through_parse_config(dev_values: dict[str, Any]) -> None:
    team(dev_values)["endpoints"][0]["deployments"][0]["model"] = "azureml:fraud-model:latest"
    assert problems(dev_values) == [
        f"{NS}:teams[0].endpoints[0].deployments[0].model: 'azureml:fraud-model:latest' {NOT_PINNED_VERSION}"]


def test_allowed_instance_types_decide_the_instance_type(dev_values: dict[str, Any]) -> None:
    dev_values[f"{NS}:allowed_instance_types"] = ["Standard_DS3_v2", "Standard_E4s_v3"]
    assert problems(dev_values) == [
        f"{NS}:teams[0].endpoints[0].deployments[0].instance_type: 'Standard_DS2_v2' is not allowed in dev; use one "
        "of Standard_DS3_v2, Standard_E4s_v3"]
    team(dev_values)["endpoints"][0]["deployments"][0]["instance_type"] = "Standard_E4s_v3"
    config = parse(dev_values)
    assert config.allowed_instance_types == ("Standard_DS3_v2", "Standard_E4s_v3")
    assert config.teams[0].endpoints[0].deployments[0].instance_type == "Standard_E4s_v3"


def test_no_managed_online_size_among_the_allowed_vm_sizes(dev_values: dict[str, Any]) -> None:
    """By default the instance types are the allowed VM sizes that managed online endpoints offer: none here."""
    dev_values[f"{NS}:allowed_vm_sizes"] = ["Standard_D4s_v3"]
    found = problems(dev_values)
    assert (f"{NS}:teams[0].endpoints[0].deployments[0].instance_type: 'Standard_DS2_v2' is not allowed in dev; no "
            "managed online instance type is allowed; list the ones to offer in allowed_instance_types") in found


def test_registry_models_need_their_registry_listed(dev_values: dict[str, Any]) -> None:
    registry_id = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shared/providers/"
                   "Microsoft.MachineLearningServices/registries/shared")
    team(dev_values)["endpoints"][0]["deployments"][0]["model"] = (
        "azureml://registries/shared/models/fraud-model/versions/3")
    assert problems(dev_values) == [
        f"{NS}:teams[0].endpoints[0].deployments[0].model: comes from registry 'shared', which model_registries does "
        "not list; add its resource id there (the endpoint's identity is granted AzureML Registry User on it)"]
    dev_values[f"{NS}:model_registries"] = {"shared": registry_id}
    config = parse(dev_values)
    assert config.model_registries == {"shared": registry_id}
    assert config.teams[0].endpoints[0].deployments[0].model == ModelRef("fraud-model", "3", registry="shared")


# --------------------------------------------------------------------------------------------------------------------
# Reader.number
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (5, 5.0), (2.5, 2.5), ("3", 3.0), ("3.25", 3.25), ("-1.5", -1.5), (0, 0.0), (10, 10.0),
])
def test_number_accepts_whole_and_decimal_numbers(value: Any, expected: float) -> None:
    r = Reader()
    result = r.number("x", value, -5, 10)
    assert r.problems == []
    assert result == expected and isinstance(result, float)


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (True, {}, "true has the wrong type; expected a number"),
    (False, {}, "false has the wrong type; expected a number"),
    ("ten", {}, "'ten' has the wrong type; expected a number"),
    ("1e3", {}, "'1e3' has the wrong type; expected a number"),
    ("", {}, "'' has the wrong type; expected a number"),
    (None, {}, "null has the wrong type; expected a number"),
    ([1], {}, "[1] has the wrong type; expected a number"),
    (-0.5, {}, "-0.5 is not allowed; use a number at least 0 and at most 10"),
    (10.5, {}, "10.5 is not allowed; use a number at least 0 and at most 10"),
    ("11", {}, "11 is not allowed; use a number at least 0 and at most 10"),
    (0, {"open_low": True}, "0 is not allowed; use a number above 0 and at most 10"),
    ("0.0", {"open_low": True}, "0 is not allowed; use a number above 0 and at most 10"),
    (-1, {"open_low": True}, "-1 is not allowed; use a number above 0 and at most 10"),
])
def test_number_refusals(value: Any, kwargs: dict[str, bool], message: str) -> None:
    r = Reader()
    assert r.number("a.b", value, 0, 10, **kwargs) is None
    assert r.problems == [f"{NS}:a.b: {message}"]


def test_number_bounds_are_inclusive_except_an_open_low() -> None:
    r = Reader()
    assert r.number("x", 0, 0, 10) == 0.0
    assert r.number("x", 10, 0, 10, open_low=True) == 10.0
    assert r.number("x", 0.001, 0, 10, open_low=True) == 0.001
    assert r.problems == []


@pytest.mark.parametrize(("value", "message"), [
    (float("nan"), "nan is not allowed; use a finite number"),
    (float("inf"), "inf is not allowed; use a finite number"),
    (1234567.0, "1234567 is not allowed; use a number at least 0 and at most 10"),
])
def test_number_refuses_non_finite_values_and_never_writes_exponents(value: float, message: str) -> None:
    r = Reader()
    assert r.number("a.b", value, 0, 10) is None
    assert r.problems == [f"{NS}:a.b: {message}"]


def test_durations_read_in_the_singular_where_it_is_one() -> None:
    assert [human(dt.timedelta(seconds=s)) for s in (1, 2, 60, 3600, 86400)] == [
        "1 second", "2 seconds", "1 minute", "1 hour", "1 day"]


def test_a_link_out_of_the_project_and_the_project_root_are_refused(project: Path, tmp_path_factory: Any) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "conda.yaml").write_text(CONDA_TEXT, encoding="utf-8")
    (project / "serving" / "linked.yaml").symlink_to(outside / "conda.yaml")
    d = deployment(environment={"image": IMAGE, "conda_file": "serving/linked.yaml"})
    assert refused(endpoint(deployments=[d]), project) == [
        f"{DEP}.environment.conda_file: 'serving/linked.yaml' is not allowed; use a file inside the project, not the "
        "project root itself or a link that leads out of it"]
    d = deployment(code={"path": ".", "scoring_script": "serving/fraud/score.py"})
    assert refused(endpoint(deployments=[d]), project) == [
        f"{DEP}.code.path: '.' is not allowed; use a folder inside the project, not the project root itself or a link "
        "that leads out of it"]


def test_wrong_deployments_bring_no_second_complaint_about_traffic(project: Path) -> None:
    three = [deployment("blue"), deployment("green"), deployment("red")]
    assert refused(endpoint(deployments=three), project) == [
        f"{EP}.deployments: lists 3 deployments; use 1 or 2 (blue and green)"]
    split = {"blue": 150, "green": 0}
    assert refused(endpoint(deployments=three[:2], traffic=split), project) == [
        f"{EP}.traffic.blue: 150 is not allowed; use a whole number between 0 and 100"]


def test_a_projection_exactly_at_the_scale_out_threshold_does_not_flap(project: Path) -> None:
    """Scale-out rules fire above their threshold: 35 % on 2 instances projects 70 % on one, which is not above 70."""
    e = endpoint(deployments=[deployment(instances={"min": 1, "max": 4})], autoscale={"cpu": {"scale_in_below": 35}})
    assert valid(e, project).autoscale.cpu_scale_in_below == 35


def test_schedules_on_other_days_or_hours_coexist(project: Path) -> None:
    weekend = schedule("weekend", days=["Saturday", "Sunday"], start="10:00", end="16:00")
    evening = schedule("evening", days=["Monday"], start="19:01", end="22:00")
    config = valid(endpoint(autoscale={"schedules": [schedule(), weekend, evening]}), project)
    assert [s.name for s in config.autoscale.schedules] == ["business-hours", "weekend", "evening"]


def test_the_deploying_identity_is_a_service_principal_unless_told(dev_values: dict[str, Any]) -> None:
    dev_values.pop(f"{NS}:deployer_principal_type", None)
    assert parse(dev_values).deployer_principal_type == "ServicePrincipal"
    dev_values[f"{NS}:deployer_principal_type"] = "User"
    assert parse(dev_values).deployer_principal_type == "User"
    dev_values[f"{NS}:deployer_principal_type"] = "Group"
    assert (f"{NS}:deployer_principal_type: 'Group' is not allowed; use one of ServicePrincipal, User"
            in problems(dev_values))


def test_prod_endpoints_need_a_cluster_to_build_their_images() -> None:
    values = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    values["mlops-platform:teams"][0]["clusters"] = []
    assert ("mlops-platform:teams[0].endpoints: need a compute cluster in prod: the team's container registry is "
            "private, so the deployments' environment images are built on the team's first cluster; add one to "
            "clusters") in problems(values, stack="prod")
