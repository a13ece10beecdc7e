"""Strict shape checks for definitions, steps, triggers and node configs, reported as Zod issues.

These mirror AlgaPSA's Zod schemas (``workflowDefinitionSchema`` and the node config schemas):
unknown keys are errors, Expr objects need a ``$expr`` string, and node configs are checked
only when their step runs (or at publish), exactly as AlgaPSA does.
"""
from __future__ import annotations

from typing import Any, Callable

from ...contract.zod import MISSING, Issue, Path, invalid_type, issue

Check = Callable[[Any, Path, list[Issue]], None]

CONTROL_TYPES = ("control.if", "control.forEach", "control.tryCatch", "control.return", "control.callWorkflow")


# --- checks: each appends the issues of one value ------------------------------------------------

def string(minimum: int = 0) -> Check:
    def check(value: Any, path: Path, out: list[Issue]) -> None:
        if not isinstance(value, str):
            out.append(invalid_type("string", value, path))
        elif len(value) < minimum:
            out.append(issue("too_small", path, f"String must contain at least {minimum} character(s)",
                             minimum=minimum, type="string", inclusive=True, exact=False))
    return check


def integer(*, positive: bool) -> Check:
    def check(value: Any, path: Path, out: list[Issue]) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(invalid_type("number", value, path))
            return
        if isinstance(value, float) and not value.is_integer():
            out.append(issue("invalid_type", path, "Expected integer, received float", expected="integer",
                             received="float"))
        if positive and value <= 0:
            out.append(issue("too_small", path, "Number must be greater than 0", minimum=0, type="number",
                             inclusive=False, exact=False))
        elif not positive and value < 0:
            out.append(issue("too_small", path, "Number must be greater than or equal to 0", minimum=0,
                             type="number", inclusive=True, exact=False))
    return check


def _positive_number(value: Any, path: Path, out: list[Issue]) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        out.append(invalid_type("number", value, path))
    elif value <= 0:
        out.append(issue("too_small", path, "Number must be greater than 0", minimum=0, type="number",
                         inclusive=False, exact=False))


def _boolean(value: Any, path: Path, out: list[Issue]) -> None:
    if not isinstance(value, bool):
        out.append(invalid_type("boolean", value, path))


def _anything(value: Any, path: Path, out: list[Issue]) -> None:
    return None


def literal(expected: str) -> Check:
    def check(value: Any, path: Path, out: list[Issue]) -> None:
        if value != expected:
            out.append(issue("invalid_literal", path, f'Invalid literal value, expected "{expected}"',
                             expected=expected, received=None if value is MISSING else value))
    return check


def enum(*options: str) -> Check:
    def check(value: Any, path: Path, out: list[Issue]) -> None:
        if not isinstance(value, str):
            out.append(invalid_type(" | ".join(f"'{o}'" for o in options), value, path))
        elif value not in options:
            expected = " | ".join(f"'{o}'" for o in options)
            out.append(issue("invalid_enum_value", path, f"Invalid enum value. Expected {expected}, received '{value}'",
                             options=list(options), received=value))
    return check


def array(item: Check) -> Check:
    def check(value: Any, path: Path, out: list[Issue]) -> None:
        if not isinstance(value, list):
            out.append(invalid_type("array", value, path))
            return
        for index, element in enumerate(value):
            item(element, [*path, index], out)
    return check


def record(item: Check) -> Check:
    def check(value: Any, path: Path, out: list[Issue]) -> None:
        if not isinstance(value, dict):
            out.append(invalid_type("object", value, path))
            return
        for key, element in value.items():
            item(element, [*path, key], out)
    return check


def strict(fields: dict[str, Check], required: tuple[str, ...] = ()) -> Check:
    """A strict Zod object: listed fields, ``required`` ones must be present, nothing else allowed."""
    def check(value: Any, path: Path, out: list[Issue]) -> None:
        if not isinstance(value, dict):
            out.append(invalid_type("object", value, path))
            return
        for key, field in fields.items():
            if key in value:
                field(value[key], [*path, key], out)
            elif key in required:
                field(MISSING, [*path, key], out)
        extra = [key for key in value if key not in fields]
        if extra:
            keys = ", ".join(f"'{k}'" for k in extra)
            out.append(issue("unrecognized_keys", path, f"Unrecognized key(s) in object: {keys}", keys=extra))
    return check


def expr(value: Any, path: Path, out: list[Issue]) -> None:
    """An Expr object: ``$expr`` must be present and a string; other keys are ignored."""
    if not isinstance(value, dict):
        out.append(invalid_type("object", value, path))
    elif "$expr" not in value:
        out.append(issue("custom", path, "$expr is required"))
    elif not isinstance(value["$expr"], str):
        out.append(invalid_type("string", value["$expr"], [*path, "$expr"]))


# --- definitions ---------------------------------------------------------------------------------

RETRY_POLICY = strict({"maxAttempts": integer(positive=True), "backoffMs": integer(positive=False),
                       "backoffMultiplier": _positive_number, "jitter": _boolean,
                       "maxDelayMs": integer(positive=True), "retryOn": array(string())},
                      required=("maxAttempts", "backoffMs"))
ON_ERROR = strict({"policy": enum("fail", "continue")}, required=("policy",))
_ID = string(1)


