"""Load profiles for the autoscale proof: one request rate per minute, from the endpoint's expected load.

- ``ramp``: one day; the base rate for two hours, a linear climb to the peak over four hours, the peak for four
  hours, back down over four hours, then the base rate;
- ``spike``: one day at the base rate with three sudden jumps to the peak (at 06:00, 12:00 and 18:00 UTC, 20, 45
  and 90 minutes long): what a batch client or a marketing mail does;
- ``diurnal``: a week; weekdays rise from the base rate at night to the peak in the afternoon (a smooth cosine,
  peak at 14:00 UTC), weekends stay at half the weekday swing;
- ``file``: a CSV of ``minute,rps`` (minutes from the start) or ``timestamp,rps`` (ISO 8601, UTC when no zone is
  given), one row per minute in order, at most 14 days.

The profiles are deterministic (no noise), so a proof gives the same verdict on every run.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np

DAY = 1440
MAX_FILE_MINUTES = 14 * DAY
NAMES = ("ramp", "spike", "diurnal")
#: (start minute of the day, length in minutes) of the spike profile's jumps.
SPIKES = ((6 * 60, 20), (12 * 60, 45), (18 * 60, 90))


class ProfileError(Exception):
    """A profile that cannot be built or read; the message names the input."""


def build(name: str, start: dt.datetime, *, peak_rps: float, base_rps: float) -> np.ndarray:
    """Profile ``name`` (``ramp``, ``spike`` or ``diurnal``) from ``start`` (its weekday matters for ``diurnal``)."""
    if not 0 < base_rps <= peak_rps or not math.isfinite(peak_rps):
        raise ProfileError(f"rates base {base_rps!r} and peak {peak_rps!r}: need 0 < base <= peak")
    if name == "ramp":
        return ramp(peak_rps, base_rps)
    if name == "spike":
        return spike(peak_rps, base_rps)
    if name == "diurnal":
        return diurnal(start, peak_rps, base_rps)
    raise ProfileError(f"profile {name!r} is not known; use one of {', '.join(NAMES)} or file")


def ramp(peak: float, base: float) -> np.ndarray:
    hold = 120
    climb = 240
    top = 240
    parts = [np.full(hold, base), np.linspace(base, peak, climb, endpoint=False), np.full(top, peak),
             np.linspace(peak, base, climb, endpoint=False)]
    used = sum(len(p) for p in parts)
    return np.concatenate([*parts, np.full(DAY - used, base)])


def spike(peak: float, base: float) -> np.ndarray:
    load = np.full(DAY, base)
    for first, length in SPIKES:
        load[first:first + length] = peak
    return load


def diurnal(start: dt.datetime, peak: float, base: float) -> np.ndarray:
    minutes = np.arange(7 * DAY)
    moments = start.astimezone(dt.UTC)
    minute_of_day = (minutes + moments.hour * 60 + moments.minute) % DAY
    weekday = (moments.weekday() + (minutes + moments.hour * 60 + moments.minute) // DAY) % 7
    # Cosine with its maximum at 14:00 and minimum at 02:00.
    shape = (1 - np.cos(2 * np.pi * (minute_of_day - 2 * 60) / DAY)) / 2
    swing = np.where(weekday >= 5, 0.5, 1.0)
    return base + (peak - base) * shape * swing


def from_file(path: Path, start: dt.datetime) -> np.ndarray:
    """A profile from ``path`` (see the module docstring); every bad line is refused with its number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ProfileError(f"{path}: cannot read the profile: {error.strerror or error}") from None
    rows = list(csv.reader(line for line in lines if line.strip() and not line.lstrip().startswith("#")))
    if rows and rows[0] and not _is_number(rows[0][-1]):
        rows = rows[1:]  # a header
    if not rows:
        raise ProfileError(f"{path}: no rows; write one `minute,rps` or `timestamp,rps` line per minute")
    values = []
    previous: int | None = None
    for number, row in enumerate(rows, start=1):
        where = f"{path}: row {number}"
        if len(row) != 2:
            raise ProfileError(f"{where}: {','.join(row)!r} has {len(row)} fields; write `minute,rps`")
        first, rate_text = row[0].strip(), row[1].strip()
        minute = _minute(first, start, where)
        if previous is not None and minute != previous + 1:
            raise ProfileError(f"{where}: minute {minute} does not follow {previous}; one row per minute, in order")
        if previous is None and minute != 0:
            raise ProfileError(f"{where}: the profile starts at minute {minute}; start at 0 (or at the start time)")
        if not _is_number(rate_text) or not math.isfinite(float(rate_text)) or float(rate_text) < 0:
            raise ProfileError(f"{where}: rate {rate_text!r} is not a number of requests per second, at least 0")
        values.append(float(rate_text))
        previous = minute
        if len(values) > MAX_FILE_MINUTES:
            raise ProfileError(f"{path}: more than {MAX_FILE_MINUTES} minutes (14 days); shorten the profile")
    return np.asarray(values)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _minute(text: str, start: dt.datetime, where: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ProfileError(f"{where}: {text!r} is neither a minute number nor an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    offset = (moment - start).total_seconds() / 60
    if offset != int(offset):
        raise ProfileError(f"{where}: {text!r} is not on a whole minute from the start {start.isoformat()}")
    return int(offset)
