"""The in-memory state of one run execution, shared by the interpreter and node handlers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection

from .recorder import Recorder


@dataclass
class RunState:
    """A run being executed: its identity, definition, envelope and bookkeeping recorder."""

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
