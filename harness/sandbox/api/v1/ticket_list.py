"""``GET /api/v1/tickets`` (filters, sort, fields, pagination), ``/tickets/search`` and ``/tickets/stats``,
as AlgaPSA's ticket controller and ``TicketService`` answer them. The sandbox keeps no categories or
tags, so the filters on those match no ticket and their names come back null or empty."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from psycopg import sql

from ....contract.zod import MISSING, issue
from ...auth import Caller, v1_caller
from ...http_errors import V1ApiError
from . import query as q
from .common import data_response, fetch_all, fetch_one, paginated_response, require_permission
from .ticket_rows import FROM as _FROM, NAME as _NAME

router = APIRouter(prefix="/tickets")

_ID_FILTERS = ("board_id", "client_id", "location_id", "contact_name_id", "status_id", "category_id",
               "subcategory_id", "entered_by", "assigned_to", "priority_id")
_NAME_FILTERS = ("client_name", "contact_name", "status_name", "priority_name", "category_name", "board_name")
_RANGES = ("entered", "closed")


def _tags(raw: Any, path: list[str | int]) -> tuple[Any, list]:
    values, found = q.array_or_listed(q.text)(raw, path)
    return (None if found else [t.strip().lower() for t in values if t.strip()]), found


LIST_QUERY: dict[str, q.Parser | tuple[q.Parser, Any]] = {  # zod's key order: pagination, base, ticket filters
    "page": (q.integer(1), "1"), "limit": (q.integer(1, 100), "25"), "sort": (q.text, "created_at"),
    "order": (q.choice("asc", "desc"), "desc"), "search": q.text,
    **{f"{what}_{end}": q.datetime for what in ("created", "updated") for end in ("from", "to")},
    "is_active": q.is_true, "title": q.text, "ticket_number": q.text,
    **{name: q.uuid for name in _ID_FILTERS[:5]}, "status_ids": q.listed(q.uuid),
    **{name: q.uuid for name in _ID_FILTERS[5:]},
    "is_open": q.boolean, "is_closed": q.boolean, "has_assignment": q.boolean,
    **{f"{what}_{end}": q.datetime for what in _RANGES for end in ("from", "to")},
    **{name: q.text for name in _NAME_FILTERS}, "tags": _tags,
}


def _search_text(raw: Any, path: list[str | int]) -> tuple[Any, list]:
    value, found = q.text(raw, path)
    if not found and not raw:
        found = [issue("too_small", path, "Search query is required", minimum=1, type="string", inclusive=True,
                       exact=False)]
    return value, found


_SEARCH_FIELDS = {"title": "t.title", "ticket_number": "t.ticket_number", "client_name": "comp.client_name",
                  "contact_name": "cont.full_name"}
SEARCH_QUERY: dict[str, q.Parser | tuple[q.Parser, Any]] = {
    "query": (_search_text, MISSING), "fields": q.array_or_listed(q.choice(*_SEARCH_FIELDS)),
    **{name: q.array_or_listed(q.uuid) for name in ("status_ids", "priority_ids", "client_ids", "assigned_to_ids")},
    "include_closed": (q.boolean, "false"), "limit": (q.integer(1, 100), "25"),
}

_FULL_ROW = ("t.*, comp.client_name, cont.full_name AS contact_name, stat.name AS status_name, "
             "stat.is_closed AS status_is_closed, pri.priority_name, NULL::text AS category_name, "
             "NULL::text AS subcategory_name, board.board_name, "
             f"{_NAME.format(u='entered_user')} AS entered_by_name, "
             f"{_NAME.format(u='assigned_user')} AS assigned_to_name")
# ``fields=``: what each may select, in AlgaPSA's select order; the authorization columns always ride along
_FIELDS = {"ticket_id": "t.ticket_id", "ticket_number": "t.ticket_number", "title": "t.title",
           "status_id": "t.status_id", "client_name": "comp.client_name",
           "contact_name": "cont.full_name AS contact_name",
           "status_name": "stat.name AS status_name", "status_is_closed": "stat.is_closed AS status_is_closed",
           "priority_name": "pri.priority_name", "updated_at": "t.updated_at", "entered_at": "t.entered_at",
           "closed_at": "t.closed_at", "assigned_to_name": f"{_NAME.format(u='assigned_user')} AS assigned_to_name"}
_MOBILE_FIELDS = ("ticket_id", "ticket_number", "title", "status_id", "status_name", "status_is_closed",
                  "priority_name", "assigned_to_name", "client_name", "contact_name", "updated_at", "entered_at",
                  "closed_at", "tags")
_AUTH_COLUMNS = ("ticket_id", "status_id", "entered_by", "assigned_to", "client_id", "board_id", "assigned_team_id")
_SORT_ALIASES = {"created_at": "t.entered_at", "client_name": "comp.client_name", "status_name": "stat.name",
                 "priority_name": "pri.priority_name"}
_EXISTS_NAME = {"client_name": ("clients", "client_id", "client_name"), "contact_name": ("contacts", "contact_name_id",
                                                                                      "full_name"),
                "board_name": ("boards", "board_id", "board_name"), "status_name": ("statuses", "status_id", "name"),
                "priority_name": ("priorities", "priority_id", "priority_name")}
_BOUNDS = {"from": ">=", "to": "<="}
_RANGE_COLUMN = {"entered": "t.entered_at", "created": "t.entered_at", "closed": "t.closed_at",
                 "updated": "COALESCE(t.updated_at, t.entered_at)"}


def _filter(key: str, value: Any) -> tuple[str, list[Any]] | None:
    """One filter as AlgaPSA's ``applyTicketFilters`` applies it: SQL and parameters, None when inert."""
    if key in ("title", "ticket_number"):
        return f"t.{key} ILIKE %s", [f"%{value}%"]
    if key in _ID_FILTERS:
        return f"t.{key} = %s", [value]
    if key == "status_ids":
        return ("t.status_id = ANY(%s::uuid[])", [value]) if value else None
    if key in ("is_open", "is_closed"):
        closed = "true" if key == "is_closed" else "false"
        return (f"EXISTS (SELECT 1 FROM statuses s WHERE s.tenant = t.tenant AND s.status_id = t.status_id "
                f"AND s.is_closed = {closed})", []) if value else None
    if key == "has_assignment":
        return f"t.assigned_to IS {'NOT ' if value else ''}NULL", []
    if key in _EXISTS_NAME:
        table, column, name = _EXISTS_NAME[key]
        return (f"EXISTS (SELECT 1 FROM {table} x WHERE x.tenant = t.tenant AND x.{column} = t.{column} "
                f"AND x.{name} = %s)", [value])
    if key == "category_name" or (key == "tags" and value):
        return "false", []
    if key == "search":
        return ("(t.title ILIKE %s OR t.ticket_number ILIKE %s OR EXISTS (SELECT 1 FROM clients c WHERE "
                "c.tenant = t.tenant AND c.client_id = t.client_id AND c.client_name ILIKE %s))", [f"%{value}%"] * 3)
    what, _, end = key.rpartition("_")
    if what in _RANGE_COLUMN and end in _BOUNDS:
        return f"{_RANGE_COLUMN[what]} {_BOUNDS[end]} %s", [value]
    return None


