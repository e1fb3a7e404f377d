"""Read a Pulumi project or stack file strictly: the values the Pulumi CLI would see, or one clear line per problem.

The Pulumi CLI reads these files with a YAML 1.2 parser (go-yaml v3); PyYAML implements YAML 1.1. Where the two
disagree, a value the gate checks would not be the value ``pulumi up`` deploys, so this reader refuses the ambiguous
forms instead of guessing, and names the key and line:

- unquoted YAML 1.1 booleans (``yes``, ``no``, ``on``, ``off``): a boolean for PyYAML, a string for the CLI;
- unquoted dates and times (``2026-11-02``, ``19:00``): a date or a base-60 number for YAML 1.1, a string for the CLI;
- integers with a leading zero (``0755``): octal in one reading, decimal in another;
- merge keys (``<<``) and explicit tags other than ``!!str``; duplicate keys (the CLI refuses them too).

Plain scalars are otherwise resolved with the YAML 1.2 core schema, as the CLI does. A ``{secure: <ciphertext>}``
mapping becomes a :class:`Secure` marker (its ciphertext is never kept); a malformed one is refused.

Resource limits, so that a hostile or broken file cannot exhaust the gate (documented in docs/preflight.md):
files of at most :data:`MAX_FILE_BYTES`, UTF-8 only, nesting at most :data:`MAX_DEPTH` levels, and at most
:data:`MAX_VALUES` values and :data:`MAX_EXPANDED_CHARS` characters after alias expansion (an "alias bomb" expands a
few lines into billions of values, or one long string into gigabytes).
Messages show at most :data:`MAX_SHOWN` characters of a value and list at most :data:`MAX_PROBLEMS` problems.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_VALUES = 100_000
#: Characters of scalar text after alias expansion: an anchored long string repeated through aliases is a bomb too.
MAX_EXPANDED_CHARS = 4 * 1024 * 1024
MAX_SHOWN = 40
MAX_PROBLEMS = 20

_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_TAG = "tag:mlops-platform,2026:plain"
_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_INT_BASED = re.compile(r"^(0x[0-9a-fA-F]+|0o[0-7]+)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_FLOAT_SPECIAL = {f"{sign}{inf}": float(f"{sign or '+'}inf") for sign in ("", "+", "-")
                  for inf in (".inf", ".Inf", ".INF")} | {nan: float("nan") for nan in (".nan", ".NaN", ".NAN")}
#: Numbers YAML 1.1 and 1.2 readers disagree on: digit separators, binary, signed hex/octal, exponents without a dot.
_NUMBER_LIKE = re.compile(r"^([-+]?[0-9][0-9_]*_[0-9_]*|[-+]?0b[01_]+|[-+]0x[0-9a-fA-F_]+|[-+]0o[0-7_]+"
                          r"|[-+]?[0-9]+[eE][-+]?[0-9]+)$")
_YAML11_BOOL = re.compile(r"^(yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$")
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([Tt ].*)?$")
#: YAML 1.1 base-60 numbers (https://yaml.org/type/int.html, https://yaml.org/type/float.html): an integer starts with
#: 1-9 (``19:00``; ``07:30`` is a string), a float has a fraction (``07:30.5``).
_SEXAGESIMAL = re.compile(r"^[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+$|^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*$")
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
#: Ciphertext as ``pulumi config set --secret`` writes it: base64, optionally ``v1:<nonce>:<ciphertext>``.
_CIPHERTEXT = re.compile(r"^(v1:)?[A-Za-z0-9+/=]+(:[A-Za-z0-9+/=]+)*$")


class _Loader(yaml.SafeLoader):
    """Composes nodes without resolving plain scalars: every untagged scalar stays a string node, and
    :meth:`_Reader.scalar` resolves it with the YAML 1.2 core schema."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode and implicit[0]:
            return _PLAIN_TAG
        return str(super().resolve(kind, value, implicit))


