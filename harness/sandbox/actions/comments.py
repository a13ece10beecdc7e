"""Ticket comments as AlgaPSA's ticket model writes them for workflow actions (contract §4.1)."""
from __future__ import annotations

import json
import uuid
from typing import Any

from psycopg.types.json import Jsonb

from .base import ActionContext, iso, standard_error, utc_now

_INSERT = """
INSERT INTO comments (comment_id, tenant, ticket_id, note, is_internal, is_resolution, author_type, user_id,
                      metadata, created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, 'internal', %s, %s, %s, %s)
"""


async def create_comment(ctx: ActionContext, ticket_id: str, note: str, *, is_internal: bool,
                         is_resolution: bool = False, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Insert one comment authored by the actor; returns ``{comment_id, created_at}``.

    The note is stored verbatim. A missing ticket fails like AlgaPSA's model error, mapped to NOT_FOUND.
    """
    if await ctx.one("SELECT 1 FROM tickets WHERE tenant = %s AND ticket_id = %s", ctx.tenant, ticket_id) is None:
        raise standard_error("Ticket not found or does not belong to tenant")
    comment_id = str(uuid.uuid4())
    now = utc_now()
    await ctx.execute(_INSERT, comment_id, ctx.tenant, ticket_id, note, is_internal, is_resolution, ctx.actor,
                      Jsonb(metadata or ctx.metadata()), now, now)
    return {"comment_id": comment_id, "created_at": iso(now)}


def mention_document(body: str, mentions: list[str]) -> str:
    """A BlockNote document with one mention per user id, then the body; JSON-array bodies stay as they are."""
    try:
        if isinstance(json.loads(body), list):
            return body
    except ValueError:
        pass
    ids = [str(m) for m in mentions if str(m).strip()]
    content: list[dict[str, Any]] = [{"type": "mention", "props": {"userId": user_id}} for user_id in ids]
    if body.strip():
        content.append({"type": "text", "text": (" " if ids else "") + body})
    return json.dumps([{"type": "paragraph", "content": content}], ensure_ascii=False, separators=(",", ":"))
