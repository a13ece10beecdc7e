"""``time.create_entry``: a time entry on the user's time sheet, as AlgaPSA HEAD's workflow time domain
writes it (minute-truncated instants, work date in the user's time zone, ticket/task side effects).

The sandbox has no contracts or bucket plans: ``contract_line_id`` is stored as given (no default
line is chosen) and no bucket usage is recorded.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from ..runtime.run_errors import action_error
from .base import Action, ActionContext, instant, invalid, iso, standard_error, utc_now
from .schema import DATETIME, UUID, Bool, Enum, Int, Obj, Refine, Str

LINK_TYPES = ("ticket", "project", "project_task", "interaction", "ad_hoc", "non_billable_category")
# link type -> (table, id column, NOT_FOUND message, details key); non_billable_category is not checked
_LINK_TARGETS = {
    "ticket": ("tickets", "ticket_id", "Ticket not found", "ticket_id"),
    "project_task": ("project_tasks", "task_id", "Project task not found", "task_id"),
    "project": ("projects", "project_id", "Project not found", "project_id"),
    "interaction": ("interactions", "interaction_id", "Interaction not found", "interaction_id"),
    "ad_hoc": ("schedule_entries", "entry_id", "Schedule entry not found", "entry_id"),
}
_MANAGES = """
SELECT 1 WHERE EXISTS (SELECT 1 FROM teams t JOIN team_members tm ON tm.tenant = t.tenant AND tm.team_id = t.team_id
                       WHERE t.tenant = %s AND t.manager_id = %s AND tm.user_id = %s)
            OR EXISTS (SELECT 1 FROM users WHERE tenant = %s AND user_id = %s AND reports_to = %s)
"""
_GIVEN_SHEET = """
SELECT ts.user_id, tp.start_date, tp.end_date FROM time_sheets ts
JOIN time_periods tp ON tp.tenant = ts.tenant AND tp.period_id = ts.period_id
WHERE ts.tenant = %s AND ts.id = %s
"""
_OPEN_PERIOD = """
SELECT period_id FROM time_periods WHERE tenant = %s AND is_closed = false AND start_date <= %s AND end_date > %s
ORDER BY start_date DESC LIMIT 1
"""
_INSERT = """
INSERT INTO time_entries (tenant, entry_id, user_id, work_item_id, work_item_type, service_id, contract_line_id,
    tax_rate_id, start_time, end_time, work_date, work_timezone, billable_duration, notes, approval_status,
    time_sheet_id, invoiced, created_by, updated_by, created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'DRAFT', %s, false, %s, %s, %s, %s)
RETURNING approval_status, invoiced
"""
_RESOURCE_OF = """
SELECT 1 FROM {table} WHERE tenant = %s AND {key} = %s AND (assigned_to = %s OR additional_user_id = %s) LIMIT 1
"""
_TASK_MINUTES = """
UPDATE project_tasks SET actual_hours = (
    SELECT coalesce(sum(billable_duration), 0) FROM time_entries
    WHERE tenant = %s AND work_item_type = 'project_task' AND work_item_id = %s), updated_at = %s
WHERE tenant = %s AND task_id = %s
"""


def _user_zone(name: str | None) -> ZoneInfo:
    """The user's IANA time zone; missing or unknown ones are UTC."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ValueError, LookupError, OSError):
        return ZoneInfo("UTC")


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


async def _require_on_behalf(ctx: ActionContext, subject: str) -> None:
    """Logging time for someone else needs ``timesheet:approve`` plus ``timesheet:read_all`` or managing them."""
    if ctx.actor == subject:
        return
    if await ctx.has_permission(ctx.actor, "timesheet", "approve") and (
            await ctx.has_permission(ctx.actor, "timesheet", "read_all")
            or await ctx.one(_MANAGES, ctx.tenant, ctx.actor, subject, ctx.tenant, subject, ctx.actor)):
        return
    raise action_error("PERMISSION_DENIED", "Permission denied: Cannot access other users time submissions",
                       {"actor_user_id": ctx.actor, "subject_user_id": subject})


async def _check_link(ctx: ActionContext, link: dict[str, Any] | None) -> None:
    target = _LINK_TARGETS.get(link["type"]) if link else None
    if target is None:
        return
    table, key, message, detail = target
    if await ctx.one(f"SELECT 1 FROM {table} WHERE tenant = %s AND {key} = %s", ctx.tenant, link["id"]) is None:
        raise action_error("NOT_FOUND", message, {detail: link["id"]})


