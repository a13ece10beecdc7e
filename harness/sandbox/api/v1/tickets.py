"""``/api/v1/tickets``: create, list, read, update and delete tickets (http-and-db.md §7.1–7.3)."""
from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from ... import domain_events
from ...auth import Caller, v1_caller
from ...http_errors import V1ApiError
from .common import (data_response, fetch_one, js_iso, list_resource, plain, require_permission, resource_id,
                     v1_body)
from .validation import BodySchema

router = APIRouter(prefix="/tickets")

_OPTIONAL_REFS = ("location_id", "contact_name_id", "category_id", "subcategory_id", "assigned_to")
_REQUIRED_REFS = ("board_id", "client_id", "status_id", "priority_id")
_ID_FIELDS = (*_REQUIRED_REFS, *_OPTIONAL_REFS)
# Update keys that are request options, not columns. The sandbox has no board close rules to override
# and keeps no tag tables, so those are accepted and validated only.
_REQUEST_OPTIONS = ("suppressContactNotifications", "suppressInternalNotifications", "override_close_rules",
                    "override_close_rules_reason", "tags")
_LIST_FILTERS = ("client_id", "board_id", "status_id", "priority_id", "assigned_to", "contact_name_id")

CREATE = BodySchema("CreateTicket", {
    "title": "string(min=1)", **{name: "uuid" for name in _REQUIRED_REFS}, "url": "string?",
    **{name: "uuid?" for name in _OPTIONAL_REFS}, "attributes": "record<any>?", "tags": "array<string>?",
}, max_length={"title": 255}, urls=("url",))

UPDATE = BodySchema("UpdateTicket", {
    "title": "string(min=1)?", **{name: "uuid?" for name in _REQUIRED_REFS}, "url": "string?",
    **{name: "uuid?" for name in _OPTIONAL_REFS}, "contact_name_id": "uuid|null?",
    "attributes": "record<any>?", "tags": "array<string>?",
    "suppressContactNotifications": "bool?", "suppressInternalNotifications": "bool?",
    "override_close_rules": "bool?", "override_close_rules_reason": "string|null?",
}, max_length={"title": 255}, urls=("url",))

_DETAIL = """
SELECT t.*, c.client_name, ct.full_name AS contact_name, s.name AS status_name, s.is_closed AS status_is_closed,
       p.priority_name, b.board_name,
       CASE WHEN u.first_name IS NOT NULL AND u.last_name IS NOT NULL
            THEN u.first_name || ' ' || u.last_name END AS assigned_to_name
FROM tickets t
LEFT JOIN clients c ON c.tenant = t.tenant AND c.client_id = t.client_id
LEFT JOIN contacts ct ON ct.tenant = t.tenant AND ct.contact_name_id = t.contact_name_id
LEFT JOIN statuses s ON s.tenant = t.tenant AND s.status_id = t.status_id
LEFT JOIN priorities p ON p.tenant = t.tenant AND p.priority_id = t.priority_id
LEFT JOIN boards b ON b.tenant = t.tenant AND b.board_id = t.board_id
LEFT JOIN users u ON u.tenant = t.tenant AND u.user_id = t.assigned_to
WHERE t.tenant = %s
"""

_INSERT = """
INSERT INTO tickets (tenant, ticket_number, title, url, client_id, contact_name_id, board_id, status_id, priority_id,
                     category_id, subcategory_id, location_id, assigned_to, entered_by, entered_at, updated_at,
                     source, ticket_origin, attributes)
VALUES (%(tenant)s, generate_next_number(%(tenant)s, 'TICKET'), %(title)s, %(url)s, %(client_id)s,
        %(contact_name_id)s, %(board_id)s, %(status_id)s, %(priority_id)s, %(category_id)s, %(subcategory_id)s,
        %(location_id)s, %(assigned_to)s, %(user)s, %(now)s, %(now)s, 'api', 'api', %(attributes)s)
RETURNING *
"""

