"""``crm.create_activity_note`` (contract §4.9)."""
from __future__ import annotations

import uuid
from typing import Any

from ..runtime.run_errors import action_error
from .base import Action, ActionContext, invalid, iso, utc_now
from .schema import DATETIME, UUID, Arr, Enum, Obj, Record, Str

_INSERT = """
INSERT INTO interactions (tenant, interaction_id, type_id, contact_name_id, client_id, ticket_id, project_id, user_id,
                          title, notes, interaction_date, start_time, end_time, duration, status_id, visibility,
                          category, tags)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, NULL, %s, %s, %s)
"""


async def _target(ctx: ActionContext, kind: str, target_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The interaction's foreign keys for a target, and AlgaPSA's summary of it."""
    if kind == "client":
        row = await ctx.one("SELECT client_name FROM clients WHERE tenant = %s AND client_id = %s",
                            ctx.tenant, target_id)
        if row is None:
            raise action_error("NOT_FOUND", "Client not found")
        return {"client_id": target_id}, {"client_id": target_id, "client_name": row["client_name"]}
    if kind == "contact":
        row = await ctx.one("SELECT full_name, email, client_id FROM contacts "
                            "WHERE tenant = %s AND contact_name_id = %s", ctx.tenant, target_id)
        if row is None:
            raise action_error("NOT_FOUND", "Contact not found")
        return ({"contact_name_id": target_id, "client_id": row["client_id"]},
                {"contact_id": target_id, "full_name": row["full_name"], "email": row["email"],
                 "client_id": row["client_id"]})
    if kind == "ticket":
        row = await ctx.one("SELECT ticket_number, title, client_id, contact_name_id FROM tickets "
                            "WHERE tenant = %s AND ticket_id = %s", ctx.tenant, target_id)
        if row is None:
            raise action_error("NOT_FOUND", "Ticket not found")
        return ({"ticket_id": target_id, "client_id": row["client_id"], "contact_name_id": row["contact_name_id"]},
                {"ticket_id": target_id, "ticket_number": row["ticket_number"], "title": row["title"],
                 "client_id": row["client_id"]})
    row = await ctx.one("SELECT project_name, client_id FROM projects WHERE tenant = %s AND project_id = %s",
                        ctx.tenant, target_id)
    if row is None:
        raise action_error("NOT_FOUND", "Project not found")
    return ({"project_id": target_id, "client_id": row["client_id"]},
            {"project_id": target_id, "project_name": row["project_name"], "client_id": row["client_id"]})


async def create_activity_note(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    target = data["target"]
    await ctx.require_permission(target["type"], "update")
    if data["visibility"] == "client_visible" and target["type"] == "project":
        raise invalid("client_visible notes are not supported for project targets")
    keys, summary = await _target(ctx, target["type"], target["id"])
    note_type = await ctx.one("SELECT type_id FROM system_interaction_types WHERE type_name = 'Note'")
    if note_type is None:
        raise action_error("INTERNAL_ERROR", "System interaction type Note missing")
    note_id, now = str(uuid.uuid4()), utc_now()
    await ctx.execute(_INSERT, ctx.tenant, note_id, note_type["type_id"], keys.get("contact_name_id"),
                      keys.get("client_id"), keys.get("ticket_id"), keys.get("project_id"), ctx.actor,
                      data.get("category", "Note"), data["body"], now, now, now, data["visibility"],
                      data.get("category"), data.get("tags"))
    await ctx.audit({"interaction_id": note_id, "target": target}, note_id=note_id)
    return {"note_id": note_id, "created_at": iso(now), "target_type": target["type"], "target_id": target["id"],
            "target_summary": summary}


ACTIONS = (
    Action(
        id="crm.create_activity_note",
        input=Obj(fields={
            "target": Obj(fields={"type": Enum(options=("client", "contact", "ticket", "project")), "id": UUID}),
            "body": Str(min_len=1),
            "visibility": Enum(options=("internal", "client_visible")).default("internal"),
            "tags": Arr(item=Str()).optional(),
            "category": Str().optional(),
        }),
        output=Obj(fields={"note_id": UUID, "created_at": DATETIME, "target_type": Str(), "target_id": UUID,
                           "target_summary": Record().nullable()}),
        handler=create_activity_note,
    ),
)
