"""What every ``/api/v1`` resource shares: id checks, JSON shapes, pagination, permissions, DB errors."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Mapping

import psycopg
from fastapi import Request
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection, errors as pg_errors, sql
from psycopg.abc import Query
from psycopg.rows import dict_row

from ...auth import Caller, is_uuid
from ...http_errors import V1ApiError
from ..body import json_body

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
_DIGITS = re.compile(r"^[0-9]+$")

_PERMISSION = """
SELECT 1 FROM user_roles ur
JOIN role_permissions rp ON rp.tenant = ur.tenant AND rp.role_id = ur.role_id
JOIN permissions p ON p.tenant = rp.tenant AND p.permission_id = rp.permission_id
WHERE ur.tenant = %s AND ur.user_id = %s AND p.resource = %s AND p.action = %s
LIMIT 1
"""


def resource_id(value: str, resource: str) -> str:
    """The path id, lower-cased; anything but a UUID is ``Invalid <resource> ID format``."""
    if not is_uuid(value):
        raise V1ApiError("VALIDATION_ERROR", f"Invalid {resource} ID format")
    return value.lower()


async def v1_body(request: Request) -> Any:
    """The JSON body (``{}`` when empty); malformed, oversized or too deeply nested bodies are 4xx."""
    try:
        return await json_body(request, v1=True, default={})
    except RecursionError:
        raise V1ApiError("VALIDATION_ERROR", "Invalid JSON body: nested too deeply") from None


def js_iso(moment: datetime) -> str:
    """A timestamp the way AlgaPSA's JSON carries it: UTC, milliseconds, ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def plain(value: Any) -> Any:
    """A database value as node-postgres would put it in JSON (uuid and numeric become strings)."""
    if isinstance(value, datetime):
        return js_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def data_response(data: Any, status: int = 200) -> JSONResponse:
    """``{"data": ...}``, AlgaPSA's success envelope."""
    return JSONResponse({"data": plain(data)}, status_code=status)


def paginated_response(rows: list[dict[str, Any]], total: int, page: int, limit: int) -> JSONResponse:
    """``{"data": [...], "pagination": {...}}`` for list endpoints."""
    pages = -(-total // limit)
    return JSONResponse({"data": plain(rows), "pagination": {
        "page": page, "limit": limit, "total": total, "totalPages": pages,
        "hasNext": page < pages, "hasPrev": page > 1}})


def _positive_int(request: Request, name: str, default: int, maximum: int | None) -> tuple[int, list[dict[str, Any]]]:
    raw = request.query_params.get(name)
    if raw is None:
        return default, []
    if not _DIGITS.match(raw) or not 1 <= int(raw) <= (maximum or int(raw)):
        bound = f" between 1 and {maximum}" if maximum else " of at least 1"
        return default, [{"code": "custom", "path": [name], "message": f"{name} must be an integer{bound}"}]
    return int(raw), []


def list_params(request: Request, filter_names: tuple[str, ...]) -> tuple[int, int, dict[str, str]]:
    """``page`` (default 1), ``limit`` (default 25, at most 100) and UUID equality filters from the query."""
    page, page_issues = _positive_int(request, "page", 1, None)
    limit, limit_issues = _positive_int(request, "limit", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    filters = {n: request.query_params[n] for n in filter_names if request.query_params.get(n)}
    filter_issues = [{"code": "invalid_string", "validation": "uuid", "path": [n], "message": "Invalid uuid"}
                     for n, v in filters.items() if not is_uuid(v)]
    issues = page_issues + limit_issues + filter_issues
    if issues:
        raise V1ApiError("VALIDATION_ERROR", "Query validation failed", issues)
    return page, limit, {n: v.lower() for n, v in filters.items()}


async def has_permission(conn: AsyncConnection, caller: Caller, resource: str, action: str) -> bool:
    """RBAC through user_roles → role_permissions → permissions."""
    cur = await conn.execute(_PERMISSION, (caller.tenant, caller.user_id, resource, action))
    return await cur.fetchone() is not None


async def require_permission(conn: AsyncConnection, caller: Caller, resource: str, action: str) -> None:
    """403 ``FORBIDDEN`` unless the key's user may ``action`` the ``resource``."""
    if not await has_permission(conn, caller, resource, action):
        raise V1ApiError("FORBIDDEN", f"Permission denied: Cannot {action} {resource}")


def from_db_error(exc: psycopg.Error) -> V1ApiError | None:
    """AlgaPSA's mapping of Postgres errors to the v1 envelope; None for errors that stay 500."""
    detail = exc.diag.message_detail
    if isinstance(exc, pg_errors.UniqueViolation):
        return V1ApiError("CONFLICT", "Resource already exists", detail)
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        # A delete blocked by rows that still reference the resource is a conflict, a write naming
        # a row that does not exist (in this tenant) is a bad reference.
        if "still referenced" in (detail or ""):
            return V1ApiError("CONFLICT", "Resource is still referenced by other records", detail)
        return V1ApiError("BAD_REQUEST", "Invalid reference", detail, status=400)
    if isinstance(exc, (pg_errors.DataError, pg_errors.IntegrityError)):
        return V1ApiError("VALIDATION_ERROR", "Validation failed", exc.diag.message_primary)
    return None


async def fetch_one(conn: AsyncConnection, query: Query, params: Any = None) -> dict[str, Any] | None:
    """The first row of ``query`` as a dict, or None."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchone()


async def fetch_all(conn: AsyncConnection, query: Query, params: Any = None) -> list[dict[str, Any]]:
    """Every row of ``query`` as dicts."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()



async def list_resource(request: Request, caller: Caller, *, resource: str, detail: str, table: str,
                        filter_names: tuple[str, ...], order_by: str) -> JSONResponse:
    """A paginated, filtered list of one resource (``detail`` selects it aliased as ``table``'s first letter)."""
    alias = table[0]
    page, limit, filters = list_params(request, filter_names)
    where = sql.SQL("").join(sql.SQL(f" AND {alias}.{{}} = %s").format(sql.Identifier(name)) for name in filters)
    params = (caller.tenant, *filters.values())
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, resource, "read")
        rows = await fetch_all(conn, sql.SQL(detail) + where + sql.SQL(
            f" ORDER BY {order_by} LIMIT %s OFFSET %s"), (*params, limit, (page - 1) * limit))
        total = await fetch_one(conn, sql.SQL(f"SELECT count(*) AS n FROM {table} {alias} WHERE {alias}.tenant = %s")
                                + where, params)
    return paginated_response(rows, total["n"], page, limit)
