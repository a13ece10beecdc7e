"""The interpreter: walks a published definition step by step and records every transition.

Control blocks (if, forEach, tryCatch, return) move the cursor; every other step type is a
node handler from :mod:`.nodes`. Errors are absorbed in AlgaPSA's order: the step's
``onError: continue``, the innermost loop's ``onItemError: continue``, the nearest enclosing
tryCatch; anything left fails the run.
"""
from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from . import cursor as cur
from .errors import RuntimeFailure
from .expressions import ExpressionError, evaluate
from .nodes import NODE_HANDLERS
from .recorder import CLOCK, Recorder
from .state import RunState, StepCall

CONTROL_TYPES = ("control.if", "control.forEach", "control.tryCatch", "control.return", "control.callWorkflow")
_DONE = None

_LOAD_RUN = """
SELECT r.run_id, r.tenant, r.workflow_id, r.workflow_version, r.status, r.node_path, r.input_json,
       r.source_payload_schema_ref, r.trigger_mapping_applied, r.started_at,
       v.definition_json, coalesce(v.published_by, d.created_by) AS actor_user_id
FROM workflow_runs r
JOIN workflow_definitions d ON d.workflow_id = r.workflow_id
LEFT JOIN workflow_definition_versions v ON v.workflow_id = r.workflow_id AND v.version = r.workflow_version
WHERE r.run_id = %s
"""


def initial_envelope(row: dict[str, Any]) -> dict[str, Any]:
    """The envelope a run starts with: its input as payload, empty vars, meta from the run row."""
    return {"v": 1,
            "run": {"id": str(row["run_id"]), "workflowId": str(row["workflow_id"]),
                    "workflowVersion": row["workflow_version"], "startedAt": row["started_at"].isoformat()},
            "payload": row["input_json"] if row["input_json"] is not None else {},
            "meta": {"sourcePayloadSchemaRef": row["source_payload_schema_ref"],
                     "triggerMappingApplied": bool(row["trigger_mapping_applied"])},
            "vars": {}}


def _error_scope(error: dict[str, Any]) -> dict[str, Any]:
    return {"name": error["category"], "message": error["message"], "nodePath": error["nodePath"],
            "at": error["at"], "data": error}


