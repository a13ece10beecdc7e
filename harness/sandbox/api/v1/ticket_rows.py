"""What the ticket routes share: the join their reads select from, the ticket lookup every
``/tickets/{id}`` route starts with, the ids a body may name, and the HTML AlgaPSA renders from ticket
and comment text."""
from __future__ import annotations

import html
import json
from typing import Any

from psycopg import AsyncConnection

from ...auth import Caller
from ...http_errors import V1ApiError
from .common import fetch_one, resource_id

OPTIONAL_REFS = ("location_id", "contact_name_id", "category_id", "subcategory_id", "assigned_to")
REQUIRED_REFS = ("board_id", "client_id", "status_id", "priority_id")
ID_FIELDS = (*REQUIRED_REFS, *OPTIONAL_REFS, "closed_by", "parent_comment_id")
"""Body fields holding ids, lower-cased before they are compared or written."""

NAME = ("CASE WHEN {u}.first_name IS NOT NULL AND {u}.last_name IS NOT NULL "
        "THEN {u}.first_name || ' ' || {u}.last_name END")
"""A user's full name (null unless both parts are set); ``{u}`` is the users alias."""
FROM = """
FROM tickets t
LEFT JOIN clients comp ON comp.tenant = t.tenant AND comp.client_id = t.client_id
LEFT JOIN contacts cont ON cont.tenant = t.tenant AND cont.contact_name_id = t.contact_name_id
LEFT JOIN statuses stat ON stat.tenant = t.tenant AND stat.status_id = t.status_id
LEFT JOIN priorities pri ON pri.tenant = t.tenant AND pri.priority_id = t.priority_id
LEFT JOIN boards board ON board.tenant = t.tenant AND board.board_id = t.board_id
LEFT JOIN users entered_user ON entered_user.tenant = t.tenant AND entered_user.user_id = t.entered_by
LEFT JOIN users assigned_user ON assigned_user.tenant = t.tenant AND assigned_user.user_id = t.assigned_to
WHERE t.tenant = %s
"""
"""The tenant's tickets with what the read routes show by name, for ``SELECT ... {FROM}``."""
_DETAIL = ("SELECT t.*, comp.client_name, cont.full_name AS contact_name, stat.name AS status_name, "
           "stat.is_closed AS status_is_closed, pri.priority_name, board.board_name, "
           f"{NAME.format(u='assigned_user')} AS assigned_to_name {FROM}")


async def readable_ticket(conn: AsyncConnection, caller: Caller, raw_id: str) -> dict[str, Any]:
    """The ticket a ``/tickets/{id}`` route acts on (AlgaPSA's ``assertTicketReadAllowed``): 400 for an
    id that is not a UUID, 404 ``ticket not found`` when the tenant has no such ticket."""
    row = await fetch_one(conn, _DETAIL + " AND t.ticket_id = %s", (caller.tenant, resource_id(raw_id, "ticket")))
    if row is None:
        raise V1ApiError("NOT_FOUND", "ticket not found")
    return row


def rich_text_html(content: Any) -> str:
    """AlgaPSA's ``renderTicketRichTextHtml`` for plain text: one escaped paragraph (``<p></p>`` when
    blank). Serialized BlockNote documents are not converted; they are shown escaped, the renderer's
    own fallback."""
    if content is None or (isinstance(content, str) and not content.strip()):
        return "<p></p>"
    text = content if isinstance(content, str) else json.dumps(content, separators=(",", ":"))
    return f"<p>{html.escape(text, quote=True).replace('&#x27;', '&#39;')}</p>"


def description_html(attributes: Any) -> str:
    """``description_html``: the rendered ``attributes.description``."""
    description = attributes.get("description") if isinstance(attributes, dict) else None
    return rich_text_html(description if description is not None else "")
