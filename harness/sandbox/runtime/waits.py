"""Waits: event and retry wait rows, resuming a waiting run, and the timer that resolves due waits.

An event can resume a run from two sides: ``POST /api/workflow/events`` resolves the oldest
waiting event wait for its key, and a freshly parked run claims a matching event that arrived
before its wait existed (runs execute asynchronously, so a follow-up event posted right after
the trigger may beat the wait). A transaction-scoped advisory lock per (tenant, event, key)
serialises the two sides, so every such event is seen by exactly one of them.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime
from typing import Any, Callable

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from .recorder import CLOCK, LOG_CONTEXT_MAX, Recorder, capped_text, iso, json_text
from .execution_state import ParkedWait

log = logging.getLogger("harness.sandbox.runtime")

TIMEOUT_ERROR = {"category": "TimeoutError", "message": "Event wait timeout"}
WORKER_SOURCE = "worker"

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
_INSERT_WAIT = ("INSERT INTO workflow_run_waits (wait_id, tenant, run_id, step_path, wait_type, key, event_name, "
                "timeout_at, status, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,'WAITING',%s)")
# Resolve one waiting wait and resume its run, in a single statement (the wait row chosen by {match}).
_RESUME = """
WITH wait AS (
  SELECT w.wait_id, w.run_id, w.step_path FROM workflow_run_waits w
  JOIN workflow_runs r ON r.run_id = w.run_id AND r.status = 'WAITING'
  WHERE {match} AND w.status = 'WAITING'
  ORDER BY w.created_at LIMIT 1 FOR UPDATE OF w, r
), resolved AS (
  UPDATE workflow_run_waits x SET status = 'RESOLVED', resolved_at = %(now)s FROM wait WHERE x.wait_id = wait.wait_id
), resumed AS (
  UPDATE workflow_runs x SET status = 'RUNNING', resume_event_name = %(event_name)s,
         resume_event_payload = %(payload)s::jsonb, resume_error = NULL, updated_at = %(now)s
  FROM wait WHERE x.run_id = wait.run_id
), logged AS (
  INSERT INTO workflow_run_logs (log_id, tenant, run_id, step_id, step_path, level, message, context_json,
                                 correlation_key, event_name, source, created_at)
  SELECT %(log_id)s, %(tenant)s, wait.run_id,
         (SELECT s.step_id FROM workflow_run_steps s WHERE s.run_id = wait.run_id AND s.step_path = wait.step_path
          ORDER BY s.started_at DESC LIMIT 1),
         wait.step_path, 'INFO', 'Event wait resolved', jsonb_build_object('waitId', wait.wait_id::text),
         %(key)s, %(event_name)s, 'event', %(logged_at)s FROM wait
), matched AS (
  UPDATE workflow_runtime_events x SET matched_run_id = wait.run_id, matched_wait_id = wait.wait_id,
         matched_step_path = wait.step_path, processed_at = %(now)s
  FROM wait WHERE x.event_id = %(event_id)s
)
SELECT run_id FROM wait
"""
_BY_KEY = ("w.tenant = %(tenant)s AND w.wait_type IN ('event', 'human') AND w.event_name = %(event_name)s "
           "AND w.key = %(key)s")
_BY_ID = "w.wait_id = %(wait_id)s"
_RECEIVED_EVENT = """
SELECT event_id, payload FROM workflow_runtime_events
WHERE tenant = %s AND event_name = %s AND correlation_key = %s AND created_at >= %s
  AND matched_wait_id IS NULL AND error_message IS NULL
ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED
"""
_DUE_WAITS = """
SELECT w.wait_id, w.tenant, w.run_id, w.step_path, w.wait_type, w.event_name, w.key, w.timeout_at
FROM workflow_run_waits w
JOIN workflow_runs r ON r.run_id = w.run_id AND r.status = 'WAITING'
WHERE w.status = 'WAITING' AND w.wait_type IN ('event', 'retry') AND w.timeout_at <= %s
ORDER BY w.timeout_at LIMIT %s FOR UPDATE OF w, r SKIP LOCKED
"""
_NEXT_DUE = """
SELECT min(w.timeout_at) FROM workflow_run_waits w JOIN workflow_runs r ON r.run_id = w.run_id AND r.status = 'WAITING'
WHERE w.status = 'WAITING' AND w.timeout_at IS NOT NULL
"""
# Waits of runs that ended some other way (e.g. canceled) are canceled too.
_CANCEL_ORPHANS = """
UPDATE workflow_run_waits w SET status = 'CANCELED', resolved_at = %s FROM workflow_runs r
WHERE r.run_id = w.run_id AND w.status = 'WAITING' AND r.status IN ('SUCCEEDED', 'FAILED', 'CANCELED')
"""
_LOG = ("INSERT INTO workflow_run_logs (log_id, tenant, run_id, step_id, step_path, level, message, context_json, "
        "correlation_key, event_name, source, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s::jsonb,%s,%s,%s,%s)")


def _lock_params(tenant: str, event_name: str, key: str) -> tuple[str]:
    return (f"{tenant}\x1f{event_name}\x1f{key}",)


def queue_event_wait(recorder: Recorder, *, step_path: str, event_name: str, key: str,
                     timeout_at: datetime | None) -> str:
    """Queue a WAITING event wait (under the key's lock) with the run's other bookkeeping."""
    wait_id = str(uuid.uuid4())
    recorder.execute_sql(_LOCK, _lock_params(recorder.tenant, event_name, key))
    recorder.execute_sql(_INSERT_WAIT, (wait_id, recorder.tenant, recorder.run_id, step_path, "event", key,
                                        event_name, timeout_at, CLOCK.now()))
    return wait_id


def queue_retry_wait(recorder: Recorder, *, step_path: str, timeout_at: datetime) -> str:
    wait_id = str(uuid.uuid4())
    recorder.execute_sql(_INSERT_WAIT, (wait_id, recorder.tenant, recorder.run_id, step_path, "retry", None, None,
                                        timeout_at, CLOCK.now()))
    return wait_id


def _resume_params(*, tenant: str, event_name: str, key: str, payload: Any, event_id: str,
                   wait_id: str | None = None) -> dict[str, Any]:
    now = CLOCK.now()
    return {"tenant": tenant, "event_name": event_name, "key": key, "payload": json_text(payload),
            "event_id": event_id, "wait_id": wait_id, "now": now, "log_id": str(uuid.uuid4()),
            "logged_at": CLOCK.now()}


async def queue_resume(conn: AsyncConnection, *, tenant: str, event_name: str, key: str, payload: Any,
                       event_id: str) -> AsyncCursor[Any]:
    """Inside the caller's transaction (and pipeline, if any): take the key's lock, then resolve the oldest
    waiting event wait for this event and key and set its run RUNNING with the resume columns. The
    returned cursor yields the resumed run's id, if any (fetch it after the pipeline syncs)."""
    await conn.execute(_LOCK, _lock_params(tenant, event_name, key))
    cur = conn.cursor()
    await cur.execute(_RESUME.format(match=_BY_KEY), _resume_params(tenant=tenant, event_name=event_name, key=key,
                                                                      payload=payload, event_id=event_id))
    return cur


async def claim_received_event(conn: AsyncConnection, parked: ParkedWait) -> bool:
    """Resume a just-parked run with an event for its wait that arrived after the run started and that
    no wait consumed; True when the run is RUNNING again."""
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_LOCK, _lock_params(parked.tenant, parked.event_name, parked.key))
        await cur.execute(_RECEIVED_EVENT, (parked.tenant, parked.event_name, parked.key, parked.since))
        event = await cur.fetchone()
        if event is None:
            return False
        await cur.execute(_RESUME.format(match=_BY_ID),
                          _resume_params(tenant=parked.tenant, event_name=parked.event_name, key=parked.key,
                                         payload=event["payload"], event_id=str(event["event_id"]),
                                         wait_id=parked.wait_id))
        return await cur.fetchone() is not None


