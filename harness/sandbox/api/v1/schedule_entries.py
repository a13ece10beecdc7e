"""Schedule entries as AlgaPSA's time-sheet service reads and shows them, and its ownership rules."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from psycopg import AsyncConnection

from .common import fetch_all, fetch_one

_ASSIGNEES = """
SELECT u.user_id, u.first_name, u.last_name, u.email FROM schedule_entry_assignees a
JOIN users u ON u.tenant = a.tenant AND u.user_id = a.user_id
WHERE a.tenant = %s AND a.entry_id = %s ORDER BY a.created_at, u.user_id
"""
# What another user sees of a private entry.
_MASK = {"title": "Busy", "notes": "", "work_item_id": None, "work_item": None}


async def with_details(conn: AsyncConnection, tenant: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The row plus ``assigned_users`` and AlgaPSA's placeholder ``work_item``."""
    work_item = ({"id": entry["work_item_id"], "title": "Unknown Work Item", "type": entry["work_item_type"]}
                 if entry["work_item_id"] else None)
    return {**entry, "assigned_users": await fetch_all(conn, _ASSIGNEES, (tenant, entry["entry_id"])),
            "work_item": work_item}


async def load(conn: AsyncConnection, tenant: str, entry_id: str) -> dict[str, Any] | None:
    """``getScheduleEntry``: the detailed entry, or None."""
    row = await fetch_one(conn, "SELECT * FROM schedule_entries WHERE tenant = %s AND entry_id = %s",
                          (tenant, entry_id))
    return await with_details(conn, tenant, row) if row else None


def assignee_ids(entry: dict[str, Any]) -> list[str]:
    return [str(user["user_id"]) for user in entry["assigned_users"]]


def sole_assignee(entry: dict[str, Any], user_id: str) -> bool:
    """Ownership for updates and deletes: the caller is the entry's only assignee.

    AlgaPSA also accepts the entry's ``created_by``, a column schedule entries do not have.
    """
    return assignee_ids(entry) == [user_id]


def masked(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, **_MASK}


def listed(entry: dict[str, Any], user_id: str) -> dict[str, Any]:
    """A list item: ``duration_hours`` (to 2 decimals), ``is_current``, masked when private and not the caller's."""
    now = datetime.now(timezone.utc)
    start, end = entry["scheduled_start"] or now, entry["scheduled_end"] or now
    hours = math.floor((end - start).total_seconds() / 36 + 0.5) / 100
    item = {**entry, "duration_hours": int(hours) if hours.is_integer() else hours, "is_current": start <= now <= end}
    return masked(item) if entry["is_private"] and user_id not in assignee_ids(entry) else item
