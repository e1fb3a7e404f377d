"""Azure names: every generated name obeys its service's length and character rules, for every tricky team name."""

from __future__ import annotations

import itertools
import re
import uuid

import pytest

from components.naming import Namer, digest, role_assignment_name
from components.regions import REGION_CODES

# Each service's rule, written from the Azure naming rules page independently of the generator.
RULES: dict[str, tuple[int, int, str]] = {
    "resource_group": (1, 90, r"^[A-Za-z0-9_.()-]*[A-Za-z0-9_()-]$"),
    "log_analytics": (4, 63, r"^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$"),
    "application_insights": (1, 260, r"^[^%&\\?/]*[^%&\\?/. ]$"),
    "storage_account": (3, 24, r"^[a-z0-9]+$"),
    "key_vault": (3, 24, r"^[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]$"),
    "container_registry": (5, 50, r"^[A-Za-z0-9]+$"),
    "ml_workspace": (3, 33, r"^[A-Za-z0-9][A-Za-z0-9_-]*$"),
    "workspace_identity": (3, 128, r"^[A-Za-z0-9][A-Za-z0-9_-]*$"),
    "compute_identity": (3, 128, r"^[A-Za-z0-9][A-Za-z0-9_-]*$"),
    "action_group": (1, 260, r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
}
COMPUTE_INSTANCE_RULE = (3, 24, r"^[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]$")
PRIVATE_ENDPOINT_RULE = (2, 80, r"^[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]$")

TRICKY_TEAMS = [
    "ml",                                   # shortest allowed
    "a1",                                   # letter + digit
    "fraud-detection",                      # typical
    "x" * 24,                               # longest allowed, no hyphen
    "a-b-c-d-e-f-g-h-i-j-k-l",              # many hyphens (24 characters)
    "team-9",                               # ends with a digit after a hyphen
    "customer-lifetime-value",              # long words, hyphen at a likely cut point
    "z" * 23 + "9",
]
PREFIXES = ["ml", "mlops", "contoso8"]
ENVIRONMENTS = ["dev", "prod"]
REGIONS = ["westeurope", "northcentralus", "switzerlandnorth"]


def _check(value: str, rule: tuple[int, int, str], what: str) -> None:
    low, high, pattern = rule
    assert low <= len(value) <= high, f"{what} {value!r} has length {len(value)}, allowed {low}-{high}"
    assert re.match(pattern, value), f"{what} {value!r} breaks the character rule {pattern}"


@pytest.mark.parametrize("team", TRICKY_TEAMS)
@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_name_is_valid_for_tricky_team_names(team: str, prefix: str) -> None:
    for env, region in itertools.product(ENVIRONMENTS, REGIONS):
        namer = Namer(prefix, team, env, region)
        for method, rule in RULES.items():
            _check(getattr(namer, method)(), rule, method)
        _check(namer.private_endpoint("mlw"), PRIVATE_ENDPOINT_RULE, "private_endpoint")
        for user in ("al", "alice", "bartholomew-the-very-long-user"):
            _check(namer.compute_instance(user), COMPUTE_INSTANCE_RULE, "compute_instance")


def test_names_follow_caf_pattern() -> None:
    namer = Namer("mlops", "fraud", "prod", "westeurope")
    assert namer.resource_group() == "rg-mlops-fraud-prod-weu"
    assert namer.ml_workspace() == "mlw-mlops-fraud-prod-weu"
    assert namer.log_analytics() == "log-mlops-fraud-prod-weu"
    assert namer.application_insights() == "appi-mlops-fraud-prod-weu"
    unique = digest("mlops|fraud|prod|westeurope")
    assert namer.storage_account() == f"stmlopsfraudprod{unique}"
    assert namer.key_vault() == f"kv-mlops-fraud-prod-{unique}"
    assert namer.container_registry() == f"crmlopsfraudprod{unique}"


def test_globally_unique_names_differ_when_shortened_names_collide() -> None:
    # Two teams whose names only differ after the point where they get cut.
    a = Namer("contoso8", "customer-lifetime-value", "prod", "westeurope")
    b = Namer("contoso8", "customer-lifetime-valve", "prod", "westeurope")
    for method in ("storage_account", "key_vault", "container_registry", "ml_workspace", "log_analytics"):
        assert getattr(a, method)() != getattr(b, method)(), method


def test_names_of_all_tricky_teams_are_distinct() -> None:
    for method in RULES:
        names = [getattr(Namer("contoso8", t, "prod", "westeurope"), method)() for t in TRICKY_TEAMS]
        assert len(set(names)) == len(names), method


def test_names_are_stable() -> None:
    assert Namer("mlops", "fraud", "dev", "eastus").storage_account() == \
        Namer("mlops", "fraud", "dev", "eastus").storage_account()


def test_compute_instance_names_are_unique_per_region_across_teams_and_stacks() -> None:
    names = {Namer(p, t, e, "westeurope").compute_instance("alice")
             for p, t, e in itertools.product(PREFIXES, TRICKY_TEAMS, ENVIRONMENTS)}
    assert len(names) == len(PREFIXES) * len(TRICKY_TEAMS) * len(ENVIRONMENTS)


def test_every_region_has_a_short_code() -> None:
    codes = list(REGION_CODES.values())
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"[a-z0-9]{2,4}", c) for c in codes)


@pytest.mark.parametrize(
    ("prefix", "team", "region", "error"),
    [("ML", "fraud", "westeurope", ValueError), ("m", "fraud", "westeurope", ValueError),
     ("mlops-x", "fraud", "westeurope", ValueError), ("mlops", "Fraud", "westeurope", ValueError),
     ("mlops", "fraud--x", "westeurope", ValueError), ("mlops", "fraud", "moon", KeyError)],
)
def test_invalid_inputs_are_refused(prefix: str, team: str, region: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        Namer(prefix, team, "dev", region)


def test_role_assignment_names_are_deterministic_guids() -> None:
    first = role_assignment_name("fraud", "workspace", "st", "Contributor")
    assert str(uuid.UUID(first)) == first
    assert first == role_assignment_name("fraud", "workspace", "st", "Contributor")
    assert first != role_assignment_name("fraud", "workspace", "kv", "Contributor")
