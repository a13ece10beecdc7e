"""Assignment targets for `transform.assign`, `event.wait.assign` and `saveAs` (contract §3.6, §3.7.5)."""
from __future__ import annotations

import re
from typing import Any

from harness.sandbox.runtime.expressions import ExpressionError, now_iso

SCOPES = ("payload", "vars", "meta", "error")
_FORBIDDEN_SEGMENTS = frozenset({"__proto__", "prototype", "constructor"})


def assign_path(envelope: dict[str, Any], path: str, value: Any) -> None:
    """Write ``value`` at ``path`` inside ``envelope`` (keys ``payload``, ``vars``, ``meta``, ``error``).

    ``scope.a.b`` writes into that scope and ``/a/b`` (JSON pointer) into the payload; missing or
    non-container intermediates become objects. Raises ExpressionError (category ActionError).
    """
    scope, keys = _parse(path)
    if not keys:
        return  # e.g. "vars." names no key; AlgaPSA writes nothing either
    if scope == "error" and not envelope.get("error"):
        envelope["error"] = {"message": "", "at": now_iso()}
    target = envelope.get(scope)
    if not isinstance(target, dict):
        target = envelope[scope] = {}
    for key in keys[:-1]:
        child = _get(target, key)
        if not isinstance(child, (dict, list)):
            child = {}
            _put(target, key, child)
        target = child
    _put(target, keys[-1], value)


def save_as_path(path: str) -> str:
    """The assignment path for an action's ``saveAs``: unscoped names go under ``vars.``."""
    return path if path.startswith(("/", *(f"{scope}." for scope in SCOPES))) else f"vars.{path}"


def _parse(path: str) -> tuple[str, list[str]]:
    if not isinstance(path, str) or not path:
        raise _error("Assignment path must be a non-empty string")
    if path.startswith("/"):
        scope = "payload"
        keys = [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]
    else:
        scope, dot, rest = path.partition(".")
        if not dot or scope not in SCOPES:
            raise _error(f"Assignment path must be scoped (payload/vars/meta/error or JSON pointer): {path}")
        keys = rest.split(".")
    for segment in re.split(r"[./]", path.removeprefix("/")):
        if segment in _FORBIDDEN_SEGMENTS:
            raise _error(f"Assignment path contains forbidden segment: {segment}")
    return scope, [key for key in keys if key]


def _index(key: str) -> int | None:
    return int(key) if key.isascii() and key.isdigit() and str(int(key)) == key else None


def _get(container: dict[str, Any] | list[Any], key: str) -> Any:
    if isinstance(container, dict):
        return container.get(key)
    index = _index(key)
    return container[index] if index is not None and index < len(container) else None


def _put(container: dict[str, Any] | list[Any], key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
        return
    index = _index(key)
    if index is None:
        raise _error(f"Assignment path segment {key!r} is not an index into an array")
    container.extend([None] * (index + 1 - len(container)))  # JavaScript leaves holes, JSON shows null
    container[index] = value


def _error(message: str) -> ExpressionError:
    # AlgaPSA throws plain Errors here, which the runtime reports as ActionError.
    return ExpressionError(message, category="ActionError")
