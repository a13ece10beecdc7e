"""Batched bookkeeping writes for one run execution (steps, logs, snapshots, run row).

Writes are queued in memory and flushed in one transaction at natural boundaries (before an
action touches domain tables, when the run parks or ends, or when the batch gets old), which
keeps the runtime fast without changing what a reader of the tables eventually sees.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

LOG_CONTEXT_MAX = 65_536
SNAPSHOT_MAX = 262_144
FLUSH_AFTER_S = 0.1


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


def _capped(value: Any, limit: int) -> Any:
    text = json.dumps(value, default=str)
    return value if len(text) <= limit else {"truncated": True, "size": len(text), "max": limit}


class Recorder:
    """Collects the bookkeeping of one execution and writes it in batches."""

    def __init__(self, run_id: str, tenant: str) -> None:
        self.run_id = run_id
        self.tenant = tenant
        self._steps: dict[str, dict[str, Any]] = {}  # step rows not yet inserted
        self._ops: list[tuple[str, tuple[Any, ...]]] = []
        self._oldest: float | None = None

    def _queue(self, sql: str, params: tuple[Any, ...]) -> None:
        if self._oldest is None:
            self._oldest = time.monotonic()
        self._ops.append((sql, params))

    @property
    def stale(self) -> bool:
        return self._oldest is not None and time.monotonic() - self._oldest > FLUSH_AFTER_S

    def step_started(self, step_path: str, definition_step_id: str, attempt: int) -> tuple[str, datetime]:
        step_id = str(uuid.uuid4())
        started = CLOCK.now()
        self._steps[step_id] = {"step_path": step_path, "definition_step_id": definition_step_id,
                                "attempt": attempt, "started_at": started, "status": "STARTED",
                                "duration_ms": None, "error_json": None, "completed_at": None,
                                "snapshot_id": None}
        self._queue("step", (step_id,))
        return step_id, started

    def step_finished(self, step_id: str, status: str, started_at: datetime, error_json: Any = None,
                      snapshot_id: str | None = None) -> int:
        """Complete a step row; return its duration in milliseconds."""
        completed = CLOCK.now()
        duration = int((completed - started_at).total_seconds() * 1000)
        values = {"status": status, "duration_ms": duration, "error_json": error_json,
                  "completed_at": completed, "snapshot_id": snapshot_id}
        pending = self._steps.get(step_id)
        if pending is not None:
            pending.update(values)
            return duration
        self._queue("UPDATE workflow_run_steps SET status=%s, duration_ms=%s, error_json=%s, completed_at=%s, "
                    "snapshot_id=%s WHERE step_id=%s",
                    (status, duration, Jsonb(error_json) if error_json is not None else None, completed,
                     snapshot_id, step_id))
        return duration

    def log(self, level: str, message: str, *, step_id: str | None = None, step_path: str | None = None,
            context: Any = None, source: str = "runtime", event_name: str | None = None,
            correlation_key: str | None = None) -> None:
        self._queue("INSERT INTO workflow_run_logs (log_id, tenant, run_id, step_id, step_path, level, message, "
                    "context_json, correlation_key, event_name, source, created_at) "
                    "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    (str(uuid.uuid4()), self.tenant, self.run_id, step_id, step_path, level, message,
                     Jsonb(_capped(context, LOG_CONTEXT_MAX)) if context is not None else None,
                     correlation_key, event_name, source, CLOCK.now()))

    def snapshot(self, step_path: str, envelope: dict[str, Any]) -> str:
        snapshot_id = str(uuid.uuid4())
        stored = _capped(envelope, SNAPSHOT_MAX)
        size = len(json.dumps(stored, default=str))
        self._queue("INSERT INTO workflow_run_snapshots (snapshot_id, tenant, run_id, step_path, envelope_json, "
                    "size_bytes, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                    (snapshot_id, self.tenant, self.run_id, step_path, Jsonb(stored), size, CLOCK.now()))
        return snapshot_id

    def update_run(self, **columns: Any) -> None:
        columns["updated_at"] = CLOCK.now()
        names = ", ".join(f"{k}=%s" for k in columns)
        values = tuple(Jsonb(v) if k in ("error_json", "resume_event_payload", "resume_error") and v is not None
                       else v for k, v in columns.items())
        self._queue(f"UPDATE workflow_runs SET {names} WHERE run_id=%s", values + (self.run_id,))

    def execute_sql(self, sql: str, params: tuple[Any, ...]) -> None:
        """Queue any other statement (wait rows, invocation rows) in execution order."""
        self._queue(sql, params)

    async def flush(self, conn: AsyncConnection) -> None:
        """Write everything queued, in order, in one transaction."""
        if not self._ops:
            return
        ops, steps = self._ops, self._steps
        self._ops, self._steps, self._oldest = [], {}, None
        async with conn.transaction():
            async with conn.cursor() as cur:
                for sql, params in ops:
                    if sql == "step":
                        row = steps[params[0]]
                        await cur.execute(
                            "INSERT INTO workflow_run_steps (step_id, tenant, run_id, step_path, definition_step_id, "
                            "status, attempt, duration_ms, error_json, snapshot_id, started_at, completed_at) "
                            "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                            (params[0], self.tenant, self.run_id, row["step_path"], row["definition_step_id"],
                             row["status"], row["attempt"], row["duration_ms"],
                             Jsonb(row["error_json"]) if row["error_json"] is not None else None,
                             row["snapshot_id"], row["started_at"], row["completed_at"]))
                    else:
                        await cur.execute(sql, params)
