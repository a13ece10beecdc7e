"""Event payload schemas for the sandbox: loads ``catalog.json``, renders each ref as a JSON Schema
(draft 2020-12) and validates payloads the way Zod v3 ``safeParse`` does, reporting Zod-style issues.

Catalog layout::

    {"fragments": {Name: Shape}, "refs": {"payload.<Name>.v1": Shape + {"events": [EVENT_NAME, ...]}}}
    Shape = {"extends"?: fragment name, "unknownKeys"?: "strip" | "catchall" | "strict",
             "fields"?: {key: Field}}

Only ``strict`` rejects unknown keys. ``extends`` puts the fragment's fields first; a key declared
again replaces the inherited one in place. Field notation::

    Field = Type [" = " JSON default] ["?"]   "?" marks an optional key; a default also makes it optional
    Type  = Term ("|" Term)*                  several terms form a union; a "null" term makes it nullable
    Term  = string(min=N) | uuid | email | datetime | int(min=N, gt=N) | number(min=N, gt=N) | bool
          | any | literal(JSON) | enum(A|B|...) | array<Type>(min=N) | record<Type> | #Fragment

Parameters in parentheses are optional. ``any`` (``z.unknown()``) also accepts a missing key.
"""
from __future__ import annotations

import copy
import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable, TypeGuard

import fastjsonschema

from .zod import MISSING, Issue, invalid_type, issue
from .zod import Path as IssuePath

__all__ = ["PayloadSchemaRegistry", "default_registry"]

CATALOG_PATH = Path(__file__).with_name("event_catalog.json")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


# Zod's regexes, written in the ECMAScript dialect JSON Schema uses; [0-9] instead of \d keeps
# Python from accepting non-ASCII digits. Key: notation name (also Zod's `validation` value).
_FORMATS: dict[str, tuple[str, str]] = {
    "uuid": ("uuid", r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
    "email": (
        "email",
        r"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$",
    ),
    # UTC "Z" only, optional seconds and fraction, real calendar dates including leap days.
    "datetime": (
        "date-time",
        r"^(([0-9][0-9][2468][048]|[0-9][0-9][13579][26]|[0-9][0-9]0[48]|[02468][048]00|[13579][26]00)-02-29"
        r"|[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)"
        r"|(02)-(0[1-9]|1[0-9]|2[0-8])))T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?(Z)$",
    ),
}
# ECMAScript `$` matches only at the very end; Python's also matches before a final newline.
_MATCHERS: dict[str, Callable[[str], Any]] = {
    name: re.compile(pattern.removesuffix("$") + r"\Z").match for name, (_, pattern) in _FORMATS.items()
}
_UNKNOWN_KEYS = ("strip", "catchall", "strict")
_LITERAL_TYPES = {bool: "boolean", str: "string", int: "integer", float: "number"}
_SHAPE_KEYS = {"extends", "unknownKeys", "fields"}
_TERM = re.compile(r"(#?\w+)\s*(?:<(.+)>)?\s*(?:\((.*)\))?")
_ABORTING_CODES = {"invalid_type", "invalid_enum_value", "invalid_literal", "invalid_union"}


# --- Zod issue helpers -------------------------------------------------------------------------


def _too_small(path: IssuePath, kind: str, minimum: float, inclusive: bool, message: str) -> Issue:
    return issue("too_small", path, message, minimum=minimum, type=kind, inclusive=inclusive, exact=False)


def _join(values: tuple[str, ...] | list[str], separator: str = " | ") -> str:
    return separator.join(f"'{v}'" for v in values)


def _aborts(issue: Issue) -> bool:
    """Whether Zod abandons the value at this issue; refinements (min, format, int) only dirty it."""
    return issue["code"] in _ABORTING_CODES and issue.get("expected") != "integer"


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --- type nodes: each renders JSON Schema and explains failures as Zod issues ------------------


class _Type(ABC):
    @abstractmethod
    def schema(self) -> dict[str, Any]:
        """This type as a fresh JSON Schema dict."""

    @abstractmethod
    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        """Append the Zod issues ``value`` raises (``MISSING`` for an absent key)."""


@dataclass(frozen=True)
class _String(_Type):
    min: int | None = None
    fmt: str | None = None

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.min is not None:
            out["minLength"] = self.min
        if self.fmt:
            out["format"], out["pattern"] = _FORMATS[self.fmt]
        return out

    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        if not isinstance(value, str):
            out.append(invalid_type("string", value, path))
            return
        if self.min is not None and len(value) < self.min:
            message = f"String must contain at least {self.min} character(s)"
            out.append(_too_small(path, "string", self.min, True, message))
        if self.fmt and not _MATCHERS[self.fmt](value):
            out.append(issue("invalid_string", path, f"Invalid {self.fmt}", validation=self.fmt))


@dataclass(frozen=True)
class _Number(_Type):
    integer: bool = False
    min: float | None = None
    gt: float | None = None

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer" if self.integer else "number"}
        if self.min is not None:
            out["minimum"] = self.min
        if self.gt is not None:
            out["exclusiveMinimum"] = self.gt
        return out

    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        if not _is_number(value):
            out.append(invalid_type("number", value, path))
            return
        if self.integer and isinstance(value, float) and not value.is_integer():
            message = "Expected integer, received float"
            out.append(issue("invalid_type", path, message, expected="integer", received="float"))
        if self.min is not None and value < self.min:
            message = f"Number must be greater than or equal to {self.min}"
            out.append(_too_small(path, "number", self.min, True, message))
        if self.gt is not None and value <= self.gt:
            out.append(_too_small(path, "number", self.gt, False, f"Number must be greater than {self.gt}"))


@dataclass(frozen=True)
class _Boolean(_Type):
    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}

    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        if not isinstance(value, bool):
            out.append(invalid_type("boolean", value, path))


