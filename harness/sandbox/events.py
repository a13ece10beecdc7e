"""``POST /api/workflow/events``: enrich, validate, record, resume a waiting run, start new runs."""
from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from .http_errors import WorkflowApiError
from ..contract.event_payloads import PayloadSchemaRegistry
from .runtime.run_errors import iso_now
from .runtime.launcher import CANDIDATES, CATALOG_REF, StartedRun, insert_runs, plan_runs, within_concurrency_limits
from .runtime.recorder import CLOCK, json_text
from ..contract.zod import js_type
from .runtime.schema import issue
from .runtime.waits import queue_resume

_INSERT_EVENT = """
INSERT INTO workflow_runtime_events (event_id, tenant, event_name, correlation_key, payload, payload_schema_ref,
                                     schema_ref_conflict, processed_at, error_message, created_at)
VALUES (%s,%s,%s,%s,%s::jsonb,%s,%s::jsonb,%s,%s,%s)
"""


def parse_envelope(body: Any) -> dict[str, Any]:
    """Check the request envelope like AlgaPSA's schema; 400 ``Invalid request`` with zod issues."""
    if not isinstance(body, dict):
        received = js_type(body)
        raise WorkflowApiError(400, "Invalid request", [issue("invalid_type", [], f"Expected object, received {received}",
                                                              expected="object", received=received)])
    issues = []
    for name, required in (("eventName", True), ("correlationKey", True), ("payloadSchemaRef", False)):
        if name not in body and not required:
            continue
        value = body.get(name)
        if not isinstance(value, str):
            received = "undefined" if name not in body else js_type(value)
            issues.append(issue("invalid_type", [name], "Required" if received == "undefined"
                                else f"Expected string, received {received}", expected="string", received=received))
        elif not value:
            issues.append(issue("too_small", [name], "String must contain at least 1 character(s)", minimum=1,
                                type="string", inclusive=True, exact=False))
    payload = body.get("payload", {})
    if not isinstance(payload, dict):
        received = js_type(payload)
        issues.append(issue("invalid_type", ["payload"], f"Expected object, received {received}",
                            expected="object", received=received))
    if issues:
        raise WorkflowApiError(400, "Invalid request", issues)
    return {"eventName": body["eventName"], "correlationKey": body["correlationKey"],
            "payloadSchemaRef": body.get("payloadSchemaRef"), "payload": payload}


async def submit_event(conn: AsyncConnection, schemas: PayloadSchemaRegistry, body: Any, *, tenant: str,
                       user_id: str) -> tuple[dict[str, Any], str | None, list[StartedRun]]:
    """Process one submission; return the response body, the resumed run and the started runs, to
    execute after commit.

    Two pipelined round trips: the catalog ref and the candidate workflows, then the transaction
    that records the event, resumes a waiting run and inserts the new runs.
    """
    envelope = parse_envelope(body)
    name, key = envelope["eventName"], envelope["correlationKey"]
    async with conn.pipeline(), conn.cursor() as catalog, conn.cursor(row_factory=dict_row) as found:
        await catalog.execute(CATALOG_REF, (tenant, name, name))
        await found.execute(CANDIDATES, (tenant, name))
        catalog_ref = (await catalog.fetchone())[0]
        candidates = await found.fetchall()
    submitted = envelope["payloadSchemaRef"]
    source_ref = submitted or catalog_ref
    conflict = {"submission": submitted, "catalog": catalog_ref} if submitted and catalog_ref and \
        submitted != catalog_ref else None
    payload = dict(envelope["payload"])
    if source_ref:
        payload.update(actorType="USER", actorUserId=user_id, tenantId=tenant, occurredAt=iso_now())
    event_id = str(uuid.uuid4())

    async def record(error_message: str | None) -> None:
        now = CLOCK.now()
        await conn.execute(_INSERT_EVENT, (event_id, tenant, name, key, json_text(payload), source_ref,
                                           json_text(conflict), now, error_message, now))

    if source_ref and not schemas.has(source_ref):
        await record(f'Unknown payload schema ref "{source_ref}"')
        raise WorkflowApiError(400, "Unknown payload schema ref", {"schemaRef": source_ref})
    if source_ref:
        issues = schemas.validate(source_ref, payload)
        if issues:
            await record(f"Event payload failed schema validation ({source_ref})")
            raise WorkflowApiError(400, "Invalid event payload", {"schemaRef": source_ref, "issues": issues})
    planned = await plan_runs(candidates, schemas, event_name=name, payload=payload, source_ref=source_ref,
                              correlation_key=key)
    try:
        planned = await within_concurrency_limits(conn, planned)
        async with conn.pipeline(), conn.transaction():
            await record(None)
            resumed_cursor = await queue_resume(conn, tenant=tenant, event_name=name, key=key, payload=payload,
                                                event_id=event_id)
            started = await insert_runs(conn, planned, tenant=tenant, event_name=name)
        row = await resumed_cursor.fetchone()
    except psycopg.Error as exc:
        await record(str(exc))
        raise WorkflowApiError(500, "Failed to process workflow event", {"error": str(exc)}) from exc
    resumed = str(row[0]) if row else None
    response = {"status": "resumed" if resumed else "no_wait", "runId": resumed,
                "startedRuns": [r.run_id for r in started], "eventId": event_id}
    return response, resumed, started
