"""``control.callWorkflow``: start a child run of a published version and execute it inline (§3.14)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from ..auth import is_uuid
from .run_errors import RuntimeFailure
from .nodes import assign_value, evaluate_expr
from .run_rows import Parent, insert_run
from .execution_state import RunState

MAX_CALL_DEPTH = 16
_VERSION_EXISTS = "SELECT 1 FROM workflow_definition_versions WHERE workflow_id = %s AND version = %s AND tenant = %s"


@dataclass(frozen=True)
class ChildOutcome:
    status: str
    error: dict[str, Any] | None
    envelope: dict[str, Any] | None


RunChild = Callable[[RunState, str], Awaitable[ChildOutcome]]


async def call_workflow(state: RunState, step: dict[str, Any], path: str, run_child: RunChild) -> None:
    """Run the child to its end; a child that does not succeed fails this step with an ``ActionError``."""
    payload = {key: await evaluate_expr(expr, state.context())
               for key, expr in (step.get("inputMapping") or {}).items()}
    workflow_id, version = step["workflowId"], step["workflowVersion"]
    if state.depth >= MAX_CALL_DEPTH:
        raise RuntimeFailure("ActionError", f"Child workflow failed: calls nested deeper than {MAX_CALL_DEPTH}")
    cur = await state.conn.execute(_VERSION_EXISTS, (workflow_id, version, state.tenant)) \
        if is_uuid(workflow_id) else None
    if cur is None or await cur.fetchone() is None:
        raise RuntimeFailure("ActionError", f"Workflow definition {workflow_id} v{version} not found")
    await state.recorder.flush(state.conn)
    child = await insert_run(state.conn, tenant=state.tenant, workflow_id=workflow_id, version=version,
                             payload=payload, event_type=None, source_ref=None, mapping_applied=False,
                             parent=Parent(state.run_id, state.root_run_id or state.run_id, path))
    outcome = await run_child(state, child.run_id)
    if outcome.status != "SUCCEEDED":
        message = (outcome.error or {}).get("message")
        raise RuntimeFailure("ActionError", f"Child workflow failed: {message}" if message else "Child workflow failed")
    mapping = step.get("outputMapping")
    if mapping:
        variables = state.envelope["vars"]
        variables["childRun"] = outcome.envelope
        try:
            values = {target: await evaluate_expr(expr, state.context()) for target, expr in mapping.items()}
        finally:
            variables.pop("childRun", None)
        for target, value in values.items():
            assign_value(state.envelope, target, value)
