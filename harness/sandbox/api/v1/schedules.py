"""``/api/v1/schedules``: list, create, read, update and delete schedule entries (``user_schedule`` RBAC).

``read`` lets a user list, create and read entries; ``update`` lets them see and change everyone's
and assign others; ``delete`` lets them delete others' entries. Without those, a user may update or
delete an entry assigned to them alone. Private entries stay their owner's. Path ids reach Postgres
unchecked (a malformed one is a 500). AlgaPSA announces writes with plain ``publishEvent``
(SCHEDULE_ENTRY_CREATED/UPDATED/DELETED, no ``occurredAt``), which starts no run; the sandbox
publishes nothing.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from ...auth import Caller, v1_caller
from ...http_errors import V1ApiError
from . import schedule_entries as entries
from .common import data_response, fetch_all, has_permission, insert_row, unexpected_error, update_row, v1_strict_body
from .project_rules import optional, raw_id
from .validation import BodySchema

router = APIRouter(prefix="/schedules")

_FIELDS = {
    "title": "string(min=1)", "scheduled_start": "datetime", "scheduled_end": "datetime", "work_item_id": "uuid?",
    "work_item_type": "enum(ticket|project_task|meeting|break|other)?", "assigned_user_ids": "array<uuid>?",
    "notes": "string?", "is_private": "bool?", "recurrence_pattern": "string?",
}
CREATE = BodySchema("CreateScheduleEntry", _FIELDS)
UPDATE = BodySchema("UpdateScheduleEntry", optional(_FIELDS))
_LIST = """
SELECT DISTINCT se.* FROM schedule_entries se
LEFT JOIN schedule_entry_assignees a ON a.tenant = se.tenant AND a.entry_id = se.entry_id
WHERE se.tenant = %s AND (%s::text IS NULL OR se.scheduled_start >= %s::timestamptz)
  AND (%s::text IS NULL OR se.scheduled_end <= %s::timestamptz) AND (%s::text IS NULL OR a.user_id = %s::uuid)
ORDER BY se.scheduled_start, se.entry_id
"""


def _parse(schema: BodySchema, body: Any) -> dict[str, Any]:
    """The body's known keys; 400 ``Invalid schedule data`` (end after start when both are given)."""
    found = schema.issues(body)
    if not found and isinstance(body, dict) and body.get("scheduled_start") and body.get("scheduled_end") \
            and _instant(body["scheduled_end"]) <= _instant(body["scheduled_start"]):
        found = [{"code": "custom", "message": "Scheduled end time must be after start time",
                  "path": ["scheduled_end"]}]
    return schema.accept(body, found, "Invalid schedule data")


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _may(conn: AsyncConnection, caller: Caller, action: str) -> bool:
    return await has_permission(conn, caller, "user_schedule", action)


async def _existing(conn: AsyncConnection, caller: Caller, entry_id: str) -> dict[str, Any]:
    entry = await entries.load(conn, caller.tenant, raw_id(entry_id))
    if entry is None:
        raise V1ApiError("NOT_FOUND", "Schedule entry not found")
    return entry


