"""Input helpers of the rules: nested lookups through pulumi-policy's proxies, image references, package specs."""

from __future__ import annotations

import pytest
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from policies.harness import UNKNOWN
from policies.lib.props import get, image_parts, package_specs, version_at_least


def test_get_walks_dicts_and_lists_including_pulumi_policy_proxies() -> None:
    plain = {"a": {"b": [1, {"c": "x"}]}}
    proxied = unknown_checking_proxy({"a": {"b": [1, {"c": "x"}]}, "u": {"v": UNKNOWN}, "l": [{"w": UNKNOWN}]})
    for props in (plain, proxied):
        assert get(props, "a.b.1.c") == "x"
        assert get(props, "a.b.5.c", "default") == "default"
        assert get(props, "a.missing.c") is None
    for path in ("u.v", "l.0.w"):
        with pytest.raises(UnknownValueError):
            get(proxied, path)


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("mcr.microsoft.com/azureml/base:20251101.v1", ("mcr.microsoft.com/azureml/base", "20251101.v1", None)),
        ("myreg.io:5000/base", ("myreg.io:5000/base", None, None)),
        ("myreg.io:5000/base:1.2", ("myreg.io:5000/base", "1.2", None)),
        ("base@sha256:" + "a" * 64, ("base", None, "sha256:" + "a" * 64)),
        ("python", ("python", None, None)),
    ],
)
def test_image_parts(image: str, parts: tuple[str, str | None, str | None]) -> None:
    assert image_parts(image) == parts


def test_package_specs_read_conda_and_pip_sections() -> None:
    specs = {s.name: s for s in package_specs(
        "dependencies:\n  - conda-forge::numpy=1.26.4\n  - pandas\n  - scipy>=1.11\n  - pip\n"
        "  - pip:\n    - torch==2.6.0\n    - Scikit_Learn>=1.5,<2\n    - -r requirements.txt\n")}
    assert (specs["numpy"].minimum, specs["numpy"].exact, specs["numpy"].source) == ("1.26.4", True, "conda")
    assert specs["pandas"].minimum is None
    assert (specs["scipy"].minimum, specs["scipy"].exact) == ("1.11", False)
    assert (specs["torch"].minimum, specs["torch"].exact, specs["torch"].source) == ("2.6.0", True, "pip")
    assert specs["scikit-learn"].minimum == "1.5"
    assert "requirements.txt" not in specs and "-r" not in specs


def test_package_specs_refuse_what_is_not_a_conda_file() -> None:
    with pytest.raises(ValueError, match="condaFile is not valid YAML"):
        list(package_specs("dependencies: [unclosed"))
    with pytest.raises(ValueError, match="condaFile has no 'dependencies' list"):
        list(package_specs("name: x\ndependencies: numpy"))


def test_versions() -> None:
    assert version_at_least("2.6.0", "2.6.0") is True
    assert version_at_least("v1.33.2", "1.32.0") is True
    assert version_at_least("2.5.1", "2.6.0") is False
    assert version_at_least("latest", "1.0") is None
