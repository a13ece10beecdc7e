"""Starting runs: which workflows an event starts, and the executor that runs them.

Runs execute asynchronously on a small pool of worker tasks. A run is never executed by two
workers at once: a run submitted while it is queued or executing is only queued again once its
current execution has ended. The executor also owns the timer that resolves due waits.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from ...contract.event_payloads import PayloadSchemaRegistry
from . import expression_pool
from .interpreter import execute_run
from .expressions import ExpressionError
from .recorder import CLOCK, iso, json_text
from .run_rows import StartedRun, insert_run
from .waits import WaitTimer

__all__ = ["CANDIDATES", "Executor", "PlannedRun", "StartedRun", "insert_run", "insert_runs", "map_trigger_payload",
           "plan_runs", "start_runs_for_event", "within_concurrency_limits"]

log = logging.getLogger("harness.sandbox.runtime")

# An event's payload schema ref: the tenant catalog's, else the system catalog's (params: tenant, event, event).
CATALOG_REF = """
SELECT coalesce(
  (SELECT payload_schema_ref FROM event_catalog WHERE tenant = %s AND event_type = %s LIMIT 1),
  (SELECT payload_schema_ref FROM system_event_catalog WHERE event_type = %s LIMIT 1)) AS ref
"""

CANDIDATES = """
SELECT d.workflow_id, d.payload_schema_ref, d.trigger, d.concurrency_limit, d.auto_pause_on_failure, v.version,
       v.definition_json, md5(v.definition_json::text) AS definition_hash,
       coalesce(v.published_by, d.created_by) AS actor_user_id
FROM workflow_definitions d
JOIN LATERAL (SELECT version, definition_json, published_by FROM workflow_definition_versions x
              WHERE x.workflow_id = d.workflow_id ORDER BY version DESC LIMIT 1) v ON true
WHERE d.tenant = %s AND d.trigger->>'eventName' = %s AND d.status = 'published' AND d.is_paused IS NOT TRUE
ORDER BY d.created_at, d.workflow_id
"""
_ACTIVE_RUNS = """
SELECT workflow_id, count(*) AS n FROM workflow_runs
WHERE workflow_id = ANY(%s::uuid[]) AND status IN ('RUNNING','WAITING') GROUP BY workflow_id
"""
_DEFINITION_COLUMNS = ("definition_json", "definition_hash", "actor_user_id", "auto_pause_on_failure")


@dataclass(frozen=True)
class PlannedRun:
    """A run an event will start: the candidate workflow row and the run's input."""

    workflow: dict[str, Any]
    payload: Any
    source_ref: str
    mapping_applied: bool


async def map_trigger_payload(mapping: dict[str, Any], event: dict[str, Any]) -> dict[str, Any] | None:
    """A trigger ``payloadMapping`` applied to ``{event: {name, correlationKey, payload, payloadSchemaRef}}``,
    dotted keys expanded into nested objects; ``None`` when the mapping fails."""
    try:
        mapped = await expression_pool.resolve(mapping, {"event": event})
    except ExpressionError:
        return None
    if not isinstance(mapped, dict):
        return None
    expanded: dict[str, Any] = {}
    for key, value in mapped.items():
        *parents, last = key.split(".")
        target = expanded
        for part in parents:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[last] = value
    return expanded


async def plan_runs(candidates: list[dict[str, Any]], registry: PayloadSchemaRegistry, *, event_name: str,
                    payload: dict[str, Any], source_ref: str | None, correlation_key: str | None) -> list[PlannedRun]:
    """The candidate workflows (rows of ``CANDIDATES``) the event starts, with each run's input.

    A workflow is skipped quietly when its schema refs do not line up, its trigger mapping fails
    or the payload does not satisfy its schema.
    """
    planned = []
    for wf in candidates:
        definition = wf["definition_json"] if isinstance(wf["definition_json"], dict) else {}
        workflow_ref = definition.get("payloadSchemaRef") or wf["payload_schema_ref"]
        trigger = next((t for t in (definition.get("trigger"), wf["trigger"]) if isinstance(t, dict)), {})
        effective_ref = trigger.get("sourcePayloadSchemaRef") or source_ref
        if not effective_ref:
            continue
        mapping = trigger.get("payloadMapping")
        mapped = isinstance(mapping, dict) and bool(mapping)
        if mapped:
            run_payload = await map_trigger_payload(mapping, {"name": event_name, "correlationKey": correlation_key,
                                                              "payload": payload, "payloadSchemaRef": effective_ref})
            if run_payload is None:
                continue
        elif effective_ref != workflow_ref:
            continue
        else:
            run_payload = payload
        if isinstance(workflow_ref, str) and registry.has(workflow_ref) and registry.validate(workflow_ref, run_payload):
            continue
        planned.append(PlannedRun(wf, run_payload, effective_ref, mapped))
    return planned


