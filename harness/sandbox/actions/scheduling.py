"""``scheduling.assign_user`` (contract §4.10): a schedule entry for a technician, with conflict modes."""
from __future__ import annotations

import uuid
from typing import Any

from ..runtime.run_errors import action_error
from .base import Action, ActionContext, instant, invalid, iso, utc_now
from .schema import DATETIME, UUID, Enum, Obj, Str

_CONFLICTS = """
SELECT se.entry_id, se.scheduled_end FROM schedule_entries se
JOIN schedule_entry_assignees sea ON sea.tenant = se.tenant AND sea.entry_id = se.entry_id
WHERE se.tenant = %s AND sea.user_id = %s AND se.scheduled_start < %s AND se.scheduled_end > %s
"""
_IS_TECHNICIAN = """
SELECT 1 FROM user_roles ur JOIN roles r ON r.tenant = ur.tenant AND r.role_id = ur.role_id
WHERE ur.tenant = %s AND ur.user_id = %s AND lower(r.role_name) = 'technician' LIMIT 1
"""
_ENTRY = """
INSERT INTO schedule_entries (tenant, entry_id, title, work_item_id, scheduled_start, scheduled_end, status, notes,
                              work_item_type, created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, 'scheduled', %s, %s, %s, %s)
"""
_ASSIGNEE = """
INSERT INTO schedule_entry_assignees (tenant, entry_id, user_id, created_at, updated_at) VALUES (%s, %s, %s, %s, %s)
"""
_CONFLICT = """
INSERT INTO schedule_conflicts (tenant, conflict_id, entry_id_1, entry_id_2, conflict_type, resolved, created_at,
                                updated_at)
VALUES (%s, %s, %s, %s, 'overlap', false, %s, %s)
"""


async def assign_user(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("user_schedule", "create")
    user_id, link, mode = data["user_id"], data["link"], data["conflict_mode"]
    if await ctx.one("SELECT 1 FROM users WHERE tenant = %s AND user_id = %s", ctx.tenant, user_id) is None:
        raise action_error("NOT_FOUND", "User not found")
    if await ctx.one(_IS_TECHNICIAN, ctx.tenant, user_id) is None:
        raise action_error("PERMISSION_DENIED", "User is not eligible for scheduling (requires Technician role)")
    if link["type"] == "ticket":
        found = await ctx.one("SELECT 1 FROM tickets WHERE tenant = %s AND ticket_id = %s", ctx.tenant, link["id"])
    else:
        found = await ctx.one("SELECT 1 FROM project_tasks WHERE tenant = %s AND task_id = %s", ctx.tenant, link["id"])
    if found is None:
        raise action_error("NOT_FOUND", "Ticket not found" if link["type"] == "ticket" else "Project task not found")
    start, end = instant(data["window"]["start"]), instant(data["window"]["end"])
    if not start < end:
        raise invalid("window.start must be before window.end")

    conflicts = await ctx.all(_CONFLICTS, ctx.tenant, user_id, end, start)
    if conflicts and mode == "fail":
        raise action_error("CONFLICT", "Schedule conflict detected")
    if conflicts and mode == "shift":
        latest = max([start, *(row["scheduled_end"] for row in conflicts)])
        start, end = latest, latest + (end - start)
        if await ctx.all(_CONFLICTS, ctx.tenant, user_id, end, start):
            raise action_error("CONFLICT", "Unable to shift schedule entry to a non-conflicting window")

    entry_id, now = str(uuid.uuid4()), utc_now()
    await ctx.execute(_ENTRY, ctx.tenant, entry_id, data.get("title", "Scheduled work"), link["id"], start, end,
                      data.get("notes"), link["type"], now, now)
    await ctx.execute(_ASSIGNEE, ctx.tenant, entry_id, user_id, now, now)
    if mode == "override":
        for row in await ctx.all(_CONFLICTS, ctx.tenant, user_id, end, start):
            if row["entry_id"] != entry_id:
                await ctx.execute(_CONFLICT, ctx.tenant, str(uuid.uuid4()), entry_id, row["entry_id"], now, now)
    await ctx.audit({"entry_id": entry_id, "user_id": user_id, "start": iso(start), "end": iso(end), "link": link},
                    schedule_event_id=entry_id)
    return {"schedule_event_id": entry_id, "assigned_user_id": user_id, "start": iso(start), "end": iso(end)}


ACTIONS = (
    Action(
        id="scheduling.assign_user",
        input=Obj(fields={
            "user_id": UUID,
            "window": Obj(fields={"start": DATETIME, "end": DATETIME, "timezone": Str().optional()}),
            "link": Obj(fields={"type": Enum(options=("ticket", "project_task")), "id": UUID}),
            "title": Str().optional(),
            "notes": Str().optional(),
            "conflict_mode": Enum(options=("fail", "shift", "override")).default("fail"),
        }),
        output=Obj(fields={"schedule_event_id": UUID, "assigned_user_id": UUID, "start": DATETIME, "end": DATETIME}),
        handler=assign_user,
    ),
)
