"""Zod-style schemas for action inputs and outputs.

AlgaPSA validates action input and output with zod objects in "strip" mode: unknown keys are
dropped, ``.default()`` values filled in, and every problem reported as a zod issue. These small
declarative schemas do the same and report the same issues (codes, fields, messages).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable
from urllib.parse import urlsplit

from ..runtime.schema import MISSING, Issue, Path, invalid_type, issue

_FORMATS: dict[str, re.Pattern[str]] = {
    "uuid": re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
    "datetime": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"),
    "email": re.compile(r"^(?!\.)(?!.*\.\.)([A-Z0-9_+\-.]*)[A-Z0-9_+-]@([A-Z0-9][A-Z0-9\-]*\.)+[A-Z]{2,}$",
                        re.IGNORECASE),
}
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
_SPECIAL_SCHEMES = ("http", "https", "ws", "wss", "ftp", "file")


class SchemaError(Exception):
    """Validation failed; ``issues`` are zod issue objects."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues[0]["message"] if issues else "Validation failed")
        self.issues = issues


@dataclass(frozen=True, kw_only=True)
class Schema:
    """Base schema: ``optional()``, ``default(v)`` and ``nullable()`` wrap a concrete check."""

    is_optional: bool = False
    default_value: Any = MISSING
    is_nullable: bool = False
    expected = "unknown"

    def optional(self) -> "Schema":
        return replace(self, is_optional=True)

    def default(self, value: Any) -> "Schema":
        return replace(self, default_value=value)

    def nullable(self) -> "Schema":
        return replace(self, is_nullable=True)

    def parse(self, value: Any) -> Any:
        """The parsed value; raises :class:`SchemaError` with every issue found."""
        issues: list[Issue] = []
        result, _ = self.check(value, [], issues)
        if issues:
            raise SchemaError(issues)
        return result

    def check(self, value: Any, path: Path, issues: list[Issue]) -> tuple[Any, bool]:
        """Parse ``value`` at ``path``, appending issues; returns (value, aborted)."""
        if value is MISSING:
            if self.default_value is not MISSING:
                value = copy.deepcopy(self.default_value)
            elif self.is_optional:
                return MISSING, False
            else:
                issues.append(invalid_type(self.expected, MISSING, path))
                return MISSING, True
        if value is None and self.is_nullable:
            return None, False
        return self._check(value, path, issues)

    def _check(self, value: Any, path: Path, issues: list[Issue]) -> tuple[Any, bool]:
        return value, False


@dataclass(frozen=True, kw_only=True)
class Str(Schema):
    """``z.string()`` with optional ``min(n)`` and a format (uuid, email, datetime, url)."""

    min_len: int | None = None
    fmt: str | None = None
    expected = "string"

    def _check(self, value: Any, path: Path, issues: list[Issue]) -> tuple[Any, bool]:
        if not isinstance(value, str):
            issues.append(invalid_type("string", value, path))
            return value, True
        if self.min_len is not None and len(value) < self.min_len:
            issues.append(issue("too_small", path, f"String must contain at least {self.min_len} character(s)",
                                minimum=self.min_len, type="string", inclusive=True, exact=False))
        if self.fmt is not None and not _matches_format(self.fmt, value):
            issues.append(issue("invalid_string", path, f"Invalid {self.fmt}", validation=self.fmt))
        return value, False


def _matches_format(fmt: str, value: str) -> bool:
    if fmt != "url":
        return bool(_FORMATS[fmt].match(value))
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    if not parts.scheme or not _URL_SCHEME.match(parts.scheme):
        return False
    return bool(parts.netloc) if parts.scheme.lower() in _SPECIAL_SCHEMES else bool(value.split(":", 1)[1])


@dataclass(frozen=True, kw_only=True)
class Int(Schema):
    """``z.number().int()`` with optional ``positive()``, ``min(n)`` and ``max(n)``."""

    positive: bool = False
    minimum: int | None = None
    maximum: int | None = None
    expected = "number"

    def _check(self, value: Any, path: Path, issues: list[Issue]) -> tuple[Any, bool]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            issues.append(invalid_type("number", value, path))
            return value, True
        if isinstance(value, float) and not value.is_integer():
            issues.append(issue("invalid_type", path, "Expected integer, received float", expected="integer",
                                received="float"))
        elif isinstance(value, float):
            value = int(value)
        if self.positive and value <= 0:
            issues.append(issue("too_small", path, "Number must be greater than 0", minimum=0, type="number",
                                inclusive=False, exact=False))
        if self.minimum is not None and value < self.minimum:
            issues.append(issue("too_small", path, f"Number must be greater than or equal to {self.minimum}",
                                minimum=self.minimum, type="number", inclusive=True, exact=False))
        if self.maximum is not None and value > self.maximum:
            issues.append(issue("too_big", path, f"Number must be less than or equal to {self.maximum}",
                                maximum=self.maximum, type="number", inclusive=True, exact=False))
        return value, False


