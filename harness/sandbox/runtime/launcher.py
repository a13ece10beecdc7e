"""Starting runs: which workflows an event starts, run rows, and the executor queue.

Runs execute asynchronously on a small pool of worker tasks; one run is only ever in the queue
once, so each run has a single executor.
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from ..payloads.registry import PayloadSchemaRegistry
from .engine import execute_run
from .recorder import CLOCK

log = logging.getLogger("harness.sandbox.runtime")

_CANDIDATES = """
SELECT d.workflow_id, d.payload_schema_ref, d.trigger, d.concurrency_limit, v.version,
       v.definition_json->>'payloadSchemaRef' AS definition_ref, v.definition_json->'trigger' AS definition_trigger
FROM workflow_definitions d
JOIN LATERAL (SELECT version, definition_json FROM workflow_definition_versions x
              WHERE x.workflow_id = d.workflow_id ORDER BY version DESC LIMIT 1) v ON true
WHERE d.tenant = %s AND d.trigger->>'eventName' = %s AND d.status = 'published' AND d.is_paused IS NOT TRUE
ORDER BY d.created_at, d.workflow_id
"""

_ACTIVE_RUNS = "SELECT count(*) AS n FROM workflow_runs WHERE workflow_id = %s AND status IN ('RUNNING','WAITING')"


@dataclass(frozen=True)
class StartedRun:
    run_id: str
    workflow_id: str


async def start_runs_for_event(conn: AsyncConnection, registry: PayloadSchemaRegistry, *, tenant: str,
                               event_name: str, payload: dict[str, Any], source_ref: str | None
                               ) -> list[StartedRun]:
    """Insert a run row for every published, unpaused workflow the event triggers (inside the caller's
    transaction) and return them; the caller enqueues them after commit."""
    async with conn.cursor(row_factory=dict_row) as c:
        await c.execute(_CANDIDATES, (tenant, event_name))
        candidates = await c.fetchall()
    started: list[StartedRun] = []
    for wf in candidates:
        workflow_ref = wf["definition_ref"] or wf["payload_schema_ref"]
        trigger = wf["definition_trigger"] or wf["trigger"] or {}
        effective_ref = trigger.get("sourcePayloadSchemaRef") or source_ref
        if not effective_ref:
            continue
        mapping = trigger.get("payloadMapping")
        if mapping:
            continue  # payload mapping is applied by the mapping engine (not available yet): skip quietly
        if effective_ref != workflow_ref:
            continue
        run_payload = payload
        if registry.has(workflow_ref) and registry.validate(workflow_ref, run_payload):
            continue
        if wf["concurrency_limit"] is not None:
            async with conn.cursor(row_factory=dict_row) as c:
                await c.execute(_ACTIVE_RUNS, (wf["workflow_id"],))
                if (await c.fetchone())["n"] >= wf["concurrency_limit"]:
                    continue
        started.append(await insert_run(conn, tenant=tenant, workflow_id=str(wf["workflow_id"]),
                                        version=wf["version"], payload=run_payload, event_type=event_name,
                                        source_ref=effective_ref, mapping_applied=False))
    return started


async def insert_run(conn: AsyncConnection, *, tenant: str, workflow_id: str, version: int, payload: Any,
                     event_type: str | None, source_ref: str | None, mapping_applied: bool) -> StartedRun:
    """Insert a RUNNING run row and its ``Run started`` log."""
    run_id = str(uuid.uuid4())
    now = CLOCK.now()
    await conn.execute(
        "INSERT INTO workflow_runs (run_id, tenant, workflow_id, workflow_version, status, node_path, input_json, "
        "event_type, source_payload_schema_ref, trigger_mapping_applied, trigger_type, trigger_metadata_json, "
        "started_at, updated_at) VALUES (%s,%s,%s,%s,'RUNNING','root.steps[0]',%s,%s,%s,%s,%s,%s,%s,%s)",
        (run_id, tenant, workflow_id, version, Jsonb(payload), event_type, source_ref, mapping_applied,
         "event" if event_type else None,
         Jsonb({"eventType": event_type, "sourcePayloadSchemaRef": source_ref,
                "triggerMappingApplied": mapping_applied}) if event_type else None, now, now))
    context = {"workflowId": workflow_id, "workflowVersion": version,
               "payloadSizeBytes": len(json.dumps(payload, default=str)), "triggerEventName": event_type,
               "eventType": event_type, "sourcePayloadSchemaRef": source_ref, "triggerMappingApplied": mapping_applied}
    await conn.execute(
        "INSERT INTO workflow_run_logs (log_id, tenant, run_id, level, message, context_json, event_name, source, "
        "created_at) VALUES (%s,%s,%s,'INFO','Run started',%s,%s,'runtime',%s)",
        (str(uuid.uuid4()), tenant, run_id, Jsonb(context), event_type, CLOCK.now()))
    return StartedRun(run_id, workflow_id)


class Executor:
    """A queue of runs to execute and the worker tasks that drain it."""

    def __init__(self, pool: AsyncConnectionPool, workers: int = 4) -> None:
        self.pool = pool
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"run-worker-{i}") for i in range(self._workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def submit(self, run_id: str) -> None:
        self.queue.put_nowait(run_id)

    async def resume_pending(self) -> None:
        """Queue runs left RUNNING by a previous server process."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT run_id FROM workflow_runs WHERE status = 'RUNNING' ORDER BY started_at")
            for (run_id,) in await cur.fetchall():
                self.submit(str(run_id))

    async def _work(self) -> None:
        while True:
            run_id = await self.queue.get()
            try:
                async with self.pool.connection() as conn:
                    await execute_run(conn, run_id)
            except Exception:  # a crashing run must not take the worker down
                log.exception("run %s crashed", run_id)
                await self._mark_crashed(run_id)
            finally:
                self.queue.task_done()

    async def _mark_crashed(self, run_id: str) -> None:
        try:
            async with self.pool.connection() as conn:
                now = CLOCK.now()
                await conn.execute(
                    "UPDATE workflow_runs SET status='FAILED', node_path=NULL, completed_at=%s, updated_at=%s, "
                    "error_json=%s WHERE run_id=%s AND status IN ('RUNNING','WAITING')",
                    (now, now, Jsonb({"category": "ActionError", "message": "Internal runtime error",
                                      "at": now.isoformat()}), run_id))
        except Exception:
            log.exception("could not mark run %s as failed", run_id)
