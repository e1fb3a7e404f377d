"""The patching rules."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from ..lib.graph import UNKNOWN, Links, label, of_type, peek
from ..lib.props import expect_one_of, get, image_parts, normalise_name, package_specs, version_at_least
from ..lib.rules import Refs, Resource, setting
from ..lib.types import (
    ADO_ELASTIC_POOL,
    ADO_POOL,
    AKS,
    AKS_AGENT_POOL,
    ML_COMPUTE,
    ML_ENVIRONMENT_VERSION,
    ML_ONLINE_DEPLOYMENT,
    WEB_TEST,
)
from . import RULES

ML_DOCS = "https://learn.microsoft.com/azure/machine-learning"
AKS_DOCS = "https://learn.microsoft.com/azure/aks"

#: Minimum versions that contain fixes for published vulnerabilities (advisories noted; review them regularly):
#: torch 2.6.0 (CVE-2025-32434, torch.load RCE), scikit-learn 1.5.0 (CVE-2024-5206), numpy 1.22.0 (CVE-2021-41496),
#: requests 2.32.4 (CVE-2024-47081), urllib3 2.5.0 (CVE-2025-50181), jinja2 3.1.6 (CVE-2025-27516).
DEFAULT_FRAMEWORK_MINIMUMS = {
    "torch": "2.6.0", "scikit-learn": "1.5.0", "numpy": "1.22.0", "requests": "2.32.4", "urllib3": "2.5.0",
    "jinja2": "3.1.6",
}
#: Base OS markers of end-of-life images (Ubuntu 20.04 standard support ended in May 2025).
DEFAULT_EOL_MARKERS = ["ubuntu16.04", "ubuntu18.04", "ubuntu20.04", "debian9", "debian10", "centos7", "centos8"]


def _compute_kind(r: Resource) -> str:
    return str(get(r.props, "properties.computeType", ""))


@RULES.resource(
    "patching-mlinstance-recreated-recently",
    types=[ML_COMPUTE],
    description="Compute instances were (re)created from a recent OS image: Azure updates an instance's image only "
                "by recreating it.",
    severity="high",
    remediation="Move mlops-platform:instance_patch_date (or the instance's patch_date) to today in a pull request; "
                "pulumi up then recreates the instance on the newest image.",
    url=f"{ML_DOCS}/concept-vulnerability-management",
    refs=Refs(mcsb=("PV-6",), azure_policy=("f110a506-2dcb-422e-bcea-d533fc8c35e2",)),
    config={
        "maxAgeDays": setting("integer", 30, "Oldest patch date allowed, in days.", minimum=1),
        "patchDateTag": setting("string", "mlops-patch-date", "Tag holding the OS image date (YYYY-MM-DD)."),
        "asOf": setting("string", "", "Date to measure age against (YYYY-MM-DD); empty means today."),
    },
)
def instance_age(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if _compute_kind(r) != "ComputeInstance":
        return
    raw = get(r.props, f"tags.{cfg['patchDateTag']}")
    if not raw:
        yield f"no {cfg['patchDateTag']} tag: the OS image date is unknown, so patching cannot be checked"
        return
    try:
        patched = dt.date.fromisoformat(str(raw))
    except ValueError:
        yield f"tag {cfg['patchDateTag']} is {raw!r}, not a YYYY-MM-DD date"
        return
    today = dt.date.fromisoformat(cfg["asOf"]) if cfg["asOf"] else dt.date.today()
    age = (today - patched).days
    if age > cfg["maxAgeDays"]:
        yield (f"the OS image is from {patched.isoformat()}, {age} days old; recreate it "
               f"(at most {cfg['maxAgeDays']} days)")


@RULES.resource(
    "patching-mlcluster-scale-to-zero",
    types=[ML_COMPUTE],
    description="Compute clusters can scale to zero nodes: nodes only pick up a new OS image when recreated.",
    severity="medium",
    remediation="Set properties.properties.scaleSettings.minNodeCount to 0 (also the cheapest setting).",
    url=f"{ML_DOCS}/how-to-create-attach-compute-cluster",
    refs=Refs(mcsb=("PV-6",), checkov=("CKV_AZURE_150",)),
    config={"maxMinNodes": setting("integer", 0, "Largest minNodeCount allowed.", minimum=0)},
)
def cluster_zero(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if _compute_kind(r) == "AmlCompute":
        minimum = get(r.props, "properties.properties.scaleSettings.minNodeCount", 0)
        if minimum > cfg["maxMinNodes"]:
            yield f"scaleSettings.minNodeCount is {int(minimum)}; allow scaling to {cfg['maxMinNodes']}"


@RULES.resource(
    "patching-mlenvironment-image-pinned",
    types=[ML_ENVIRONMENT_VERSION],
    description="Environment images are pinned to a tag or digest, never latest.",
    severity="high",
    remediation="Reference the base image by an explicit version tag or, better, a digest (@sha256:...), and move "
                "it forward deliberately.",
    url=f"{ML_DOCS}/concept-environments",
    refs=Refs(mcsb=("PV-6", "AM-5")),
)
def image_pinned(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    image = get(r.props, "properties.image")
    if not image:
        return
    _, tag, digest = image_parts(str(image))
    if digest is None and (tag is None or tag == "latest"):
        yield f"properties.image {image!r} is not pinned; use a version tag or digest"


@RULES.resource(
    "patching-mlenvironment-base-os-supported",
    types=[ML_ENVIRONMENT_VERSION],
    description="Environment images are not built on an end-of-life operating system.",
    severity="high",
    remediation="Move to a curated image on a supported OS (for example mcr.microsoft.com/azureml/"
                "openmpi5.0-ubuntu24.04).",
    url=f"{ML_DOCS}/concept-environments",
    refs=Refs(mcsb=("PV-6",)),
    config={"eolMarkers": setting("array", DEFAULT_EOL_MARKERS, "Substrings that mark an end-of-life base OS.",
                                  items={"type": "string"})},
)
def base_os(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    image = str(get(r.props, "properties.image", "") or "").lower()
    for marker in cfg["eolMarkers"]:
        if marker.lower() in image:
            yield f"properties.image is based on {marker}, which is end of life"


def _specs(r: Resource) -> list[Any] | None:
    conda = get(r.props, "properties.condaFile")
    if not conda:
        return None
    return list(package_specs(str(conda)))


@RULES.resource(
    "patching-mlenvironment-framework-minimums",
    types=[ML_ENVIRONMENT_VERSION],
    description="Training environments pin their frameworks at or above the minimum patched versions.",
    severity="high",
    remediation="Raise the listed packages in the environment's conda file to at least the minimum versions, "
                "rebuild and retrain.",
    url=f"{ML_DOCS}/how-to-manage-environments-v2",
    refs=Refs(mcsb=("PV-6",)),
    config={"minimums": setting("object", DEFAULT_FRAMEWORK_MINIMUMS,
                                "Package name (normalised, lower case) -> lowest patched version.",
                                additionalProperties={"type": "string"})},
)
def framework_minimums(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    try:
        specs = _specs(r)
    except ValueError as error:
        yield str(error)
        return
    minimums = {normalise_name(k): v for k, v in cfg["minimums"].items()}
    for spec in specs or []:
        floor = minimums.get(spec.name)
        if floor is None or spec.minimum is None:
            continue
        if version_at_least(spec.minimum, floor) is False:
            yield f"{spec.name} {spec.spec} allows versions below the patched minimum {floor}"


@RULES.resource(
    "patching-mlenvironment-frameworks-pinned",
    types=[ML_ENVIRONMENT_VERSION],
    description="Every framework in a training environment has a version constraint, so patch levels can be "
                "checked and reproduced.",
    severity="medium",
    remediation="Give each package a version (==1.2.3 or >=1.2.3) in the conda file; with exactPins, pin exactly.",
    url=f"{ML_DOCS}/how-to-manage-environments-v2",
    refs=Refs(mcsb=("PV-6", "AM-5")),
    config={
        "packages": setting("array", sorted(DEFAULT_FRAMEWORK_MINIMUMS), "Packages that must be pinned.",
                            items={"type": "string"}),
        "exactPins": setting("boolean", False, "Require == pins rather than lower bounds."),
    },
)
def frameworks_pinned(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    try:
        specs = _specs(r)
    except ValueError as error:
        yield str(error)
        return
    watched = {normalise_name(p) for p in cfg["packages"]}
    for spec in specs or []:
        if spec.name not in watched:
            continue
        if spec.minimum is None:
            yield f"{spec.name} has no version constraint"
        elif cfg["exactPins"] and not spec.exact:
            yield f"{spec.name} {spec.spec} is not pinned to one version"


@RULES.stack(
    "patching-onlinedeployment-environment-pinned",
    description="Online deployments reference a fixed environment version, not the latest one.",
    severity="medium",
    remediation="Set properties.environmentId to a versioned environment (azureml:<name>:<version> or its ARM id "
                "with /versions/<n>), never @latest; an id not known before deployment must come from an "
                "environment version of the same stack.",
    url=f"{ML_DOCS}/how-to-deploy-online-endpoints",
    refs=Refs(mcsb=("PV-6",)),
)
def deployment_environment(resources: Sequence[PolicyResource], cfg: Mapping[str, Any]
                           ) -> Iterator[tuple[str, str | None]]:
    links: Links | None = None
    versions = {r.urn for r in of_type(resources, ML_ENVIRONMENT_VERSION)}
    for deployment in of_type(resources, ML_ONLINE_DEPLOYMENT):
        env = peek(deployment.props, "properties.environmentId")
        if env is UNKNOWN:
            # On a first preview the id of an environment version created alongside is unknown: it is pinned when
            # it is that version's id (its URL names the version), which the deployment's inputs show.
            links = links or Links.of(resources)
            if not links.targets(deployment, prop="properties") & versions:
                yield (f"{label(deployment)} takes properties.environmentId from no environment version of this "
                       "stack, so no fixed version can be shown", deployment.urn)
            continue
        text = str(env or "")
        if text and (text.endswith("@latest") or ("/versions/" not in text and not re.search(r":\d[\w.]*$", text))):
            yield (f"{label(deployment)}: properties.environmentId {text!r} does not name a fixed version",
                   deployment.urn)


@RULES.resource(
    "patching-aks-upgrade-channels",
    types=[AKS],
    description="AKS clusters upgrade Kubernetes and node OS images automatically.",
    severity="high",
    remediation="Set autoUpgradeProfile.upgradeChannel (patch or stable) and autoUpgradeProfile."
                "nodeOSUpgradeChannel (NodeImage or SecurityPatch), with a maintenance window.",
    url=f"{AKS_DOCS}/auto-upgrade-cluster",
    refs=Refs(mcsb=("PV-6",),
              azure_policy=("04408ca5-aa10-42ce-8536-98955cdddd4c", "5c345cdf-2049-47e0-b8fe-b0e96bc2df35"),
              checkov=("CKV_AZURE_171",),
              psrule=("Azure.AKS.AutoUpgrade", "Azure.AKS.NodeAutoUpgrade")),
    config={
        "upgradeChannels": setting("array", ["patch", "stable", "rapid"], "Accepted upgradeChannel values.",
                                   items={"type": "string"}),
        "nodeOsChannels": setting("array", ["NodeImage", "SecurityPatch"], "Accepted nodeOSUpgradeChannel values.",
                                  items={"type": "string"}),
    },
)
def aks_channels(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    yield from expect_one_of(r.props, "autoUpgradeProfile.upgradeChannel", cfg["upgradeChannels"])
    yield from expect_one_of(r.props, "autoUpgradeProfile.nodeOSUpgradeChannel", cfg["nodeOsChannels"])


@RULES.resource(
    "patching-aks-kubernetes-version",
    types=[AKS, AKS_AGENT_POOL],
    description="AKS clusters and their node pools run at least the minimum supported Kubernetes version, and "
                "inline node pools run the cluster's version.",
    severity="high",
    remediation="Raise kubernetesVersion (and each node pool's orchestratorVersion) to the minimum or later (check "
                "az aks get-versions for the region); leave an inline pool's orchestratorVersion unset or equal to "
                "kubernetesVersion.",
    url=f"{AKS_DOCS}/supported-kubernetes-versions",
    refs=Refs(mcsb=("PV-6",), azure_policy=("fb893a29-21bb-418c-a157-e99480ec364c",),
              psrule=("Azure.AKS.Version", "Azure.AKS.PoolVersion")),
    config={"minVersion": setting("string", "1.32.0", "Lowest Kubernetes version allowed.")},
)
def aks_version(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if r.type == AKS_AGENT_POOL:
        pool_version = r.props.get("orchestratorVersion")
        if pool_version and version_at_least(str(pool_version), cfg["minVersion"]) is False:
            yield f"orchestratorVersion is {pool_version}; at least {cfg['minVersion']} is required"
        return
    version = r.props.get("kubernetesVersion")
    if version and version_at_least(str(version), cfg["minVersion"]) is False:
        yield f"kubernetesVersion is {version}; at least {cfg['minVersion']} is required"
    for index, pool in enumerate(r.props.get("agentPoolProfiles") or []):
        pool_version = pool.get("orchestratorVersion")
        if not pool_version:
            continue
        where = f"agentPoolProfiles[{index}].orchestratorVersion"
        if version_at_least(str(pool_version), cfg["minVersion"]) is False:
            yield f"{where} is {pool_version}; at least {cfg['minVersion']} is required"
        elif version and not _same_version(str(pool_version), str(version)):
            yield f"{where} is {pool_version} but kubernetesVersion is {version}; use the cluster's version"


def _same_version(a: str, b: str) -> bool:
    """Equal versions, where a major.minor alias (1.33) matches any patch of it (1.33.2)."""
    left, right = a.lstrip("v").split("."), b.lstrip("v").split(".")
    size = min(len(left), len(right))
    return left[:size] == right[:size] and (size >= 2 or len(left) == len(right))


@RULES.resource(
    "patching-appinsights-webtest-standard",
    types=[WEB_TEST],
    description="Application Insights availability tests are standard tests: URL ping tests are retired on 30 "
                "September 2026 and multi-step web tests were retired on 31 August 2024.",
    severity="medium",
    remediation="Recreate the test with webTestKind standard (and kind standard) and its request and validationRules "
                "(a standard test also checks the TLS certificate).",
    url="https://learn.microsoft.com/azure/azure-monitor/app/availability",
    refs=Refs(mcsb=("LT-1",)),
    config={"allowedKinds": setting("array", ["standard"], "Accepted webTestKind values.", items={"type": "string"})},
)
def webtest_kind(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    yield from expect_one_of(r.props, "webTestKind", cfg["allowedKinds"])


_TLS_KEYS = ("minimumTlsVersion", "minimalTlsVersion", "minTlsVersion", "minimumTLSVersion")


def _tls(value: Any) -> float | None:
    match = re.search(r"(\d)[._]?(\d)", str(value))
    return float(f"{match[1]}.{match[2]}") if match else None


@RULES.resource(
    "patching-tls-minimum",
    types=["*"],
    description="Every resource that sets a minimum TLS version requires at least the configured one.",
    severity="high",
    remediation="Set the resource's minimum TLS property (minimumTlsVersion, minimalTlsVersion, minTlsVersion) to "
                "the configured version or later.",
    url="https://learn.microsoft.com/azure/storage/common/transport-layer-security-configure-minimum-version",
    refs=Refs(mcsb=("DP-3",), cis=("3.15",), azure_policy=("fe83a0eb-a853-422d-aac2-1bffd182c5d0",),
              checkov=("CKV_AZURE_44",), psrule=("Azure.Storage.MinTLS",)),
    config={"minVersion": setting("string", "1.2", "Lowest TLS version allowed, for example 1.2.")},
)
def tls_minimum(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    floor = _tls(cfg["minVersion"]) or 1.2
    nested = r.props.get("properties")
    holders: list[Mapping[str, Any]] = [r.props, nested if isinstance(nested, Mapping) else {}]
    for holder in holders:
        for key in _TLS_KEYS:
            if key in holder:
                found = _tls(holder[key])
                if found is None or found < floor:
                    yield f"{key} is {holder[key]!r}; require TLS {cfg['minVersion']} or later"


@RULES.resource(
    "patching-provider-version-floor",
    types=["*"],
    description="Resources are managed by provider plugins at or above the minimum versions.",
    severity="medium",
    remediation="Raise the provider package (for example pulumi-azure-native in requirements.txt) to the minimum "
                "version or later; old providers miss API versions and security fixes.",
    url="https://www.pulumi.com/docs/iac/concepts/resources/providers/",
    refs=Refs(mcsb=("PV-6",)),
    config={"minimums": setting("object", {"azure-native": "3.0.0", "azuredevops": "3.0.0"},
                                "Provider package -> lowest version allowed.",
                                additionalProperties={"type": "string"})},
)
def provider_floor(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    if not r.provider_type or not r.provider_type.startswith("pulumi:providers:"):
        return
    package = r.provider_type.removeprefix("pulumi:providers:")
    floor = cfg["minimums"].get(package)
    version = r.provider_props.get("version") if r.provider_props else None
    if floor and version and version_at_least(str(version), floor) is False:
        yield f"the {package} provider is version {version}; at least {floor} is required"


@RULES.resource(
    "patching-ado-agent-pool-auto-update",
    types=[ADO_POOL, ADO_ELASTIC_POOL],
    description="Azure DevOps agent pools let their agents update themselves to the latest agent version.",
    severity="high",
    remediation="Leave autoUpdate unset or set it to true on the agent pool (self-hosted agents then take agent "
                "fixes, including security fixes, as Azure DevOps ships them).",
    url="https://learn.microsoft.com/azure/devops/pipelines/agents/pools-queues",
    refs=Refs(mcsb=("PV-6",), ado=("ADO_AgentPool_DP_Enable_Auto_Update",)),
)
def agent_pool_auto_update(r: Resource, cfg: Mapping[str, Any]) -> Iterator[str]:
    # pulumi-azuredevops Pool and ElasticPool: autoUpdate defaults to true (provider docs, agent_pool and
    # elastic_pool), so only an explicit false is reported.
    if r.props.get("autoUpdate") is False:
        yield "autoUpdate is false: the pool's agents keep their version and miss agent fixes; set it to true"
