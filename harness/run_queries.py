"""Finding a fixture's workflow run and reading its steps and logs."""
from __future__ import annotations

import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

import psycopg

from .db import Database
from .errors import RunTimeout

if TYPE_CHECKING:  # the frames come from Database.query(), which imports pandas
    import pandas as pd

TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "CANCELED")

NOTIFY_CHANNEL = "workflow_run_terminal"  # sent by the sandbox's trigger; AlgaPSA has none
NOTIFY_TRIGGER = "workflow_runs_terminal_notify"
LISTEN_POLL_S = 0.25  # while listening, still poll this often in case a notification is missed

RUN_COLUMNS = ("run_id, workflow_id, workflow_version, tenant, status, event_type, source_payload_schema_ref, "
               "trigger_mapping_applied, started_at, completed_at, updated_at, error_json")

_NEWEST_RUN = f"""
SELECT {RUN_COLUMNS} FROM workflow_runs
WHERE workflow_id = %(workflow_id)s AND tenant = %(tenant)s AND started_at >= %(since)s {{extra}}
ORDER BY started_at DESC LIMIT 1
"""

_RECENT_RUNS = """
SELECT run_id, status, event_type, started_at, completed_at FROM workflow_runs
WHERE workflow_id = %s AND tenant = %s ORDER BY started_at DESC LIMIT %s
"""


def newest_run(db: Database, workflow_id: str, tenant: str, since: datetime,
               input_filter: dict[str, str | None] | None = None) -> dict[str, Any] | None:
    """The newest run started at or after ``since``; ``input_filter`` matches ``input_json`` keys."""
    params: dict[str, Any] = {"workflow_id": workflow_id, "tenant": tenant, "since": since}
    extra = ""
    for i, (key, value) in enumerate((input_filter or {}).items()):
        if value is None:
            continue
        params[f"k{i}"], params[f"v{i}"] = key, value
        extra += f" AND input_json->>%(k{i})s = %(v{i})s"
    return db.one(_NEWEST_RUN.format(extra=extra), params)


class PollSchedule:
    """Adaptive polling: quick checks first, backing off so a long run does not hammer the DB."""

    def __init__(self, first_s: float = 0.005, factor: float = 1.5, max_s: float = 0.25) -> None:
        self.delay, self.factor, self.max = first_s, factor, max_s

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * self.factor, self.max)
        return delay


_HAS_NOTIFY_TRIGGER = ("SELECT EXISTS (SELECT 1 FROM pg_trigger "
                       "WHERE tgname = %s AND tgrelid = to_regclass('workflow_runs'))")
_notify_support: dict[str, bool] = {}  # database URL -> the terminal-run trigger exists


class RunListener:
    """LISTENs on its own connection for the terminal-run notifications of one tenant."""

    def __init__(self, url: str, tenant: str) -> None:
        self.tenant = tenant
        self._conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
        self._conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def wait(self, workflow_id: str, timeout_s: float) -> bool:
        """True as soon as a run of ``workflow_id`` turns terminal; False after ``timeout_s``."""
        for note in self._conn.notifies(timeout=timeout_s):
            try:
                payload = json.loads(note.payload)
            except ValueError:
                continue
            if payload.get("workflow_id") == workflow_id and payload.get("tenant") == self.tenant:
                return True
        return False

    def close(self) -> None:
        self._conn.close()


def open_listener(db: Database, tenant: str) -> RunListener | None:
    """A listener when the database announces terminal runs (the sandbox does), else ``None``."""
    try:
        if db.url not in _notify_support:
            _notify_support[db.url] = bool(db.scalar(_HAS_NOTIFY_TRIGGER, (NOTIFY_TRIGGER,)))
        return RunListener(db.url, tenant) if _notify_support[db.url] else None
    except psycopg.Error:
        return None  # polling alone still finds the run


def wait_for_run(db: Database, workflow_id: str, tenant: str, since: datetime, *, timeout_ms: int,
                 input_filter: dict[str, str | None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Wait until the newest matching run is terminal and return its row.

    Where the database sends terminal-run notifications (the sandbox), a run is noticed within
    milliseconds and the database is polled only every ``LISTEN_POLL_S``; elsewhere polling adapts.
    Raises :class:`RunTimeout` (listing the workflow's recent runs) when the time runs out.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    schedule = PollSchedule()
    last: dict[str, Any] | None = None
    listener: RunListener | None = None
    listen_tried = False
    try:
        while True:
            last = newest_run(db, workflow_id, tenant, since, input_filter)
            if last is not None and last["status"] in TERMINAL_STATUSES:
                return last
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if not listen_tried:
                listen_tried = True
                listener = open_listener(db, tenant)
                if listener is not None:
                    continue  # look again: the run may have ended before LISTEN took effect
            if listener is not None:
                listener.wait(workflow_id, min(LISTEN_POLL_S, remaining))
            else:
                sleep(min(schedule.next(), remaining))
    finally:
        if listener is not None:
            listener.close()
    recent = db.records(_RECENT_RUNS, (workflow_id, tenant, 10))
    seen = f"newest run {last['run_id']} is still {last['status']}" if last else "no run started"
    raise RunTimeout(f"Timed out waiting for workflow run after {timeout_ms} ms ({seen})", recent)


def run_steps(db: Database, run_id: str) -> pd.DataFrame:
    """The run's step rows in execution order."""
    return db.query(
        "SELECT step_id, run_id, step_path, definition_step_id, status, attempt, duration_ms, error_json, "
        "started_at, completed_at FROM workflow_run_steps WHERE run_id = %s ORDER BY started_at ASC, step_path ASC",
        (run_id,))


def run_logs(db: Database, run_id: str, limit: int = 200) -> pd.DataFrame:
    """The run's newest log rows (newest first)."""
    return db.query(
        "SELECT log_id, run_id, step_id, step_path, level, message, context_json, correlation_key, event_name, "
        "source, created_at FROM workflow_run_logs WHERE run_id = %s ORDER BY created_at DESC LIMIT %s",
        (run_id, limit))


def step_summary(steps: pd.DataFrame) -> dict[str, Any]:
    """Counts of steps by status, and the failed steps with their errors."""
    if steps.empty:
        return {"counts": {}, "failed": []}
    counts = {str(k): int(v) for k, v in steps["status"].value_counts().sort_index().items()}
    failed = steps[steps["status"] == "FAILED"][["step_path", "definition_step_id", "attempt", "error_json"]]
    return {"counts": counts, "failed": failed.to_dict("records")}
