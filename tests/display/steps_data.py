"""A failed run and its step rows, shaped like ``run_queries`` returns them, for the display tests."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pandas as pd

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RUN_ID = "5b32becd-11ec-4959-9353-779a5653b732"
ERROR = "Ticket 42 not found <tickets.find>"
STEP_TYPES = {"root.steps[0]": "state.set", "root.steps[1]": "control.forEach",
              "root.steps[1].body.steps[0]": "transform.assign", "root.steps[2]": "control.tryCatch",
              "root.steps[2].try.steps[0]": "action.call"}


def _step(path: str, step_id: str, status: str, start_ms: int, end_ms: int | None, attempt: int = 1,
          error: str | None = None) -> dict:
    return {"step_id": str(uuid.uuid4()), "run_id": RUN_ID, "step_path": path, "definition_step_id": step_id,
            "status": status, "attempt": attempt, "duration_ms": None if end_ms is None else end_ms - start_ms,
            "error_json": {"message": error} if error else None, "started_at": T0 + timedelta(milliseconds=start_ms),
            "completed_at": None if end_ms is None else T0 + timedelta(milliseconds=end_ms)}


def run_row(status: str = "FAILED") -> dict:
    return {"run_id": RUN_ID, "workflow_id": str(uuid.uuid4()), "status": status, "event_type": "TICKET_CREATED",
            "started_at": T0, "completed_at": T0 + timedelta(milliseconds=100), "error_json": {"message": ERROR}}


def steps_frame() -> pd.DataFrame:
    """Steps in execution order: a forEach body run twice (FE's growing path), a caught failure, one still going."""
    return pd.DataFrame([
        _step("root.steps[0]", "mark-start", "SUCCEEDED", 0, 10),
        _step("root.steps[1]", "loop", "SUCCEEDED", 10, 12),
        _step("root.steps[1].body.steps[0]", "collect", "SUCCEEDED", 12, 20),
        _step("root.steps[1].body.body.steps[0]", "collect", "SUCCEEDED", 20, 30, attempt=2),
        _step("root.steps[2]", "guarded", "SUCCEEDED", 30, 31),
        _step("root.steps[2].try.steps[0]", "find-ticket", "FAILED", 31, 100, error=ERROR),
        _step("root.steps[3]", "waiting", "STARTED", 90, None),
        _step("root.steps[4]", "stopped", "CANCELED", 95, 100),
    ])
