"""``--shard I/N``: a deterministic, even split of the selected fixtures across N CI jobs.

Fixtures are sorted by name (then path) and dealt round-robin: shard I (1-based) takes positions
I-1, I-1+N, I-1+2N, ... So every fixture lands in exactly one shard and shard sizes differ by at
most one. Adding a fixture can move later ones to another shard; no shard ever runs one twice.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(spec: str) -> tuple[int, int]:
    """``"2/5"`` → ``(2, 5)``; raises ValueError unless 1 ≤ I ≤ N."""
    match = _SPEC.match(spec)
    if not match:
        raise ValueError(f"--shard must look like I/N (e.g. 1/4), got {spec!r}")
    index, total = int(match.group(1)), int(match.group(2))
    if total < 1 or not 1 <= index <= total:
        raise ValueError(f"--shard {spec}: I must be between 1 and N")
    return index, total


def take_shard(folders: Sequence[Path], index: int, total: int) -> list[Path]:
    """The fixtures of shard ``index`` of ``total`` (1-based), in name order."""
    ordered = sorted(folders, key=lambda p: (p.name, str(p)))
    return ordered[index - 1::total]
