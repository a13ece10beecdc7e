"""``tickets.link_entities`` (contract §4.11)."""
from __future__ import annotations

import uuid
from typing import Any

from psycopg import errors
from psycopg.types.json import Jsonb

from ..runtime.run_errors import action_error
from .base import Action, ActionContext, utc_now
from .schema import UUID, Enum, Obj, Record, Str

# entity type -> (table, id column, columns that may hold its name, not-found message)
_ENTITIES: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "project": ("projects", "project_id", ("project_name",), "Project not found"),
    "project_task": ("project_tasks", "task_id", ("task_name",), "Project task not found"),
    "asset": ("assets", "asset_id", ("asset_name", "name", "asset_tag"), "Asset not found"),
    "contract": ("contracts", "contract_id", ("contract_name", "name", "contract_number"), "Contract not found"),
}

_INSERT = """
INSERT INTO ticket_entity_links (tenant, link_id, ticket_id, entity_type, entity_id, link_type, metadata, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""


async def _entity(ctx: ActionContext, table: str, id_column: str, entity_id: str) -> dict[str, Any] | None:
    """The entity row, or None; a table this database does not have holds no entities."""
    try:
        async with ctx.conn.transaction():
            return await ctx.one(f"SELECT * FROM {table} WHERE tenant = %s AND {id_column} = %s", ctx.tenant, entity_id)
    except errors.UndefinedTable:
        return None


async def link_entities(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("ticket", "update")
    ticket_id, kind, entity_id = data["ticket_id"], data["entity_type"], data["entity_id"]
    if await ctx.one("SELECT 1 FROM tickets WHERE tenant = %s AND ticket_id = %s", ctx.tenant, ticket_id) is None:
        raise action_error("NOT_FOUND", "Ticket not found")
    table, id_column, name_columns, not_found = _ENTITIES[kind]
    entity = await _entity(ctx, table, id_column, entity_id)
    if entity is None:
        raise action_error("NOT_FOUND", not_found)
    name = next((entity[c] for c in name_columns if entity.get(c) is not None), None)
    link_id = str(uuid.uuid4())
    metadata = data.get("metadata")
    try:
        async with ctx.conn.transaction():
            await ctx.execute(_INSERT, ctx.tenant, link_id, ticket_id, kind, entity_id, data["link_type"],
                              Jsonb(metadata) if metadata is not None else None, utc_now())
    except errors.UniqueViolation:
        raise action_error("CONFLICT", "Link already exists") from None
    await ctx.audit({"ticket_id": ticket_id, "entity_type": kind, "entity_id": entity_id,
                     "link_type": data["link_type"]}, link_id=link_id)
    return {"link_id": link_id, "entity_type": kind, "entity_id": entity_id, "link_type": data["link_type"],
            "linked_entity_summary": {"type": kind, "id": entity_id, "name": name, "url": None}}


ACTIONS = (
    Action(
        id="tickets.link_entities",
        input=Obj(fields={
            "ticket_id": UUID,
            "entity_type": Enum(options=tuple(_ENTITIES)),
            "entity_id": UUID,
            "link_type": Str(min_len=1),
            "metadata": Record().optional(),
        }),
        output=Obj(fields={
            "link_id": UUID, "entity_type": Str(), "entity_id": UUID, "link_type": Str(),
            "linked_entity_summary": Obj(fields={"type": Str(), "id": UUID, "name": Str().nullable(),
                                                 "url": Str().nullable()}),
        }),
        handler=link_entities,
    ),
)
