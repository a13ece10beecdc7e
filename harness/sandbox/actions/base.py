"""What every action shares: its declaration, the context its handler runs in, and AlgaPSA's helpers
for permissions, audit rows, structured errors and timestamps (contract §4.1)."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ..runtime.run_errors import RuntimeFailure, action_error
from ..runtime.expressions import evaluate
from .schema import Obj

Handler = Callable[["ActionContext", dict[str, Any]], Awaitable[dict[str, Any]]]
KeyRule = Callable[[dict[str, Any], str], str]
"""An action-provided idempotency rule: (validated input, ``run:<runId>:<stepPath>``) → key."""

_PERMISSION = """
SELECT 1 FROM user_roles ur
JOIN roles r ON r.tenant = ur.tenant AND r.role_id = ur.role_id
JOIN role_permissions rp ON rp.tenant = r.tenant AND rp.role_id = r.role_id
JOIN permissions p ON p.tenant = rp.tenant AND p.permission_id = rp.permission_id
WHERE ur.tenant = %s AND ur.user_id = %s AND p.resource = %s AND p.action = %s AND p.msp AND r.msp
LIMIT 1
"""

_AUDIT = """
INSERT INTO audit_logs (audit_id, tenant, user_id, operation, table_name, record_id, changed_data, details, "timestamp")
VALUES (%s, %s, %s, %s, 'workflow_runs', %s, %s, %s, %s)
"""


@dataclass(frozen=True)
class Action:
    """One registered action: schemas, handler, idempotency mode and retry hint."""

    id: str
    input: Obj
    output: Obj
    handler: Handler
    version: int = 1
    key_rule: KeyRule | None = None  # None: engine-provided idempotency
    retry: dict[str, Any] | None = None


@dataclass(frozen=True)
class ActionContext:
    """A handler's view of one invocation: the open transaction, the run, the step and the actor."""

    conn: AsyncConnection
    action: Action
    tenant: str
    run_id: str
    step_path: str
    actor: str

    async def all(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        async with self.conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, params)
            rows = await cur.fetchall() if cur.description else []
        return [{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in row.items()} for row in rows]

    async def one(self, sql: str, *params: Any) -> dict[str, Any] | None:
        rows = await self.all(sql, *params)
        return rows[0] if rows else None

    async def execute(self, sql: str, *params: Any) -> None:
        await self.conn.execute(sql, params)

    async def has_permission(self, user_id: str, resource: str, action: str) -> bool:
        """Whether ``user_id`` holds ``resource:action`` through an MSP role."""
        return await self.one(_PERMISSION, self.tenant, user_id, resource, action) is not None

    async def require_permission(self, resource: str, action: str) -> None:
        """Fail with ``PERMISSION_DENIED`` unless the actor holds ``resource:action`` (MSP role)."""
        if not await self.has_permission(self.actor, resource, action):
            raise action_error("PERMISSION_DENIED", f"Permission denied: {resource}:{action}",
                               {"resource": resource, "action": action})

    async def audit(self, changed_data: dict[str, Any], **details: Any) -> None:
        """The ``audit_logs`` row of a side-effecting action."""
        await self.execute(_AUDIT, str(uuid.uuid4()), self.tenant, self.actor, f"workflow_action:{self.action.id}",
                           self.run_id, Jsonb(changed_data),
                           Jsonb({"action_id": self.action.id, "action_version": self.action.version,
                                  "step_path": self.step_path, **details}),
                           utc_now())

    def metadata(self, **extra: Any) -> dict[str, Any]:
        """The ``metadata`` AlgaPSA stamps on rows a workflow writes."""
        return {"source": "workflow", "run_id": self.run_id, "step_path": self.step_path, **extra}


def invalid(message: str, details: Any = None) -> RuntimeFailure:
    """A business-rule ``ValidationError`` (code ``VALIDATION_ERROR``)."""
    return RuntimeFailure("ValidationError", message, code="VALIDATION_ERROR", details=details, has_details=True)


def transient(code: str, message: str, details: Any = None) -> RuntimeFailure:
    """A retryable ``TransientError`` (``TRANSIENT_FAILURE`` or ``RATE_LIMITED``)."""
    return RuntimeFailure("TransientError", message, code=code, details=details, has_details=True)


def standard_error(message: str) -> RuntimeFailure:
    """AlgaPSA's mapping of a model or database failure to a structured error, by its message."""
    rules = ((r"VALIDATION_ERROR:|validation failed|input validation failed", "ValidationError", "VALIDATION_ERROR"),
             (r"not found", "ActionError", "NOT_FOUND"),
             (r"duplicate|unique|conflict", "ActionError", "CONFLICT"),
             (r"rate limit", "TransientError", "RATE_LIMITED"),
             (r"deadlock|timeout|temporar", "TransientError", "TRANSIENT_FAILURE"))
    for pattern, category, code in rules:
        if re.search(pattern, message, re.IGNORECASE):
            return RuntimeFailure(category, message, code=code, has_details=True)
    return RuntimeFailure("ActionError", message, code="INTERNAL_ERROR", has_details=True)


def utc_now() -> datetime:
    """Now, at the millisecond precision AlgaPSA's JavaScript clock has."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def instant(text: str) -> datetime:
    """An ISO instant at JavaScript ``Date`` precision (milliseconds)."""
    value = datetime.fromisoformat(text)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def iso(value: datetime | None) -> str | None:
    """``Date#toISOString``: UTC, milliseconds, ``Z``."""
    if value is None:
        return None
    text = value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[:-3] + "Z"


def js_string(value: Any) -> str:
    """JavaScript ``String(value ?? '')``, from the expression engine's ``toString``."""
    return evaluate("toString(v)", {"v": value})


def provided_key(data: dict[str, Any], fallback: str) -> str:
    """The common action-provided rule: ``idempotency_key`` (trimmed) if not blank, else the fallback."""
    key = str(data.get("idempotency_key") or "").strip()
    return key or fallback
