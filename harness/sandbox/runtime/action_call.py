"""The ``action.call`` node (contract §3.7): resolve the input, choose the idempotency key, consult
the invocation ledger, run the action in one transaction, record the invocation, save the output.

The ledger row and the action's writes share one transaction (the handler runs in a savepoint),
so a key is either SUCCEEDED together with its side effects or not at all, and a second run using
the same key waits for the first and then reuses its output. Like AlgaPSA, a key whose invocation
FAILED is never run again: inserting it a second time violates the ledger's unique key.
"""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ..actions.base import Action, ActionContext
from ..actions.registry import get_action
from ..actions.schema import SchemaError
from . import cursor as cur
from . import expression_pool
from .run_errors import RuntimeFailure, validation_failed
from .expressions import ExpressionError, escape_pointer, evaluate
from .paths import assign_path, save_as_path
from .recorder import CLOCK
from .schema import config_issues
from .execution_state import RunState, StepCall

LEASE = timedelta(seconds=30)
PREVIEW_MAX_BYTES = 32 * 1024
ERROR_MESSAGE_MAX = 2000
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"

_CLAIM = """
INSERT INTO workflow_action_invocations (invocation_id, tenant, run_id, step_path, action_id, action_version,
    idempotency_key, status, attempt, lease_owner, lease_expires_at, input_json, created_at, started_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, 'STARTED', 1, %s, %s, %s::jsonb, %s, %s)
ON CONFLICT (tenant, action_id, action_version, idempotency_key) DO NOTHING
RETURNING invocation_id, status, attempt, output_json
"""
_EXISTING = """
SELECT invocation_id, status, attempt, output_json FROM workflow_action_invocations
WHERE tenant = %s AND action_id = %s AND action_version = %s AND idempotency_key = %s FOR UPDATE
"""
_UNIQUE_KEY = "workflow_action_invocations_idempotency_unique"
_FINISH = """
UPDATE workflow_action_invocations SET status = %s, output_json = %s::jsonb, error_message = %s,
    error_json = %s::jsonb, completed_at = %s
WHERE invocation_id = %s
"""


async def action_call(call: StepCall) -> None:
    """Run one ``action.call`` step (FE order of work, §3.7.1)."""
    config = call.step.get("config")
    issues = config_issues("action.call", config)
    if issues:
        raise validation_failed(issues)
    context = call.run.context()
    data = await _resolve_input(config.get("inputMapping") or {}, context)
    explicit_key = await _explicit_key(config.get("idempotencyKey"), context)
    action = get_action(config["actionId"], config["version"])
    if action is None:
        raise RuntimeFailure("ValidationError", f"Unknown action {config['actionId']}@{config['version']}")
    try:
        data = action.input.parse(data)
    except SchemaError as exc:
        raise _call_failed("ZodError", _issues_text(exc.issues)) from None
    key = explicit_key if explicit_key is not None else _default_key(call, action, data)
    if not key.startswith(f"{call.run.tenant}:"):
        key = f"{call.run.tenant}:{key}"
    output = await _invoke(call, action, data, key)
    if "saveAs" in config:
        try:
            assign_path(call.run.envelope, save_as_path(config["saveAs"]), output)
        except ExpressionError as exc:
            raise _call_failed("Error", exc.message) from None


