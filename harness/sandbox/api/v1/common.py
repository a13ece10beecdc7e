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
from ..body import parse_json_like_node, read_limited

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
_DIGITS = re.compile(r"^[0-9]+$")
UNEXPECTED_ERROR = "An unexpected error occurred"

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
    """The body as AlgaPSA's base controllers read it (``req.json().catch(() => ({}))``): an empty or
    malformed body counts as ``{}``. Oversized bodies are still refused (413)."""
    try:
        return parse_json_like_node(await read_limited(request, v1=True))
    except ValueError:
        return {}


async def v1_strict_body(request: Request) -> Any:
    """The body as AlgaPSA's hand-written ticket handlers read it (a bare ``req.json()``): an empty or
    malformed body is an unexpected error, 500 ``INTERNAL_ERROR``."""
    try:
        return parse_json_like_node(await read_limited(request, v1=True))
    except ValueError:
        raise unexpected_error() from None


def unexpected_error() -> V1ApiError:
    """``handleApiError``'s production body for an unmapped server error: 500 ``INTERNAL_ERROR``."""
    return V1ApiError("INTERNAL_ERROR", UNEXPECTED_ERROR)


def field_error(name: str, message: str) -> V1ApiError:
    """400 ``Validation failed`` with one issue on the body or query field ``name``."""
    return V1ApiError("VALIDATION_ERROR", "Validation failed", [{"path": [name], "message": message}])


def lower_ids(body: dict[str, Any], id_fields: tuple[str, ...]) -> dict[str, Any]:
    """``body`` with the string values of ``id_fields`` lower-cased, as Postgres hands uuids back."""
    return {k: v.lower() if k in id_fields and isinstance(v, str) else v for k, v in body.items()}


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


def paginated_response(rows: list[dict[str, Any]], total: int, page: int, limit: int,
                       meta: dict[str, Any] | None = None) -> JSONResponse:
    """``{"data": [...], "pagination": {...}[, "meta": {...}]}`` for list endpoints."""
    pages = -(-total // limit)
    body = {"data": plain(rows), "pagination": {
        "page": page, "limit": limit, "total": total, "totalPages": pages,
        "hasNext": page < pages, "hasPrev": page > 1}}
    return JSONResponse(body if meta is None else {**body, "meta": plain(meta)})


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


def _with_detail(code: str, message: str, detail: str | None, status: int | None = None) -> V1ApiError:
    return V1ApiError(code, message, status=status) if detail is None else V1ApiError(code, message, detail, status)


def from_db_error(exc: psycopg.Error) -> V1ApiError:
    """``handleApiError``'s mapping of a Postgres error to the v1 envelope; anything unmapped is a 500."""
    detail = exc.diag.message_detail
    if isinstance(exc, pg_errors.UniqueViolation):
        return _with_detail("CONFLICT", "Resource already exists", detail)
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return _with_detail("BAD_REQUEST", "Invalid reference", detail, status=400)
    if isinstance(exc, pg_errors.UndefinedColumn):
        return V1ApiError("INTERNAL_CONFIGURATION",
                          "The server is misconfigured for this operation. Please contact support.", status=500)
    return unexpected_error()


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


async def insert_row(conn: AsyncConnection, table: str, columns: Mapping[str, Any]) -> dict[str, Any]:
    """``INSERT INTO table (columns) VALUES (...) RETURNING *``: the new row."""
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    return await fetch_one(conn, query, tuple(columns.values()))


async def update_row(conn: AsyncConnection, table: str, tenant: str, key: str, value: Any,
                     columns: Mapping[str, Any]) -> dict[str, Any] | None:
    """Write ``columns`` (their names as given, unchecked) to the tenant's row whose ``key`` is ``value``;
    the updated row, or None when there is none."""
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(name)) for name in columns)
    query = sql.SQL("UPDATE {} SET {} WHERE tenant = %s AND {} = %s RETURNING *").format(
        sql.Identifier(table), assignments, sql.Identifier(key))
    return await fetch_one(conn, query, (*columns.values(), tenant, value))
