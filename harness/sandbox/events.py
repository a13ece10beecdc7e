"""``POST /api/workflow/events``: enrich, validate, record, resume waits, start runs."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .errors import WorkflowApiError
from .payloads.registry import PayloadSchemaRegistry
from .runtime.launcher import StartedRun, start_runs_for_event

_CATALOG_REF = """
SELECT coalesce(
  (SELECT payload_schema_ref FROM event_catalog WHERE tenant = %s AND event_type = %s LIMIT 1),
  (SELECT payload_schema_ref FROM system_event_catalog WHERE event_type = %s LIMIT 1)) AS ref
"""

_INSERT_EVENT = """
INSERT INTO workflow_runtime_events (tenant, event_name, correlation_key, payload, payload_schema_ref,
                                     schema_ref_conflict, processed_at, error_message)
VALUES (%s,%s,%s,%s,%s,%s,%s,%s) RETURNING event_id
"""


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    return {"str": "string", "dict": "object"}.get(type(value).__name__, "unknown")


def parse_envelope(body: Any) -> dict[str, Any]:
    """Check the request envelope like AlgaPSA's schema; 400 ``Invalid request`` with zod issues."""
    if not isinstance(body, dict):
        raise WorkflowApiError(400, "Invalid request", [{"code": "invalid_type", "expected": "object",
                                                         "received": _js_type(body), "path": [],
                                                         "message": f"Expected object, received {_js_type(body)}"}])
    issues = []
    for name, required in (("eventName", True), ("correlationKey", True), ("payloadSchemaRef", False)):
        value = body.get(name)
        if value is None and name not in body and not required:
            continue
        if not isinstance(value, str):
            received = "undefined" if name not in body else _js_type(value)
            issues.append({"code": "invalid_type", "expected": "string", "received": received, "path": [name],
                           "message": "Required" if received == "undefined" else f"Expected string, received {received}"})
        elif not value:
            issues.append({"code": "too_small", "minimum": 1, "type": "string", "inclusive": True, "exact": False,
                           "path": [name], "message": "String must contain at least 1 character(s)"})
    payload = body.get("payload", {})
    if "payload" in body and not isinstance(payload, dict):
        issues.append({"code": "invalid_type", "expected": "object", "received": _js_type(payload),
                       "path": ["payload"], "message": f"Expected object, received {_js_type(payload)}"})
    if issues:
        raise WorkflowApiError(400, "Invalid request", issues)
    return {"eventName": body["eventName"], "correlationKey": body["correlationKey"],
            "payloadSchemaRef": body.get("payloadSchemaRef"), "payload": payload}


def iso_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def submit_event(conn: AsyncConnection, schemas: PayloadSchemaRegistry, body: Any, *, tenant: str,
                       user_id: str) -> tuple[dict[str, Any], list[StartedRun]]:
    """Process one submission; return the response body and the runs to execute after commit."""
    envelope = parse_envelope(body)
    name, key = envelope["eventName"], envelope["correlationKey"]
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_CATALOG_REF, (tenant, name, name))
        catalog_ref = (await cur.fetchone())["ref"]
    submitted = envelope["payloadSchemaRef"]
    source_ref = submitted or catalog_ref
    conflict = {"submission": submitted, "catalog": catalog_ref} if submitted and catalog_ref and \
        submitted != catalog_ref else None
    payload = dict(envelope["payload"])
    if source_ref:
        payload.update(actorType="USER", actorUserId=user_id, tenantId=tenant, occurredAt=iso_now())

    async def record(error_message: str | None) -> str:
        async with conn.cursor(row_factory=dict_row) as c:
            await c.execute(_INSERT_EVENT, (tenant, name, key, Jsonb(payload), source_ref,
                                            Jsonb(conflict) if conflict else None, datetime.now(timezone.utc),
                                            error_message))
            return str((await c.fetchone())["event_id"])

    if source_ref and not schemas.has(source_ref):
        await record(f'Unknown payload schema ref "{source_ref}"')
        raise WorkflowApiError(400, "Unknown payload schema ref", {"schemaRef": source_ref})
    if source_ref:
        issues = schemas.validate(source_ref, payload)
        if issues:
            await record(f"Event payload failed schema validation ({source_ref})")
            raise WorkflowApiError(400, "Invalid event payload", {"schemaRef": source_ref, "issues": issues})
    async with conn.transaction():
        event_id = await record(None)
        started = await start_runs_for_event(conn, schemas, tenant=tenant, event_name=name, payload=payload,
                                             source_ref=source_ref)
    response = {"status": "no_wait", "runId": None, "startedRuns": [r.run_id for r in started], "eventId": event_id}
    return response, started
