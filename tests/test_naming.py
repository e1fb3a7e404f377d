"""Azure names: every generated name obeys its service's length and character rules, for every tricky team name."""

from __future__ import annotations

import itertools
import re
import uuid

import pytest

from components.naming import COMPUTE_CLUSTER_LENGTH, Namer, compute_name_problem, digest, role_assignment_name
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


def _letter_after_every_hyphen(name: str) -> bool:
    """Azure ML's compute name rule, as the docs word it: "If the - character is used, it needs to be followed by at
    least one letter later in the name"."""
    return all(any(c.isalpha() for c in name[i + 1:]) for i, c in enumerate(name) if c == "-")


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
        for user in ("al", "alice", "bartholomew-the-very-long-user", "user-2"):
            name = namer.compute_instance(user)
            _check(name, COMPUTE_INSTANCE_RULE, "compute_instance")
            assert _letter_after_every_hyphen(name), name


def test_compute_instance_names_never_end_in_hyphen_digits() -> None:
    """About one hexadecimal digest in ten is digits only; those names used to end in -<digits>, which Azure ML
    refuses ("Numbers cannot be the ending of the name if the previous character is a minus symbol")."""
    names = [Namer("mlops", f"team{i}", "dev", "westeurope").compute_instance(user)
             for i in range(2000) for user in ("bob", "al-2")]
    assert all(_letter_after_every_hyphen(n) and not re.search(r"-[0-9]+$", n) for n in names)
    digit_digests = [n for n in names if n.rsplit("-", 1)[1][0] in "ghijklmnop"]
    assert 200 < len(digit_digests) < 600  # the names that needed the fix, with a letter no hex digest holds


def test_valid_compute_instance_names_are_unchanged() -> None:
    """Only the names Azure would refuse changed: an instance deployed under a valid name keeps it."""
    namer = Namer("mlops", "fraud-detection", "dev", "westeurope")
    assert not digest(namer.identity, "bob", length=5).isdigit()
    assert namer.compute_instance("bob") == f"ci-bob-{digest(namer.identity, 'bob', length=5)}"
    # alice's digest in the dev stack is all digits: her name is the one that changes (it could not deploy).
    assert digest(namer.identity, "alice", length=5) == "97354"
    assert namer.compute_instance("alice") == "ci-alice-p7354"


@pytest.mark.parametrize(("name", "problem"), [
    ("cpu", None), ("gpu-a100", None), ("a-1b", None), ("x" * 16, None),
    ("cpu-1-a", None), ("cpu-1", "has a hyphen with no letter after it"),
    ("cpu-", "has a hyphen with no letter after it"), ("c-1-2", "has a hyphen with no letter after it"),
    ("ab", "is 2 characters long; use 3-16"), ("x" * 17, "is 17 characters long; use 3-16"),
    ("1cpu", "must start with a letter"), ("cpu_1", "must start with a letter and hold only"),
])
def test_compute_name_rules(name: str, problem: str | None) -> None:
    found = compute_name_problem(name, COMPUTE_CLUSTER_LENGTH)
    assert (found is None) if problem is None else (found is not None and found.startswith(problem))


def test_a_new_generation_renames_what_azure_keeps_reserved() -> None:
    first = Namer("mlops", "fraud", "dev", "westeurope")
    assert Namer("mlops", "fraud", "dev", "westeurope", generation=1) == first
    second = Namer("mlops", "fraud", "dev", "westeurope", generation=2)
    # Soft-deleted workspaces (14 days) and purge-protected Key Vaults (90 days) keep their names: new ones here.
    for method in ("key_vault", "ml_workspace", "storage_account", "container_registry"):
        assert getattr(second, method)() != getattr(first, method)(), method
    assert second.compute_instance("alice") != first.compute_instance("alice")
    assert second.ml_workspace() == "mlw-mlops-fraud-g2-dev-weu"
    # Names Azure frees at once stay the same (nothing else to update).
    assert second.resource_group() == first.resource_group()
    with pytest.raises(ValueError, match="generation 0 must be 1 or more"):
        Namer("mlops", "fraud", "dev", "westeurope", generation=0)


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
