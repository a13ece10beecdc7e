"""``GET``/``POST /api/v1/tickets/{id}/comments``: a ticket's comments, and adding one (which
publishes TICKET_COMMENT_ADDED), as AlgaPSA's ticket controller and ``TicketService`` do."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from ... import domain_events
from ....contract.zod import Issue, issue
from ...auth import Caller, v1_caller
from ...http_errors import V1ApiError
from .common import data_response, fetch_all, fetch_one, field_error, plain, require_permission, v1_strict_body
from .query import js_number
from .ticket_rows import readable_ticket, rich_text_html
from .ticket_update import parse
from .validation import BodySchema

router = APIRouter(prefix="/tickets")

MAX_COMMENT_LENGTH = 5000
COMMENT = BodySchema("CreateTicketComment", {
    "comment_text": "string", "is_internal": "bool?", "is_resolution": "bool?", "time_spent": "number(min=0)?",
    "metadata": "record<any>?", "parent_comment_id": "uuid?",
    "suppressContactNotifications": "bool?", "suppressInternalNotifications": "bool?"})

_LIST = """
SELECT tc.*, CASE WHEN u.first_name IS NOT NULL AND u.last_name IS NOT NULL
                  THEN u.first_name || ' ' || u.last_name END AS created_by_name,
       c.contact_name_id AS author_contact_id, c.full_name AS author_contact_name, c.email AS author_contact_email
FROM comments tc
LEFT JOIN users u ON u.tenant = tc.tenant AND u.user_id = tc.user_id
LEFT JOIN contacts c ON c.tenant = tc.tenant AND c.contact_name_id = tc.contact_id
WHERE tc.tenant = %s AND tc.ticket_id = %s
ORDER BY tc.created_at {order}, tc.comment_id {order} OFFSET %s LIMIT %s
"""
_PARENT = """
SELECT parent.ticket_id, parent.thread_id, thread.is_internal AS thread_is_internal
FROM comments parent
JOIN comment_threads thread ON thread.tenant = parent.tenant AND thread.thread_id = parent.thread_id
WHERE parent.tenant = %s AND parent.comment_id = %s
"""
_NEW_THREAD = """
INSERT INTO comment_threads (tenant, thread_id, ticket_id, root_comment_id, is_internal, reply_count,
                             last_activity_at, created_at, created_by)
VALUES (%s, %s, %s, %s, %s, 0, %s, %s, %s)
"""
_INSERT = """
INSERT INTO comments (tenant, comment_id, thread_id, parent_comment_id, ticket_id, note, is_internal, is_resolution,
                      user_id, metadata, created_at, updated_at)
VALUES (%(tenant)s, %(comment_id)s, %(thread_id)s, %(parent)s, %(ticket_id)s, %(note)s, %(is_internal)s,
        %(is_resolution)s, %(user)s, %(metadata)s, %(now)s, %(now)s)
