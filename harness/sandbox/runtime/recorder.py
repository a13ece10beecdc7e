"""Batched bookkeeping writes for one run execution (steps, logs, snapshots, run row).

Writes are queued in memory and flushed in one pipelined transaction at natural boundaries
(before an action touches domain tables, when the run parks or ends, or when the batch gets
old). Run-row updates are merged into one UPDATE per flush. A reader of the tables sees each
flush atomically, so the end state is what AlgaPSA's row-by-row writes would have produced.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from psycopg import AsyncConnection

LOG_CONTEXT_MAX = 65_536
SNAPSHOT_MAX = 262_144
FLUSH_AFTER_S = 0.1
_JSON_COLUMNS = frozenset({"error_json", "resume_event_payload", "resume_error"})
_INSERT_STEP = ("INSERT INTO workflow_run_steps (step_id, tenant, run_id, step_path, definition_step_id, status, "
                "attempt, duration_ms, error_json, snapshot_id, started_at, completed_at) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s::jsonb,%s,%s,%s)")
_UPDATE_STEP = ("UPDATE workflow_run_steps SET status=%s, duration_ms=%s, error_json=%s::jsonb, completed_at=%s, "
                "snapshot_id=%s WHERE step_id=%s")
_INSERT_LOG = ("INSERT INTO workflow_run_logs (log_id, tenant, run_id, step_id, step_path, level, message, "
               "context_json, correlation_key, event_name, source, created_at) "
               "VALUES (%s,%s,%s,%s,%s,%s,%s,%s::jsonb,%s,%s,%s,%s)")
_INSERT_SNAPSHOT = ("INSERT INTO workflow_run_snapshots (snapshot_id, tenant, run_id, step_path, envelope_json, "
                    "size_bytes, created_at) VALUES (%s,%s,%s,%s,%s::jsonb,%s,%s)")


class Clock:
    """Strictly increasing UTC timestamps, so rows sort in execution order."""

    def __init__(self) -> None:
        self._last = datetime.min.replace(tzinfo=timezone.utc)

    def now(self) -> datetime:
        now = datetime.now(timezone.utc)
        if now <= self._last:
            now = self._last + timedelta(microseconds=1)
        self._last = now
        return now


CLOCK = Clock()


def iso(moment: datetime) -> str:
    """JavaScript ``toISOString`` format: milliseconds and ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def json_text(value: Any) -> str | None:
    """JSON text for a jsonb parameter (``%s::jsonb``); ``None`` stays SQL NULL."""
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def capped_text(value: Any, limit: int) -> str:
    """JSON text of ``value``, or AlgaPSA's ``{truncated, size, max}`` marker when it exceeds ``limit``."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= limit else json_text({"truncated": True, "size": len(text), "max": limit})


class Recorder:
    """Collects the bookkeeping of one execution and writes it in batches."""

    def __init__(self, run_id: str, tenant: str) -> None:
        self.run_id = run_id
        self.tenant = tenant
        self._steps: dict[str, list[Any]] = {}  # step rows not yet inserted, as INSERT parameters
        self._logs: list[tuple[Any, ...]] = []
        self._snapshots: list[tuple[Any, ...]] = []
        self._ops: list[tuple[str, tuple[Any, ...]]] = []
        self._step_updates: list[tuple[Any, ...]] = []
        self._run: dict[str, Any] = {}
        self._oldest: float | None = None

    def _touch(self) -> None:
        if self._oldest is None:
            self._oldest = time.monotonic()

    @property
    def stale(self) -> bool:
        return self._oldest is not None and time.monotonic() - self._oldest > FLUSH_AFTER_S

    def step_started(self, step_path: str, definition_step_id: str, attempt: int) -> tuple[str, datetime]:
        step_id = str(uuid.uuid4())
        started = CLOCK.now()
        self._steps[step_id] = [step_id, self.tenant, self.run_id, step_path, definition_step_id, "STARTED",
                                attempt, None, None, None, started, None]
        self._touch()
        return step_id, started

    def step_finished(self, step_id: str, status: str, started_at: datetime, error_json: Any = None,
                      snapshot_id: str | None = None) -> int:
        """Complete a step row; return its duration in milliseconds."""
        completed = CLOCK.now()
        duration = int((completed - started_at).total_seconds() * 1000)
        error = json_text(error_json)
        pending = self._steps.get(step_id)
        if pending is not None:
            pending[5], pending[7], pending[8], pending[9], pending[11] = status, duration, error, snapshot_id, completed
        else:
            self._step_updates.append((status, duration, error, completed, snapshot_id, step_id))
            self._touch()
        return duration

    def log(self, level: str, message: str, *, step_id: str | None = None, step_path: str | None = None,
            context: Any = None, source: str = "runtime", event_name: str | None = None,
            correlation_key: str | None = None) -> None:
        self._logs.append((str(uuid.uuid4()), self.tenant, self.run_id, step_id, step_path, level, message,
                           None if context is None else capped_text(context, LOG_CONTEXT_MAX),
                           correlation_key, event_name, source, CLOCK.now()))
        self._touch()

    def snapshot(self, step_path: str, envelope: dict[str, Any]) -> str:
        snapshot_id = str(uuid.uuid4())
        text = capped_text(envelope, SNAPSHOT_MAX)
        self._snapshots.append((snapshot_id, self.tenant, self.run_id, step_path, text, len(text), CLOCK.now()))
        self._touch()
        return snapshot_id

    def update_run(self, **columns: Any) -> None:
        """Queue run-row changes; all changes of one flush become a single UPDATE."""
        self._run.update(columns)
        self._run["updated_at"] = CLOCK.now()
        self._touch()

    def execute_sql(self, sql: str, params: tuple[Any, ...]) -> None:
        """Queue any other statement (wait rows, invocation rows); these run in queue order."""
        self._ops.append((sql, params))
        self._touch()

    async def flush(self, conn: AsyncConnection) -> None:
        """Write everything queued in one pipelined transaction."""
        if self._oldest is None:
            return
        steps, logs, snapshots, ops = self._steps, self._logs, self._snapshots, self._ops
        step_updates, run = self._step_updates, self._run
        self._steps, self._logs, self._snapshots, self._ops = {}, [], [], []
        self._step_updates, self._run, self._oldest = [], {}, None
        async with conn.pipeline(), conn.transaction(), conn.cursor() as cur:
            # executemany in a pipeline: prepared statements, no per-row round trip (and cheaper for the
            # client than binding column arrays to one unnest() insert)
            if steps:
                await cur.executemany(_INSERT_STEP, list(steps.values()))
            if logs:
                await cur.executemany(_INSERT_LOG, logs)
            if snapshots:
                await cur.executemany(_INSERT_SNAPSHOT, snapshots)
            for sql, params in ops:
                await cur.execute(sql, params)
            if step_updates:
                await cur.executemany(_UPDATE_STEP, step_updates)
            if run:
                names = ", ".join(f"{k}=%s::jsonb" if k in _JSON_COLUMNS else f"{k}=%s" for k in run)
                values = [json_text(v) if k in _JSON_COLUMNS else v for k, v in run.items()]
                # a run that reached a terminal status elsewhere (e.g. canceled) is never resurrected
                await cur.execute(f"UPDATE workflow_runs SET {names} WHERE run_id=%s AND status IN ('RUNNING','WAITING')",
                                  (*values, self.run_id))