async def _time_sheet(ctx: ActionContext, data: dict[str, Any], work_date: str, end_work_date: str) -> str | None:
    """The given time sheet (checked), else the user's sheet of the open period holding ``work_date``."""
    sheet_id = data.get("time_sheet_id")
    if sheet_id:
        sheet = await ctx.one(_GIVEN_SHEET, ctx.tenant, sheet_id)
        if sheet is None:
            raise action_error("NOT_FOUND", "Time sheet not found", {"time_sheet_id": sheet_id})
        if sheet["user_id"] != data["user_id"]:
            raise invalid("Time sheet owner must match time entry user",
                          {"time_sheet_id": sheet_id, "user_id": data["user_id"]})
        start, end = sheet["start_date"].isoformat(), sheet["end_date"].isoformat()
        if not (start <= work_date < end and start <= end_work_date < end):
            raise invalid("Time entry must fall within the provided time sheet period",
                          {"time_sheet_id": sheet_id, "period_start": start, "period_end": end})
        return sheet_id
    if not data["attach_to_timesheet"]:
        return None
    period = await ctx.one(_OPEN_PERIOD, ctx.tenant, work_date, work_date)
    if period is None:
        raise invalid("No open time period found for work_date", {"work_date": work_date})
    sheet = await ctx.one("SELECT id FROM time_sheets WHERE tenant = %s AND user_id = %s AND period_id = %s LIMIT 1",
                          ctx.tenant, data["user_id"], period["period_id"])
    if sheet is not None:
        return sheet["id"]
    sheet_id = str(uuid.uuid4())
    await ctx.execute("INSERT INTO time_sheets (id, tenant, user_id, period_id, approval_status) "
                      "VALUES (%s, %s, %s, %s, 'DRAFT')", sheet_id, ctx.tenant, data["user_id"], period["period_id"])
    return sheet_id


async def _join_ticket(ctx: ActionContext, ticket_id: str, user_id: str) -> None:
    """The entry's user becomes the ticket's assignee, or an additional agent when someone else is."""
    if await ctx.one(_RESOURCE_OF.format(table="ticket_resources", key="ticket_id"), ctx.tenant, ticket_id, user_id,
                     user_id):
        return
    ticket = await ctx.one("SELECT assigned_to FROM tickets WHERE tenant = %s AND ticket_id = %s",
                           ctx.tenant, ticket_id)
    if ticket is None:
        return
    if ticket["assigned_to"] and ticket["assigned_to"] != user_id:
        await ctx.execute("INSERT INTO ticket_resources (tenant, ticket_id, assigned_to, additional_user_id, "
                          "assigned_at) VALUES (%s, %s, %s, %s, %s)", ctx.tenant, ticket_id, ticket["assigned_to"],
                          user_id, utc_now())
    elif not ticket["assigned_to"]:
        await ctx.execute("UPDATE tickets SET assigned_to = %s, updated_at = %s, updated_by = %s "
                          "WHERE tenant = %s AND ticket_id = %s", user_id, utc_now(), ctx.actor, ctx.tenant, ticket_id)


async def _join_task(ctx: ActionContext, task_id: str, user_id: str) -> None:
    """Recount the task's actual minutes, then assign it like a ticket (``task_resources``)."""
    await ctx.execute(_TASK_MINUTES, ctx.tenant, task_id, utc_now(), ctx.tenant, task_id)
    task = await ctx.one("SELECT assigned_to FROM project_tasks WHERE tenant = %s AND task_id = %s",
                         ctx.tenant, task_id)
    if task is None:
        return
    if task["assigned_to"] and task["assigned_to"] != user_id:
        if not await ctx.one(_RESOURCE_OF.format(table="task_resources", key="task_id"), ctx.tenant, task_id,
                             user_id, user_id):
            await ctx.execute("INSERT INTO task_resources (tenant, task_id, assigned_to, additional_user_id, "
                              "assigned_at) VALUES (%s, %s, %s, %s, %s)", ctx.tenant, task_id, task["assigned_to"],
                              user_id, utc_now())
    elif not task["assigned_to"]:
        await ctx.execute("UPDATE project_tasks SET assigned_to = %s, updated_at = %s "
                          "WHERE tenant = %s AND task_id = %s", user_id, utc_now(), ctx.tenant, task_id)