_BOARD_STATUS = ("SELECT is_closed FROM statuses WHERE tenant = %s AND status_id = %s AND board_id = %s "
                 "AND status_type = 'ticket'")


def description_html(attributes: Any) -> str:
    """The ticket's plain-text ``attributes.description`` as HTML paragraphs ("" without one)."""
    text = attributes.get("description") if isinstance(attributes, dict) else None
    if not isinstance(text, str) or not text:
        return ""
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.split("\n"))


def _lower_ids(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v.lower() if k in _ID_FIELDS and isinstance(v, str) else v for k, v in body.items()}


def _status_issue(status_id: str, board_id: str | None) -> V1ApiError:
    return V1ApiError("VALIDATION_ERROR", "Validation failed", [
        {"path": ["status_id"], "message": f"status_id {status_id} does not belong to board_id {board_id}"}])


async def _board_status_closed(conn: AsyncConnection, tenant: str, status_id: str, board_id: str | None) -> bool:
    """Whether the ticket status (which must belong to the board) is a closed one."""
    row = await fetch_one(conn, _BOARD_STATUS, (tenant, status_id, board_id)) if board_id else None
    if row is None:
        raise _status_issue(status_id, board_id)
    return bool(row["is_closed"])


@router.post("")
async def create_ticket(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "create")
        body = _lower_ids(CREATE.parse(await v1_body(request)))
        async with conn.transaction():
            await _board_status_closed(conn, caller.tenant, body["status_id"], body["board_id"])
            row = await fetch_one(conn, _INSERT, {
                **{name: body.get(name) for name in ("title", "url", *_ID_FIELDS)},
                "tenant": caller.tenant, "user": caller.user_id, "now": datetime.now(timezone.utc),
                "attributes": Jsonb(body["attributes"]) if body.get("attributes") else None})
    ticket = plain(row)
    if body.get("tags"):
        ticket["tags"] = body["tags"]
    await domain_events.publish(request, [domain_events.ticket_created(ticket, tenant=caller.tenant,
                                                                       user_id=caller.user_id)],
                                tenant=caller.tenant)
    return data_response(ticket, 201)


@router.get("")
async def list_tickets(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    return await list_resource(request, caller, resource="ticket", detail=_DETAIL, table="tickets",
                               filter_names=_LIST_FILTERS, order_by="t.entered_at DESC, t.ticket_id")


@router.get("/{ticket_id}")
async def get_ticket(ticket_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    ticket_id = resource_id(ticket_id, "ticket")
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "read")
        row = await fetch_one(conn, _DETAIL + " AND t.ticket_id = %s", (caller.tenant, ticket_id))
    if row is None:
        raise V1ApiError("NOT_FOUND", "Ticket not found")
    return data_response({**row, "description_html": description_html(row["attributes"])})


@router.put("/{ticket_id}")
async def update_ticket(ticket_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    ticket_id = resource_id(ticket_id, "ticket")
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "update")
        changes = _lower_ids(UPDATE.parse(await v1_body(request)))
        options = {name: changes.pop(name) for name in _REQUEST_OPTIONS if name in changes}
        suppress_contact = bool(options.get("suppressContactNotifications"))
        suppress_internal = bool(options.get("suppressInternalNotifications"))
        if suppress_internal and not suppress_contact:
            raise V1ApiError("VALIDATION_ERROR", "Validation failed", [
                {"path": ["suppressInternalNotifications"],
                 "message": "suppressInternalNotifications requires suppressContactNotifications"}])
        async with conn.transaction():
            current = await fetch_one(conn, "SELECT * FROM tickets WHERE tenant = %s AND ticket_id = %s FOR UPDATE",
                                      (caller.tenant, ticket_id))
            if current is None:
                raise V1ApiError("NOT_FOUND", "Ticket not found")
            before = plain(current)
            closes, columns = await _update_columns(conn, caller, before, changes)
            if changes.get("assigned_to") and changes["assigned_to"] != before["assigned_to"]:
                # the new primary assignee cannot stay one of the ticket's additional agents
                await conn.execute("DELETE FROM ticket_resources WHERE tenant = %s AND ticket_id = %s "
                                   "AND additional_user_id = %s", (caller.tenant, ticket_id, changes["assigned_to"]))
            if "attributes" in changes:
                columns["attributes"] = Jsonb(changes["attributes"])
            columns.update(updated_by=caller.user_id, updated_at=datetime.now(timezone.utc))
            assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(name)) for name in columns)
            row = await fetch_one(conn, sql.SQL("UPDATE tickets SET {} WHERE tenant = %s AND ticket_id = %s "
                                                "RETURNING *").format(assignments),
                                  (*columns.values(), caller.tenant, ticket_id))
    ticket = plain(row)
    events = []
    if closes:
        events.append(domain_events.ticket_closed(ticket_id, ticket["closed_at"] or js_iso(row["updated_at"]),
                                                  tenant=caller.tenant, user_id=caller.user_id,
                                                  suppress_contact=suppress_contact,
                                                  suppress_internal=suppress_internal))
    events.append(domain_events.ticket_updated(ticket_id, domain_events.ticket_changes(before, changes),
                                               tenant=caller.tenant, user_id=caller.user_id,
                                               suppress_contact=suppress_contact, suppress_internal=suppress_internal))
    await domain_events.publish(request, events, tenant=caller.tenant)
    return data_response({**ticket, "description_html": description_html(ticket["attributes"])})