class StackFileError(Exception):
    """The file cannot be read as the CLI would read it; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = [_clip(p, 300) for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        super().__init__("\n".join(shown))


@dataclass(frozen=True)
class Secure:
    """A ``{secure: <ciphertext>}`` value: a secret the preflight never decrypts."""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: str) -> str:
    """A value as messages quote it: ``repr``, at most :data:`MAX_SHOWN` characters."""
    return repr(_clip(value, MAX_SHOWN))


class _Reader:
    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []
        self.values = 0
        self.chars = 0

    def fail(self, node: Node, path: str, message: str) -> None:
        where = f"{self.name}:{node.start_mark.line + 1}"
        self.problems.append(f"{where}: {path or '(top level)'}: {message}" if path else f"{where}: {message}")

    def count(self, node: Node) -> None:
        self.values += 1
        if isinstance(node, ScalarNode):
            self.chars += len(node.value)
            if self.chars > MAX_EXPANDED_CHARS:
                raise StackFileError([f"{self.name}:{node.start_mark.line + 1}: the document expands to more than "
                                      f"{MAX_EXPANDED_CHARS // (1024 * 1024)} MiB of text through aliases (an alias "
                                      "expansion bomb?); write the values out or use fewer aliases"])
        if self.values > MAX_VALUES:
            raise StackFileError([f"{self.name}:{node.start_mark.line + 1}: the document expands to more than "
                                  f"{MAX_VALUES:,} values through aliases (an alias expansion bomb?); write the "
                                  "values out or use fewer aliases"])

    def value(self, node: Node, path: str, ancestors: tuple[int, ...]) -> Any:
        self.count(node)
        if id(node) in ancestors:
            self.fail(node, path, "an alias refers to a node that contains it (a recursive alias)")
            return None
        if len(ancestors) >= MAX_DEPTH:
            self.fail(node, path, f"is nested deeper than {MAX_DEPTH} levels")
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        inner = (*ancestors, id(node))
        if isinstance(node, SequenceNode):
            self.tag(node, path, "tag:yaml.org,2002:seq")
            return [self.value(item, f"{path}[{i}]", inner) for i, item in enumerate(node.value)]
        assert isinstance(node, MappingNode)
        self.tag(node, path, "tag:yaml.org,2002:map")
        return self.mapping(node, path, inner)

    def tag(self, node: Node, path: str, default: str) -> None:
        if node.tag not in (default, _STR_TAG):
            self.fail(node, path, f"the tag {node.tag} is not supported in a Pulumi config file; remove it")

    def mapping(self, node: MappingNode, path: str, inner: tuple[int, ...]) -> Any:
        result: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, path, "a key must be a plain string, not a list or a mapping")
                continue
            key = key_node.value
            # Under ``config:`` a key is already the full config key (``mlops-platform:teams``): paths start there.
            key_path = f"{path}.{key}" if path not in ("", "config") else key
            if key == "<<" and key_node.style is None:
                self.fail(key_node, key_path, "merge keys (<<) are read differently by YAML 1.1 and 1.2 tools; "
                                              "write the keys out")
                continue
            line = key_node.start_mark.line + 1
            if key in lines:
                self.fail(key_node, key_path, f"the key {shown(key)} appears twice (lines {lines[key]} and {line}); "
                                              "keep one")
                continue
            lines[key] = line
            result[key] = self.value(value_node, key_path, inner)
            if path == "config" and isinstance(value_node, ScalarNode) and value_node.tag == _PLAIN_TAG:
                # The CLI hands a program a top-level value as the text in the file (0x2D stays "0x2D"), after the
                # checks above; only structured values are parsed as YAML and passed as JSON.
                result[key] = value_node.value if result[key] is not None else ""
        if "secure" in result:
            return self.secure(node, path, result)
        return result

    def secure(self, node: MappingNode, path: str, result: dict[str, Any]) -> Any:
        ciphertext = result["secure"]
        if len(result) != 1:
            others = ", ".join(sorted(k for k in result if k != "secure"))
            self.fail(node, path, f"a secure value must be the only key of its mapping (found also {others}); "
                                  "set it with `pulumi config set --secret`")
        elif not isinstance(ciphertext, str) or not _CIPHERTEXT.match(ciphertext):
            self.fail(node, path, "secure: is not a ciphertext written by `pulumi config set --secret` (base64 "
                                  "text); set the value again with that command")
        return Secure()

    def scalar(self, node: ScalarNode, path: str) -> Any:
        text = node.value
        if node.tag != _PLAIN_TAG:
            self.tag(node, path, _STR_TAG)
            return text  # quoted, block or !!str: always a string
        if _NULL.match(text):
            return None
        if text in _BOOL:
            return _BOOL[text]
        if _LEADING_ZERO.match(text):
            self.fail(node, path, f"unquoted {shown(text)} is octal to some YAML tools and decimal to others; quote "
                                  "it, or drop the leading zero")
            return text
        if _NUMBER_LIKE.match(text):
            self.fail(node, path, f"unquoted {shown(text)} is a number to some YAML tools and a string to others; "
                                  "quote it, or write a plain decimal number")
            return text
        if _INT.match(text):
            return int(text)
        if _INT_BASED.match(text):
            return int(text, 0)
        if _FLOAT.match(text):
            return float(text)
        if text in _FLOAT_SPECIAL:
            return _FLOAT_SPECIAL[text]
        if _YAML11_BOOL.match(text):
            self.fail(node, path, f"unquoted {text} is a boolean to YAML 1.1 tools and a string to the Pulumi CLI; "
                                  f"write true or false, or quote it (\"{text}\") if it is a name")
        elif _DATE.match(text):
            self.fail(node, path, f"unquoted date {shown(text)} is a date to YAML 1.1 tools and a string to the "
                                  f"Pulumi CLI; quote it (\"{_clip(text, MAX_SHOWN)}\")")
        elif _SEXAGESIMAL.match(text):
            self.fail(node, path, f"unquoted {shown(text)} is a base-60 number to YAML 1.1 tools and a string to the "
                                  "Pulumi CLI; quote it")
        return text


def _check_structure(name: str, text: str) -> None:
    """Depth and size from the event stream (the parser is iterative), before the recursive composer runs."""
    depth = 0
    for events, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader), 1):
        if events > MAX_VALUES:
            raise StackFileError([f"{name}: more than {MAX_VALUES:,} values; a stack file is far smaller"])
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                line = f":{event.start_mark.line + 1}" if event.start_mark is not None else ""
                raise StackFileError([f"{name}{line}: nested deeper than {MAX_DEPTH} levels"])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _documents(name: str, text: str) -> Iterator[Node]:
    try:
        _check_structure(name, text)
        yield from yaml.compose_all(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise StackFileError([f"{name}{line}: not valid YAML: {error.problem or error.context}"]) from None
    except yaml.YAMLError as error:
        raise StackFileError([f"{name}: not valid YAML: {_clip(str(error), 200)}"]) from None


def read_text(path: Path) -> str:
    """The file's text: at most :data:`MAX_FILE_BYTES`, UTF-8 (a byte-order mark is allowed)."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise StackFileError([f"{path.name}: cannot be read: {error.strerror or error}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise StackFileError([f"{path.name}: larger than {MAX_FILE_BYTES // 1024} KiB; a Pulumi config file is far "
                              "smaller (is this the right file?)"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise StackFileError([f"{path.name}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x}); save the file "
                              "as UTF-8"]) from None


def load(path: Path) -> Any:
    """The one YAML document of ``path`` as plain data (``None`` for an empty file); raises :class:`StackFileError`
    naming every problem with its line and key path."""
    text = read_text(path)
    documents = list(_documents(path.name, text))
    if len(documents) > 1:
        raise StackFileError([f"{path.name}: holds {len(documents)} YAML documents; a Pulumi config file holds one"])
    if not documents:
        return None
    reader = _Reader(path.name)
    data = reader.value(documents[0], "", ())
    if reader.problems:
        raise StackFileError(reader.problems)
    return data
