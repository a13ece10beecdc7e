"""``/api/v1/tickets``: create, read and delete a ticket (http-and-db.md §7.1, §7.3); the list, search and
stats routes, updates and comments live in the ``ticket_*`` modules and are mounted here."""
from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from ... import domain_events
from ...auth import Caller, v1_caller
from ...http_errors import V1ApiError
from . import ticket_comments, ticket_list, ticket_update
from .common import data_response, fetch_one, field_error, lower_ids, plain, require_permission, v1_body
from .ticket_rows import ID_FIELDS, OPTIONAL_REFS, REQUIRED_REFS, description_html, readable_ticket
from .validation import BodySchema

_core = APIRouter(prefix="/tickets")

CREATE = BodySchema("CreateTicket", {
    "title": "string(min=1)", **{name: "uuid" for name in REQUIRED_REFS}, "url": "string?",
    **{name: "uuid?" for name in OPTIONAL_REFS}, "attributes": "record<any>?", "tags": "array<string>?",
}, max_length={"title": 255}, urls=("url",))

_INSERT = """
INSERT INTO tickets (tenant, ticket_number, title, url, client_id, contact_name_id, board_id, status_id, priority_id,
                     category_id, subcategory_id, location_id, assigned_to, entered_by, entered_at, updated_at,
                     source, ticket_origin, attributes)
VALUES (%(tenant)s, generate_next_number(%(tenant)s, 'TICKET'), %(title)s, %(url)s, %(client_id)s,
        %(contact_name_id)s, %(board_id)s, %(status_id)s, %(priority_id)s, %(category_id)s, %(subcategory_id)s,
        %(location_id)s, %(assigned_to)s, %(user)s, %(now)s, %(now)s, 'api', 'api', %(attributes)s)
RETURNING *
"""
# AlgaPSA's deletion config for tickets: records that block the delete, in its order (type, label, count
# query). Time entries, materials and asset associations have no sandbox table, so never block.
_BLOCKERS = (
    ("schedule_entry", "schedule entry", "SELECT count(*) AS n FROM schedule_entries WHERE tenant = %s "
                                         "AND work_item_id = %s AND work_item_type = 'ticket'"),
    ("interaction", "interaction", "SELECT count(*) AS n FROM interactions WHERE tenant = %s AND ticket_id = %s"),
)
_ARCHIVE = {"action": "archive", "label": "Archive",
            "description": "Moves the record out of active use while preserving history.",
            "warning": "Archived records are hidden from default views."}


@_core.post("")
async def create_ticket(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "create")
        body = lower_ids(CREATE.parse(await v1_body(request)), ID_FIELDS)
        async with conn.transaction():
            if await fetch_one(conn, "SELECT 1 FROM statuses WHERE tenant = %s AND status_id = %s AND board_id = %s "
                                     "AND status_type = 'ticket'",
                               (caller.tenant, body["status_id"], body["board_id"])) is None:
                raise field_error("status_id", f"status_id {body['status_id']} does not belong to board_id "
                                               f"{body['board_id']}")
            row = await fetch_one(conn, _INSERT, {
                **{name: body.get(name) for name in ("title", "url", *REQUIRED_REFS, *OPTIONAL_REFS)},
                "tenant": caller.tenant, "user": caller.user_id, "now": datetime.now(timezone.utc),
                "attributes": Jsonb(body["attributes"]) if body.get("attributes") else None})
    ticket = plain(row)
    if body.get("tags"):
        ticket["tags"] = body["tags"]
    await domain_events.publish(request, [domain_events.ticket_created(ticket, tenant=caller.tenant,
                                                                       user_id=caller.user_id)],
                                tenant=caller.tenant)
    return data_response(ticket, 201)


@_core.get("/{ticket_id}")
async def get_ticket(ticket_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "read")
        row = await readable_ticket(conn, caller, ticket_id)
    return data_response({**row, "description_html": description_html(row["attributes"])})


def _plural(label: str, count: int) -> str:
    return label if count == 1 else label[:-1] + "ies" if label.endswith("y") else label + "s"


async def _refuse_if_blocked(conn: AsyncConnection, tenant: str, ticket_id: str) -> None:
    """409 ``CONFLICT`` with AlgaPSA's dependency report when records still hang on the ticket."""
    dependencies = []
    for kind, label, count_query in _BLOCKERS:
        count = (await fetch_one(conn, count_query, (tenant, ticket_id)))["n"]
        if count:
            dependencies.append({"type": kind, "count": count, "label": _plural(label, count)})
    if dependencies:
        listed = ", ".join(f"{d['count']} {d['label']}" for d in dependencies)
        raise V1ApiError("CONFLICT", f"This ticket has associated records that must be removed or reassigned "
                                     f"first: {listed}.",
                         {"code": "DEPENDENCIES_EXIST", "dependencies": dependencies, "alternatives": [_ARCHIVE]})


@_core.delete("/{ticket_id}")
async def delete_ticket(ticket_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> Response:
    """Delete the ticket with the rows it owns (comments, additional agents, project links; threads and
    entity links by cascade), unless blocking records exist."""
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "delete")
        ticket_id = str((await readable_ticket(conn, caller, ticket_id))["ticket_id"])
        async with conn.transaction():
            await _refuse_if_blocked(conn, caller.tenant, ticket_id)
            for table in ("comments", "ticket_resources", "project_ticket_links"):
                await conn.execute(f"DELETE FROM {table} WHERE tenant = %s AND ticket_id = %s",
                                   (caller.tenant, ticket_id))
            deleted = await fetch_one(conn, "DELETE FROM tickets WHERE tenant = %s AND ticket_id = %s "
                                            "RETURNING ticket_id", (caller.tenant, ticket_id))
            if deleted is None:
                raise V1ApiError("NOT_FOUND", "Ticket not found")
    await domain_events.publish(request, [domain_events.ticket_deleted(ticket_id, tenant=caller.tenant,
                                                                       user_id=caller.user_id)],
                                tenant=caller.tenant)
    return Response(status_code=204)


router = APIRouter()
for _part in (ticket_list.router, _core, ticket_update.router, ticket_comments.router):  # /search before /{id}
    router.include_router(_part)