@dataclass(frozen=True)
class _Unknown(_Type):
    def schema(self) -> dict[str, Any]:
        return {}

    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        """Anything passes, a missing key included."""


@dataclass(frozen=True)
class _Literal(_Type):
    value: str | int | float | bool

    def schema(self) -> dict[str, Any]:
        return {"type": _LITERAL_TYPES[type(self.value)], "const": self.value}

    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        if value != self.value or isinstance(value, bool) != isinstance(self.value, bool):
            fields = {} if value is MISSING else {"received": value}
            message = f"Invalid literal value, expected {json.dumps(self.value)}"
            out.append(issue("invalid_literal", path, message, **fields, expected=self.value))


@dataclass(frozen=True)
class _Enum(_Type):
    options: tuple[str, ...]

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.options)}

    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        if not isinstance(value, str):
            out.append(invalid_type(_join(self.options), value, path))
        elif value not in self.options:
            message = f"Invalid enum value. Expected {_join(self.options)}, received '{value}'"
            out.append(issue("invalid_enum_value", path, message, received=value, options=list(self.options)))


@dataclass(frozen=True)
class _Array(_Type):
    item: _Type
    min: int | None = None

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.schema()}
        if self.min is not None:
            out["minItems"] = self.min
        return out

    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        if not isinstance(value, list):
            out.append(invalid_type("array", value, path))
            return
        if self.min is not None and len(value) < self.min:
            message = f"Array must contain at least {self.min} element(s)"
            out.append(_too_small(path, "array", self.min, True, message))
        for index, item in enumerate(value):
            self.item.check(item, [*path, index], out)


@dataclass(frozen=True)
class _Record(_Type):
    value: _Type

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": self.value.schema()}

    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        if not isinstance(value, dict):
            out.append(invalid_type("object", value, path))
            return
        for key, item in value.items():
            self.value.check(item, [*path, key], out)


@dataclass(frozen=True)
class _Field:
    name: str
    type: _Type
    required: bool
    default: Any = MISSING

    def schema(self) -> dict[str, Any]:
        out = self.type.schema()
        if self.default is not MISSING:
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class _Object(_Type):
    fields: tuple[_Field, ...]
    strict: bool = False

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "object", "properties": {f.name: f.schema() for f in self.fields}}
        required = [f.name for f in self.fields if f.required]
        if required:
            out["required"] = required
        if self.strict:
            out["additionalProperties"] = False
        return out

    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        if not isinstance(value, dict):
            out.append(invalid_type("object", value, path))
            return
        for field in self.fields:
            if field.name in value:
                field.type.check(value[field.name], [*path, field.name], out)
            elif field.required:
                field.type.check(MISSING, [*path, field.name], out)
        if self.strict:
            known = {f.name for f in self.fields}
            extra = [key for key in value if key not in known]
            if extra:
                message = f"Unrecognized key(s) in object: {_join(extra, ', ')}"
                out.append(issue("unrecognized_keys", path, message, keys=extra))


