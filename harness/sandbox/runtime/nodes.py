"""Node types (``state.set``, ``transform.assign``, ...) and their config checks.

``NODE_HANDLERS`` is the single registry of non-control node types: the interpreter dispatches
on it and the bundle import dependency check reads it.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from .errors import RuntimeFailure, validation_failed
from .expressions import ExpressionError, evaluate, is_expr
from .paths import assign_path
from .state import StepCall

# A handler returns None to continue with the next step, or "wait" when the run parks.
NodeHandler = Callable[[StepCall], Awaitable[str | None]]


def _issue(path: list[Any], message: str, code: str = "custom", **extra: Any) -> dict[str, Any]:
    return {"code": code, "path": path, "message": message, **extra}


def strict_config(step: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    """The step's config object; unknown keys fail like a strict schema."""
    config = step.get("config")
    if not isinstance(config, dict):
        raise validation_failed([_issue(["config"], "Required", "invalid_type", expected="object",
                                        received="undefined" if config is None else type(config).__name__)])
    extra = [k for k in config if k not in allowed]
    if extra:
        keys = ", ".join(f"'{k}'" for k in extra)
        raise validation_failed([_issue(["config"], f"Unrecognized key(s) in object: {keys}",
                                        "unrecognized_keys", keys=extra)])
    return config


def eval_expr(value: Any, call: StepCall, where: str) -> Any:
    """Evaluate an Expr object against the run context; errors become ``ExpressionError``."""
    if not is_expr(value):
        raise validation_failed([_issue(where.split("."), "Expected an expression object with $expr")])
    try:
        return evaluate(value["$expr"], call.run.context())
    except ExpressionError as exc:
        raise RuntimeFailure(exc.category, exc.message, path=exc.path) from None


def assign_all(assignments: dict[str, Any], call: StepCall, where: str) -> None:
    """Evaluate and apply assignments in order; later entries see earlier ones."""
    for target, expr in assignments.items():
        value = eval_expr(expr, call, f"{where}.{target}")
        try:
            assign_path(call.run.envelope, target, value)
        except ExpressionError as exc:
            raise RuntimeFailure(exc.category, exc.message) from None


async def state_set(call: StepCall) -> None:
    config = strict_config(call.step, {"state"})
    state = config.get("state")
    if not isinstance(state, str) or not state:
        raise validation_failed([_issue(["config", "state"], "String must contain at least 1 character(s)",
                                        "too_small", minimum=1, type="string", inclusive=True, exact=False)])
    call.run.envelope["meta"]["state"] = state
    return None


async def transform_assign(call: StepCall) -> None:
    config = strict_config(call.step, {"assign"})
    assignments = config.get("assign")
    if not isinstance(assignments, dict):
        raise validation_failed([_issue(["config", "assign"], "Required", "invalid_type", expected="object",
                                        received="undefined")])
    assign_all(assignments, call, "config.assign")
    return None


NODE_HANDLERS: dict[str, NodeHandler] = {
    "state.set": state_set,
    "transform.assign": transform_assign,
}