@router.get("")
async def list_schedule_entries(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    """Entries by start time, filtered by ``start_date``/``end_date`` and, for managers, ``user_id``."""
    async with request.app.state.pool.connection() as conn:
        if not await _may(conn, caller, "read"):
            raise V1ApiError("FORBIDDEN", "Permission denied: Cannot read schedules")
        if not await _may(conn, caller, "update"):
            # AlgaPSA's own-entries filter names a created_by column schedule entries lack
            await conn.execute("SELECT created_by FROM schedule_entries LIMIT 0")
        start, end, user_id = (request.query_params.get(name) or None for name in ("start_date", "end_date", "user_id"))
        rows = await fetch_all(conn, _LIST, (caller.tenant, start, start, end, end, user_id, user_id))
        items = [entries.listed(await entries.with_details(conn, caller.tenant, row), caller.user_id) for row in rows]
    return data_response(items)


@router.post("")
async def create_schedule_entry(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        if not await _may(conn, caller, "read"):
            raise V1ApiError("FORBIDDEN", "Permission denied: Cannot create schedules")
        body = _parse(CREATE, await v1_strict_body(request))
        assignees = [user_id.lower() for user_id in body.get("assigned_user_ids", [])]
        if any(user_id != caller.user_id for user_id in assignees) and not await _may(conn, caller, "update"):
            raise V1ApiError("FORBIDDEN", "Permission denied: Cannot assign schedules to other users")
        columns = _new_entry(body, caller.tenant)
        async with conn.transaction():
            entry = await insert_row(conn, "schedule_entries", columns)
            for user_id in dict.fromkeys(assignees):
                await conn.execute("INSERT INTO schedule_entry_assignees (tenant, entry_id, user_id) "
                                   "VALUES (%s, %s, %s)", (caller.tenant, entry["entry_id"], user_id))
        return data_response(await entries.with_details(conn, caller.tenant, entry), 201)


def _new_entry(body: dict[str, Any], tenant: str) -> dict[str, Any]:
    """The row AlgaPSA's model inserts: types other than ticket/project_task become unlinked ad-hoc entries."""
    kind = body.get("work_item_type") if body.get("work_item_type") in ("ticket", "project_task") else "ad_hoc"
    try:
        pattern = json.loads(body["recurrence_pattern"]) if body.get("recurrence_pattern") else None
    except ValueError:
        raise unexpected_error() from None
    recurring = isinstance(pattern, dict) and bool(pattern)
    return {"tenant": tenant, "title": body["title"], "scheduled_start": body["scheduled_start"],
            "scheduled_end": body["scheduled_end"], "notes": body.get("notes"), "status": "scheduled",
            "work_item_id": body.get("work_item_id") if kind != "ad_hoc" else None, "work_item_type": kind,
            "recurrence_pattern": Jsonb(pattern) if recurring else None, "is_recurring": recurring,
            "is_private": bool(body.get("is_private"))}


@router.get("/{entry_id}")
async def get_schedule_entry(entry_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    """Any entry assigned to the caller; others' only with ``update``, private ones masked."""
    async with request.app.state.pool.connection() as conn:
        if not await _may(conn, caller, "read"):
            raise V1ApiError("FORBIDDEN", "Permission denied: Cannot read schedules")
        entry = await _existing(conn, caller, entry_id)
        if caller.user_id in entries.assignee_ids(entry):
            return data_response(entry)
        if not await _may(conn, caller, "update"):
            raise V1ApiError("FORBIDDEN", "Permission denied: Cannot read schedules of other users")
    return data_response(entries.masked(entry) if entry["is_private"] else entry)


@router.put("/{entry_id}")
async def update_schedule_entry(entry_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    """Write the given keys as columns, as AlgaPSA does (so ``assigned_user_ids`` fails there)."""
    async with request.app.state.pool.connection() as conn:
        manager = await _may(conn, caller, "update")
        changes = _parse(UPDATE, await v1_strict_body(request))
        entry = await _existing(conn, caller, entry_id)
        own = entries.sole_assignee(entry, caller.user_id)
        if entry["is_private"] and not own:
            raise V1ApiError("FORBIDDEN", "Permission denied: Cannot update a private schedule entry")
        stays_own = changes.get("assigned_user_ids") in (None, [caller.user_id])
        if not manager and not (own and stays_own):
            raise V1ApiError("FORBIDDEN", "Permission denied: Cannot update schedules")
        await update_row(conn, "schedule_entries", caller.tenant, "entry_id", entry["entry_id"],
                         {**changes, "updated_at": datetime.now(timezone.utc)})
        return data_response(await entries.load(conn, caller.tenant, entry["entry_id"]))


@router.delete("/{entry_id}")
async def delete_schedule_entry(entry_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> Response:
    """Delete the entry; its assignees and conflicts go with it by cascade."""
    async with request.app.state.pool.connection() as conn:
        manager = await _may(conn, caller, "delete")
        entry = await _existing(conn, caller, entry_id)
        own = entries.sole_assignee(entry, caller.user_id)
        if entry["is_private"] and not own:
            raise V1ApiError("FORBIDDEN", "Permission denied: Cannot delete a private schedule entry")
        if not manager and not own:
            raise V1ApiError("FORBIDDEN", "Permission denied: Cannot delete schedules")
        await conn.execute("DELETE FROM schedule_entries WHERE tenant = %s AND entry_id = %s",
                           (caller.tenant, entry["entry_id"]))
    return Response(status_code=204)
