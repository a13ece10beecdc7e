"""``notifications.send_in_app`` (contract §4.2)."""
from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from ..runtime.run_errors import action_error
from .base import Action, ActionContext, invalid, provided_key, utc_now
from .schema import UUID, Arr, Enum, Int, Obj, Str

_INSERT = """
INSERT INTO internal_notifications (internal_notification_id, tenant, user_id, template_name, language_code, title,
    message, type, category, link, metadata, is_read, delivery_status, delivery_attempts, created_at, updated_at)
VALUES (%s, %s, %s, 'workflow-custom', 'en', %s, %s, %s, 'workflow', %s, %s, false, 'pending', 0, %s, %s)
"""


def _dedupe_key(data: dict[str, Any], fallback: str) -> str:
    return str(data["dedupe_key"]) if data.get("dedupe_key") else provided_key(data, fallback)


async def _recipients(ctx: ActionContext, recipients: dict[str, Any]) -> list[str]:
    """Explicit user ids first, then holders of the given roles; de-duplicated in that order."""
    role_ids = list(recipients.get("role_ids") or [])
    names = [name.lower() for name in recipients.get("role_names") or []]
    if names:
        rows = await ctx.all("SELECT role_id FROM roles WHERE tenant = %s AND lower(role_name) = ANY(%s)",
                             ctx.tenant, names)
        role_ids += [row["role_id"] for row in rows]
    holders: list[str] = []
    if role_ids:
        rows = await ctx.all("SELECT user_id FROM user_roles WHERE tenant = %s AND role_id = ANY(%s::uuid[])",
                             ctx.tenant, role_ids)
        holders = [row["user_id"] for row in rows]
    return list(dict.fromkeys([*(recipients.get("user_ids") or []), *holders]))


async def send_in_app(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    user_ids = await _recipients(ctx, data["recipients"])
    if not user_ids:
        raise invalid("At least one recipient user_id is required")
    rows = await ctx.all("SELECT user_id FROM users WHERE tenant = %s AND user_id = ANY(%s::uuid[])",
                         ctx.tenant, user_ids)
    known = {row["user_id"] for row in rows}  # compared as text, like AlgaPSA: an upper-case id is "missing"
    missing = [user_id for user_id in user_ids if user_id not in known]
    if missing:
        raise action_error("NOT_FOUND", "One or more users not found", {"missing_user_ids": missing})
    now = utc_now()
    ids = []
    for user_id in user_ids:
        ids.append(str(uuid.uuid4()))
        await ctx.execute(_INSERT, ids[-1], ctx.tenant, user_id, data["title"], data["body"], data["severity"],
                          data.get("link"), Jsonb(ctx.metadata()), now, now)
    await ctx.audit({"delivered_count": len(ids)}, delivered_count=len(ids))
    return {"notification_ids": ids, "delivered_count": len(ids)}


ACTIONS = (
    Action(
        id="notifications.send_in_app",
        input=Obj(fields={
            "recipients": Obj(fields={"user_ids": Arr(item=UUID).optional(), "role_ids": Arr(item=UUID).optional(),
                                      "role_names": Arr(item=Str(min_len=1)).optional()}),
            "title": Str(min_len=1),
            "body": Str(min_len=1),
            "severity": Enum(options=("info", "success", "warning", "error")).default("info"),
            "link": Str().optional(),
            "dedupe_key": Str().optional(),
        }),
        output=Obj(fields={"notification_ids": Arr(item=UUID), "delivered_count": Int()}),
        handler=send_in_app,
        key_rule=_dedupe_key,
    ),
)
