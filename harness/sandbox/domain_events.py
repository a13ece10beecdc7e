"""Domain events published by REST writes, and the workflow runs they start (http-and-db.md §7.7).

After a write has committed, its handler publishes the events here. Each ingested event gets one
``workflow_runtime_events`` row (``payload_schema_ref`` = the tenant ``event_catalog`` ref, else the
``system_event_catalog`` ref) and starts runs of the tenant's published, unpaused workflows triggered
by it whose schema ref equals that ref, with the payload validated against the workflow's schema.
Nothing is enriched: the builders below already fill the base fields, as ``publishWorkflowEvent``
does. Only the ticket events are ingested; AlgaPSA's PROJECT_CREATED lacks ``occurredAt`` and the
*_DELETED events have no catalog ref, so REST project and delete calls start no runs.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from fastapi import Request
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from ..contract.event_payloads import PayloadSchemaRegistry
from .runtime.run_errors import iso_now
from .runtime.launcher import CATALOG_REF, StartedRun, start_runs_for_event

log = logging.getLogger("harness.sandbox.domain_events")

TRACKED_TICKET_FIELDS = ("title", "url", "status_id", "priority_id", "assigned_to", "board_id", "category_id",
                         "subcategory_id")

_INSERT_EVENT = """
INSERT INTO workflow_runtime_events (tenant, event_name, correlation_key, payload, payload_schema_ref, processed_at)
VALUES (%s, %s, %s, %s, %s, %s) RETURNING event_id
"""


@dataclass(frozen=True)
class DomainEvent:
    """One bus event: its type, its payload (base fields included) and the key waits would match."""

    name: str
    payload: dict[str, Any]
    correlation_key: str | None


def _with_base(payload: dict[str, Any], *, tenant: str, user_id: str) -> dict[str, Any]:
    return {**payload, "actorType": "USER", "actorUserId": user_id, "tenantId": tenant, "occurredAt": iso_now()}


def ticket_created(ticket: Mapping[str, Any], *, tenant: str, user_id: str) -> DomainEvent:
    """TICKET_CREATED for a ticket row given with JSON-plain values (§7.1)."""
    payload = {"ticketId": ticket["ticket_id"], "userId": user_id, "createdByUserId": user_id,
               "createdAt": ticket["entered_at"], "source": "api", "board_id": ticket["board_id"],
               "priority_id": ticket["priority_id"], "client_id": ticket["client_id"]}
    return DomainEvent("TICKET_CREATED", _with_base(payload, tenant=tenant, user_id=user_id), ticket["ticket_id"])


def ticket_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {old, new}}`` for the tracked ticket fields the update changed."""
    return {name: {"old": before.get(name), "new": after[name]} for name in TRACKED_TICKET_FIELDS
            if name in after and after[name] != before.get(name)}


def ticket_updated(ticket_id: str, changes: dict[str, Any], *, tenant: str, user_id: str,
                   suppress_contact: bool, suppress_internal: bool) -> DomainEvent:
    """TICKET_UPDATED, published on every REST update (§7.2)."""
    payload = {"ticketId": ticket_id, "updatedByUserId": user_id, "changes": changes,
               "suppressContactNotifications": suppress_contact, "suppressInternalNotifications": suppress_internal}
    return DomainEvent("TICKET_UPDATED", _with_base(payload, tenant=tenant, user_id=user_id), ticket_id)


def ticket_closed(ticket_id: str, closed_at: str, *, tenant: str, user_id: str, suppress_contact: bool,
                  suppress_internal: bool) -> DomainEvent:
    """TICKET_CLOSED, published when an update moves the ticket to a closed status (§7.2)."""
    payload = {"ticketId": ticket_id, "closedByUserId": user_id, "closedAt": closed_at,
               "suppressContactNotifications": suppress_contact, "suppressInternalNotifications": suppress_internal}
    return DomainEvent("TICKET_CLOSED", _with_base(payload, tenant=tenant, user_id=user_id), ticket_id)


def ticket_comment_added(ticket_id: str, comment: Mapping[str, Any], author: str, *, tenant: str, user_id: str,
                         suppress_contact: bool, suppress_internal: bool) -> DomainEvent:
    """TICKET_COMMENT_ADDED, published by ``POST /api/v1/tickets/{id}/comments``."""
    payload = {"ticketId": ticket_id, "userId": user_id,
               "comment": {"id": comment["comment_id"], "content": comment["note"], "author": author,
                           "isInternal": comment["is_internal"]},
               "suppressContactNotifications": suppress_contact, "suppressInternalNotifications": suppress_internal}
    return DomainEvent("TICKET_COMMENT_ADDED", _with_base(payload, tenant=tenant, user_id=user_id), ticket_id)


def ticket_deleted(ticket_id: str, *, tenant: str, user_id: str) -> DomainEvent:
    """TICKET_DELETED, published by ``DELETE /api/v1/tickets/{id}`` (no catalog ref: it starts no runs)."""
    payload = {"ticketId": ticket_id, "userId": user_id}
    return DomainEvent("TICKET_DELETED", _with_base(payload, tenant=tenant, user_id=user_id), ticket_id)


async def catalog_ref(conn: AsyncConnection, tenant: str, event_name: str) -> str | None:
    """The event's payload schema ref from the tenant catalog, else the system catalog."""
    cur = await conn.execute(CATALOG_REF, (tenant, event_name, event_name))
    row = await cur.fetchone()
    return row[0] if row else None


async def ingest(conn: AsyncConnection, registry: PayloadSchemaRegistry, event: DomainEvent, *,
                 tenant: str) -> list[StartedRun]:
    """Record the event and insert the runs it starts, in one transaction; the caller queues the runs."""
    async with conn.transaction():
        source_ref = await catalog_ref(conn, tenant, event.name)
        cur = await conn.execute(_INSERT_EVENT, (tenant, event.name, event.correlation_key, Jsonb(event.payload),
                                                 source_ref, datetime.now(timezone.utc)))
        event_id = (await cur.fetchone())[0]
        started = await start_runs_for_event(conn, registry, tenant=tenant, event_name=event.name,
                                             payload=event.payload, source_ref=source_ref,
                                             correlation_key=event.correlation_key)
        if len(started) == 1:
            await conn.execute("UPDATE workflow_runtime_events SET matched_run_id = %s WHERE event_id = %s",
                               (started[0].run_id, event_id))
    return started


async def publish(request: Request, events: list[DomainEvent], *, tenant: str) -> None:
    """Ingest events of a committed write and queue their runs.

    The write already succeeded, so an ingestion failure is logged rather than turned into an error
    response (AlgaPSA's bus delivers these asynchronously too).
    """
    state = request.app.state
    for event in events:
        try:
            async with state.pool.connection() as conn:
                started = await ingest(conn, state.schemas, event, tenant=tenant)
        except Exception:
            log.exception("could not ingest %s for tenant %s", event.name, tenant)
            continue
        for run in started:
            state.executor.submit(run.run_id)
