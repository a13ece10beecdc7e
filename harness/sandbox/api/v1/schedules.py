"""``/api/v1/schedules/{id}``: read and delete schedule entries (http-and-db.md §7.6)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from ...auth import Caller, v1_caller
from ...http_errors import V1ApiError
from .common import data_response, fetch_one, has_permission, resource_id

router = APIRouter(prefix="/schedules")

_ENTRY = """
SELECT se.*, coalesce((SELECT array_agg(a.user_id ORDER BY a.user_id) FROM schedule_entry_assignees a
                       WHERE a.tenant = se.tenant AND a.entry_id = se.entry_id), '{}') AS assigned_user_ids
FROM schedule_entries se WHERE se.tenant = %s AND se.entry_id = %s
"""


async def _entry_for(conn: AsyncConnection, caller: Caller, entry_id: str, action: str) -> dict[str, Any]:
    """The entry, if the caller may ``action`` it: the ``user_schedule`` permission, or an entry assigned
    to the caller alone; a private entry only ever to that owner."""
    entry = await fetch_one(conn, _ENTRY, (caller.tenant, entry_id))
    if entry is None:
        raise V1ApiError("NOT_FOUND", "Schedule entry not found")
    own = [str(u) for u in entry["assigned_user_ids"]] == [caller.user_id]
    if not own and (entry["is_private"] or not await has_permission(conn, caller, "user_schedule", action)):
        raise V1ApiError("FORBIDDEN", f"Permission denied: Cannot {action} user_schedule")
    return entry


@router.get("/{entry_id}")
async def get_schedule_entry(entry_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    entry_id = resource_id(entry_id, "schedule entry")
    async with request.app.state.pool.connection() as conn:
        entry = await _entry_for(conn, caller, entry_id, "read")
    return data_response(entry)


@router.delete("/{entry_id}")
async def delete_schedule_entry(entry_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> Response:
    """Delete the entry; its assignees and conflicts go with it by cascade."""
    entry_id = resource_id(entry_id, "schedule entry")
    async with request.app.state.pool.connection() as conn, conn.transaction():
        await _entry_for(conn, caller, entry_id, "delete")
        await conn.execute("DELETE FROM schedule_entries WHERE tenant = %s AND entry_id = %s",
                           (caller.tenant, entry_id))
    return Response(status_code=204)
