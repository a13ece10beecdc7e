"""Ticket updates: ``PUT /tickets/{id}`` and its narrow forms ``/status`` and ``/assignment``, which all
run AlgaPSA's ``TicketService.update`` and publish TICKET_UPDATED (and TICKET_CLOSED) (http-and-db.md §7.2)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from ... import domain_events
from ....contract.zod import Issue, issue
from ...auth import Caller, v1_caller
from ...http_errors import V1ApiError
from .common import (data_response, fetch_one, field_error, lower_ids, plain, require_permission, update_row, v1_body,
                     v1_strict_body)
from .ticket_rows import ID_FIELDS, OPTIONAL_REFS, REQUIRED_REFS, description_html, readable_ticket
from .validation import BodySchema

router = APIRouter(prefix="/tickets")

_SUPPRESSION = {"suppressContactNotifications": "bool?", "suppressInternalNotifications": "bool?"}
_CLOSE_OVERRIDE = {"override_close_rules": "bool?", "override_close_rules_reason": "string|null?"}
# Body keys that are request options, not columns. The sandbox has no board close rules to override.
_REQUEST_OPTIONS = (*_SUPPRESSION, *_CLOSE_OVERRIDE)

UPDATE = BodySchema("UpdateTicket", {
    "title": "string(min=1)?", "url": "string?", **{name: "uuid?" for name in (*REQUIRED_REFS, *OPTIONAL_REFS)},
    "contact_name_id": "uuid|null?", "attributes": "record<any>?", "tags": "array<string>?",
    **_SUPPRESSION, **_CLOSE_OVERRIDE,
}, max_length={"title": 255}, urls=("url",))
STATUS = BodySchema("UpdateTicketStatus", {
    "status_id": "uuid", "closed_at": "datetime?", "closed_by": "uuid?", **_SUPPRESSION, **_CLOSE_OVERRIDE})
ASSIGNMENT = BodySchema("UpdateTicketAssignment", {"assigned_to": "uuid|null?", **_SUPPRESSION})

_OTHER_BOARD = "Invalid status: selected status does not belong to the selected board"


def parse(schema: BodySchema, body: Any, leading: list[Issue] | None = None) -> dict[str, Any]:
    """The schema's keys of a valid body, with the suppression rule every ticket write schema refines
    with (checked, as zod does, only when no field was unreadable); 400 ``Validation failed`` otherwise.
    ``leading`` are issues of the schema's first field that its type notation cannot express."""
    found = [*(leading or []), *schema.issues(body)]
    if (isinstance(body, dict) and not any(i["code"] == "invalid_type" for i in found)
            and body.get("suppressInternalNotifications") is True
            and body.get("suppressContactNotifications") is not True):
        found.append(issue("custom", ["suppressInternalNotifications"],
                           "suppressInternalNotifications requires suppressContactNotifications"))
    return lower_ids(schema.accept(body, found), ID_FIELDS)


async def _is_closed(conn: AsyncConnection, tenant: str, status_id: str | None) -> bool:
    row = await fetch_one(conn, "SELECT is_closed FROM statuses WHERE tenant = %s AND status_id = %s",
                          (tenant, status_id)) if status_id else None
    return bool(row and row["is_closed"])


async def _check_status(conn: AsyncConnection, tenant: str, status_id: str, board_id: str | None) -> None:
    if not board_id:
        raise field_error("status_id", "Invalid status: board_id is required when selecting a ticket status")
    if await fetch_one(conn, "SELECT 1 FROM statuses WHERE tenant = %s AND status_id = %s AND board_id = %s "
                             "AND status_type = 'ticket'", (tenant, status_id, board_id)) is None:
        raise field_error("status_id", _OTHER_BOARD)


