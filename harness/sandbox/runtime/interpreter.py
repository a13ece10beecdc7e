"""The interpreter: walks a published definition step by step and records every transition.

Control blocks (if, forEach, tryCatch, callWorkflow, return) move the cursor; every other step
type is a node handler from :mod:`.nodes`. A failed step is handled in AlgaPSA's order: the
step's ``onError: continue``, the innermost loop's ``onItemError: continue``, a retry, the
nearest enclosing tryCatch; anything left fails the run.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from . import cursor as cur
from .autopause import auto_pause_after_failure
from .children import ChildOutcome, call_workflow
from .run_errors import RuntimeFailure
from .nodes import NODE_HANDLERS, evaluate_expr
from .recorder import CLOCK, Recorder, iso, json_text
from .retry import backoff, retry_policy, should_retry
from .schema import definition_issues, describe
from .execution_state import ParkedWait, RunState, StepCall
from .waits import claim_received_event, queue_retry_wait

__all__ = ["Outcome", "execute_run", "initial_envelope"]

log = logging.getLogger("harness.sandbox.runtime")

_DONE = None
_WAIT = object()  # a node parked the run

_LOAD_RUN = """
SELECT r.run_id, r.tenant, r.workflow_id, r.workflow_version, r.status, r.node_path, r.input_json,
       r.source_payload_schema_ref, r.trigger_mapping_applied, r.started_at, r.root_run_id,
       r.resume_event_name, r.resume_event_payload, r.resume_error, d.auto_pause_on_failure,
       md5(v.definition_json::text) AS definition_hash, v.definition_json, coalesce(v.published_by, d.created_by) AS actor_user_id,
       (SELECT s.envelope_json FROM workflow_run_snapshots s WHERE s.run_id = r.run_id
        ORDER BY s.created_at DESC LIMIT 1) AS envelope,
       (SELECT jsonb_object_agg(a.step_path, a.attempt) FROM
          (SELECT step_path, max(attempt) AS attempt FROM workflow_run_steps WHERE run_id = r.run_id
           GROUP BY step_path) a) AS attempts
FROM workflow_runs r
JOIN workflow_definitions d ON d.workflow_id = r.workflow_id
LEFT JOIN workflow_definition_versions v ON v.workflow_id = r.workflow_id AND v.version = r.workflow_version
WHERE r.run_id = %s
"""


@dataclass(frozen=True)
class Outcome:
    """How one execution ended: the run status, its error, its envelope and the wait it parked on."""

    status: str
    error: dict[str, Any] | None = None
    envelope: dict[str, Any] | None = None
    parked: ParkedWait | None = None


class _IssueCache:
    """Definition shape problems, keyed by a hash of the stored definition text."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._entries: OrderedDict[Any, list[dict[str, Any]]] = OrderedDict()

    def issues(self, digest: str, definition: Any) -> list[dict[str, Any]]:
        found = self._entries.get(digest)
        if found is None:
            found = self._entries[digest] = definition_issues(definition)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return found


_ISSUES = _IssueCache()


def initial_envelope(row: dict[str, Any]) -> dict[str, Any]:
    """The envelope a run starts with: its input as payload, empty vars, meta from the run row."""
    meta: dict[str, Any] = {"triggerMappingApplied": bool(row["trigger_mapping_applied"])}
    if row["source_payload_schema_ref"] is not None:
        meta = {"sourcePayloadSchemaRef": row["source_payload_schema_ref"], **meta}
    return {"v": 1,
            "run": {"id": str(row["run_id"]), "workflowId": str(row["workflow_id"]),
                    "workflowVersion": row["workflow_version"], "startedAt": iso(row["started_at"])},
            "payload": row["input_json"] if row["input_json"] is not None else {},
            "meta": meta,
            "vars": {}}


def _error_scope(error: dict[str, Any]) -> dict[str, Any]:
    return {"name": error["category"], "message": error["message"], "nodePath": error["nodePath"],
            "at": error["at"], "data": error}