async def resolve_due_waits(conn: AsyncConnection, batch: int = 100) -> tuple[list[str], datetime | None]:
    """Resolve waits whose ``timeout_at`` has passed (event timeouts, due retries); return the runs to
    execute and the next pending deadline."""
    runs: list[str] = []
    while True:
        async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_DUE_WAITS, (CLOCK.now(), batch))
            due = await cur.fetchall()
            async with conn.pipeline():
                for wait in due:
                    await _resolve_due(conn, wait)
        runs += [str(w["run_id"]) for w in due]
        if len(due) < batch:
            break
    await conn.execute(_CANCEL_ORPHANS, (CLOCK.now(),))
    cur = await conn.execute(_NEXT_DUE)
    row = await cur.fetchone()
    return runs, row[0] if row else None


async def _resolve_due(conn: AsyncConnection, wait: dict[str, Any]) -> None:
    now = CLOCK.now()
    wait_id, run_id = str(wait["wait_id"]), wait["run_id"]
    await conn.execute("UPDATE workflow_run_waits SET status='RESOLVED', resolved_at=%s WHERE wait_id=%s",
                       (now, wait_id))
    if wait["wait_type"] == "event":
        await conn.execute("UPDATE workflow_runs SET status='RUNNING', resume_error=%s::jsonb, "
                           "resume_event_name=NULL, resume_event_payload=NULL, updated_at=%s WHERE run_id=%s",
                           (json_text(TIMEOUT_ERROR), now, run_id))
        level, message, context = "WARN", "Event wait timed out", {"waitId": wait_id,
                                                                  "timeoutAt": iso(wait["timeout_at"])}
    else:
        await conn.execute("UPDATE workflow_runs SET status='RUNNING', updated_at=%s WHERE run_id=%s", (now, run_id))
        level, message, context = "INFO", "Retry wait resolved", {"waitId": wait_id}
    await conn.execute(_LOG,
                       (str(uuid.uuid4()), wait["tenant"], run_id, None, wait["step_path"], level, message,
                        capped_text(context, LOG_CONTEXT_MAX), wait["key"], wait["event_name"], WORKER_SOURCE, CLOCK.now()))


class WaitTimer:
    """Resolves due waits: wakes every ``interval`` seconds, but asks the database only when a known
    deadline has passed or, as a safety net, every ``sweep`` seconds."""

    def __init__(self, pool: AsyncConnectionPool, submit: Callable[[str], None], *, interval: float = 0.1,
                 sweep: float = 2.0) -> None:
        self.pool, self.submit = pool, submit
        self.interval, self.sweep = interval, sweep
        self._next: datetime | None = None

    def note(self, deadline: datetime) -> None:
        """A wait with this deadline was created."""
        if self._next is None or deadline < self._next:
            self._next = deadline

    async def run(self) -> None:
        last_sweep = -float("inf")
        while True:
            await asyncio.sleep(self.interval)
            due = self._next is not None and self._next <= CLOCK.now()
            if not due and time.monotonic() - last_sweep < self.sweep:
                continue
            last_sweep, self._next = time.monotonic(), None
            try:
                async with self.pool.connection() as conn:
                    runs, next_due = await resolve_due_waits(conn)
            except Exception:  # keep the timer alive; the next sweep retries
                log.exception("resolving due waits failed")
                continue
            for run_id in runs:
                self.submit(run_id)
            if next_due is not None:
                self.note(next_due)
