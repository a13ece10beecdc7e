"""Step paths: ``root.steps[2].then.steps[0]`` and moving through nested step lists.

A cursor is a tuple of ``(branch, index)`` pairs; the first branch is always ``root``.
"""
from __future__ import annotations

import re
from typing import Any

Cursor = tuple[tuple[str, int], ...]
BRANCHES = ("then", "else", "try", "catch", "body")
_SEGMENT = re.compile(r"(root|then|else|try|catch|body)\.steps\[(\d+)\]")

START: Cursor = (("root", 0),)


def format_path(cursor: Cursor) -> str:
    """``(("root", 2), ("then", 0))`` → ``root.steps[2].then.steps[0]``."""
    return ".".join(f"{branch}.steps[{index}]" for branch, index in cursor)


def parse_path(path: str) -> Cursor:
    """Inverse of :func:`format_path`."""
    segments = tuple((m.group(1), int(m.group(2))) for m in _SEGMENT.finditer(path))
    if not segments or segments[0][0] != "root" or format_path(segments) != path:
        raise ValueError(f"not a step path: {path!r}")
    return segments


def step_at(definition: dict[str, Any], cursor: Cursor) -> dict[str, Any] | None:
    """The step the cursor points at, or ``None`` past the end of its list."""
    steps = list_at(definition, cursor)
    index = cursor[-1][1]
    return steps[index] if index < len(steps) else None


def list_at(definition: dict[str, Any], cursor: Cursor) -> list[dict[str, Any]]:
    """The step list holding the cursor's last position."""
    steps: list[dict[str, Any]] = definition.get("steps") or []
    for depth in range(len(cursor) - 1):
        block = steps[cursor[depth][1]]
        steps = block.get(cursor[depth + 1][0]) or []
    return steps


def block_at(definition: dict[str, Any], cursor: Cursor, depth: int) -> dict[str, Any]:
    """The block step that owns the list entered at ``cursor[depth + 1]``."""
    return list_at(definition, cursor[: depth + 1])[cursor[depth][1]]


def enter(cursor: Cursor, branch: str) -> Cursor:
    """The first step of the block's ``branch`` list."""
    return cursor + ((branch, 0),)


def following(cursor: Cursor) -> Cursor:
    """The next position in the same list."""
    branch, index = cursor[-1]
    return cursor[:-1] + ((branch, index + 1),)
