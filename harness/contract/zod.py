"""Zod v3 issue objects, shared by every validator that reports like AlgaPSA's Zod schemas.

(payload schemas, node configs and definitions, action inputs and outputs)
"""
from __future__ import annotations

from typing import Any

Issue = dict[str, Any]
Path = list[str | int]

MISSING: Any = object()  # an absent key, Zod's `undefined`


def js_type(value: Any) -> str:
    """Zod's name for the type of a JSON value."""
    if value is MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "unknown")


def issue(code: str, path: Path, message: str, **fields: Any) -> Issue:
    """One issue: ``code``, code-specific fields, ``path`` and ``message``, in Zod's key order."""
    return {"code": code, **fields, "path": list(path), "message": message}


def invalid_type(expected: str, value: Any, path: Path) -> Issue:
    """``Required`` for a missing value, else ``Expected <t>, received <t>``."""
    received = js_type(value)
    message = "Required" if received == "undefined" else f"Expected {expected}, received {received}"
    return issue("invalid_type", path, message, expected=expected, received=received)