def _where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    applied = [f for f in (_filter(key, value) for key, value in filters.items()) if f]
    return "".join(f" AND {clause}" for clause, _ in applied), [p for _, params in applied for p in params]


def _selected_fields(request: Request) -> list[str] | None:
    """``fields=``: the requested list columns (``mobile_list`` for the mobile set); None for full rows."""
    requested = [f.strip() for f in request.query_params.get("fields", "").split(",") if f.strip()]
    if not requested:
        return None
    if "mobile_list" in requested:
        requested = list(_MOBILE_FIELDS)
    unknown = [f for f in requested if f not in _MOBILE_FIELDS]
    if unknown:
        raise V1ApiError("VALIDATION_ERROR", f"Unknown fields requested: {', '.join(unknown)}")
    return list(dict.fromkeys(requested))


def _select(fields: list[str] | None) -> str:
    if fields is None:
        return _FULL_ROW
    parts = [expression for name, expression in _FIELDS.items() if name in fields]
    parts += [f"t.{c}" for c in _AUTH_COLUMNS if f"t.{c}" not in parts]
    return ", ".join(parts)


def _order_by(sort: str, order: str) -> sql.Composable:
    """AlgaPSA sorts by the named ``tickets`` column (dots split identifiers, as knex does); a name that is
    no column fails in Postgres, which AlgaPSA answers with its 500 INTERNAL_CONFIGURATION."""
    column = sql.SQL(_SORT_ALIASES[sort]) if sort in _SORT_ALIASES else sql.Identifier("t", *sort.split("."))
    direction = sql.SQL(order.upper())
    return sql.SQL("{} {}, t.ticket_id {}").format(column, direction, direction)