RETURNING *
"""


def _list_options(request: Request) -> tuple[int | None, int | None, str, str]:
    """``limit``, ``offset``, ``order`` and ``content_format``, checked one after the other."""
    params = request.query_params
    numbers: dict[str, int | None] = {}
    for name, low, high, message in (("limit", 1, 200, "limit must be an integer between 1 and 200"),
                                     ("offset", 0, None, "offset must be an integer >= 0")):
        raw = params.get(name)
        value = None if raw is None else js_number(raw)
        if raw is not None and (value is None or not value.is_integer() or value < low
                                or (high is not None and value > high)):
            raise field_error(name, message)
        numbers[name] = None if value is None else int(value)
    order, content = params.get("order", "asc"), params.get("content_format", "full")
    if order not in ("asc", "desc"):
        raise field_error("order", "order must be 'asc' or 'desc'")
    if content not in ("full", "markdown"):
        raise field_error("content_format", "content_format must be 'full' or 'markdown'")
    return numbers["limit"], numbers["offset"], order, content


def _shown(row: dict[str, Any], content_format: str) -> dict[str, Any]:
    """One comment as the API returns it; the sandbox keeps no avatars, reactions or markdown copies."""
    created_by_name = row["created_by_name"] or row["author_contact_name"] or None
    author_contact_id = row["author_contact_id"] or row["contact_id"] or None
    if content_format == "markdown":
        return {
            "comment_id": row["comment_id"], "ticket_id": row["ticket_id"], "markdown_content": None,
            "author_type": row["author_type"], "is_internal": row["is_internal"],
            "is_resolution": row["is_resolution"], "created_at": row["created_at"], "updated_at": row["updated_at"],
            "created_by": row["user_id"], "created_by_name": created_by_name, "author_contact_id": author_contact_id,
            "author_contact_name": row["author_contact_name"], "thread_id": row["thread_id"],
            "parent_comment_id": row["parent_comment_id"], "deleted_at": None}
    return {**row, "comment_text": row["note"], "markdown_content": None, "comment_html": rich_text_html(row["note"]),
            "created_by": row["user_id"], "created_by_name": created_by_name, "created_by_avatar_url": None,
            "author_contact_id": author_contact_id, "author_contact_name": row["author_contact_name"],
            "author_contact_email": row["author_contact_email"], "reactions": [], "reaction_user_names": {}}


@router.get("/{ticket_id}/comments")
async def list_comments(ticket_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "read")
        limit, offset, order, content_format = _list_options(request)
        ticket = await readable_ticket(conn, caller, ticket_id)
        query = sql.SQL(_LIST).format(order=sql.SQL(order.upper()))
        rows = await fetch_all(conn, query, (caller.tenant, ticket["ticket_id"], offset, limit))
    return data_response([_shown(row, content_format) for row in rows])


def _text_issues(body: Any) -> list[Issue]:
    """``comment_text``'s own checks (its visible text is the trimmed string; BlockNote JSON is not parsed)."""
    text = body.get("comment_text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        return []
    found = []
    if not text:
        found.append(issue("too_small", ["comment_text"], "Comment text is required", minimum=1, type="string",
                           inclusive=True, exact=False))
    if not text.strip():
        found.append(issue("custom", ["comment_text"], "Comment text is required"))
    elif len(text.strip()) > MAX_COMMENT_LENGTH:
        found.append(issue("custom", ["comment_text"],
                           f"Comment text is too long (max {MAX_COMMENT_LENGTH} characters)"))
    return found


async def _thread_for(conn: AsyncConnection, caller: Caller, ticket_id: str, parent_id: str | None,
                      is_internal: bool, comment_id: str, now: datetime) -> tuple[str, bool]:
    """The thread the new comment joins and its visibility: the parent's for a reply, else a new thread."""
    if parent_id:
        parent = await fetch_one(conn, _PARENT, (caller.tenant, parent_id))
        if parent is None:
            raise V1ApiError("NOT_FOUND", "Parent comment not found")
        if str(parent["ticket_id"]) != ticket_id:
            raise V1ApiError("VALIDATION_ERROR", "Parent comment must belong to the same ticket")
        await conn.execute("UPDATE comment_threads SET reply_count = reply_count + 1, last_activity_at = %s "
                           "WHERE tenant = %s AND thread_id = %s", (now, caller.tenant, parent["thread_id"]))
        return str(parent["thread_id"]), bool(parent["thread_is_internal"])
    thread_id = str(uuid.uuid4())
    await conn.execute(_NEW_THREAD, (caller.tenant, thread_id, ticket_id, comment_id, is_internal, now, now,
                                     caller.user_id))
    return thread_id, is_internal


@router.post("/{ticket_id}/comments")
async def add_comment(ticket_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    pool = request.app.state.pool
    async with pool.connection() as conn:
        await require_permission(conn, caller, "ticket", "update")
    raw = await v1_strict_body(request)
    body = parse(COMMENT, raw, leading=_text_issues(raw))
    async with pool.connection() as conn:
        ticket_id = str((await readable_ticket(conn, caller, ticket_id))["ticket_id"])
        async with conn.transaction():
            comment_id, now = str(uuid.uuid4()), datetime.now(timezone.utc)
            thread_id, is_internal = await _thread_for(conn, caller, ticket_id, body.get("parent_comment_id"),
                                                       body.get("is_internal", False), comment_id, now)
            comment = plain(await fetch_one(conn, _INSERT, {
                "tenant": caller.tenant, "comment_id": comment_id, "thread_id": thread_id,
                "parent": body.get("parent_comment_id"), "ticket_id": ticket_id, "note": body["comment_text"],
                "is_internal": is_internal, "is_resolution": body.get("is_resolution", False), "user": caller.user_id,
                "metadata": Jsonb(body["metadata"]) if "metadata" in body else None, "now": now}))
            await conn.execute("UPDATE tickets SET updated_by = %s, updated_at = now() WHERE tenant = %s "
                               "AND ticket_id = %s", (caller.user_id, caller.tenant, ticket_id))
            user = await fetch_one(conn, "SELECT first_name, last_name FROM users WHERE tenant = %s AND user_id = %s",
                                   (caller.tenant, caller.user_id))
    # JavaScript's template string prints a missing name part as "null"
    author = " ".join("null" if part is None else part for part in (user["first_name"], user["last_name"])) \
        if user else "Unknown User"
    event = domain_events.ticket_comment_added(
        ticket_id, comment, author, tenant=caller.tenant, user_id=caller.user_id,
        suppress_contact=body.get("suppressContactNotifications") is True,
        suppress_internal=body.get("suppressInternalNotifications") is True)
    await domain_events.publish(request, [event], tenant=caller.tenant)
    return data_response({**comment, "comment_text": comment["note"], "comment_html": rich_text_html(comment["note"]),
                          "created_by": comment["user_id"], "author_contact_id": comment["contact_id"],
                          "author_contact_name": None, "author_contact_email": None}, 201)
