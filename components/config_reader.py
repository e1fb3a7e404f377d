"""Reading configuration values: the problem collector every parser of the stack configuration uses.

:class:`Reader` reads one value at a time (``string``, ``integer``, ``duration``, ...) and records a problem instead of
raising, so that one run reports every mistake; each problem names the key path, the value given (shortened by
:func:`show`) and what is allowed. :class:`ConfigError` carries them all. ``components.config`` (the platform) and
``components.serving_config`` (online endpoints) both parse with it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

PROJECT = "mlops-platform"

T = TypeVar("T")

_ISO_DURATION = re.compile(
    r"^P(?!$)(?:(?P<days>\d+)D)?(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d{1,3})?)S)?)?$"
)


class ConfigError(Exception):
    """One or more configuration problems; each line names the key path, the value and what is allowed."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        shown = self.problems[:MAX_PROBLEMS]
        if len(self.problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(self.problems) - MAX_PROBLEMS} more problems")
        super().__init__("\n".join(shown))


#: Longest excerpt of a given value that a message quotes, and most problems one error lists: a stray multi-megabyte
#: value or thousands of broken entries must not flood a terminal or a pull-request comment.
MAX_SHOWN = 60
MAX_PROBLEMS = 50


def show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + "…")
    text = json.dumps(value, default=str)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


class Reader:
    """Collects problems while reading values; each ``get_*`` returns ``None`` after recording a problem."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{PROJECT}:{path}: {message}")

    def check_keys(self, path: str, obj: Mapping[str, Any], allowed: Sequence[str],
                   required: Sequence[str] = ()) -> None:
        for key in obj:
            if key not in allowed:
                self.fail(f"{path}.{key}" if path else key,
                          f"unknown key; allowed keys are {', '.join(sorted(allowed))}")
        for key in required:
            if key not in obj:
                self.fail(f"{path}.{key}" if path else key, "is required but missing")

    def obj(self, path: str, value: Any) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.fail(path, f"{show(value)} has the wrong type; expected an object (a YAML mapping)")
            return None
        return value

    def lst(self, path: str, value: Any) -> list[Any] | None:
        if not isinstance(value, list):
            self.fail(path, f"{show(value)} has the wrong type; expected a list")
            return None
        return value

    def string(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            self.fail(path, f"{show(value)} has the wrong type; expected a non-empty string")
            return None
        return value

    def integer(self, path: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int | None:
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            value = int(value)  # top-level scalars arrive from the CLI as strings
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"{show(value)} has the wrong type; expected a whole number")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            self.fail(path, f"{value} is not allowed; use a whole number {bounds}")
            return None
        return value

    def number(self, path: str, value: Any, low: float, high: float, *, open_low: bool = False) -> float | None:
        """A number in [low, high] (or (low, high] with ``open_low``), whole or decimal."""
        if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"{show(value)} has the wrong type; expected a number")
            return None
        if not math.isfinite(value):  # JSON config may carry NaN or Infinity, which no comparison catches
            self.fail(path, f"{value} is not allowed; use a finite number")
            return None
        if value < low or value > high or (open_low and value == low):
            low_text = f"above {plain(low)}" if open_low else f"at least {plain(low)}"
            self.fail(path, f"{plain(value)} is not allowed; use a number {low_text} and at most {plain(high)}")
            return None
        return float(value)

    def boolean(self, path: str, value: Any) -> bool | None:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            self.fail(path, f"{show(value)} has the wrong type; expected true or false")
            return None
        return value

    def choice(self, path: str, value: Any, allowed: Sequence[str]) -> str | None:
        text = self.string(path, value)
        if text is None:
            return None
        if text not in allowed:
            self.fail(path, f"{show(text)} is not allowed; use one of {', '.join(allowed)}")
            return None
        return text

    def duration(self, path: str, value: Any, bounds: tuple[dt.timedelta, dt.timedelta]) -> str | None:
        text = self.string(path, value)
        if text is None:
            return None
        parsed = parse_iso_duration(text)
        low, high = bounds
        if parsed is None:
            self.fail(path, f"{show(text)} is not an ISO 8601 duration; use for example PT30M, PT2H or P1D, "
                            f"between {human(low)} and {human(high)}")
            return None
        if not low <= parsed <= high:
            self.fail(path, f"{show(text)} is {human(parsed)}; it must be between {human(low)} and {human(high)}")
            return None
        return text

    def date(self, path: str, value: Any, today: dt.date) -> dt.date | None:
        if isinstance(value, dt.date):
            parsed: dt.date | None = value
        else:
            text = self.string(path, value)
            if text is None:
                return None
            try:
                parsed = dt.date.fromisoformat(text)
            except ValueError:
                self.fail(path, f"{show(text)} is not a date; use YYYY-MM-DD")
                return None
        assert parsed is not None
        if parsed > today:
            self.fail(path, f"{parsed.isoformat()} is in the future; use the date the OS image was taken "
                            f"(today or earlier, today is {today.isoformat()})")
            return None
        return parsed


def parse_iso_duration(text: str) -> dt.timedelta | None:
    """Parse the day-time subset of ISO 8601 durations Azure uses (``P1D``, ``PT30M``, ``P1DT2H``, ``PT0.5S``:
    seconds to the millisecond)."""
    match = _ISO_DURATION.match(text)
    if match is None:
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    return dt.timedelta(**parts)


def human(delta: dt.timedelta) -> str:
    """``2 hours``, ``90 seconds``, ``500 ms``."""
    if delta.microseconds:
        return f"{round(delta.total_seconds() * 1000)} ms"
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def plain(number: float) -> str:
    """A number as written by hand: ``70``, ``0.4``, ``1234567`` (never exponent notation)."""
    text = f"{number:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def items(r: Reader, path: str, value: Any) -> list[tuple[int, Any]]:
    listed = r.lst(path, value)
    return list(enumerate(listed)) if listed is not None else []


def unique_names(r: Reader, path: str, key: str, entries: list[tuple[int, Mapping[str, Any]]], what: str) -> None:
    seen: dict[str, int] = {}
    for i, entry in entries:
        name = entry.get(key)
        if isinstance(name, str):
            if name in seen:
                r.fail(f"{path}[{i}].{key}", f"{show(name)} duplicates {path}[{seen[name]}]; {what} must be unique")
            else:
                seen[name] = i


def collect(r: Reader, path: str, value: Any, parse: Callable[[str, Mapping[str, Any]], T | None],
             unique_key: str, what: str) -> tuple[T, ...]:
    entries = [(i, obj) for i, item in items(r, path, value)
               if (obj := r.obj(f"{path}[{i}]", item)) is not None]
    unique_names(r, path, unique_key, entries, what)
    parsed = [parse(f"{path}[{i}]", obj) for i, obj in entries]
    return tuple(p for p in parsed if p is not None)