async def _resolve_input(mapping: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Each top-level entry resolved in order (§2.5); secret refs fail as they did in the fixture era."""
    try:
        return {key: await expression_pool.resolve(value, context, f"/{escape_pointer(key)}")
                for key, value in mapping.items()}
    except ExpressionError as exc:
        raise RuntimeFailure(exc.category, exc.message, path=exc.path) from None


async def _explicit_key(expr: dict[str, Any] | None, context: dict[str, Any]) -> str | None:
    """``config.idempotencyKey`` evaluated and stringified like JavaScript's ``String()``."""
    if expr is None:
        return None
    try:
        value = await expression_pool.evaluate(expr.get("$expr", ""), context)
        # a fixed expression over a JSON value of bounded size: safe to run inline
        return "null" if value is None else evaluate("toString(v)", {"v": value})
    except ExpressionError as exc:
        raise RuntimeFailure(exc.category, exc.message) from None


def _iteration_path(call: StepCall) -> str:
    """The step path with each enclosing loop's iteration in it, as the fixture-era engine wrote it.

    FE repeated ``.body`` once per iteration (iteration 1 → ``.body.body.steps[k]``), so identical
    inputs in different iterations got different default keys; the clean path is used elsewhere.
    """
    try:
        position = cur.parse_path(call.path)
    except ValueError:
        return call.path  # already iteration-specific
    loops = call.run.envelope.get("vars", {}).get("__forEach") or {}
    parts = []
    for depth, (branch, index) in enumerate(position):
        if branch == "body":
            loop = loops.get((cur.step_at(call.run.definition, position[:depth]) or {}).get("id")) or {}
            branch = ".".join(["body"] * (int(loop.get("index", 0)) + 1))
        parts.append(f"{branch}.steps[{index}]")
    return ".".join(parts)


def _default_key(call: StepCall, action: Action, data: dict[str, Any]) -> str:
    """The action's own key rule, else the engine key ``<run>:<path>:<action>:<version>:<hash>``."""
    path = _iteration_path(call)
    if action.key_rule is not None:
        return action.key_rule(data, f"run:{call.run.run_id}:{path}")
    base = _json({"runId": call.run.run_id, "stepPath": path, "actionId": action.id, "version": action.version,
                  "input": data})
    return f"{call.run.run_id}:{path}:{action.id}:{action.version}:{java_hash36(base)}"


def java_hash36(text: str) -> str:
    """``h = h*31 + charCode`` over UTF-16 code units in 32-bit arithmetic, absolute value, base 36."""
    units = text.encode("utf-16-le", "surrogatepass")
    h = 0
    for i in range(0, len(units), 2):
        h = (h * 31 + (units[i] | units[i + 1] << 8)) & 0xFFFFFFFF
    n = abs(h - (1 << 32) if h & 0x80000000 else h)
    digits = ""
    while True:
        n, r = divmod(n, 36)
        digits = _BASE36[r] + digits
        if n == 0:
            return digits


async def _invoke(call: StepCall, action: Action, data: dict[str, Any], key: str) -> dict[str, Any]:
    """Claim the key, run the handler unless the key already SUCCEEDED, and record the outcome.

    A failure is raised only after the transaction committed the FAILED invocation row.
    """
    run = call.run
    await run.recorder.flush(run.conn)
    async with run.conn.transaction():
        invocation = await _claim(call, action, data, key)
        outcome = None if invocation["status"] == "SUCCEEDED" else await _execute(call, action, data, invocation)
    if outcome is None:
        try:
            return action.output.parse(invocation["output_json"] or {})
        except SchemaError as exc:
            raise _call_failed("ZodError", _issues_text(exc.issues)) from None
    output, failure = outcome
    if failure is not None:
        raise failure
    return output


async def _execute(call: StepCall, action: Action, data: dict[str, Any], invocation: dict[str, Any]
                   ) -> tuple[dict[str, Any], RuntimeFailure | None]:
    """Run the handler in a savepoint, complete the invocation row and log around it."""
    run, rec = call.run, call.run.recorder
    about = {"actionId": action.id, "actionVersion": action.version, "attempt": invocation["attempt"]}
    rec.log("INFO", "Action invocation started", step_id=call.step_id, step_path=call.path,
            context={**about, "inputSizeBytes": len(_json(data)), "inputPreview": _preview(data)})
    try:
        async with run.conn.transaction():
            output = await _handle(call, action, data)
    except RuntimeFailure as failure:
        error = failure.to_json(call.path)
        message = _error_message(failure, error)
        await _finish(run, invocation, "FAILED", None, message, error)
        rec.log("ERROR", "Action invocation failed", step_id=call.step_id, step_path=call.path,
                context={**about, "error": message})
        return {}, failure
    await _finish(run, invocation, "SUCCEEDED", output, None, None)
    rec.log("INFO", "Action invocation succeeded", step_id=call.step_id, step_path=call.path,
            context={**about, "outputSizeBytes": len(_json(output)), "outputPreview": _preview(output)})
    return output, None


async def _claim(call: StepCall, action: Action, data: dict[str, Any], key: str) -> dict[str, Any]:
    """The invocation row for this key: a new STARTED row or the stored SUCCEEDED one.

    An earlier FAILED invocation makes AlgaPSA's insert hit the unique key; its ``action.call``
    wrapper reports that database error, and the FAILED row stays as it was.
    """
    run, now = call.run, CLOCK.now()
    lease = (f"run:{run.run_id}", now + LEASE)
    async with run.conn.cursor(row_factory=dict_row) as c:
        await c.execute(_CLAIM, (str(uuid.uuid4()), run.tenant, run.run_id, call.path, action.id, action.version,
                                 key, *lease, _json(data), now, now))
        row = await c.fetchone()
        if row is None:
            await c.execute(_EXISTING, (run.tenant, action.id, action.version, key))
            row = await c.fetchone()
            if row["status"] != "SUCCEEDED":
                raise _call_failed("error", f'duplicate key value violates unique constraint "{_UNIQUE_KEY}"')
    return row


async def _handle(call: StepCall, action: Action, data: dict[str, Any]) -> dict[str, Any]:
    """Run the handler as the workflow's actor; validate its output (a mismatch is a ValidationError)."""
    run = call.run
    if not run.actor_user_id:
        raise RuntimeFailure("ActionError", "Workflow actor user not found", code="INTERNAL_ERROR", has_details=True)
    ctx = ActionContext(run.conn, action, run.tenant, run.run_id, call.path, run.actor_user_id)
    try:
        output = await action.handler(ctx, data)
    except psycopg.Error as exc:  # AlgaPSA HEAD: an uncategorised throw is INTERNAL_ERROR with its message
        raise RuntimeFailure("ActionError", exc.diag.message_primary or str(exc), code="INTERNAL_ERROR",
                             details={"name": "error"}) from None
    try:
        return action.output.parse(output)
    except SchemaError as exc:
        raise validation_failed(exc.issues) from None


async def _finish(run: RunState, invocation: dict[str, Any], status: str, output: Any, message: str | None,
                  error: dict[str, Any] | None) -> None:
    await run.conn.execute(_FINISH, (status, None if output is None else _json(output), message,
                                     None if error is None else _json(error), CLOCK.now(),
                                     invocation["invocation_id"]))


def _error_message(failure: RuntimeFailure, error: dict[str, Any]) -> str:
    """``error_message`` as AlgaPSA stores it: a structured error's JSON text, else the Error's message."""
    if failure.issues is not None:
        return _issues_text(failure.issues)
    if failure.code is None and not failure.has_details:
        return failure.message
    thrown = {k: error[k] for k in ("category", "code", "message", "details", "nodePath", "at") if k in error}
    return _json(thrown)[:ERROR_MESSAGE_MAX]


def _call_failed(name: str, message: str) -> RuntimeFailure:
    """AlgaPSA's wrapper for failures inside action.call that carry no runtime error shape."""
    return RuntimeFailure("ActionError", "action.call failed", code="INTERNAL_ERROR",
                          details={"name": name, "message": message, "stack": f"{name}: {message}"})


def _issues_text(issues: list[dict[str, Any]]) -> str:
    """A ZodError's message: its issues as indented JSON."""
    return json.dumps(issues, indent=2, ensure_ascii=False)


def _json(value: Any) -> str:
    """``JSON.stringify``: compact, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _preview(value: Any) -> dict[str, Any]:
    size = len(_json(value))
    if size <= PREVIEW_MAX_BYTES:
        return {"truncated": False, "sizeBytes": size, "preview": value}
    return {"truncated": True, "sizeBytes": size, "maxBytes": PREVIEW_MAX_BYTES, "preview": "[TRUNCATED]"}
