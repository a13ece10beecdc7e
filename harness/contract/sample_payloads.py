"""Sample event payloads for new fixtures, built from a payload schema's required fields.

The result is Python *source* for the trigger cell, so every run gets fresh ids and timestamps:
uuid fields become ``str(uuid.uuid4())`` (the first one is the correlation ``key``), date-times
``now``, enums their first value, strings a readable ``fixture-<field>`` text.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import FixtureError

# Filled in by the server before validation (the event route's enrichment), so fixtures omit them.
SERVER_FILLED = frozenset({"tenantId", "occurredAt", "actorType", "actorUserId", "actorContactId"})
KEY_VAR = "key"
NOW_VAR = "now"
NOW_PRELUDE = ("from datetime import datetime, timezone\n\n"
               f'{NOW_VAR} = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")')


class _Code(str):
    """A Python expression to emit verbatim (not as a string literal)."""


@dataclass(frozen=True)
class SamplePayload:
    """Python source of a payload dict, the lines it needs first, and its facts."""

    source: str
    prelude: str
    key_field: str | None  # the payload field that carries the correlation key, if any
    required_field: str  # the first required field a fixture must send


class _Builder:
    def __init__(self) -> None:
        self.key_field: str | None = None
        self.uses_now = False

    def value(self, name: str, schema: dict[str, Any], top: bool) -> Any:
        if "const" in schema:
            return schema["const"]
        if "anyOf" in schema:
            options = [o for o in schema["anyOf"] if o.get("type") != "null"]
            return self.value(name, options[0], top)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next(k for k in kind if k != "null")
        if "enum" in schema:
            return next(v for v in schema["enum"] if v is not None)
        if kind == "string":
            return self.string(name, schema, top)
        if kind in ("integer", "number"):
            if "minimum" in schema:
                return schema["minimum"]
            return schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else 1
        if kind == "boolean":
            return False
        if kind == "array":
            return [self.value(name, schema.get("items", {}), False) for _ in range(schema.get("minItems", 0))]
        if kind == "object":
            return self.object(schema, top=False)
        return None

    def string(self, name: str, schema: dict[str, Any], top: bool) -> Any:
        fmt = schema.get("format")
        if fmt == "uuid":
            if top and self.key_field is None:
                self.key_field = name
                return _Code(KEY_VAR)
            return _Code("str(uuid.uuid4())")
        if fmt == "date-time":
            self.uses_now = True
            return _Code(NOW_VAR)
        if fmt == "email":
            return "fixture@example.com"
        if name == "tenant":
            return _Code("fx.tenant_id")
        text = f"fixture-{name}"
        return text.ljust(schema.get("minLength", 0), "x")

    def object(self, schema: dict[str, Any], *, top: bool) -> dict[str, Any]:
        properties = schema.get("properties", {})
        return {name: self.value(name, properties[name], top)
                for name in schema.get("required", []) if not (top and name in SERVER_FILLED)}


def _render(value: Any, indent: int = 0) -> str:
    if isinstance(value, _Code):
        return str(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        pad = " " * (indent + 4)
        items = [f"{pad}{json.dumps(k)}: {_render(v, indent + 4)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v, indent) for v in value) + "]"
    if value is None or isinstance(value, bool):
        return repr(value)
    return json.dumps(value)


def sample_payload(schema: dict[str, Any]) -> SamplePayload:
    """Python source for a minimal valid payload of ``schema`` (a payload ref's JSON Schema)."""
    required = [name for name in schema.get("required", []) if name not in SERVER_FILLED]
    if not required:
        raise FixtureError(f"{schema.get('title', 'the schema')} has no required payload field to build on")
    builder = _Builder()
    payload = builder.object(schema, top=True)
    return SamplePayload(source=_render(payload), prelude=NOW_PRELUDE if builder.uses_now else "",
                         key_field=builder.key_field, required_field=required[0])
