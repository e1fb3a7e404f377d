"""The platform passes its own policies: dev and prod, evaluated offline under the project's mocks and analyzed by all
three packs with their environment's config files, have no mandatory violation; an insecure prod variant is stopped."""

from __future__ import annotations

import functools

import pytest
from conftest import PROJECT, ROOT, TODAY, insecure_prod_config

from preflight.analysis import PackResult, run_packs
from preflight.program import evaluate
from preflight.stack_config import StackConfig, load_stack_config


@functools.cache
def analyzed(stack: str) -> list[PackResult]:
    """The committed stack through its packs, once per session."""
    return analyze(stack, load_stack_config(ROOT, stack))


def analyze(stack: str, config: StackConfig) -> list[PackResult]:
    found = evaluate(ROOT, config)
    return run_packs(found, stack, policies_dir=ROOT / "policies", as_of=TODAY.isoformat(), stack=stack,
                     project=PROJECT)


def describe(results: list[PackResult]) -> list[str]:
    return [f"{v.policy} [{v.level}] {v.urn.rsplit('::', 1)[-1]}: {v.message}" for r in results for v in r.mandatory]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_platform_has_no_mandatory_violation(stack: str) -> None:
    results = analyzed(stack)
    assert [r.pack for r in results] == ["mlops-security", "mlops-patching", "mlops-governance"]
    assert describe(results) == []
    assert not [v for r in results for v in r.violations if v.could_not_run]


def test_dev_keeps_advisories_that_prod_fixes() -> None:
    dev = {v.policy for r in analyzed("dev") for v in r.violations}
    prod = {v.policy for r in analyzed("prod") for v in r.violations}
    # Dev is deliberately more open (public workspace, default-allow networks, Basic registry, no private endpoint).
    assert {"security-mlworkspace-public-network-disabled", "security-storage-network-restricted",
            "security-acr-public-network-disabled", "security-mlworkspace-private-endpoint"} <= dev
    assert not {"security-mlworkspace-public-network-disabled", "security-storage-network-restricted",
                "security-acr-public-network-disabled", "security-mlworkspace-private-endpoint"} & prod
    # Prod's remaining advisories are the documented exceptions (docs/policies.md).
    assert prod == {"security-acr-quarantine", "security-acr-content-trust",
                    "security-appinsights-public-access-disabled", "security-loganalytics-public-access-disabled",
                    "security-acr-arm-audience-token-disabled"}


def test_an_insecure_prod_variant_is_stopped() -> None:
    mandatory = {(v.policy, v.message) for r in analyze("prod", insecure_prod_config()) for v in r.mandatory}
    policies = {p for p, _ in mandatory}
    assert {"security-mlworkspace-approved-outbound-only", "security-stateful-resources-protected",
            "patching-mlcluster-scale-to-zero", "governance-mlcluster-max-nodes"} <= policies
    assert ("patching-mlcluster-scale-to-zero", "scaleSettings.minNodeCount is 2; allow scaling to 0") in mandatory
    assert ("governance-mlcluster-max-nodes", "scaleSettings.maxNodeCount is 40; the ceiling is 16") in mandatory