class Interpreter:
    """Executes one run until it finishes, fails or parks."""

    def __init__(self, state: RunState, resumed: bool) -> None:
        self.s = state
        self.rec: Recorder = state.recorder
        self.error: dict[str, Any] | None = None
        self._clear_resume = resumed  # resume columns are cleared by the next successful step

    # -- cursor movement ----------------------------------------------------------------
    def _settle(self, position: cur.Cursor | None) -> cur.Cursor | None:
        """From a position that may be past the end of its list, find the next real step."""
        definition, env = self.s.definition, self.s.envelope
        while position is not None and cur.step_at(definition, position) is None:
            if len(position) == 1:
                return _DONE
            parent, branch = position[:-1], position[-1][0]
            if branch == "body":
                block = cur.step_at(definition, parent) or {}
                loop = env["vars"].get("__forEach", {}).get(block.get("id"))
                if loop is not None and loop["index"] + 1 < len(loop["items"]):
                    loop["index"] += 1
                    env["vars"][loop["itemVar"]] = loop["items"][loop["index"]]
                    return cur.enter(parent, "body")
                self._end_loop(block)
            position = cur.following(parent)
        return position

    def _end_loop(self, block: dict[str, Any]) -> None:
        loops = self.s.envelope["vars"].get("__forEach", {})
        loop = loops.pop(block.get("id"), None)
        if loop is not None and "previous" in loop:
            self.s.envelope["vars"][loop["itemVar"]] = loop["previous"]
        elif loop is not None:  # the variable did not exist before the loop
            self.s.envelope["vars"].pop(loop["itemVar"], None)
        if not loops:
            self.s.envelope["vars"].pop("__forEach", None)

    # -- steps --------------------------------------------------------------------------
    async def _control(self, step: dict[str, Any], position: cur.Cursor, path: str) -> cur.Cursor | None:
        kind = step["type"]
        if kind == "control.return":
            return _DONE
        if kind == "control.if":
            condition = await evaluate_expr(step["condition"], self.s.context())
            if not isinstance(condition, bool):
                raise RuntimeFailure("ExpressionError", "control.if condition did not evaluate to boolean")
            return self._settle(cur.enter(position, "then" if condition else "else"))
        if kind == "control.tryCatch":
            return self._settle(cur.enter(position, "try"))
        if kind == "control.forEach":
            items = await evaluate_expr(step["items"], self.s.context())
            if not isinstance(items, list):
                raise RuntimeFailure("ValidationError", "control.forEach items did not evaluate to array")
            item_var = step["itemVar"]
            variables = self.s.envelope["vars"]
            if not items or not step["body"]:
                return self._settle(cur.following(position))
            loop = {"items": items, "index": 0, "itemVar": item_var}
            if item_var in variables:
                loop["previous"] = variables[item_var]
            variables.setdefault("__forEach", {})[step["id"]] = loop
            variables[item_var] = items[0]
            return self._settle(cur.enter(position, "body"))
        if kind == "control.callWorkflow":
            await call_workflow(self.s, step, path, _run_child)
            return self._settle(cur.following(position))
        raise RuntimeFailure("ValidationError", f"Unknown node type {kind}")

    async def _execute(self, step: dict[str, Any], position: cur.Cursor, path: str, step_id: str,
                       attempt: int) -> Any:
        """Run one step; the next position, ``_DONE`` or ``_WAIT``."""
        kind = step["type"]
        if kind.startswith("control."):
            return await self._control(step, position, path)
        handler = NODE_HANDLERS.get(kind)
        if handler is None:
            raise RuntimeFailure("ValidationError", f"Unknown node type {kind}")
        try:
            outcome = await handler(StepCall(self.s, step, path, step_id, attempt))
        except RuntimeFailure:
            raise
        except Exception as exc:  # AlgaPSA turns any other throw into an ActionError with its message
            log.exception("step %s of run %s raised", path, self.s.run_id)
            raise RuntimeFailure("ActionError", str(exc) or type(exc).__name__) from exc
        return _WAIT if outcome == "wait" else self._settle(cur.following(position))

    # -- failures -----------------------------------------------------------------------
    def _continue_policy(self, step: dict[str, Any], position: cur.Cursor) -> str | None:
        """``step`` when the step's onError says continue, ``loop`` for the innermost loop's onItemError."""
        policy = (step.get("onError") or {}).get("policy")
        if policy is None and step.get("type") == "action.call":
            policy = ((step.get("config") or {}).get("onError") or {}).get("policy")
        if policy == "continue":
            return "step"
        for depth in range(len(position) - 1, 0, -1):
            if position[depth][0] == "body":
                loop = cur.step_at(self.s.definition, position[:depth]) or {}
                return "loop" if loop.get("onItemError") == "continue" else None
        return None

    def _catcher(self, position: cur.Cursor) -> int | None:
        """Depth of the nearest enclosing ``try`` list."""
        return next((d for d in range(len(position) - 1, 0, -1) if position[d][0] == "try"), None)

    def _failed(self, step: dict[str, Any], position: cur.Cursor, path: str, step_id: str, started: datetime,
                attempt: int, error: dict[str, Any]) -> Any:
        """Record a step failure; the next position, ``_WAIT`` (retry scheduled) or ``"FAILED"``."""
        env = self.s.envelope
        absorbed = self._continue_policy(step, position)
        if absorbed is not None:
            env["error"] = _error_scope(error)
            snapshot = self.rec.snapshot(path, env)
            self.rec.step_finished(step_id, "SUCCEEDED", started, error, snapshot)
            if absorbed == "step":
                self.rec.log("WARN", "Step error (continued)", step_id=step_id, step_path=path, context=error)
            next_position = self._settle(cur.following(position))
            self._record_progress(next_position)
            return next_position
        policy = retry_policy(step)
        if policy is not None and should_retry(policy, error, attempt):
            due = CLOCK.now() + backoff(policy, attempt)
            self.rec.step_finished(step_id, "RETRY_SCHEDULED", started, error)
            queue_retry_wait(self.rec, step_path=path, timeout_at=due)
            self.rec.update_run(status="WAITING", node_path=path, error_json=error)
            self.rec.log("WARN", "Retry scheduled", step_id=step_id, step_path=path,
                         context={"error": error, "timeoutAt": iso(due), "attempt": attempt})
            if self.s.on_deadline is not None:
                self.s.on_deadline(due)
            return _WAIT
        depth = self._catcher(position)
        if depth is not None:
            block_pos = position[:depth]
            block = cur.step_at(self.s.definition, block_pos) or {}
            for inner in range(depth, len(position)):  # loops left by the jump end here
                if position[inner][0] == "body":
                    self._end_loop(cur.step_at(self.s.definition, position[:inner]) or {})
            env["error"] = _error_scope(error)
            if block.get("captureErrorAs"):
                env["vars"][block["captureErrorAs"]] = error
            self.rec.step_finished(step_id, "FAILED", started, error)
            self.rec.log("ERROR", "Step failed (caught)", step_id=step_id, step_path=path, context=error)
            next_position = self._settle(cur.enter(block_pos, "catch"))
            self.rec.update_run(node_path=cur.format_path(next_position) if next_position else None, error_json=error)
            return next_position
        self.rec.step_finished(step_id, "FAILED", started, error)
        self.rec.log("ERROR", "Run failed", step_id=step_id, step_path=path, context=error)
        self.rec.update_run(status="FAILED", node_path=None, error_json=error, completed_at=CLOCK.now())
        self.error = error
        return "FAILED"

    def _record_progress(self, next_position: cur.Cursor | None) -> None:
        """The run row after a step that moved on: next node path, no error, resume columns spent."""
        columns: dict[str, Any] = {"node_path": cur.format_path(next_position) if next_position else None,
                                   "error_json": None}
        if self._clear_resume:
            columns.update(resume_event_name=None, resume_event_payload=None, resume_error=None)
            self._clear_resume = False
        self.rec.update_run(**columns)

    # -- main loop ----------------------------------------------------------------------
    async def run(self, start: cur.Cursor | None) -> str:
        """Execute from ``start``; return the run's resulting status."""
        position = self._settle(start) if start else _DONE
        while position is not None:
            step = cur.step_at(self.s.definition, position)
            path = cur.format_path(position)
            attempt = self.s.attempts.get(path, 0) + 1
            self.s.attempts[path] = attempt
            step_id, started = self.rec.step_started(path, step["id"], attempt)
            self.rec.log("INFO", "Step started", step_id=step_id, step_path=path,
                         context={"definitionStepId": step["id"], "attempt": attempt})
            try:
                next_position = await self._execute(step, position, path, step_id, attempt)
            except RuntimeFailure as failure:
                next_position = self._failed(step, position, path, step_id, started, attempt, failure.to_json(path))
                if next_position == "FAILED":
                    return "FAILED"
                if next_position is _WAIT:
                    return "WAITING"
            else:
                if next_position is _WAIT:
                    self.rec.log("INFO", "Step waiting", step_id=step_id, step_path=path,
                                 context={"definitionStepId": step["id"]})
                    self.rec.update_run(status="WAITING", node_path=path, resume_event_name=None,
                                        resume_event_payload=None, resume_error=None)
                    return "WAITING"
                snapshot = self.rec.snapshot(path, self.s.envelope)
                duration = self.rec.step_finished(step_id, "SUCCEEDED", started, None, snapshot)
                self.rec.log("INFO", "Step succeeded", step_id=step_id, step_path=path,
                             context={"durationMs": duration})
                self._record_progress(next_position)
            if self.rec.stale:
                await self.rec.flush(self.s.conn)
            position = next_position
        self.rec.log("INFO", "Run completed", context={"status": "SUCCEEDED"})
        self.rec.update_run(status="SUCCEEDED", node_path=None, error_json=None, completed_at=CLOCK.now())
        return "SUCCEEDED"