async def _create(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    user_id, link = data["user_id"], data.get("link")
    user = await ctx.one("SELECT timezone FROM users WHERE tenant = %s AND user_id = %s", ctx.tenant, user_id)
    if user is None:
        raise action_error("NOT_FOUND", "User not found", {"user_id": user_id})
    await _require_on_behalf(ctx, user_id)
    if await ctx.one("SELECT 1 FROM service_catalog WHERE tenant = %s AND service_id = %s",
                     ctx.tenant, data["service_id"]) is None:
        raise invalid("Service is required and must exist", {"service_id": data["service_id"]})
    start = instant(data["start"])
    end = instant(data["end"]) if data.get("end") else start + timedelta(minutes=data["duration_minutes"])
    if end < start:
        raise invalid("end must be at or after start", {"start": data["start"], "end": data.get("end") or iso(end)})
    start_minute, end_minute = _minute(start), _minute(end)
    total = round((end_minute - start_minute) / timedelta(minutes=1))
    billable = 0 if not data["billable"] else data.get("billable_duration_minutes", total)
    zone = _user_zone(user["timezone"])
    work_date = start.astimezone(zone).date().isoformat()
    await _check_link(ctx, link)
    contract_line_id = data.get("contract_line_id")
    if contract_line_id is None:
        contract_line_id = data.get("billing_plan_id")
    sheet_id = await _time_sheet(ctx, data, work_date, end.astimezone(zone).date().isoformat())

    entry_id, now = str(uuid.uuid4()), utc_now()
    row = await ctx.one(_INSERT, ctx.tenant, entry_id, user_id, link["id"] if link else None,
                        link["type"] if link else None, data["service_id"], contract_line_id, data.get("tax_rate_id"),
                        start_minute, end_minute, work_date, zone.key, billable, data.get("notes"), sheet_id, ctx.actor,
                        ctx.actor, now, now)
    if link and link["type"] == "ticket":
        await _join_ticket(ctx, link["id"], user_id)
    if link and link["type"] == "project_task":
        await _join_task(ctx, link["id"], user_id)
    return {"entry_id": entry_id, "user_id": user_id, "work_item_id": link["id"] if link else None,
            "work_item_type": link["type"] if link else None, "service_id": data["service_id"],
            "contract_line_id": contract_line_id, "time_sheet_id": sheet_id, "start_time": iso(start_minute),
            "end_time": iso(end_minute), "total_minutes": total, "billable_minutes": billable, "work_date": work_date,
            "work_timezone": zone.key, "approval_status": row["approval_status"], "invoiced": bool(row["invoiced"]),
            "notes": data.get("notes")}


async def create_entry(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("timeentry", "create")
    if data["user_id"] != ctx.actor:
        await ctx.require_permission("timeentry", "update")
    try:
        entry = await _create(ctx, data)
        await ctx.audit({name: entry[name] for name in _AUDITED}, entry_id=entry["entry_id"])
    except psycopg.Error as exc:  # AlgaPSA maps unexpected failures by their message
        raise standard_error(exc.diag.message_primary or str(exc)) from None
    return {"time_entry": entry}


_AUDITED = ("entry_id", "user_id", "service_id", "work_item_id", "work_item_type", "total_minutes", "billable_minutes",
            "work_date", "time_sheet_id", "contract_line_id", "approval_status")
_MINUTES = Int(minimum=0)
_NULLABLE_UUID = UUID.nullable().optional()

ACTIONS = (
    Action(
        id="time.create_entry",
        input=Obj(
            fields={
                "user_id": UUID,
                "start": DATETIME,
                "end": DATETIME.optional(),
                "duration_minutes": _MINUTES.optional(),
                "billable": Bool().default(True),
                "billable_duration_minutes": _MINUTES.optional(),
                "link": Obj(fields={"type": Enum(options=LINK_TYPES), "id": UUID}).optional(),
                "service_id": UUID,
                "contract_line_id": _NULLABLE_UUID,
                "tax_rate_id": _NULLABLE_UUID,
                "notes": Str().optional(),
                "time_sheet_id": _NULLABLE_UUID,
                "attach_to_timesheet": Bool().default(True),
                "billing_plan_id": _NULLABLE_UUID,
            },
            refinements=(Refine(lambda d: bool(d.get("end")) or "duration_minutes" in d,
                                "Provide either end or duration_minutes", ("end",)),),
        ),
        output=Obj(fields={"time_entry": Obj(fields={
            "entry_id": UUID, "user_id": UUID, "work_item_id": UUID.nullable(), "work_item_type": Str().nullable(),
            "service_id": UUID, "contract_line_id": UUID.nullable(), "time_sheet_id": UUID.nullable(),
            "start_time": DATETIME, "end_time": DATETIME, "total_minutes": Int(), "billable_minutes": Int(),
            "work_date": Str(), "work_timezone": Str(), "approval_status": Str(), "invoiced": Bool(),
            "notes": Str().nullable(),
        })}),
        handler=create_entry,
    ),
)