@router.get("")
async def list_tickets(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "read")
        values = q.parse_query(request, LIST_QUERY)
        fields = _selected_fields(request)
        page, limit = values.pop("page"), values.pop("limit")
        sort, order = values.pop("sort") or "created_at", values.pop("order")
        where, params = _where(values)
        rows = await fetch_all(conn, sql.SQL(f"SELECT {_select(fields)} {_FROM}{where} ORDER BY ")
                               + _order_by(sort, order) + sql.SQL(" LIMIT %s OFFSET %s"),
                               (caller.tenant, *params, limit, (page - 1) * limit))
        total = await fetch_one(conn, f"SELECT count(*) AS n FROM tickets t WHERE t.tenant = %s{where}",
                                (caller.tenant, *params))
    if fields and "tags" in fields:
        rows = [{**row, "tags": []} for row in rows]
    return paginated_response(rows, total["n"], page, limit, meta={"sort": sort, "order": order, "filters": values})


@router.get("/search")
async def search_tickets(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "read")
        values = q.parse_query(request, SEARCH_QUERY)
        clauses, params = [] if values["include_closed"] else ["stat.is_closed = false"], []
        for name, column in (("status_ids", "status_id"), ("priority_ids", "priority_id"),
                             ("client_ids", "client_id"), ("assigned_to_ids", "assigned_to")):
            if values.get(name):
                clauses.append(f"t.{column} = ANY(%s::uuid[])")
                params.append(values[name])
        fields = values.get("fields") or ["title", "ticket_number"]
        clauses.append("(" + " OR ".join(f"{_SEARCH_FIELDS[f]} ILIKE %s" for f in fields) + ")")
        params += [f"%{values['query']}%"] * len(fields)
        rows = await fetch_all(conn, "SELECT t.*, comp.client_name, cont.full_name AS contact_name, "
                                     "stat.name AS status_name, stat.is_closed AS status_is_closed" + _FROM
                               + "".join(f" AND {c}" for c in clauses) + " ORDER BY t.entered_at DESC LIMIT %s",
                               (caller.tenant, *params, values["limit"]))
    return data_response(rows)


def _count_by(rows: list[dict[str, Any]], key: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        name = key(row)
        if name is not None:
            counts[str(name)] = counts.get(str(name), 0) + 1
    return counts


@router.get("/stats")
async def ticket_stats(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    """Counts over every ticket the key may read, as the controller derives them from the list rows."""
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "read")
        rows = await fetch_all(conn, "SELECT t.status_id, t.assigned_to, t.entered_at, stat.name AS status_name, "
                                     "stat.is_closed AS status_is_closed, pri.priority_name, board.board_name" + _FROM,
                               (caller.tenant,))
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)

    def since(start: datetime) -> int:
        return sum(1 for row in rows if row["entered_at"] is not None and row["entered_at"] >= start)

    return data_response({
        "total_tickets": len(rows),
        "open_tickets": sum(1 for row in rows if row["status_is_closed"] is False),
        "closed_tickets": sum(1 for row in rows if row["status_is_closed"] is True),
        "unassigned_tickets": sum(1 for row in rows if not row["assigned_to"]),
        "overdue_tickets": 0,
        "tickets_by_status": _count_by(rows, lambda r: r["status_id"] or r["status_name"] or "unknown"),
        "tickets_by_priority": _count_by(rows, lambda r: r["priority_name"] or "unknown"),
        "tickets_by_category": {},  # no categories in the sandbox; AlgaPSA skips uncategorized tickets
        "tickets_by_board": _count_by(rows, lambda r: r["board_name"] or "unknown"),
        "tickets_created_today": since(today),
        "tickets_created_this_week": since(today - timedelta(days=7)),
        "tickets_created_this_month": since(today - timedelta(days=30)),
    })
