"""Read a stack's configuration the way the Pulumi CLI hands it to a program.

The CLI merges the project's ``config:`` defaults (``Pulumi.yaml``) under the stack's values (``Pulumi.<stack>.yaml``),
puts un-namespaced keys in the project's namespace, passes scalars as strings and structured values as JSON, and
decrypts ``secure:`` values. The preflight never decrypts: a ``secure:`` value (also one nested in an object) becomes
the placeholder ``[secret]`` and its key is marked secret, so validation sees it as a secret and no output can show it.

Both files are read by ``preflight.stack_yaml``, which refuses what the CLI and a YAML 1.1 reader would read
differently (and hostile or oversized files) with one line per problem naming the key and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.config import looks_secret
from preflight.stack_yaml import Secure, StackFileError, load

SECRET_PLACEHOLDER = "[secret]"


class StackConfigError(Exception):
    """The project or stack file is missing or malformed."""


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    values: dict[str, str]
    """Full keys (``namespace:key``) to the strings the program receives."""
    secret_keys: frozenset[str]
    stack_file: Path


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = load(path)
    except StackFileError as error:
        raise StackConfigError(str(error)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StackConfigError(f"{path.name}: expected a YAML mapping at the top level")
    return data


def _strip_secure(value: Any) -> tuple[Any, bool]:
    """Replace every secure value in ``value`` with the placeholder; report whether one was found."""
    if isinstance(value, Secure):
        return SECRET_PLACEHOLDER, True
    if isinstance(value, dict):
        found = False
        out = {}
        for key, item in value.items():
            out[key], hit = _strip_secure(item)
            found |= hit
        return out, found
    if isinstance(value, list):
        items = [_strip_secure(item) for item in value]
        return [item for item, _ in items], any(hit for _, hit in items)
    return value, False


def _plain_beside_secure(value: Any, path: str) -> list[str]:
    """Paths of secret-looking keys set in plain text inside a value that also holds a secure value."""
    if not _strip_secure(value)[1]:
        return []
    found: list[str] = []

    def walk(item: Any, where: str) -> None:
        if isinstance(item, dict):
            for key, inner in item.items():
                if looks_secret(str(key)) and not isinstance(inner, Secure):
                    found.append(f"{where}.{key}")
                else:
                    walk(inner, f"{where}.{key}")
        elif isinstance(item, list):
            for i, inner in enumerate(item):
                walk(inner, f"{where}[{i}]")

    walk(value, path)
    return found


def _as_cli_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def load_stack_config(project_dir: Path, stack: str) -> StackConfig:
    """Load ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` from ``project_dir``."""
    project_file = project_dir / "Pulumi.yaml"
    if not project_file.is_file():
        raise StackConfigError(f"{project_file}: not found; run from the project directory or pass --dir")
    project_doc = _read_yaml(project_file)
    project = str(project_doc.get("name", ""))
    if not project:
        raise StackConfigError(f"{project_file}: the project has no name")

    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))
        raise StackConfigError(f"no stack file {stack_file.name} in {project_dir}; stacks here: "
                               f"{', '.join(known) or 'none'}")

    values: dict[str, str] = {}
    secrets: set[str] = set()
    declared = project_doc.get("config") or {}
    if not isinstance(declared, dict):
        raise StackConfigError(f"{project_file.name}: 'config' must be a mapping of keys to declarations")
    for key, decl in _strip_secure(declared)[0].items():
        if isinstance(decl, dict):
            if "default" in decl:
                values[_full_key(project, key)] = _as_cli_string(decl["default"])
            elif "value" in decl:
                values[_full_key(project, key)] = _as_cli_string(decl["value"])
        else:
            values[_full_key(project, key)] = _as_cli_string(decl)

    stack_doc = _read_yaml(stack_file)
    config = stack_doc.get("config") or {}
    if not isinstance(config, dict):
        raise StackConfigError(f"{stack_file}: 'config' must be a mapping of keys to values")
    plain = [path for key, raw in config.items() for path in _plain_beside_secure(raw, _full_key(project, str(key)))]
    if plain:
        # Such a key reaches the program wholly marked secret, so the program cannot tell these apart; the file can.
        raise StackConfigError("\n".join(f"{stack_file.name}: {path}: looks like a secret but is set in plain text "
                                         "next to a secure value; set it with `pulumi config set --secret --path`"
                                         for path in plain))
    for key, raw in config.items():
        full = _full_key(project, str(key))
        value, secret = _strip_secure(raw)
        values[full] = _as_cli_string(value)
        if secret:
            secrets.add(full)
    return StackConfig(project=project, stack=stack, values=values, secret_keys=frozenset(secrets),
                       stack_file=stack_file)