async def _update_columns(conn: AsyncConnection, caller: Caller, before: dict[str, Any],
                          changes: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """The columns to write (``attributes`` aside), checking board/status rules and doing the close
    bookkeeping of a status change. Also returns whether the status changed to a closed one.
    """
    columns = {name: value for name, value in changes.items() if name != "attributes"}
    if "board_id" in changes and changes["board_id"] != before["board_id"] and not changes.get("status_id"):
        message = "Changing the board requires selecting a status for the destination board"
        raise V1ApiError("VALIDATION_ERROR", "Validation failed", [{"path": ["status_id"], "message": message}])
    board_id = changes.get("board_id", before["board_id"])
    status_id = changes.get("status_id") or before["status_id"]
    status_changed = status_id != before["status_id"]
    if not status_changed and board_id == before["board_id"]:
        return False, columns
    # a board move also checks the kept status against the new board
    now_closed = await _board_status_closed(conn, caller.tenant, status_id, board_id)
    if not status_changed:
        return False, columns
    old = await fetch_one(conn, "SELECT is_closed FROM statuses WHERE tenant = %s AND status_id = %s",
                          (caller.tenant, before["status_id"])) if before["status_id"] else None
    was_closed = bool(old and old["is_closed"])
    columns["is_closed"] = now_closed
    if now_closed and not was_closed:
        columns.update(closed_at=datetime.now(timezone.utc), closed_by=caller.user_id)
    elif was_closed and not now_closed:
        columns.update(closed_at=None, closed_by=None)
    return now_closed, columns


@router.delete("/{ticket_id}")
async def delete_ticket(ticket_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> Response:
    """Delete the ticket and the rows it owns: comments here, threads and links by cascade."""
    ticket_id = resource_id(ticket_id, "ticket")
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "delete")
        async with conn.transaction():
            await conn.execute("DELETE FROM comments WHERE tenant = %s AND ticket_id = %s", (caller.tenant, ticket_id))
            deleted = await fetch_one(conn, "DELETE FROM tickets WHERE tenant = %s AND ticket_id = %s "
                                            "RETURNING ticket_id", (caller.tenant, ticket_id))
            if deleted is None:
                raise V1ApiError("NOT_FOUND", "Ticket not found")
    return Response(status_code=204)
