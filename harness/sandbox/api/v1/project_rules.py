"""What AlgaPSA's project routes do beyond plain CRUD, shared by the project, phase and task modules.

Several of those routes hand path ids and body keys to Postgres unchecked; the sandbox does the same,
so a bad id or a key that is no column fails there and ``from_db_error`` answers AlgaPSA's 500s.
Child rows of projects, phases and tasks are kept by foreign keys without cascade, so deleting a
parent that still has them answers ``handleApiError``'s foreign-key envelope (400 ``Invalid
reference``). The sandbox's own schema cascades (its SQL cleanups rely on that), so these routes
check for the blocking rows themselves.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from psycopg import AsyncConnection, sql

from ...auth import is_uuid
from ...http_errors import V1ApiError
from .common import unexpected_error
from .validation import BodySchema

# Base-62 digits of the fractional-indexing keys AlgaPSA orders phases and tasks with.
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LEADING_INT = re.compile(r"\s*[+-]?[0-9]+")


def raw_id(value: str) -> str:
    """A path id the route passes to Postgres unchecked: anything but a UUID fails there (500)."""
    if not is_uuid(value):
        raise unexpected_error()
    return value.lower()


def parse_body(schema: BodySchema, body: Any, required: Mapping[str, str]) -> dict[str, Any]:
    """``schema.parse`` with the schema's own message for each empty required string."""
    found = schema.issues(body)
    for item in found:
        if item["code"] == "too_small" and item.get("type") == "string" and item["path"][0] in required:
            item["message"] = required[item["path"][0]]
    return schema.accept(body, found)


def optional(fields: Mapping[str, str]) -> dict[str, str]:
    """Zod's ``.partial()``: every field optional (defaults no longer apply)."""
    return {key: kind.split(" = ")[0].removesuffix("?") + "?" for key, kind in fields.items()}


async def ensure_unreferenced(conn: AsyncConnection, tenant: str, key: str, value: str,
                              referrers: tuple[tuple[str, str], ...]) -> None:
    """400 ``Invalid reference`` when a ``(table, column)`` of ``referrers`` still points at the row."""
    for table, column in referrers:
        cur = await conn.execute(sql.SQL("SELECT 1 FROM {} WHERE tenant = %s AND {} = %s LIMIT 1").format(
            sql.Identifier(table), sql.Identifier(column)), (tenant, value))
        if await cur.fetchone() is not None:
            detail = f'Key (tenant, {key})=({tenant}, {value}) is still referenced from table "{table}".'
            raise V1ApiError("BAD_REQUEST", "Invalid reference", detail, status=400)


def key_after(last: str | None) -> str:
    """The fractional-indexing key after ``last`` (``generateKeyBetween(last, null)``); ``a0`` first."""
    if not last:
        return "a0"
    head = last[0]
    size = ord(head) - ord("a") + 2 if head >= "a" else ord("Z") - ord(head) + 2
    digits = list(last[1:size])
    for i in reversed(range(len(digits))):
        position = _DIGITS.index(digits[i]) + 1
        if position < len(_DIGITS):
            digits[i] = _DIGITS[position]
            return head + "".join(digits)
        digits[i] = _DIGITS[0]
    if head == "Z":
        return "a0"
    grown = chr(ord(head) + 1)
    return grown + "".join(digits + [_DIGITS[0]] if grown > "a" else digits[:-1])


async def require_project(conn: AsyncConnection, tenant: str, project_id: str) -> dict[str, Any]:
    """The project row; 404 ``Project not found``."""
    cur = await conn.execute("SELECT project_id, wbs_code FROM projects WHERE tenant = %s AND project_id = %s",
                             (tenant, project_id))
    row = await cur.fetchone()
    if row is None:
        raise V1ApiError("NOT_FOUND", "Project not found")
    return {"project_id": str(row[0]), "wbs_code": row[1]}


async def project_of_phase(conn: AsyncConnection, tenant: str, phase_id: str) -> str:
    """The phase's project id; 404 ``Project phase not found``."""
    cur = await conn.execute("SELECT project_id FROM project_phases WHERE tenant = %s AND phase_id = %s",
                             (tenant, phase_id))
    row = await cur.fetchone()
    if row is None:
        raise V1ApiError("NOT_FOUND", "Project phase not found")
    return str(row[0])


def next_wbs(prefix: str, codes: list[str]) -> str:
    """``<prefix>.<n>``, n one above the highest numeric last segment among ``codes`` (JS ``parseInt``)."""
    numbers = [int(m.group()) for code in codes if (m := _LEADING_INT.match(code.split(".")[-1]))]
    return f"{prefix}.{max(numbers, default=0) + 1}"
