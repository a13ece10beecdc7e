"""Ticket writes: ``tickets.create``, ``add_comment``, ``update_fields``, ``close`` (contract §4.4, §4.8, §4.11)."""
from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from ..runtime.run_errors import action_error
from .attachments import SOURCE, attach_document
from .base import Action, ActionContext, invalid, iso, provided_key, utc_now
from .comments import create_comment, mention_document
from .email import render, send_tenant_email
from .schema import DATETIME, UUID, Arr, Bool, Enum, Obj, Record, Refine, Str
from .ticket_assign import clear_agent_conflicts

_VISIBILITY = Enum(options=("public", "internal"))

_INSERT_TICKET = """
INSERT INTO tickets (ticket_id, tenant, title, ticket_number, client_id, contact_name_id, status_id, assigned_to,
                     priority_id, category_id, subcategory_id, board_id, entered_by, entered_at, updated_at, attributes)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


def _attributes(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def create(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("ticket", "create")
    attributes = dict(data.get("attributes") or {})
    if data.get("tags"):
        attributes["tags"] = data["tags"]
    if "custom_fields" in data:
        attributes["custom_fields"] = data["custom_fields"]
    if data["description"]:
        attributes["description"] = data["description"]
    number = await ctx.one("SELECT generate_next_number(%s::uuid, 'TICKET') AS n", ctx.tenant)
    ticket_id, now = str(uuid.uuid4()), utc_now()
    await ctx.execute(_INSERT_TICKET, ticket_id, ctx.tenant, data["title"], number["n"], data["client_id"],
                      data.get("contact_id"), data["status_id"], data.get("assigned_to"), data["priority_id"],
                      data.get("category_id"), data.get("subcategory_id"), data["board_id"], ctx.actor, now, now,
                      Jsonb(attributes) if attributes else None)
    first = data.get("initial_comment")
    if first:
        await create_comment(ctx, ticket_id, first["body"], is_internal=first["visibility"] == "internal")
    for attachment in data.get("attachments") or []:
        await attach_document(ctx, ticket_id, attachment["source"], attachment.get("filename"))
    await ctx.audit({"ticket_id": ticket_id, "ticket_number": number["n"]}, ticket_id=ticket_id)
    return {"ticket_id": ticket_id, "ticket_number": number["n"], "url": None, "created_at": iso(now),
            "status_id": data["status_id"], "priority_id": data["priority_id"]}


async def add_comment(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("ticket", "update")
    body = mention_document(data["body"], data["mentions"]) if data.get("mentions") else data["body"]
    created = await create_comment(ctx, data["ticket_id"], body, is_internal=data["visibility"] == "internal")
    for attachment in data.get("attachments") or []:
        await attach_document(ctx, data["ticket_id"], attachment["source"], attachment.get("filename"))
    ids = {"ticket_id": data["ticket_id"], "comment_id": created["comment_id"]}
    await ctx.audit(ids, **ids)
    return {**created, "visibility": data["visibility"]}


def _snapshot(row: dict[str, Any]) -> dict[str, Any]:
    attributes = _attributes(row.get("attributes"))
    return {"title": row.get("title"), "status_id": row.get("status_id"), "priority_id": row.get("priority_id"),
            "assigned_to": row.get("assigned_to"), "category_id": row.get("category_id"),
            "subcategory_id": row.get("subcategory_id"), "due_date": attributes.get("due_date"),
            "tags": attributes.get("tags")}


async def update_fields(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("ticket", "update")
    ticket_id, patch = data["ticket_id"], data["patch"]
    current = await ctx.one("SELECT * FROM tickets WHERE tenant = %s AND ticket_id = %s", ctx.tenant, ticket_id)
    if current is None:
        raise action_error("NOT_FOUND", "Ticket not found", {"ticket_id": ticket_id})
    expected = data.get("expected_updated_at")
    actual = iso(current["updated_at"])
    if expected and actual != expected:
        raise action_error("CONFLICT", "Ticket was modified since expected_updated_at",
                           {"expected_updated_at": expected, "actual_updated_at": actual})
    if patch.get("status_id") and await ctx.one(
            "SELECT 1 FROM statuses WHERE tenant = %s AND status_id = %s AND status_type = 'ticket'",
            ctx.tenant, patch["status_id"]) is None:
        raise invalid("Invalid status_id for ticket")
    if patch.get("priority_id") and await ctx.one("SELECT 1 FROM priorities WHERE tenant = %s AND priority_id = %s",
                                                  ctx.tenant, patch["priority_id"]) is None:
        raise invalid("Invalid priority_id for ticket")

    attributes = {**_attributes(current["attributes"]), **(patch.get("attributes") or {})}
    attributes.update({key: patch[key] for key in ("tags", "custom_fields", "due_date") if key in patch})
    columns: dict[str, Any] = {name: patch[name] for name in ("title", "status_id", "priority_id") if patch.get(name)}
    columns.update({name: patch[name] for name in ("assigned_to", "category_id", "subcategory_id") if name in patch})
    columns.update(attributes=Jsonb(attributes), updated_by=ctx.actor, updated_at=utc_now())
    if "assigned_to" in patch and patch["assigned_to"] != current["assigned_to"]:
        await clear_agent_conflicts(ctx, ticket_id, patch["assigned_to"])
    assignments = ", ".join(f"{name} = %s" for name in columns)
    updated = await ctx.one(f"UPDATE tickets SET {assignments} WHERE tenant = %s AND ticket_id = %s RETURNING *",
                            *columns.values(), ctx.tenant, ticket_id)
    before, after = _snapshot(current), _snapshot(updated)
    await ctx.audit({"ticket_id": ticket_id, "before": before, "after": after}, ticket_id=ticket_id)
    return {"ticket_id": ticket_id, "updated_at": iso(updated["updated_at"]), "status_id": updated["status_id"],
            "priority_id": updated["priority_id"], "tags": after["tags"]}


async def close(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("ticket", "update")
    ticket_id = data["ticket_id"]
    ticket = await ctx.one("SELECT * FROM tickets WHERE tenant = %s AND ticket_id = %s", ctx.tenant, ticket_id)
    if ticket is None:
        raise action_error("NOT_FOUND", "Ticket not found", {"ticket_id": ticket_id})
    if ticket["closed_at"]:
        raise action_error("CONFLICT", "Ticket already closed", {"ticket_id": ticket_id})
    status = ticket["status_id"] and await ctx.one(
        "SELECT is_closed FROM statuses WHERE tenant = %s AND status_id = %s", ctx.tenant, ticket["status_id"])
    if status and status["is_closed"]:
        raise action_error("CONFLICT", "Ticket is already in a closed status", {"status_id": ticket["status_id"]})
    closed = await ctx.one("SELECT status_id FROM statuses WHERE tenant = %s AND status_type = 'ticket' AND is_closed "
                           "ORDER BY is_default DESC NULLS LAST, order_number ASC LIMIT 1", ctx.tenant)
    if closed is None:
        raise action_error("INTERNAL_ERROR", "No closed ticket status configured")

    now, code = utc_now(), data["resolution"]["code"]
    await ctx.execute("UPDATE tickets SET status_id = %s, closed_at = %s, closed_by = %s, resolution_code = %s, "
                      "updated_at = %s, updated_by = %s WHERE tenant = %s AND ticket_id = %s",
                      closed["status_id"], now, ctx.actor, code, now, ctx.actor, ctx.tenant, ticket_id)
    for note, internal in ((data.get("public_note"), False), (data.get("internal_note"), True)):
        if note:
            await create_comment(ctx, ticket_id, note, is_internal=internal, is_resolution=True)
    if data["notify_requester"]:
        await _notify_requester(ctx, ticket, data)
    await ctx.audit({"ticket_id": ticket_id, "closed_at": iso(now), "resolution_code": code},
                    ticket_id=ticket_id, closed_at=iso(now))
    return {"ticket_id": ticket_id, "closed_at": iso(now), "resolution_code": code,
            "final_status_id": closed["status_id"]}


async def _notify_requester(ctx: ActionContext, ticket: dict[str, Any], data: dict[str, Any]) -> None:
    if not ticket["contact_name_id"]:
        raise invalid("Ticket has no requester contact to notify")
    contact = await ctx.one("SELECT email FROM contacts WHERE tenant = %s AND contact_name_id = %s",
                            ctx.tenant, ticket["contact_name_id"])
    if not contact or not contact["email"]:
        raise invalid("Requester contact has no email address")
    code, overrides = data["resolution"]["code"], data.get("email") or {}
    template_data = {"ticket": {"ticketNumber": ticket["ticket_number"], "title": ticket["title"],
                                "resolutionCode": code, "resolutionText": data["resolution"].get("text")}}
    subject = overrides.get("subject") or f"Ticket {ticket['ticket_number'] or ''} closed"
    html = overrides.get("html") or f"<p>Your ticket has been closed.</p><p>Resolution: {code}</p>"
    text = overrides.get("text") or f"Your ticket has been closed.\nResolution: {code}"
    await send_tenant_email(ctx, {"email": contact["email"]}, render(subject, template_data),
                            render(html, template_data), render(text, template_data), "Failed to send requester email")


_ATTACHMENT = Obj(fields={"source": SOURCE, "filename": Str().optional()})

ACTIONS = (
    Action(
        id="tickets.create",
        input=Obj(fields={
            "client_id": UUID,
            "contact_id": UUID.nullable().optional(),
            "title": Str(min_len=1),
            "description": Str().default(""),
            "board_id": UUID,
            "status_id": UUID,
            "priority_id": UUID,
            "assigned_to": UUID.nullable().optional(),
            "category_id": UUID.nullable().optional(),
            "subcategory_id": UUID.nullable().optional(),
            "tags": Arr(item=Str()).optional(),
            "custom_fields": Record().optional(),
            "attributes": Record().optional(),
            "initial_comment": Obj(fields={"body": Str(min_len=1),
                                           "visibility": _VISIBILITY.default("public")}).optional(),
            "attachments": Arr(item=Obj(fields={"source": SOURCE, "filename": Str().optional(),
                                                "visibility": _VISIBILITY.optional()})).optional(),
            "idempotency_key": Str().optional(),
        }),
        output=Obj(fields={"ticket_id": UUID, "ticket_number": Str(), "url": Str().nullable(),
                           "created_at": DATETIME, "status_id": UUID, "priority_id": UUID}),
        handler=create,
        key_rule=provided_key,
    ),
    Action(
        id="tickets.add_comment",
        input=Obj(fields={
            "ticket_id": UUID,
            "body": Str(min_len=1),
            "visibility": _VISIBILITY.default("public"),
            "mentions": Arr(item=Str(min_len=1)).optional(),
            "attachments": Arr(item=_ATTACHMENT).optional(),
            "idempotency_key": Str().optional(),
        }),
        output=Obj(fields={"comment_id": UUID, "created_at": DATETIME, "visibility": _VISIBILITY}),
        handler=add_comment,
        key_rule=provided_key,
    ),
    Action(
        id="tickets.update_fields",
        input=Obj(fields={
            "ticket_id": UUID,
            "patch": Obj(
                fields={
                    "status_id": UUID.optional(),
                    "priority_id": UUID.optional(),
                    "assigned_to": UUID.nullable().optional(),
                    "title": Str(min_len=1).optional(),
                    "category_id": UUID.nullable().optional(),
                    "subcategory_id": UUID.nullable().optional(),
                    "due_date": DATETIME.nullable().optional(),
                    "tags": Arr(item=Str()).optional(),
                    "custom_fields": Record().optional(),
                    "attributes": Record().optional(),
                },
                refinements=(Refine(bool, "Patch must include at least one field"),),
            ),
            "expected_updated_at": DATETIME.optional(),
            "idempotency_key": Str().optional(),
        }),
        output=Obj(fields={"ticket_id": UUID, "updated_at": DATETIME, "status_id": UUID.nullable(),
                           "priority_id": UUID.nullable(), "tags": Arr(item=Str()).nullable()}),
        handler=update_fields,
        key_rule=provided_key,
    ),
    Action(
        id="tickets.close",
        input=Obj(fields={
            "ticket_id": UUID,
            "resolution": Obj(fields={"code": Str(min_len=1), "text": Str(min_len=1).optional()}),
            "public_note": Str().optional(),
            "internal_note": Str().optional(),
            "notify_requester": Bool().default(False),
            "email": Obj(fields={"subject": Str().optional(), "html": Str().optional(),
                                 "text": Str().optional()}).optional(),
        }),
        output=Obj(fields={"ticket_id": UUID, "closed_at": DATETIME, "resolution_code": Str(),
                           "final_status_id": UUID}),
        handler=close,
    ),
)
