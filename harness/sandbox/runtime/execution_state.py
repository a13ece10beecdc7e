"""The in-memory state of one run execution, shared by the interpreter and node handlers."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from psycopg import AsyncConnection

from .recorder import Recorder


@dataclass
class ParkedWait:
    """The event wait a step just created; the launcher checks it against events already received."""

    wait_id: str
    tenant: str
    event_name: str
    key: str
    since: datetime  # the run's start: only events received after it can resume the wait


@dataclass
class RunState:
    """A run being executed: its identity, definition, envelope and bookkeeping recorder.

    ``resume_event`` / ``resume_error`` come from the run row when a wait was resolved; the wait
    step consumes them. ``depth`` counts enclosing ``control.callWorkflow`` parents.
    """

    run_id: str
    tenant: str
    workflow_id: str
    workflow_version: int
    definition: dict[str, Any]
    envelope: dict[str, Any]
    recorder: Recorder
    conn: AsyncConnection
    actor_user_id: str | None = None
    attempts: dict[str, int] = field(default_factory=dict)
    started_at: datetime | None = None
    root_run_id: str | None = None
    depth: int = 0
    resume_event: tuple[str, Any] | None = None
    resume_error: dict[str, Any] | None = None
    parked: ParkedWait | None = None
    on_deadline: Callable[[datetime], None] | None = None

    def context(self) -> dict[str, Any]:
        """The expression context ``{payload, vars, meta, error}``."""
        env = self.envelope
        return {"payload": env["payload"], "vars": env["vars"], "meta": env["meta"], "error": env.get("error")}


@dataclass
class StepCall:
    """One step execution handed to a node handler."""

    run: RunState
    step: dict[str, Any]
    path: str
    step_id: str
    attempt: int
