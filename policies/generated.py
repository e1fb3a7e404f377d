"""Files this repository generates and keeps under version control (the policy catalogue, the taggable types)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_or_check(target: Path, text: str, command: str, check: bool) -> int:
    """Write ``text`` to ``target``; with ``check``, only compare and exit 1 (naming ``command``) when it is stale."""
    shown = target.relative_to(ROOT)
    if check:
        current = target.read_text() if target.exists() else ""
        if current != text:
            print(f"{shown} is stale; run: {command}", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    print(f"wrote {shown}")
    return 0