async def _launch_failure(conn: AsyncConnection, recorder: Recorder, message: str, **extra: Any) -> Outcome:
    """A run that cannot start (definition missing or malformed) fails with HEAD's launch shape."""
    error = {"message": message, "stage": "launch", **extra}
    recorder.log("ERROR", "Run failed", context=error)
    recorder.update_run(status="FAILED", node_path=None, error_json=error, completed_at=CLOCK.now())
    await recorder.flush(conn)
    return Outcome("FAILED", error)


async def _execute_once(conn: AsyncConnection, run_id: str, seed: dict[str, Any] | None, depth: int,
                        on_deadline: Callable[[datetime], None] | None) -> Outcome:
    row = seed
    if row is None:
        async with conn.cursor(row_factory=dict_row) as c:
            await c.execute(_LOAD_RUN, (run_id,))
            row = await c.fetchone()
    if row is None or row["status"] != "RUNNING":
        return Outcome(row["status"] if row else "MISSING")
    run_id, tenant = str(row["run_id"]), str(row["tenant"])
    recorder = Recorder(run_id, tenant)
    definition = row["definition_json"]
    if definition is None:
        return await _launch_failure(conn, recorder, f"Workflow definition {row['workflow_id']} "
                                                     f"v{row['workflow_version']} not found")
    issues = _ISSUES.issues(row["definition_hash"], definition)
    if issues:
        return await _launch_failure(conn, recorder, f"Workflow definition failed validation ({describe(issues)})",
                                     category="ValidationError", code="VALIDATION_ERROR", issues=issues)
    envelope = row["envelope"] or initial_envelope(row)
    if envelope.get("truncated"):
        return await _launch_failure(conn, recorder, "Run envelope snapshot exceeds the size limit; cannot resume")
    try:
        start = cur.parse_path(row["node_path"]) if row["node_path"] else None
    except ValueError as exc:
        return await _launch_failure(conn, recorder, str(exc))
    state = RunState(run_id, tenant, str(row["workflow_id"]), row["workflow_version"], definition, envelope,
                     recorder, conn, str(row["actor_user_id"]) if row["actor_user_id"] else None,
                     attempts=row["attempts"] or {}, started_at=row["started_at"],
                     root_run_id=str(row["root_run_id"] or run_id), depth=depth, on_deadline=on_deadline)
    if row["resume_event_name"] is not None:
        state.resume_event = (row["resume_event_name"], row["resume_event_payload"])
        recorder.log("INFO", "Run resumed from event", event_name=row["resume_event_name"], source="event",
                     context={"resumePayloadSizeBytes": len(json_text(row["resume_event_payload"]) or "null")})
    if row["resume_error"] is not None:
        state.resume_error = row["resume_error"]
        recorder.log("WARN", "Run resumed with error", context=row["resume_error"])
    interpreter = Interpreter(state, resumed=state.resume_event is not None or state.resume_error is not None)
    try:
        status = await interpreter.run(start)
    finally:
        await recorder.flush(conn)
    if status == "FAILED" and row["auto_pause_on_failure"]:
        await auto_pause_after_failure(conn, state.workflow_id, recorder)
    return Outcome(status, interpreter.error, state.envelope, state.parked if status == "WAITING" else None)


async def execute_run(conn: AsyncConnection, run_id: str, *, seed: dict[str, Any] | None = None, depth: int = 0,
                      on_deadline: Callable[[datetime], None] | None = None) -> Outcome:
    """Execute a RUNNING run until it finishes or parks.

    ``seed`` stands in for the load query on a fresh run's first execution (the launcher knows the
    row it just inserted). A run that parks on an event wait first claims a matching event received
    while it was running; if there is one it is resumed and executed again right away.
    """
    while True:
        outcome = await _execute_once(conn, run_id, seed, depth, on_deadline)
        seed = None
        parked = outcome.parked
        if parked is None or not await claim_received_event(conn, parked):
            return outcome


async def _run_child(parent: RunState, run_id: str) -> ChildOutcome:
    outcome = await execute_run(parent.conn, run_id, depth=parent.depth + 1, on_deadline=parent.on_deadline)
    return ChildOutcome(outcome.status, outcome.error, outcome.envelope)