def _steps(value: Any, path: Path, out: list[Issue]) -> None:
    array(step)(value, path, out)


def _node_type(value: Any, path: Path, out: list[Issue]) -> None:
    string(1)(value, path, out)
    if isinstance(value, str) and value.startswith("control."):
        out.append(issue("custom", path,
                         'Node step type cannot start with "control." - use a control block schema instead'))


STEP_SCHEMAS: dict[str, Check] = {
    "control.if": strict({"id": _ID, "type": literal("control.if"), "condition": expr, "then": _steps,
                          "else": _steps}, required=("id", "type", "condition", "then")),
    "control.forEach": strict({"id": _ID, "type": literal("control.forEach"), "items": expr, "itemVar": string(1),
                               "concurrency": integer(positive=True), "body": _steps,
                               "onItemError": enum("continue", "fail")},
                              required=("id", "type", "items", "itemVar", "body")),
    "control.tryCatch": strict({"id": _ID, "type": literal("control.tryCatch"), "try": _steps, "catch": _steps,
                                "captureErrorAs": string(1)}, required=("id", "type", "try", "catch")),
    "control.callWorkflow": strict({"id": _ID, "type": literal("control.callWorkflow"), "workflowId": string(1),
                                    "workflowVersion": integer(positive=True), "inputMapping": record(expr),
                                    "outputMapping": record(expr), "retry": RETRY_POLICY, "onError": ON_ERROR},
                                   required=("id", "type", "workflowId", "workflowVersion")),
    "control.return": strict({"id": _ID, "type": literal("control.return")}, required=("id", "type")),
}
NODE_STEP = strict({"id": _ID, "type": _node_type, "name": string(), "config": _anything, "retry": RETRY_POLICY,
                    "onError": ON_ERROR}, required=("id", "type"))


def step(value: Any, path: Path, out: list[Issue]) -> None:
    """Any step, dispatched on its ``type`` like AlgaPSA's step schema (nested lists included)."""
    kind = value.get("type") if isinstance(value, dict) else None
    if kind is None:
        out.append(issue("custom", path, "Step must have a type field"))
        return
    schema = STEP_SCHEMAS.get(kind, NODE_STEP) if isinstance(kind, str) else NODE_STEP
    schema(value, path, out)


TRIGGER_SCHEMAS: dict[str, Check] = {
    "event": strict({"type": literal("event"), "eventName": string(1), "sourcePayloadSchemaRef": string(1),
                     "payloadMapping": record(_anything)}, required=("type", "eventName")),
    "schedule": strict({"type": literal("schedule"), "runAt": string(1)}, required=("type", "runAt")),
    "recurring": strict({"type": literal("recurring"), "cron": string(1), "timezone": string(1)},
                        required=("type", "cron", "timezone")),
}


def trigger(value: Any, path: Path, out: list[Issue]) -> None:
    """A trigger object, discriminated on ``type``."""
    if not isinstance(value, dict):
        out.append(invalid_type("object", value, path))
        return
    schema = TRIGGER_SCHEMAS.get(value.get("type")) if isinstance(value.get("type"), str) else None
    if schema is None:
        options = " | ".join(f"'{t}'" for t in TRIGGER_SCHEMAS)
        out.append(issue("invalid_union_discriminator", [*path, "type"],
                         f"Invalid discriminator value. Expected {options}", options=list(TRIGGER_SCHEMAS)))
        return
    schema(value, path, out)


DEFINITION = strict({"id": _ID, "version": integer(positive=True), "name": string(1), "description": string(),
                     "payloadSchemaRef": string(1), "trigger": trigger, "steps": _steps},
                    required=("id", "version", "name", "payloadSchemaRef", "steps"))


def definition_issues(definition: Any, path: Path | None = None) -> list[Issue]:
    """Every problem with a workflow definition's shape (node configs excepted)."""
    out: list[Issue] = []
    DEFINITION(definition, path or [], out)
    return out


def trigger_issues(value: Any, path: Path | None = None) -> list[Issue]:
    out: list[Issue] = []
    trigger(value, path or [], out)
    return out


# --- node configs --------------------------------------------------------------------------------

CONFIG_SCHEMAS: dict[str, Check] = {
    "state.set": strict({"state": string(1)}, required=("state",)),
    "transform.assign": strict({"assign": record(expr)}, required=("assign",)),
    "event.wait": strict({"eventName": string(1), "correlationKey": expr, "timeoutMs": integer(positive=True),
                          "assign": record(expr)}, required=("eventName", "correlationKey")),
    "action.call": strict({"actionId": string(1), "version": integer(positive=True), "inputMapping": record(_anything),
                           "saveAs": string(), "onError": ON_ERROR, "idempotencyKey": expr},
                          required=("actionId", "version")),
}


def config_issues(node_type: str, config: Any) -> list[Issue]:
    """Problems with a node step's config (a missing config counts as ``{}``, as in AlgaPSA)."""
    out: list[Issue] = []
    CONFIG_SCHEMAS[node_type]({} if config is None else config, [], out)
    return out


def describe(issues: list[Issue]) -> str:
    """``path: message`` of the first issue, for one-line error messages."""
    first = issues[0]
    where = ".".join(str(part) for part in first["path"]) or "(root)"
    return f"{where}: {first['message']}"
