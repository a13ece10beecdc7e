"""Node types (``state.set``, ``transform.assign``, ``event.wait``, ...) and their config checks.

``NODE_HANDLERS`` is the single registry of non-control node types: the interpreter dispatches
on it and the bundle import dependency check reads it.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Awaitable, Callable

from .action_call import action_call
from .run_errors import RuntimeFailure, validation_failed
from . import expression_pool
from .expressions import ExpressionError, is_expr, js_string
from .paths import assign_path
from .recorder import CLOCK, iso
from .schema import config_issues
from .execution_state import ParkedWait, StepCall
from .waits import queue_event_wait

# A handler returns None to continue with the next step, or "wait" when the run parks.
NodeHandler = Callable[[StepCall], Awaitable[str | None]]


def node_config(call: StepCall) -> dict[str, Any]:
    """The step's config, checked against its node type's strict schema (``ValidationError`` if not)."""
    config = call.step.get("config")
    issues = config_issues(call.step["type"], config)
    if issues:
        raise validation_failed(issues)
    return config or {}


async def evaluate_expr(value: Any, context: dict[str, Any]) -> Any:
    """Evaluate an Expr object (off the event loop); failures become the runtime error of their category."""
    if not is_expr(value):
        raise RuntimeFailure("ValidationError", "Expected an expression object with $expr")
    try:
        return await expression_pool.evaluate(value["$expr"], context)
    except ExpressionError as exc:
        raise RuntimeFailure(exc.category, exc.message, path=exc.path) from None


async def eval_expr(value: Any, call: StepCall) -> Any:
    """Evaluate an Expr object against the run context of ``call``."""
    return await evaluate_expr(value, call.run.context())


def assign_value(envelope: dict[str, Any], target: str, value: Any) -> None:
    """Write one assignment (§3.6 paths); a bad path is an ``ActionError`` like in AlgaPSA."""
    try:
        assign_path(envelope, target, value)
    except ExpressionError as exc:
        raise RuntimeFailure(exc.category, exc.message) from None


async def assign_all(assignments: dict[str, Any], call: StepCall) -> None:
    """Evaluate and apply assignments in order; later entries see earlier ones."""
    for target, expr in assignments.items():
        assign_value(call.run.envelope, target, await eval_expr(expr, call))


async def state_set(call: StepCall) -> None:
    call.run.envelope["meta"]["state"] = node_config(call)["state"]
    return None


async def transform_assign(call: StepCall) -> None:
    await assign_all(node_config(call)["assign"], call)
    return None


async def event_wait(call: StepCall) -> str | None:
    """Park on a wait row the first time; on resume store the event (or raise the timeout)."""
    config = node_config(call)
    run = call.run
    if run.resume_error is not None:
        error, run.resume_error = run.resume_error, None
        raise RuntimeFailure(error.get("category") or "TimeoutError",
                             error.get("message") or "Timeout waiting for event")
    if run.resume_event is not None:
        (name, payload), run.resume_event = run.resume_event, None
        run.envelope["vars"]["event"] = payload
        run.envelope["vars"]["eventName"] = name
        await assign_all(config.get("assign") or {}, call)
        return None
    key = js_string(await eval_expr(config["correlationKey"], call))
    timeout_ms = config.get("timeoutMs")
    timeout_at = CLOCK.now() + timedelta(milliseconds=timeout_ms) if timeout_ms else None
    wait_id = queue_event_wait(run.recorder, step_path=call.path, event_name=config["eventName"], key=key,
                               timeout_at=timeout_at)
    run.recorder.log("INFO", "Event wait created", step_id=call.step_id, step_path=call.path,
                     correlation_key=key, event_name=config["eventName"],
                     context={"waitId": wait_id, "waitType": "event",
                              "timeoutAt": iso(timeout_at) if timeout_at else None, "payloadPreview": None})
    run.parked = ParkedWait(wait_id, run.tenant, config["eventName"], key, run.started_at or CLOCK.now())
    if timeout_at is not None and run.on_deadline is not None:
        run.on_deadline(timeout_at)
    return "wait"


NODE_HANDLERS: dict[str, NodeHandler] = {
    "action.call": action_call,
    "state.set": state_set,
    "transform.assign": transform_assign,
    "event.wait": event_wait,
}
