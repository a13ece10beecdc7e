"""Query strings checked like AlgaPSA's zod query schemas (``server/src/lib/api/schemas/common.ts``).

Every value arrives as a string; a field parser turns it into the schema's output value and reports
Zod issues. Keys the schema does not name are stripped, as a zod object does. When a key repeats,
the last value counts (the controllers copy ``searchParams`` into an object).
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping

from fastapi import Request

from ....contract.event_payloads import PayloadSchemaRegistry
from ....contract.zod import MISSING, Issue, invalid_type, issue
from ...http_errors import V1ApiError

Parser = Callable[[Any, list[str | int]], tuple[Any, list[Issue]]]
"""(raw value, issue path) -> (parsed value, issues)."""

_JS_INT = re.compile(r"[\s\ufeff]*([+-]?)(?:0[xX]([0-9a-fA-F]+)|([0-9]+))")
_JS_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_JS_RADIX = re.compile(r"0([xXoObB])([0-9a-fA-F]+)")
# the payload catalog's Zod-compatible checks, one ref per string format
_STRINGS = PayloadSchemaRegistry({"refs": {kind: {"fields": {"v": kind}} for kind in ("string", "uuid", "datetime")}})


def _checked(kind: str) -> Parser:
    def parse(raw: Any, path: list[str | int]) -> tuple[Any, list[Issue]]:
        found = _STRINGS.validate(kind, {} if raw is MISSING else {"v": raw})
        return raw, [{**one, "path": [*path, *one["path"][1:]]} for one in found]
    return parse


text = _checked("string")
"""``z.string()``."""
uuid = _checked("uuid")
"""``z.string().uuid()``."""
datetime = _checked("datetime")
"""``z.string().datetime()``: ISO 8601 in UTC with a ``Z``."""


def boolean(raw: Any, path: list[str | int]) -> tuple[Any, list[Issue]]:
    """``booleanTransform``: exactly ``true`` or ``false``."""
    if raw in ("true", "false"):
        return raw == "true", []
    return None, [issue("custom", path, "Invalid boolean value")]


def is_true(raw: Any, path: list[str | int]) -> tuple[Any, list[Issue]]:
    """``z.string().transform(val => val === 'true')``."""
    return raw == "true", []


def choice(*options: str) -> Parser:
    """``z.enum([...])``."""
    def parse(raw: Any, path: list[str | int]) -> tuple[Any, list[Issue]]:
        if raw in options:
            return raw, []
        listed = " | ".join(f"'{o}'" for o in options)
        return None, [issue("invalid_enum_value", path, f"Invalid enum value. Expected {listed}, received '{raw}'",
                            received=raw, options=list(options))]
    return parse


def js_parse_int(raw: str) -> int | None:
    """JavaScript ``parseInt(raw)``; None for NaN."""
    match = _JS_INT.match(raw)
    if not match:
        return None
    sign, hexadecimal, decimal = match.groups()
    value = int(hexadecimal, 16) if hexadecimal else int(decimal)
    return -value if sign == "-" else value


def js_number(raw: str) -> float | None:
    """JavaScript ``Number(raw)`` for decimal, hex, octal and binary literals; None for NaN."""
    text = raw.strip()
    if not text:
        return 0.0
    if _JS_DECIMAL.fullmatch(text):
        return float(text)
    radix = _JS_RADIX.fullmatch(text)
    try:
        return float(int(radix.group(2), {"x": 16, "o": 8, "b": 2}[radix.group(1).lower()])) if radix else None
    except ValueError:  # a digit outside the radix
        return None


def integer(minimum: int, maximum: int | None = None) -> Parser:
    """``z.string().transform(parseInt).pipe(z.number().min(minimum).max(maximum))``."""
    def parse(raw: Any, path: list[str | int]) -> tuple[Any, list[Issue]]:
        value = js_parse_int(raw)
        if value is None:
            return None, [issue("invalid_type", path, "Expected number, received nan", expected="number",
                                received="nan")]
        if value < minimum:
            return value, [issue("too_small", path, f"Number must be greater than or equal to {minimum}",
                                 minimum=minimum, type="number", inclusive=True, exact=False)]
        if maximum is not None and value > maximum:
            return value, [issue("too_big", path, f"Number must be less than or equal to {maximum}",
                                 maximum=maximum, type="number", inclusive=True, exact=False)]
        return value, []
    return parse


def listed(item: Parser) -> Parser:
    """``arrayTransform(item)``: a JSON array, else comma-separated values, each checked by ``item``."""
    def parse(raw: Any, path: list[str | int]) -> tuple[Any, list[Issue]]:
        try:
            values = json.loads(raw)
        except ValueError:
            values = None
        if not isinstance(values, list):
            values = [part.strip() for part in raw.split(",")]
        found: list[Issue] = []
        for index, value in enumerate(values):
            found += item(value, [*path, index])[1]
        return values, found
    return parse


def array_or_listed(item: Parser) -> Parser:
    """``z.union([z.array(item), arrayTransform(item)])``: a query string can only be the second, so
    item errors Zod cannot recover from become the union's ``Invalid input``."""
    inner = listed(item)

    def parse(raw: Any, path: list[str | int]) -> tuple[Any, list[Issue]]:
        values, found = inner(raw, path)
        if not any(one["code"] in ("invalid_type", "invalid_enum_value") for one in found):
            return values, found
        return None, [issue("invalid_union", path, "Invalid input", unionErrors=[
            {"issues": [invalid_type("array", raw, path)], "name": "ZodError"}, {"issues": found, "name": "ZodError"}])]
    return parse


def parse_query(request: Request, schema: Mapping[str, Parser | tuple[Parser, str]]) -> dict[str, Any]:
    """The query's known keys, parsed in schema order (a ``(parser, default)`` pair gives an absent key
    its default string, or marks it required with ``MISSING``); 400 ``Query validation failed`` with every issue."""
    params = request.query_params
    values: dict[str, Any] = {}
    found: list[Issue] = []
    for name, field in schema.items():
        parser, default = field if isinstance(field, tuple) else (field, None)
        raw = params.getlist(name)[-1] if name in params else default
        if raw is None:
            continue
        values[name], issues = parser(raw, [name])
        found += issues
    if found:
        raise V1ApiError("VALIDATION_ERROR", "Query validation failed", found)
    return values