async def within_concurrency_limits(conn: AsyncConnection, planned: list[PlannedRun]) -> list[PlannedRun]:
    """Drop runs of workflows that already have ``concurrency_limit`` runs RUNNING or WAITING."""
    limited = [p.workflow["workflow_id"] for p in planned if p.workflow["concurrency_limit"] is not None]
    if not limited:
        return planned
    cur = await conn.execute(_ACTIVE_RUNS, (limited,))
    active = {row[0]: row[1] for row in await cur.fetchall()}
    return [p for p in planned if p.workflow["concurrency_limit"] is None
            or active.get(p.workflow["workflow_id"], 0) < p.workflow["concurrency_limit"]]


async def insert_runs(conn: AsyncConnection, planned: list[PlannedRun], *, tenant: str,
                      event_name: str) -> list[StartedRun]:
    """Insert the planned runs (queued when ``conn`` is in pipeline mode); each carries an executor seed."""
    return [await insert_run(conn, tenant=tenant, workflow_id=str(p.workflow["workflow_id"]),
                             version=p.workflow["version"], payload=p.payload, event_type=event_name,
                             source_ref=p.source_ref, mapping_applied=p.mapping_applied,
                             definition={k: p.workflow[k] for k in _DEFINITION_COLUMNS})
            for p in planned]


async def start_runs_for_event(conn: AsyncConnection, registry: PayloadSchemaRegistry, *, tenant: str,
                               event_name: str, payload: dict[str, Any], source_ref: str | None,
                               correlation_key: str | None = None) -> list[StartedRun]:
    """Insert a run row for every published, unpaused workflow the event triggers (inside the caller's
    transaction) and return them; the caller submits them to the executor after commit."""
    async with conn.cursor(row_factory=dict_row) as c:
        await c.execute(CANDIDATES, (tenant, event_name))
        candidates = await c.fetchall()
    planned = await plan_runs(candidates, registry, event_name=event_name, payload=payload, source_ref=source_ref,
                              correlation_key=correlation_key)
    planned = await within_concurrency_limits(conn, planned)
    async with conn.pipeline():
        return await insert_runs(conn, planned, tenant=tenant, event_name=event_name)


class Executor:
    """A queue of runs to execute, the worker tasks that drain it, and the wait timer."""

    def __init__(self, pool: AsyncConnectionPool, workers: int = 4) -> None:
        self.pool = pool
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.timer = WaitTimer(pool, self.submit)
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []
        self._active: set[str] = set()  # queued or executing
        self._again: set[str] = set()  # submitted while active: execute once more afterwards
        self._seeds: dict[str, dict[str, Any]] = {}

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"run-worker-{i}") for i in range(self._workers)]
        self._tasks.append(asyncio.create_task(self.timer.run(), name="wait-timer"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def submit(self, run_id: str, seed: dict[str, Any] | None = None) -> None:
        """Execute ``run_id`` soon; never twice at the same time. ``seed`` (from :func:`insert_run`) spares
        a fresh run's first load."""
        if seed is not None:
            self._seeds[run_id] = seed
        if run_id in self._active:
            self._again.add(run_id)
            return
        self._active.add(run_id)
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
                    await execute_run(conn, run_id, seed=self._seeds.pop(run_id, None), on_deadline=self.timer.note)
            except Exception as exc:  # a crashing run must not take the worker down
                log.exception("run %s crashed", run_id)
                await self._mark_crashed(run_id, exc)
            finally:
                self.queue.task_done()
                if run_id in self._again:
                    self._again.discard(run_id)
                    self.queue.put_nowait(run_id)
                else:
                    self._active.discard(run_id)

    async def _mark_crashed(self, run_id: str, exc: Exception) -> None:
        try:
            async with self.pool.connection() as conn:
                now = CLOCK.now()
                error = {"category": "ActionError", "message": f"Internal runtime error: {exc}", "at": iso(now)}
                await conn.execute(
                    "UPDATE workflow_runs SET status='FAILED', node_path=NULL, completed_at=%s, updated_at=%s, "
                    "error_json=%s::jsonb WHERE run_id=%s AND status IN ('RUNNING','WAITING')",
                    (now, now, json_text(error), run_id))
        except Exception:
            log.exception("could not mark run %s as failed", run_id)