async def apply_update(request: Request, caller: Caller, ticket_id: str, changes: dict[str, Any]) -> JSONResponse:
    """Write a parsed update body the way ``TicketService.update`` does, then publish its events.

    Every remaining body key is written as a column, so ``tags`` (no such column) fails as AlgaPSA's does.
    """
    options = {name: changes.pop(name) for name in _REQUEST_OPTIONS if name in changes}
    suppress = {"suppress_contact": options.get("suppressContactNotifications") is True,
                "suppress_internal": options.get("suppressInternalNotifications") is True}
    tenant = caller.tenant
    async with request.app.state.pool.connection() as conn, conn.transaction():
        current = await fetch_one(conn, "SELECT * FROM tickets WHERE tenant = %s AND ticket_id = %s FOR UPDATE",
                                  (tenant, ticket_id))
        if current is None:
            raise V1ApiError("NOT_FOUND", "Ticket not found")
        before = plain(current)
        if changes.get("board_id", before["board_id"]) != before["board_id"] and not changes.get("status_id"):
            raise field_error("status_id", "Changing the board requires selecting a status for the destination board")
        status_changed = bool(changes.get("status_id")) and changes["status_id"] != before["status_id"]
        if status_changed:
            await _check_status(conn, tenant, changes["status_id"], changes.get("board_id", before["board_id"]))
        if "assigned_to" in changes and changes["assigned_to"] is None and before["assigned_to"]:
            # unassigning leaves the additional agents nothing to hang on, so they go (AlgaPSA does the same)
            await conn.execute("DELETE FROM ticket_resources WHERE tenant = %s AND ticket_id = %s", (tenant, ticket_id))
        elif changes.get("assigned_to") and changes["assigned_to"] != before["assigned_to"]:
            # the new primary cannot stay an additional agent; the others are re-keyed by ON UPDATE CASCADE
            await conn.execute("DELETE FROM ticket_resources WHERE tenant = %s AND ticket_id = %s "
                               "AND additional_user_id = %s", (tenant, ticket_id, changes["assigned_to"]))
        columns = {name: Jsonb(value) if name == "attributes" else value for name, value in changes.items()}
        row = await update_row(conn, "tickets", tenant, "ticket_id", ticket_id,
                               {**columns, "updated_by": caller.user_id, "updated_at": datetime.now(timezone.utc)})
        now_closed = False
        if status_changed:
            now_closed = await _is_closed(conn, tenant, changes["status_id"])
            was_closed = await _is_closed(conn, tenant, before["status_id"])
            bookkeeping: dict[str, Any] = {"is_closed": now_closed}
            if now_closed and not was_closed:
                bookkeeping.update(closed_at=datetime.now(timezone.utc), closed_by=caller.user_id)
            elif was_closed and not now_closed:
                bookkeeping.update(closed_at=None, closed_by=None)
            row = await update_row(conn, "tickets", tenant, "ticket_id", ticket_id, bookkeeping)
    ticket = plain(row)
    events = [domain_events.ticket_closed(ticket_id, ticket["closed_at"] or ticket["updated_at"], tenant=tenant,
                                          user_id=caller.user_id, **suppress)] if now_closed else []
    events.append(domain_events.ticket_updated(ticket_id, domain_events.ticket_changes(before, changes),
                                               tenant=tenant, user_id=caller.user_id, **suppress))
    await domain_events.publish(request, events, tenant=tenant)
    return data_response({**ticket, "description_html": description_html(ticket["attributes"])})


@router.put("/{ticket_id}")
async def update_ticket(ticket_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "update")
        ticket = await readable_ticket(conn, caller, ticket_id)
    changes = parse(UPDATE, await v1_body(request))
    return await apply_update(request, caller, str(ticket["ticket_id"]), changes)


async def _narrow_update(request: Request, caller: Caller, ticket_id: str, schema: BodySchema) -> JSONResponse:
    """The hand-written ``/status`` and ``/assignment`` handlers: body first, then the ticket."""
    pool = request.app.state.pool
    async with pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "update")
    changes = parse(schema, await v1_strict_body(request))
    async with pool.connection() as conn:
        ticket = await readable_ticket(conn, caller, ticket_id)
    return await apply_update(request, caller, str(ticket["ticket_id"]), changes)


@router.put("/{ticket_id}/status")
async def update_status(ticket_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    return await _narrow_update(request, caller, ticket_id, STATUS)


@router.put("/{ticket_id}/assignment")
async def update_assignment(ticket_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    return await _narrow_update(request, caller, ticket_id, ASSIGNMENT)