@dataclass(frozen=True, kw_only=True)
class Bool(Schema):
    expected = "boolean"

    def _check(self, value: Any, path: Path, issues: list[Issue]) -> tuple[Any, bool]:
        if not isinstance(value, bool):
            issues.append(invalid_type("boolean", value, path))
            return value, True
        return value, False


@dataclass(frozen=True, kw_only=True)
class Enum(Schema):
    """``z.enum([...])``."""

    options: tuple[str, ...] = ()

    @property
    def expected(self) -> str:  # type: ignore[override]
        return " | ".join(f"'{option}'" for option in self.options)

    def _check(self, value: Any, path: Path, issues: list[Issue]) -> tuple[Any, bool]:
        if not isinstance(value, str):
            issues.append(invalid_type(self.expected, value, path))
            return value, True
        if value not in self.options:
            issues.append(issue("invalid_enum_value", path,
                                f"Invalid enum value. Expected {self.expected}, received '{value}'",
                                options=list(self.options), received=value))
            return value, True
        return value, False


@dataclass(frozen=True, kw_only=True)
class Arr(Schema):
    """``z.array(item)`` with optional ``min(n)``."""

    item: Schema = field(default_factory=Schema)
    min_len: int | None = None
    expected = "array"

    def _check(self, value: Any, path: Path, issues: list[Issue]) -> tuple[Any, bool]:
        if not isinstance(value, list):
            issues.append(invalid_type("array", value, path))
            return value, True
        if self.min_len is not None and len(value) < self.min_len:
            issues.append(issue("too_small", path, f"Array must contain at least {self.min_len} element(s)",
                                minimum=self.min_len, type="array", inclusive=True, exact=False))
        parsed, aborted = [], False
        for index, item in enumerate(value):
            result, failed = self.item.check(item, [*path, index], issues)
            parsed.append(result)
            aborted = aborted or failed
        return parsed, aborted


@dataclass(frozen=True, kw_only=True)
class Record(Schema):
    """``z.record(z.unknown())``: any JSON object, values kept as they are."""

    expected = "object"

    def _check(self, value: Any, path: Path, issues: list[Issue]) -> tuple[Any, bool]:
        if not isinstance(value, dict):
            issues.append(invalid_type("object", value, path))
            return value, True
        return dict(value), False


@dataclass(frozen=True)
class Refine:
    """An object-level ``.refine(predicate, {message, path})``, run on the parsed object."""

    predicate: Callable[[dict[str, Any]], bool]
    message: str
    path: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Obj(Schema):
    """``z.object({...})``: strip unknown keys (or reject them when ``strict``), then refinements."""

    fields: dict[str, Schema] = field(default_factory=dict)
    strict: bool = False
    refinements: tuple[Refine, ...] = ()
    expected = "object"

    def _check(self, value: Any, path: Path, issues: list[Issue]) -> tuple[Any, bool]:
        if not isinstance(value, dict):
            issues.append(invalid_type("object", value, path))
            return value, True
        parsed: dict[str, Any] = {}
        aborted = False
        for key, schema in self.fields.items():
            result, failed = schema.check(value.get(key, MISSING), [*path, key], issues)
            if result is not MISSING:
                parsed[key] = result
            aborted = aborted or failed
        extra = [key for key in value if key not in self.fields]
        if self.strict and extra:
            keys = ", ".join(f"'{key}'" for key in extra)
            issues.append(issue("unrecognized_keys", path, f"Unrecognized key(s) in object: {keys}", keys=extra))
        if not aborted:
            for rule in self.refinements:
                if not rule.predicate(parsed):
                    issues.append(issue("custom", [*path, *rule.path], rule.message))
        return parsed, aborted


UUID = Str(fmt="uuid")
DATETIME = Str(fmt="datetime")