@dataclass(frozen=True)
class _Nullable(_Type):
    inner: _Type

    def schema(self) -> dict[str, Any]:
        out = self.inner.schema()
        if isinstance(out.get("type"), str) and "const" not in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
            return out
        return {"anyOf": [out, {"type": "null"}]}

    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        if value is not None:
            self.inner.check(value, path, out)


@dataclass(frozen=True)
class _Union(_Type):
    options: tuple[_Type, ...]

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [option.schema() for option in self.options]}

    def check(self, value: object, path: IssuePath, out: list[Issue]) -> None:
        results: list[list[Issue]] = []
        for option in self.options:
            issues: list[Issue] = []
            option.check(value, path, issues)
            if not issues:
                return
            results.append(issues)
        # Zod prefers an option that failed only refinements ("dirty") over an invalid_union.
        dirty = next((issues for issues in results if not any(map(_aborts, issues))), None)
        if dirty is not None:
            out.extend(dirty)
            return
        union_errors = [{"issues": issues, "name": "ZodError"} for issues in results]
        out.append(issue("invalid_union", path, "Invalid input", unionErrors=union_errors))


# --- catalog parsing ---------------------------------------------------------------------------


def _split_top(text: str, separator: str, maxsplit: int = -1) -> list[str]:
    """Split on ``separator`` outside <...> and (...), at most ``maxsplit`` times if >= 0."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "<(":
            depth += 1
        elif char in ">)":
            depth -= 1
        elif char == separator and depth == 0 and len(parts) != maxsplit:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return parts


def _params(args: str | None, allowed: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for part in _split_top(args, ",") if args else []:
        key, _, raw = part.partition("=")
        key = key.strip()
        if key not in allowed or not raw:
            raise ValueError(f"unsupported parameter {part!r} (allowed: {', '.join(allowed)})")
        params[key] = json.loads(raw)
    return params


class _Parser:
    """Turns catalog declarations into type nodes, resolving fragments once each."""

    def __init__(self, fragments: dict[str, Any]) -> None:
        self._declarations = fragments
        self._fragments: dict[str, _Object] = {}

    def fragment(self, name: str) -> _Object:
        if name not in self._fragments:
            if name not in self._declarations:
                raise ValueError(f"unknown fragment {name!r}")
            self._fragments[name] = self.shape(self._declarations[name])
        return self._fragments[name]

    def shape(self, declaration: dict[str, Any]) -> _Object:
        unexpected = declaration.keys() - _SHAPE_KEYS
        if unexpected:
            raise ValueError(f"unexpected keys {sorted(unexpected)}")
        mode = declaration.get("unknownKeys", "strip")
        if mode not in _UNKNOWN_KEYS:
            raise ValueError(f"unknownKeys must be one of {_UNKNOWN_KEYS}, not {mode!r}")
        fields: dict[str, _Field] = {}
        if "extends" in declaration:
            fields.update((f.name, f) for f in self.fragment(declaration["extends"]).fields)
        for name, spec in declaration.get("fields", {}).items():
            try:
                fields[name] = self.field(name, spec)
            except ValueError as error:  # json.JSONDecodeError included
                raise ValueError(f"field {name!r}: {error}") from None
        return _Object(tuple(fields.values()), strict=mode == "strict")

    def field(self, name: str, spec: str) -> _Field:
        text = spec.strip()
        optional = text.endswith("?")
        type_text, *default = _split_top(text.removesuffix("?"), "=", maxsplit=1)
        node = self.type(type_text)
        if default:
            return _Field(name, node, required=False, default=json.loads(default[0]))
        return _Field(name, node, required=not optional and not isinstance(node, _Unknown))

    def type(self, text: str) -> _Type:
        terms = _split_top(text, "|")
        options = tuple(self.term(term) for term in terms if term != "null")
        if not options:
            raise ValueError(f"bad type {text!r}")
        node = options[0] if len(options) == 1 else _Union(options)
        return _Nullable(node) if "null" in terms else node

    def term(self, text: str) -> _Type:
        match = _TERM.fullmatch(text)
        if not match:
            raise ValueError(f"bad type {text!r}")
        name, inner, args = match.groups()
        if (inner is not None) != (name in ("array", "record")):
            raise ValueError(f"{text!r}: only array<...> and record<...> take a type argument")
        if name.startswith("#"):
            return self.fragment(name[1:])
        if name == "string":
            return _String(**_params(args, ("min",)))
        if name in _FORMATS:
            return _String(fmt=name)
        if name in ("int", "number"):
            return _Number(integer=name == "int", **_params(args, ("min", "gt")))
        if name == "bool":
            return _Boolean()
        if name == "any":
            return _Unknown()
        if name == "literal" and args:
            value = json.loads(args)
            if type(value) not in _LITERAL_TYPES:
                raise ValueError(f"{text!r}: a literal is a JSON string, number or boolean")
            return _Literal(value)
        if name == "enum" and args:
            return _Enum(tuple(option.strip() for option in args.split("|")))
        if name == "array":
            return _Array(self.type(inner), **_params(args, ("min",)))
        if name == "record":
            return _Record(self.type(inner))
        raise ValueError(f"unknown type {text!r}")


# --- the registry ------------------------------------------------------------------------------


class PayloadSchemaRegistry:
    """Payload refs, the events that map to them, their JSON Schemas and Zod-compatible validation."""

    def __init__(self, catalog: dict[str, Any]) -> None:
        """Parse ``catalog`` (the ``catalog.json`` layout) and render every ref's JSON Schema."""
        parser = _Parser(catalog.get("fragments", {}))
        self._types: dict[str, _Object] = {}
        self._schemas: dict[str, dict[str, Any]] = {}
        self._events: dict[str, str] = {}
        self._checks: dict[str, Callable[[Any], Any]] = {}
        for ref, declaration in catalog["refs"].items():
            shape = {k: v for k, v in declaration.items() if k != "events"}
            try:
                node = parser.shape(shape)
            except ValueError as error:
                raise ValueError(f"{ref}: {error}") from None
            self._types[ref] = node
            self._schemas[ref] = {"$schema": JSON_SCHEMA_DIALECT, "title": ref, **node.schema()}
            events = declaration.get("events", [])
            if isinstance(events, str):
                raise ValueError(f"{ref}: events must be a list")
            for event in events:
                if event in self._events:
                    raise ValueError(f"{ref}: event {event} is already mapped to {self._events[event]}")
                self._events[event] = ref

    @classmethod
    def from_file(cls, path: IssuePath = CATALOG_PATH) -> PayloadSchemaRegistry:
        """Load a catalog file (the bundled ``catalog.json`` by default)."""
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def has(self, ref: str) -> bool:
        """Whether ``ref`` is registered."""
        return ref in self._schemas

    def refs(self) -> list[str]:
        """All registered refs, sorted."""
        return sorted(self._schemas)

    def events(self) -> dict[str, str]:
        """Event name -> ref, for every event that has a default ref."""
        return dict(self._events)

    def ref_for_event(self, event_name: str) -> str | None:
        """The ref an event's payload is checked against, or None."""
        return self._events.get(event_name)

    def json_schema(self, ref: str) -> dict[str, Any]:
        """A copy of the ref's JSON Schema (draft 2020-12). Raises KeyError for an unknown ref."""
        return copy.deepcopy(self._schemas[ref])

    def validate(self, ref: str, payload: object) -> list[Issue]:
        """Zod v3 issues for ``payload`` against ``ref``; [] when it is valid. KeyError for an unknown ref.

        fastjsonschema gives the verdict (the common, valid case costs a few microseconds); only a
        rejected payload is walked again to explain it as Zod would.
        """
        check = self._checks.get(ref)
        if check is None:
            check = self._checks[ref] = fastjsonschema.compile(
                self._schemas[ref], use_default=False, use_formats=False
            )
        try:
            check(payload)
        except fastjsonschema.JsonSchemaValueException:
            issues: list[Issue] = []
            self._types[ref].check(payload, [], issues)
            return issues
        return []


@cache
def default_registry() -> PayloadSchemaRegistry:
    """The process-wide registry built from the bundled catalog."""
    return PayloadSchemaRegistry.from_file()