class Interpreter:
    """Executes one run until it finishes, fails or parks."""

    def __init__(self, state: RunState) -> None:
        self.s = state
        self.rec: Recorder = state.recorder

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
        if loop is not None:
            self.s.envelope["vars"][loop["itemVar"]] = loop["previous"]
        if not loops:
            self.s.envelope["vars"].pop("__forEach", None)

    # -- control blocks -----------------------------------------------------------------
    def _expr(self, value: Any, what: str) -> Any:
        if not (isinstance(value, dict) and isinstance(value.get("$expr"), str)):
            raise RuntimeFailure("ValidationError", f"{what} must be an expression")
        try:
            return evaluate(value["$expr"], self.s.context())
        except ExpressionError as exc:
            raise RuntimeFailure("ExpressionError", exc.message) from None

    def _control(self, step: dict[str, Any], position: cur.Cursor) -> cur.Cursor | None:
        kind = step["type"]
        if kind == "control.return":
            return _DONE
        if kind == "control.if":
            condition = self._expr(step.get("condition"), "control.if condition")
            if not isinstance(condition, bool):
                raise RuntimeFailure("ExpressionError", "control.if condition did not evaluate to boolean")
            return self._settle(cur.enter(position, "then" if condition else "else"))
        if kind == "control.tryCatch":
            return self._settle(cur.enter(position, "try"))
        if kind == "control.forEach":
            items = self._expr(step.get("items"), "control.forEach items")
            if not isinstance(items, list):
                raise RuntimeFailure("ValidationError", "control.forEach items did not evaluate to array")
            item_var = step.get("itemVar")
            variables = self.s.envelope["vars"]
            if not items or not step.get("body"):
                return self._settle(cur.following(position))
            loops = variables.setdefault("__forEach", {})
            loops[step["id"]] = {"items": items, "index": 0, "itemVar": item_var, "previous": variables.get(item_var)}
            variables[item_var] = items[0]
            return self._settle(cur.enter(position, "body"))
        raise RuntimeFailure("ValidationError", f"Unsupported control block {kind}")

    # -- failures -----------------------------------------------------------------------
    def _absorb(self, step: dict[str, Any], position: cur.Cursor, error: dict[str, Any]
                ) -> tuple[str, cur.Cursor | None] | None:
        """Decide who handles a step failure: (step status, next position), or None to fail the run."""
        policy = (step.get("onError") or {}).get("policy")
        if policy is None and step.get("type") == "action.call":
            policy = ((step.get("config") or {}).get("onError") or {}).get("policy")
        if policy == "continue":
            self.rec.log("WARN", "Step error (continued)", step_path=cur.format_path(position), context=error)
            return "SUCCEEDED", self._settle(cur.following(position))
        for depth in range(len(position) - 1, 0, -1):
            if position[depth][0] == "body":
                loop = cur.step_at(self.s.definition, position[:depth]) or {}
                if loop.get("onItemError") == "continue":
                    return "SUCCEEDED", self._settle(cur.following(position))
                break
        for depth in range(len(position) - 1, 0, -1):
            if position[depth][0] == "try":
                block_pos = position[:depth]
                block = cur.step_at(self.s.definition, block_pos) or {}
                for inner in range(depth, len(position)):  # abandon loops left by the jump
                    if position[inner][0] == "body":
                        self._end_loop(cur.step_at(self.s.definition, position[:inner]) or {})
                capture = block.get("captureErrorAs")
                if capture:
                    self.s.envelope["vars"][capture] = error
                self.rec.log("ERROR", "Step failed (caught)", step_path=cur.format_path(position), context=error)
                return "FAILED", self._settle(cur.enter(block_pos, "catch"))
        return None

    # -- main loop ----------------------------------------------------------------------
    async def run(self, start: cur.Cursor | None) -> str:
        """Execute from ``start``; return the run's resulting status."""
        position = self._settle(start) if start else _DONE
        while position is not None:
            step = cur.step_at(self.s.definition, position)
            assert step is not None
            path = cur.format_path(position)
            attempt = self.s.attempts.get(path, 0) + 1
            self.s.attempts[path] = attempt
            step_id, started = self.rec.step_started(path, str(step.get("id", "")), attempt)
            self.rec.log("INFO", "Step started", step_id=step_id, step_path=path,
                         context={"definitionStepId": step.get("id"), "attempt": attempt})
            try:
                kind = step.get("type")
                if isinstance(kind, str) and kind.startswith("control."):
                    next_position = self._control(step, position)
                else:
                    handler = NODE_HANDLERS.get(kind) if isinstance(kind, str) else None
                    if handler is None:
                        raise RuntimeFailure("ValidationError", f"Unknown node type {kind}")
                    outcome = await handler(StepCall(self.s, step, path, step_id, attempt))
                    if outcome == "wait":
                        self.rec.log("INFO", "Step waiting", step_id=step_id, step_path=path,
                                     context={"definitionStepId": step.get("id")})
                        self.rec.update_run(status="WAITING", node_path=path)
                        return "WAITING"
                    next_position = self._settle(cur.following(position))
            except RuntimeFailure as failure:
                error = failure.to_json(path)
                handled = self._absorb(step, position, error)
                self.s.envelope["error"] = _error_scope(error)
                if handled is None:
                    self.rec.step_finished(step_id, "FAILED", started, error)
                    self.rec.log("ERROR", "Run failed", step_id=step_id, step_path=path, context=error)
                    self.rec.update_run(status="FAILED", node_path=None, error_json=error,
                                        completed_at=CLOCK.now())
                    return "FAILED"
                status, next_position = handled
                snapshot = self.rec.snapshot(path, self.s.envelope) if status == "SUCCEEDED" else None
                self.rec.step_finished(step_id, status, started, error, snapshot)
                self.rec.update_run(node_path=cur.format_path(next_position) if next_position else None,
                                    error_json=error)
            else:
                snapshot = self.rec.snapshot(path, self.s.envelope)
                duration = self.rec.step_finished(step_id, "SUCCEEDED", started, None, snapshot)
                self.rec.log("INFO", "Step succeeded", step_id=step_id, step_path=path,
                             context={"durationMs": duration})
                if next_position is not None:
                    self.rec.update_run(node_path=cur.format_path(next_position), error_json=None)
            if self.rec.stale:
                await self.rec.flush(self.s.conn)
            position = next_position
        self.rec.log("INFO", "Run completed", context={"status": "SUCCEEDED"})
        self.rec.update_run(status="SUCCEEDED", node_path=None, error_json=None, completed_at=CLOCK.now())
        return "SUCCEEDED"


async def execute_run(conn: AsyncConnection, run_id: str) -> str:
    """Load a RUNNING run and execute it until it finishes or parks; return its status."""
    async with conn.cursor(row_factory=dict_row) as c:
        await c.execute(_LOAD_RUN, (run_id,))
        row = await c.fetchone()
    if row is None or row["status"] != "RUNNING":
        return row["status"] if row else "MISSING"
    recorder = Recorder(str(row["run_id"]), str(row["tenant"]))
    if row["definition_json"] is None:
        recorder.update_run(status="FAILED", node_path=None, completed_at=CLOCK.now(),
                            error_json={"message": f"Workflow definition {row['workflow_id']} "
                                                   f"v{row['workflow_version']} not found", "stage": "launch"})
        await recorder.flush(conn)
        return "FAILED"
    state = RunState(str(row["run_id"]), str(row["tenant"]), str(row["workflow_id"]), row["workflow_version"],
                     row["definition_json"], initial_envelope(row), recorder, conn,
                     str(row["actor_user_id"]) if row["actor_user_id"] else None)
    start = cur.parse_path(row["node_path"]) if row["node_path"] else cur.START
    try:
        status = await Interpreter(state).run(start)
    finally:
        await recorder.flush(conn)
    return status
