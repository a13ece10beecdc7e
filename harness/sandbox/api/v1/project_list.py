"""``GET /api/v1/projects``: AlgaPSA's filters, ``sort``/``order``, pagination and ``meta``."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from psycopg import sql

from ...auth import Caller, is_uuid, v1_caller
from ...http_errors import V1ApiError
from .common import fetch_all, fetch_one, list_params, paginated_response, require_permission
from .projects import STATUS_NAMES

router = APIRouter(prefix="/projects")

_ID_FILTERS = ("client_id", "assigned_to", "contact_name_id")
_FLAGS = ("is_inactive", "has_assignment")


def _query(request: Request) -> tuple[str, str, dict[str, Any]]:
    """``sort``, ``order`` and the filters as AlgaPSA's query schema leaves them; 400 when one is invalid."""
    params, issues = request.query_params, []
    filters: dict[str, Any] = {}
    for name in ("search", "project_name"):
        if name in params:
            filters[name] = params[name]
    status = params.get("status")
    if status is not None:
        if not is_uuid(status) and status not in STATUS_NAMES:
            issues.append({"code": "invalid_union", "path": ["status"], "message": "Invalid input"})
        filters["status"] = status
    for name in _FLAGS:
        if name in params:
            if params[name] not in ("true", "false"):
                issues.append({"code": "custom", "path": [name], "message": "Invalid boolean value"})
            filters[name] = params[name] == "true"
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        issues.append({"received": order, "code": "invalid_enum_value", "options": ["asc", "desc"], "path": ["order"],
                       "message": f"Invalid enum value. Expected 'asc' | 'desc', received '{order}'"})
    if issues:
        raise V1ApiError("VALIDATION_ERROR", "Query validation failed", issues)
    return params.get("sort", "created_at"), order, filters


@router.get("")
async def list_projects(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "read")
        page, limit, ids = list_params(request, _ID_FILTERS)
        sort, order, filters = _query(request)
        # as in AlgaPSA, an unknown sort column or a status name (against the uuid column) fails in Postgres
        where, params = [sql.SQL("tenant = %s")], [caller.tenant]
        for name, value in {**ids, **{k: v for k, v in filters.items() if k in ("status", "is_inactive")}}.items():
            where.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
            params.append(value)
        if "project_name" in filters:
            where.append(sql.SQL("project_name ILIKE %s"))
            params.append(f"%{filters['project_name']}%")
        if "has_assignment" in filters:
            where.append(sql.SQL("assigned_to IS NOT NULL" if filters["has_assignment"] else "assigned_to IS NULL"))
        if "search" in filters:
            where.append(sql.SQL("(project_name ILIKE %s OR description ILIKE %s)"))
            params += [f"%{filters['search']}%"] * 2
        condition = sql.SQL(" AND ").join(where)
        rows = await fetch_all(conn, sql.SQL("SELECT * FROM projects WHERE {} ORDER BY {} {}, project_id "
                                             "LIMIT %s OFFSET %s").format(condition, sql.Identifier(sort),
                                                                          sql.SQL(order.upper())),
                               (*params, limit, (page - 1) * limit))
        total = await fetch_one(conn, sql.SQL("SELECT count(*) AS n FROM projects WHERE {}").format(condition), params)
    return paginated_response(rows, total["n"], page, limit, {"sort": sort, "order": order,
                                                              "filters": {**ids, **filters}})
