"""The typed model of a team's online endpoints (``teams[].endpoints``), and its validation.

Parsed with the rest of the stack configuration (``components.config.parse_config``), before anything is registered.
Each endpoint holds one or two deployments (blue/green), the initial traffic split, optional mirrored traffic, the
autoscale rules and the service level objective (SLO) that alerts and autoscale read. Every limit checked here is the
service's documented one; the page is named next to each constant.

Files the configuration names (the scoring code folder, its scoring script, the conda file) are paths relative to
the project root (the folder of ``Pulumi.yaml``); they must exist, stay inside the project and, for conda files, be
a YAML document with a ``dependencies`` list. They are read again when the program runs: the code's content hash is
the version of its code asset, and the conda file's text becomes the environment version's ``condaFile``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.config_reader import Reader, collect, human, items, parse_iso_duration, plain, show
from components.naming import SLUG_PATTERN
from components.time_zones import WINDOWS_TIME_ZONES

#: The project root: configuration paths are relative to it (the folder ``pulumi up`` runs in).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

AUTH_MODES = ("AADToken", "AMLToken", "Key")
#: Instance types managed online endpoints offer, from https://learn.microsoft.com/azure/machine-learning/reference-
#: managed-online-endpoints-vm-sku-list (general purpose DSv2, DASv4, FSv2, ESv3; GPU NCasT4_v3, NCsv3,
#: NCADS_A100_v4). DS1_v2 and F2s_v2 are left out: the page warns they "may be too small for bigger models and may
#: lead to container termination". The DSv3 sizes of compute clusters (D2s_v3, D4s_v3, ...) are not on the page.
MANAGED_ONLINE_SKUS = (
    "Standard_DS2_v2", "Standard_DS3_v2", "Standard_DS4_v2", "Standard_DS5_v2",
    "Standard_D2as_v4", "Standard_D4as_v4", "Standard_D8as_v4", "Standard_D16as_v4",
    "Standard_F4s_v2", "Standard_F8s_v2", "Standard_F16s_v2", "Standard_F32s_v2",
    "Standard_E2s_v3", "Standard_E4s_v3", "Standard_E8s_v3", "Standard_E16s_v3", "Standard_E32s_v3",
    "Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC16as_T4_v3", "Standard_NC6s_v3", "Standard_NC12s_v3",
    "Standard_NC24ads_A100_v4",
)
#: Online endpoint names: 3-32 characters, a letter first, then letters, digits and hyphens, no hyphen at the end
#: (https://learn.microsoft.com/azure/machine-learning/how-to-manage-quotas, "Azure Machine Learning online
#: endpoints and batch endpoints": endpoint name rules). Endpoint, deployment and schedule names are slugs
#: (``components.naming.SLUG_PATTERN``, as team names). The Azure name adds the team and a digest, so the name a team
#: picks is kept shorter (``components.naming.Namer.online_endpoint``).
MAX_ENDPOINT_NAME = 16
#: Deployment names follow the endpoint name rule, 3-32 characters (same page); schedule names the same length.
DEPLOYMENT_NAME_LENGTH = (3, 32)
#: Blue and green. The service allows 20 deployments per endpoint (how-to-manage-quotas); the platform keeps two so
#: that a release always has exactly one deployment to move traffic to.
MAX_DEPLOYMENTS = 2
#: Request timeout of a managed online deployment: "request_timeout_ms ... maximum 180000" (reference-yaml-deployment-
#: managed-online, RequestSettings), default 5 s.
REQUEST_TIMEOUT_RANGE = (dt.timedelta(milliseconds=1), dt.timedelta(seconds=180))
MAX_CONCURRENT_REQUESTS = 1000
#: Expected load an endpoint may declare (``load.peak_rps``): well above what one endpoint's 50 instances serve, so
#: only typing errors (a per-day count, a missing decimal point) are refused.
MAX_LOAD_RPS = 100_000
#: ``load.base_rps`` when not given: a quarter of the peak.
DEFAULT_BASE_SHARE = 0.25
#: Probe settings (reference-yaml-deployment-managed-online, ProbeSettings; defaults are the service's). The page
#: gives minimums only ("Minimum value is 1" second for initial_delay and timeout, 1 for the thresholds) and says
#: "The value for liveness probe is fixed as 1" for success_threshold; the maxima are the platform's bounds.
PROBE_DELAY_RANGE = (dt.timedelta(seconds=1), dt.timedelta(hours=1))
PROBE_PERIOD_RANGE = (dt.timedelta(seconds=1), dt.timedelta(minutes=5))
PROBE_TIMEOUT_RANGE = (dt.timedelta(seconds=1), dt.timedelta(minutes=1))
MAX_PROBE_FAILURES = 100
#: Instances per deployment: 50 (how-to-manage-quotas, "Azure Machine Learning online endpoints and batch
#: endpoints"; Azure reserves 20 % more cores for upgrades, so 50 instances need quota for 60).
MAX_INSTANCES = 50
#: instance_count: "For high availability, Microsoft recommends you set it to at least 3"
#: (https://learn.microsoft.com/azure/machine-learning/reference-yaml-deployment-managed-online).
PROD_MIN_INSTANCES = 3
#: Mirrored traffic: "You can mirror at most 50% of the traffic" (how-to-safely-rollout-online-endpoints).
MAX_MIRROR_PERCENT = 50
#: Autoscale (https://learn.microsoft.com/azure/azure-monitor/autoscale/autoscale-understanding-settings): cooldown and
#: metric time window bounds, at most 20 profiles.
COOLDOWN_RANGE = (dt.timedelta(minutes=1), dt.timedelta(days=7))
WINDOW_RANGE = (dt.timedelta(minutes=5), dt.timedelta(hours=12))
MAX_SCHEDULES = 9
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CLOCK = re.compile(r"^(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)$")
#: SLO availability bounds. The fast burn-rate alert fires at 14.4 times the error budget (components.apm); with an
#: availability below 100 - 100/14.4 = 93.06 % that would take more than every request failing, so the floor is 95.
MIN_AVAILABILITY, MAX_AVAILABILITY = 95.0, 99.999
#: Fraction of the SLO's p95 latency below which the latency rule allows scale-in, unless configured.
LATENCY_SCALE_IN_FRACTION = 0.4

#: Model references: a registry model or a workspace model, each with an explicit version (never ``latest``).
REGISTRY_MODEL = re.compile(
    r"^azureml://registries/(?P<registry>[A-Za-z0-9][A-Za-z0-9_-]{2,32})/models/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]"
    r"{0,254})/versions/(?P<version>[A-Za-z0-9][A-Za-z0-9._-]{0,29})$"
)
WORKSPACE_MODEL = re.compile(
    r"^azureml:(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,254}):(?P<version>[A-Za-z0-9][A-Za-z0-9._-]{0,29})$"
)
#: A container image pinned by tag or digest, on a named registry (``mcr.microsoft.com/azureml/...:20251021.v1``).
IMAGE = re.compile(
    r"^(?P<registry>[a-z0-9][a-z0-9.-]*\.[a-z]{2,}(?::\d+)?)/(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class InstancesConfig:
    """Instance counts of a deployment (or of a schedule profile)."""

    minimum: int
    maximum: int
    default: int
    """Instances at creation, and the count autoscale returns to when it has no metric data."""


@dataclass(frozen=True)
class ProbeConfig:
    """A liveness or readiness probe (the service's defaults)."""

    initial_delay: str = "PT10S"
    period: str = "PT10S"
    timeout: str = "PT2S"
    failure_threshold: int = 30
    success_threshold: int = 1


@dataclass(frozen=True)
class RequestConfig:
    """Request settings of a deployment."""

    timeout: str = "PT5S"
    """ISO 8601 duration a scoring request may take (at most 180 seconds)."""
    max_concurrent_requests_per_instance: int = 1


@dataclass(frozen=True)
class EnvironmentConfig:
    """The deployment's environment: a pinned base image plus a conda file from the repository."""

    image: str
    conda_file: str
    """Path of the conda file, relative to the project root."""


@dataclass(frozen=True)
class CodeConfig:
    """The scoring code: a folder of the repository and its scoring script."""

    path: str
    """Folder, relative to the project root; uploaded as a code asset versioned by its content hash."""
    scoring_script: str
    """File inside ``path`` that defines ``init()`` and ``run()``."""


@dataclass(frozen=True)
class ModelRef:
    """A model with an explicit version, in the team's workspace or in a registry."""

    name: str
    version: str
    registry: str | None = None
    """Registry name for ``azureml://registries/...`` references; ``None`` for the team's workspace."""

    @property
    def uri(self) -> str:
        if self.registry is not None:
            return f"azureml://registries/{self.registry}/models/{self.name}/versions/{self.version}"
        return f"azureml:{self.name}:{self.version}"


@dataclass(frozen=True)
class DeploymentConfig:
    """One managed online deployment of an endpoint."""

    name: str
    model: ModelRef
    environment: EnvironmentConfig
    code: CodeConfig
    instance_type: str
    instances: InstancesConfig
    liveness: ProbeConfig = ProbeConfig()
    readiness: ProbeConfig = ProbeConfig()
    request: RequestConfig = RequestConfig()


@dataclass(frozen=True)
class ScheduleProfileConfig:
    """A recurring autoscale profile: other instance counts on given days between two times of day."""

    name: str
    days: tuple[str, ...]
    start: str
    """``HH:MM`` the profile starts."""
    end: str
    """``HH:MM`` the default profile takes over again (the same day, after ``start``)."""
    time_zone: str
    instances: InstancesConfig


@dataclass(frozen=True)
class AutoscaleConfig:
    """Autoscale rules of every deployment of an endpoint."""

    cpu_scale_out_above: float = 70.0
    cpu_scale_in_below: float = 30.0
    latency_scale_in_below_ms: float | None = None
    """p95 latency under which the latency rule allows scale-in; default ``LATENCY_SCALE_IN_FRACTION`` of the SLO.
    Scale-out on latency happens above the SLO's p95 latency."""
    window: str = "PT10M"
    """Time window each rule averages its metric over."""
    scale_out_cooldown: str = "PT5M"
    scale_in_cooldown: str = "PT10M"
    schedules: tuple[ScheduleProfileConfig, ...] = ()

    def latency_scale_in(self, slo: SloConfig) -> float:
        """The p95 latency (ms) under which the latency rule allows scale-in."""
        if self.latency_scale_in_below_ms is not None:
            return self.latency_scale_in_below_ms
        return slo.latency_p95_ms * LATENCY_SCALE_IN_FRACTION


@dataclass(frozen=True)
class SloConfig:
    """The service level objective: what alerts, autoscale and load tests read."""

    latency_p95_ms: int
    error_rate_percent: float
    """Share of requests that may fail (5xx, 408, 429, or a model error: ``components.apm.FAILED``) over any 5
    minutes before the error-rate alert fires."""
    availability_percent: float
    """Share of requests answered without failing over 30 days; ``100 - availability`` is the error budget the
    burn-rate alerts watch (at least ``MIN_AVAILABILITY``)."""

    @property
    def error_budget(self) -> float:
        """The error budget as a fraction (0.001 for 99.9 %)."""
        return round(1 - self.availability_percent / 100, 9)


@dataclass(frozen=True)
class LoadConfig:
    """The traffic an endpoint is expected to carry: what load tests offer and the autoscale proof replays."""

    peak_rps: float
    """Expected peak request rate on the endpoint, across its live deployments (requests per second)."""
    base_rps: float
    """Off-peak rate: where a ramp starts and where the diurnal profile rests at night (default a quarter of the
    peak)."""


@dataclass(frozen=True)
class EndpointConfig:
    """A managed online endpoint of a team."""

    name: str
    deployments: tuple[DeploymentConfig, ...]
    traffic: Mapping[str, int]
    """Initial split of live traffic by deployment; afterwards the release process owns it."""
    slo: SloConfig
    autoscale: AutoscaleConfig = AutoscaleConfig()
    auth_mode: str = "AADToken"
    mirror: Mapping[str, int] = field(default_factory=dict)
    """Initial mirrored (shadow) traffic by deployment."""
    load: LoadConfig | None = None
    """Expected traffic (``None``: not given; the load-test tools then refuse the endpoint)."""

    def live(self, deployment: str) -> bool:
        """Whether ``deployment`` takes live traffic in the initial split."""
        return self.traffic.get(deployment, 0) > 0


# --------------------------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------------------------


def _repo_path(r: Reader, path: str, value: Any, root: Path, *, folder: bool) -> Path | None:
    """A path relative to the project root that exists and stays inside it."""
    text = r.string(path, value)
    if text is None:
        return None
    candidate = Path(text)
    kind = "folder" if folder else "file"
    if candidate.is_absolute() or ".." in candidate.parts or "\\" in text:
        r.fail(path, f"{show(text)} is not allowed; use a {kind} path relative to the project root (the folder of "
                     "Pulumi.yaml), with / and without ..")
        return None
    resolved = root / candidate
    inside = resolved.resolve()
    if not inside.is_relative_to(root.resolve()) or (folder and inside == root.resolve()):
        r.fail(path, f"{show(text)} is not allowed; use a {kind} inside the project, not the project root itself "
                     "or a link that leads out of it")
        return None
    if not (resolved.is_dir() if folder else resolved.is_file()):
        r.fail(path, f"{show(text)} is not a {kind} of the project; give a {kind} path relative to the project "
                     "root (the folder of Pulumi.yaml)")
        return None
    return resolved


def _instances(r: Reader, path: str, value: Any, prod: bool) -> InstancesConfig | None:
    obj = r.obj(path, value)
    if obj is None:
        return None
    r.check_keys(path, obj, ("min", "max", "default"), required=("min", "max"))
    low = r.integer(f"{path}.min", obj.get("min", 1), 1, MAX_INSTANCES)
    high = r.integer(f"{path}.max", obj.get("max", 1), 1, MAX_INSTANCES)
    default = r.integer(f"{path}.default", obj.get("default", low if low is not None else 1), 1, MAX_INSTANCES)
    if None in (low, high, default):
        return None
    assert low is not None and high is not None and default is not None
    if low > high:
        r.fail(f"{path}.min", f"{low} is above max {high}; min must not exceed max")
        return None
    if not low <= default <= high:
        r.fail(f"{path}.default", f"{default} is outside min {low} and max {high}; use a count between them")
        return None
    if prod and low < PROD_MIN_INSTANCES:
        r.fail(f"{path}.min", f"{low} is below {PROD_MIN_INSTANCES}: in prod every deployment keeps at least "
                              f"{PROD_MIN_INSTANCES} instances (Microsoft's high-availability guidance for online "
                              "endpoints; an idle blue or green deployment takes all live traffic at the switch)")
        return None
    return InstancesConfig(minimum=low, maximum=high, default=default)


def _probe(r: Reader, path: str, value: Any, *, liveness: bool) -> ProbeConfig | None:
    obj = r.obj(path, value)
    if obj is None:
        return None
    r.check_keys(path, obj, ("initial_delay", "period", "timeout", "failure_threshold", "success_threshold"))
    base = ProbeConfig()
    delay = r.duration(f"{path}.initial_delay", obj.get("initial_delay", base.initial_delay), PROBE_DELAY_RANGE)
    period = r.duration(f"{path}.period", obj.get("period", base.period), PROBE_PERIOD_RANGE)
    timeout = r.duration(f"{path}.timeout", obj.get("timeout", base.timeout), PROBE_TIMEOUT_RANGE)
    failures = r.integer(f"{path}.failure_threshold", obj.get("failure_threshold", base.failure_threshold), 1,
                         MAX_PROBE_FAILURES)
    successes = r.integer(f"{path}.success_threshold", obj.get("success_threshold", base.success_threshold), 1,
                          MAX_PROBE_FAILURES)
    if None in (delay, period, timeout, failures, successes):
        return None
    assert delay and period and timeout and failures is not None and successes is not None
    if liveness and successes != 1:
        r.fail(f"{path}.success_threshold", f"{successes} is not allowed; the liveness probe's success_threshold is "
                                            "fixed at 1 (reference-yaml-deployment-managed-online, ProbeSettings)")
        return None
    if parse_iso_duration(timeout) > parse_iso_duration(period):  # type: ignore[operator]
        r.fail(f"{path}.timeout", f"{show(timeout)} is longer than the period {show(period)}; a probe must time out "
                                  "before the next one starts")
        return None
    return ProbeConfig(initial_delay=delay, period=period, timeout=timeout, failure_threshold=failures,
                       success_threshold=successes)


def _request(r: Reader, path: str, value: Any) -> RequestConfig | None:
    obj = r.obj(path, value)
    if obj is None:
        return None
    r.check_keys(path, obj, ("timeout", "max_concurrent_requests_per_instance"))
    base = RequestConfig()
    timeout = r.duration(f"{path}.timeout", obj.get("timeout", base.timeout), REQUEST_TIMEOUT_RANGE)
    concurrent = r.integer(f"{path}.max_concurrent_requests_per_instance",
                           obj.get("max_concurrent_requests_per_instance", base.max_concurrent_requests_per_instance),
                           1, MAX_CONCURRENT_REQUESTS)
    if timeout is None or concurrent is None:
        return None
    return RequestConfig(timeout=timeout, max_concurrent_requests_per_instance=concurrent)


def parse_model(r: Reader, path: str, value: Any) -> ModelRef | None:
    """A registry or workspace model reference with an explicit version."""
    text = r.string(path, value)
    if text is None:
        return None
    allowed = ("use azureml://registries/<registry>/models/<name>/versions/<version> or azureml:<name>:<version> "
               "with an explicit version")
    if re.search(r"(^|[:/@])latest$", text, re.I) or "@" in text:
        r.fail(path, f"{show(text)} does not pin a version (latest and labels move without a deployment); {allowed}")
        return None
    if (match := REGISTRY_MODEL.match(text)) is not None:
        return ModelRef(name=match["name"], version=match["version"], registry=match["registry"])
    if (match := WORKSPACE_MODEL.match(text)) is not None:
        return ModelRef(name=match["name"], version=match["version"])
    r.fail(path, f"{show(text)} is not a model reference; {allowed}")
    return None


def parse_image(r: Reader, path: str, value: Any) -> str | None:
    """A base image on a named registry, pinned by a tag other than ``latest`` or by digest."""
    text = r.string(path, value)
    if text is None:
        return None
    match = IMAGE.match(text)
    if match is None:
        r.fail(path, f"{show(text)} is not an image reference; use <registry>/<repository>:<tag> or "
                     "<registry>/<repository>@sha256:<digest>, for example mcr.microsoft.com/azureml/"
                     "minimal-py312-inference:<date tag>")
        return None
    if match["digest"] is None and (match["tag"] is None or match["tag"].lower() == "latest"):
        r.fail(path, f"{show(text)} is not pinned; give a tag other than latest, or a digest (@sha256:...), so that "
                     "a new base image arrives through a reviewed change")
        return None
    return text


def _environment(r: Reader, path: str, value: Any, root: Path) -> EnvironmentConfig | None:
    obj = r.obj(path, value)
    if obj is None:
        return None
    r.check_keys(path, obj, ("image", "conda_file"), required=("image", "conda_file"))
    image = parse_image(r, f"{path}.image", obj["image"]) if "image" in obj else None
    conda = obj.get("conda_file")
    conda_path = _repo_path(r, f"{path}.conda_file", conda, root, folder=False) if "conda_file" in obj else None
    if conda_path is not None:
        try:
            document = yaml.safe_load(conda_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            r.fail(f"{path}.conda_file", f"{show(conda)} cannot be read as YAML ({type(error).__name__}); give a "
                                         "conda environment file")
            return None
        if not isinstance(document, Mapping) or not isinstance(document.get("dependencies"), list):
            r.fail(f"{path}.conda_file", f"{show(conda)} is not a conda environment file: it has no dependencies "
                                         "list")
            return None
    if image is None or conda_path is None:
        return None
    return EnvironmentConfig(image=image, conda_file=str(conda))


def _code(r: Reader, path: str, value: Any, root: Path) -> CodeConfig | None:
    obj = r.obj(path, value)
    if obj is None:
        return None
    r.check_keys(path, obj, ("path", "scoring_script"), required=("path", "scoring_script"))
    folder = _repo_path(r, f"{path}.path", obj["path"], root, folder=True) if "path" in obj else None
    script = r.string(f"{path}.scoring_script", obj["scoring_script"]) if "scoring_script" in obj else None
    if folder is None or script is None:
        return None
    if not script.endswith(".py") or Path(script).is_absolute() or ".." in Path(script).parts or "\\" in script:
        r.fail(f"{path}.scoring_script", f"{show(script)} is not allowed; use a .py file path inside "
                                         f"{show(obj['path'])}, with / and without ..")
        return None
    if not (folder / script).is_file():
        r.fail(f"{path}.scoring_script", f"{show(script)} is not a file in {show(obj['path'])}; the scoring script "
                                         "must be part of the uploaded code folder")
        return None
    return CodeConfig(path=str(obj["path"]).rstrip("/"), scoring_script=script)


def _name(r: Reader, path: str, value: Any, length: tuple[int, int], what: str) -> str | None:
    text = r.string(path, value)
    if text is None:
        return None
    low, high = length
    if not SLUG_PATTERN.match(text) or not low <= len(text) <= high:
        r.fail(path, f"{show(text)} is not a valid {what}; use {low}-{high} lowercase letters and digits in words "
                     "joined by single hyphens, starting with a letter")
        return None
    return text


def _percentages(r: Reader, path: str, value: Any, names: Sequence[str], low: int, high: int
                 ) -> dict[str, int] | None:
    obj = r.obj(path, value)
    if obj is None:
        return None
    result: dict[str, int] = {}
    for key, share in obj.items():
        if key not in names:
            r.fail(f"{path}.{key}", f"is not a deployment of this endpoint; use {', '.join(names)}")
            continue
        number = r.integer(f"{path}.{key}", share, low, high)
        if number is not None:
            result[key] = number
    return result


def _clock_minutes(text: str) -> int:
    match = _CLOCK.match(text)
    assert match is not None
    return int(match["hour"]) * 60 + int(match["minute"])


def _schedule(r: Reader, path: str, obj: Mapping[str, Any], prod: bool) -> ScheduleProfileConfig | None:
    r.check_keys(path, obj, ("name", "days", "start", "end", "time_zone", "instances"),
                 required=("name", "days", "start", "end", "instances"))
    name = _name(r, f"{path}.name", obj.get("name"), DEPLOYMENT_NAME_LENGTH, "schedule name") \
        if "name" in obj else None
    days: list[str] = []
    for i, day in items(r, f"{path}.days", obj.get("days", [])):
        if day not in WEEKDAYS:
            r.fail(f"{path}.days[{i}]", f"{show(day)} is not a day; use {', '.join(WEEKDAYS)}")
        elif day in days:
            r.fail(f"{path}.days[{i}]", f"{show(day)} is listed twice")
        else:
            days.append(day)
    if "days" in obj and isinstance(obj["days"], list) and not obj["days"]:
        r.fail(f"{path}.days", "is empty; list the days the profile applies, such as Monday")
    clocks: dict[str, str] = {}
    for key in ("start", "end"):
        if key in obj and (text := r.string(f"{path}.{key}", obj[key])) is not None:
            if _CLOCK.match(text) is None:
                r.fail(f"{path}.{key}", f"{show(text)} is not a time of day; use HH:MM on a 24-hour clock, such as "
                                        "08:00")
            else:
                clocks[key] = text
    if len(clocks) == 2 and _clock_minutes(clocks["end"]) <= _clock_minutes(clocks["start"]):
        r.fail(f"{path}.end", f"{show(clocks['end'])} is not after start {show(clocks['start'])}; a profile ends the "
                              "same day it starts (use two profiles to span midnight)")
        clocks.pop("end")
    zone = r.string(f"{path}.time_zone", obj.get("time_zone", "UTC"))
    if zone is not None and zone not in WINDOWS_TIME_ZONES:
        r.fail(f"{path}.time_zone", f"{show(zone)} is not a time zone autoscale knows; use a Windows time zone name "
                                    "such as UTC or W. Europe Standard Time (components/time_zones.py lists them)")
        zone = None
    instances = _instances(r, f"{path}.instances", obj["instances"], prod) if "instances" in obj else None
    if name is None or not days or len(clocks) != 2 or zone is None or instances is None:
        return None
    return ScheduleProfileConfig(name=name, days=tuple(days), start=clocks["start"], end=clocks["end"],
                                 time_zone=zone, instances=instances)


def _slo(r: Reader, path: str, value: Any) -> SloConfig | None:
    obj = r.obj(path, value)
    if obj is None:
        return None
    r.check_keys(path, obj, ("latency_p95_ms", "error_rate_percent", "availability_percent"),
                 required=("latency_p95_ms", "error_rate_percent", "availability_percent"))
    latency = r.integer(f"{path}.latency_p95_ms", obj.get("latency_p95_ms"), 1,
                        int(REQUEST_TIMEOUT_RANGE[1].total_seconds() * 1000)) if "latency_p95_ms" in obj else None
    errors = r.number(f"{path}.error_rate_percent", obj.get("error_rate_percent"), 0, 50, open_low=True) \
        if "error_rate_percent" in obj else None
    availability = r.number(f"{path}.availability_percent", obj.get("availability_percent"), MIN_AVAILABILITY,
                            MAX_AVAILABILITY) \
        if "availability_percent" in obj else None
    if latency is None or errors is None or availability is None:
        return None
    return SloConfig(latency_p95_ms=latency, error_rate_percent=errors, availability_percent=availability)


def _flap_problem(scale_in: float, scale_out: float, instances: InstancesConfig) -> str | None:
    """Azure's flapping check (autoscale-flapping): before scaling in from ``n`` to ``n - 1`` instances it projects
    the metric to ``value * n / (n - 1)`` and skips the scale-in when that crosses the scale-out threshold. The
    smallest ``n`` that can scale in (``min + 1``) projects the most, so a configuration whose thresholds flap there
    would hold the deployment above its minimum for ever."""
    n = instances.minimum + 1
    if n > instances.maximum:
        return None  # min == max: nothing scales
    projected = scale_in * n / (n - 1)
    if projected > scale_out:  # the scale-out rules fire above their threshold (operator GreaterThan)
        return (f"with {n} instances, removing one projects {plain(projected)} (above the scale-out threshold "
                f"{plain(scale_out)}), so Azure would never scale in to {instances.minimum}")
    return None


def _autoscale(r: Reader, path: str, value: Any, slo: SloConfig | None, instances: Sequence[InstancesConfig],
               prod: bool) -> AutoscaleConfig | None:
    obj = r.obj(path, value)
    if obj is None:
        return None
    r.check_keys(path, obj, ("cpu", "latency", "window", "cooldown", "schedules"))
    base = AutoscaleConfig()
    cpu = r.obj(f"{path}.cpu", obj.get("cpu", {})) or {}
    r.check_keys(f"{path}.cpu", cpu, ("scale_out_above", "scale_in_below"))
    out = r.number(f"{path}.cpu.scale_out_above", cpu.get("scale_out_above", base.cpu_scale_out_above), 1, 100)
    cpu_in = r.number(f"{path}.cpu.scale_in_below", cpu.get("scale_in_below", base.cpu_scale_in_below), 0, 99,
                      open_low=True)
    if out is not None and cpu_in is not None and cpu_in >= out:
        r.fail(f"{path}.cpu.scale_in_below", f"{cpu_in:g} is not below scale_out_above {out:g}; scale in below a "
                                             "lower CPU than the one that scales out")
        cpu_in = None
    latency = r.obj(f"{path}.latency", obj.get("latency", {})) or {}
    r.check_keys(f"{path}.latency", latency, ("scale_in_below_ms",))
    latency_in: float | None = None
    if "scale_in_below_ms" in latency:
        latency_in = r.number(f"{path}.latency.scale_in_below_ms", latency["scale_in_below_ms"], 0, 180000,
                              open_low=True)
        if latency_in is not None and slo is not None and latency_in >= slo.latency_p95_ms:
            r.fail(f"{path}.latency.scale_in_below_ms", f"{latency_in:g} is not below the SLO's latency_p95_ms "
                                                        f"{slo.latency_p95_ms}, where the latency rule scales out")
            latency_in = None
    window = r.duration(f"{path}.window", obj.get("window", base.window), WINDOW_RANGE)
    cooldown = r.obj(f"{path}.cooldown", obj.get("cooldown", {})) or {}
    r.check_keys(f"{path}.cooldown", cooldown, ("scale_out", "scale_in"))
    cool_out = r.duration(f"{path}.cooldown.scale_out", cooldown.get("scale_out", base.scale_out_cooldown),
                          COOLDOWN_RANGE)
    cool_in = r.duration(f"{path}.cooldown.scale_in", cooldown.get("scale_in", base.scale_in_cooldown),
                         COOLDOWN_RANGE)
    schedules = collect(r, f"{path}.schedules", obj.get("schedules", []),
                        lambda p, s: _schedule(r, p, s, prod), "name", "schedule names")
    for i, first in enumerate(schedules):
        for second in schedules[i + 1:]:
            shared = [day for day in first.days if day in second.days]
            if shared and _clock_minutes(second.start) <= _clock_minutes(first.end) \
                    and _clock_minutes(first.start) <= _clock_minutes(second.end):
                r.fail(f"{path}.schedules", f"{show(first.name)} ({first.start}-{first.end}) and {show(second.name)} "
                                            f"({second.start}-{second.end}) overlap or touch on {shared[0]}; each "
                                            "schedule's end restores the default counts, so one would cut the other "
                                            "short: keep them apart on shared days")
    if isinstance(obj.get("schedules"), list) and len(obj["schedules"]) > MAX_SCHEDULES:
        r.fail(f"{path}.schedules", f"lists {len(obj['schedules'])} profiles; use at most {MAX_SCHEDULES} (each "
                                    "schedule takes two of Azure's 20 autoscale profiles)")
    if None in (out, cpu_in, window, cool_out, cool_in):
        return None
    assert out is not None and cpu_in is not None and window and cool_out and cool_in
    config = AutoscaleConfig(cpu_scale_out_above=out, cpu_scale_in_below=cpu_in, latency_scale_in_below_ms=latency_in,
                             window=window, scale_out_cooldown=cool_out, scale_in_cooldown=cool_in,
                             schedules=schedules)
    effective_latency_in = config.latency_scale_in(slo) if slo is not None else None
    profiles = [(f"deployments[{i}].instances", counts) for i, counts in enumerate(instances)]
    profiles += [(f"schedules[{i}].instances", s.instances) for i, s in enumerate(schedules)]
    for where, counts in profiles:
        problem = _flap_problem(cpu_in, out, counts)
        if problem:
            r.fail(f"{path}.cpu", f"scale_in_below {cpu_in:g} and scale_out_above {out:g} flap for {where} "
                                  f"(min {counts.minimum}): {problem}; lower scale_in_below or raise min")
            return None
        if effective_latency_in is not None and slo is not None:
            problem = _flap_problem(effective_latency_in, slo.latency_p95_ms, counts)
            if problem:
                r.fail(f"{path}.latency.scale_in_below_ms",
                       f"{effective_latency_in:g} and the SLO's latency_p95_ms {slo.latency_p95_ms} flap for {where} "
                       f"(min {counts.minimum}): {problem}; lower scale_in_below_ms or raise min")
                return None
    return config


def _load(r: Reader, path: str, value: Any) -> LoadConfig | None:
    obj = r.obj(path, value)
    if obj is None:
        return None
    r.check_keys(path, obj, ("peak_rps", "base_rps"), required=("peak_rps",))
    peak = r.number(f"{path}.peak_rps", obj["peak_rps"], 0, MAX_LOAD_RPS, open_low=True) if "peak_rps" in obj \
        else None
    if peak is None:
        return None
    base = r.number(f"{path}.base_rps", obj.get("base_rps", peak * DEFAULT_BASE_SHARE), 0, MAX_LOAD_RPS,
                    open_low=True)
    if base is not None and base > peak:
        r.fail(f"{path}.base_rps", f"{plain(base)} is above peak_rps {plain(peak)}; the off-peak rate is at most "
                                   "the peak")
        return None
    return LoadConfig(peak_rps=peak, base_rps=base) if base is not None else None


def parse_endpoints(r: Reader, path: str, value: Any, *, environment: str, instance_types: Sequence[str],
                    root: Path = PROJECT_ROOT) -> tuple[EndpointConfig, ...]:
    """``teams[i].endpoints``: each endpoint, its deployments, traffic, autoscale and SLO."""
    prod = environment == "prod"

    def endpoint(epath: str, e: Mapping[str, Any]) -> EndpointConfig | None:
        r.check_keys(epath, e, ("name", "auth_mode", "deployments", "traffic", "mirror", "autoscale", "slo", "load"),
                     required=("name", "deployments", "slo"))
        name = _name(r, f"{epath}.name", e["name"], (3, MAX_ENDPOINT_NAME), "endpoint name") \
            if "name" in e else None
        auth = r.choice(f"{epath}.auth_mode", e.get("auth_mode", "AADToken"), AUTH_MODES)
        if auth == "Key" and prod:
            r.fail(f"{epath}.auth_mode", "'Key' is not allowed in prod: keys cannot be scoped or audited per caller; "
                                         "use AADToken (or AMLToken)")
            auth = None
        raw = e.get("deployments", [])
        raw_list = raw if isinstance(raw, list) else []
        names = [d["name"] for d in raw_list if isinstance(d, Mapping) and isinstance(d.get("name"), str)]
        if isinstance(raw, list) and not 1 <= len(raw) <= MAX_DEPLOYMENTS:
            r.fail(f"{epath}.deployments", f"lists {len(raw)} deployments; use 1 or {MAX_DEPLOYMENTS} (blue and green)")
        traffic: dict[str, int] | None
        if "traffic" in e:
            before = len(r.problems)
            traffic = _percentages(r, f"{epath}.traffic", e["traffic"], names, 0, 100)
            if len(r.problems) > before:
                traffic = None  # a refused share was reported; a sum without it would only add noise
            if traffic is not None and names and sum(traffic.values()) != 100:
                r.fail(f"{epath}.traffic", f"sums to {sum(traffic.values())}; the live traffic of the deployments "
                                           "must sum to 100")
                traffic = None
        elif len(names) == 1:
            traffic = {names[0]: 100}
        elif len(names) == MAX_DEPLOYMENTS and len(raw_list) == MAX_DEPLOYMENTS:
            r.fail(f"{epath}.traffic", "is required with two deployments; give the initial split, such as "
                                       "{blue: 100, green: 0}")
            traffic = None
        else:
            traffic = None  # the deployments themselves are wrong, and reported
        mirror = _percentages(r, f"{epath}.mirror", e["mirror"], names, 1, MAX_MIRROR_PERCENT) \
            if "mirror" in e else {}
        if mirror and traffic is not None:
            for target in mirror:
                if traffic.get(target, 0) > 0:
                    r.fail(f"{epath}.mirror.{target}", f"mirrors traffic to {show(target)}, which takes "
                                                       f"{traffic[target]}% of live traffic; mirror only to a "
                                                       "deployment without live traffic")
                    mirror = None
                    break
        if mirror and len(mirror) > 1:
            r.fail(f"{epath}.mirror", "names more than one deployment; mirror traffic to one deployment")
            mirror = None

        def deployment(dpath: str, d: Mapping[str, Any]) -> DeploymentConfig | None:
            r.check_keys(dpath, d, ("name", "model", "environment", "code", "instance_type", "instances",
                                    "liveness_probe", "readiness_probe", "request"),
                         required=("name", "model", "environment", "code", "instance_type", "instances"))
            dname = _name(r, f"{dpath}.name", d["name"], DEPLOYMENT_NAME_LENGTH,
                          "deployment name") if "name" in d else None
            model = parse_model(r, f"{dpath}.model", d["model"]) if "model" in d else None
            env = _environment(r, f"{dpath}.environment", d["environment"], root) if "environment" in d else None
            code = _code(r, f"{dpath}.code", d["code"], root) if "code" in d else None
            size = r.string(f"{dpath}.instance_type", d["instance_type"]) if "instance_type" in d else None
            if size is not None and size not in instance_types:
                allowed = (f"use one of {', '.join(instance_types)}" if instance_types else
                           "no managed online instance type is allowed; list the ones to offer in "
                           "allowed_instance_types")
                r.fail(f"{dpath}.instance_type", f"{show(size)} is not allowed in {environment}; {allowed}")
                size = None
            counts = _instances(r, f"{dpath}.instances", d["instances"], prod) if "instances" in d else None
            liveness = _probe(r, f"{dpath}.liveness_probe", d["liveness_probe"], liveness=True) \
                if "liveness_probe" in d else ProbeConfig()
            readiness = _probe(r, f"{dpath}.readiness_probe", d["readiness_probe"], liveness=False) \
                if "readiness_probe" in d else ProbeConfig()
            request = _request(r, f"{dpath}.request", d["request"]) if "request" in d else RequestConfig()
            if None in (dname, model, env, code, size, counts, liveness, readiness, request):
                return None
            return DeploymentConfig(name=dname, model=model, environment=env, code=code,  # type: ignore[arg-type]
                                    instance_type=size, instances=counts,  # type: ignore[arg-type]
                                    liveness=liveness, readiness=readiness, request=request)  # type: ignore[arg-type]

        deployments = collect(r, f"{epath}.deployments", raw, deployment, "name", "deployment names")
        slo = _slo(r, f"{epath}.slo", e["slo"]) if "slo" in e else None
        if slo is not None:
            for d in deployments:
                timeout = parse_iso_duration(d.request.timeout)
                assert timeout is not None
                if slo.latency_p95_ms > timeout.total_seconds() * 1000:
                    r.fail(f"{epath}.slo.latency_p95_ms", f"{slo.latency_p95_ms} is above the request timeout "
                                                          f"{human(timeout)} of deployment {d.name}; requests time "
                                                          "out before they could miss the SLO")
                    slo = None
                    break
        autoscale = _autoscale(r, f"{epath}.autoscale", e.get("autoscale", {}), slo,
                               [d.instances for d in deployments], prod)
        load = _load(r, f"{epath}.load", e["load"]) if "load" in e else None
        if None in (name, auth, traffic, mirror, slo, autoscale) or len(deployments) != len(raw_list) \
                or not deployments or ("load" in e and load is None):
            return None
        return EndpointConfig(name=name, auth_mode=auth, deployments=deployments,  # type: ignore[arg-type]
                              traffic=traffic, mirror=mirror, slo=slo, autoscale=autoscale,  # type: ignore[arg-type]
                              load=load)

    return collect(r, path, value, endpoint, "name", "endpoint names")
