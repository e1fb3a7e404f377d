"""A pack's manifest, ``PulumiPolicy.yaml``: read and checked the same way by the pack itself and by the tools.

The Pulumi CLI takes the pack's version from this file (pulumi-policy's Python SDK always reports ``0.0.1`` itself),
and starts the pack with the interpreter of ``runtime.options.virtualenv``, relative to the pack folder. A pack whose
manifest is missing or broken must stop the gate, not be skipped, so every problem is a :class:`ManifestError`
naming the file and what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FILE_NAME = "PulumiPolicy.yaml"
#: Semantic version, as ``pulumi policy publish`` requires.
_VERSION = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


class ManifestError(Exception):
    """A pack folder whose ``PulumiPolicy.yaml`` is missing or invalid."""


@dataclass(frozen=True)
class Manifest:
    path: Path
    version: str
    description: str
    virtualenv: str | None
    """``runtime.options.virtualenv``, relative to the pack folder (``None``: the CLI uses ``python3`` on PATH)."""


def read_manifest(pack_dir: Path, shown: str | None = None) -> Manifest:
    """The manifest of the pack in ``pack_dir``; raises :class:`ManifestError`, naming the file ``shown`` (default:
    its path)."""
    path = pack_dir / FILE_NAME
    shown = shown or str(path)
    try:
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{shown}: missing; every pack folder needs a {FILE_NAME}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ManifestError(f"{shown}: unreadable: {str(error)[:200]}") from None
    if not isinstance(document, dict):
        raise ManifestError(f"{shown}: expected a mapping with runtime, version and description")
    runtime = document.get("runtime")
    language = runtime.get("name") if isinstance(runtime, dict) else runtime
    if language != "python":
        raise ManifestError(f"{shown}: runtime is {language!r}; these packs need runtime python")
    options = runtime.get("options") if isinstance(runtime, dict) else None
    if options is not None and not isinstance(options, dict):
        raise ManifestError(f"{shown}: runtime.options must be a mapping")
    virtualenv = (options or {}).get("virtualenv")
    if virtualenv is not None and (not isinstance(virtualenv, str) or not virtualenv):
        raise ManifestError(f"{shown}: runtime.options.virtualenv must be a folder name such as venv")
    version = document.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise ManifestError(f"{shown}: version {version!r} is not a semantic version such as 1.2.0; the CLI reports "
                            "and publishes the pack under it")
    description = document.get("description", "")
    if not isinstance(description, str):
        raise ManifestError(f"{shown}: description must be text")
    return Manifest(path=path, version=version, description=description, virtualenv=virtualenv)
