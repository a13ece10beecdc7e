"""Checks that the target answers and accepts the user's credentials before any kernel starts.

Every problem is a :class:`ConfigError` or :class:`TargetUnreachable` naming the one setting that
is wrong (the tenant, the API key, the session cookie), so a wrong credential is a configuration
error (exit 2) rather than one failed fixture after another.
"""
from __future__ import annotations

import hashlib
from typing import Any

import httpx
import psycopg

from ..config import Target
from ..db import Database
from ..redaction import redact_url
from ..errors import ConfigError, HttpError, TargetUnreachable
from ..http import AlgaClient

# Any id will do: a workflow that does not exist answers 404 to a caller the server accepts.
PROBE_PATH = "/api/workflow-definitions/00000000-0000-4000-8000-000000000000/export"
KEY_SETTING = "the API key (WORKFLOW_HARNESS_API_KEY or ALGA_API_KEY)"
TENANT_SETTING = "TENANT_ID / --tenant"


def preflight(target: Target, timeout_s: float = 5.0) -> None:
    """Raise unless the server and the database answer and the tenant, key and cookie are right."""
    try:
        httpx.get(target.base_url + "/", timeout=timeout_s)
    except httpx.TransportError as exc:
        raise TargetUnreachable(f"cannot reach {redact_url(target.base_url)}: {exc or type(exc).__name__}") from None
    db = target.database()
    try:
        _check_tenant(db, target)
        if target.api_key:
            _check_key(db, target)
    finally:
        db.close()
    _probe(target, timeout_s)


def _optional(db: Database, sql: str, params: tuple[Any, ...]) -> tuple[bool, dict[str, Any] | None]:
    """(checked, row): a table the read role may not see is simply not checked."""
    try:
        return True, db.one(sql, params)
    except psycopg.errors.InsufficientPrivilege:
        return False, None


def _check_tenant(db: Database, target: Target) -> None:
    checked, row = _optional(db, "SELECT tenant::text AS tenant FROM tenants WHERE tenant = %s::uuid",
                             (target.tenant_id,))
    if checked and row is None:
        raise ConfigError(f"tenant {target.tenant_id} does not exist in the target's database "
                          f"(check {TENANT_SETTING}, or that DATABASE_URL is this AlgaPSA's database)")


def _check_key(db: Database, target: Target) -> None:
    digest = hashlib.sha256((target.api_key or "").encode()).hexdigest()
    checked, row = _optional(
        db, "SELECT tenant::text AS tenant, active, (expires_at IS NOT NULL AND expires_at <= now()) AS expired "
            "FROM api_keys WHERE api_key = %s ORDER BY (tenant = %s::uuid) DESC LIMIT 1",
        (digest, target.tenant_id))
    if not checked:
        return
    if row is None:
        raise ConfigError(f"{KEY_SETTING} is not a key of any tenant of this target")
    if row["tenant"] != target.tenant_id.lower():
        raise ConfigError(f"{KEY_SETTING} belongs to tenant {row['tenant']}, not to tenant {target.tenant_id} "
                          f"({TENANT_SETTING}): one of the two is wrong")
    if not row["active"] or row["expired"]:
        raise ConfigError(f"{KEY_SETTING} is {'expired' if row['expired'] else 'inactive'}")


def _probe(target: Target, timeout_s: float) -> None:
    """Ask the workflow API for a workflow that cannot exist: 404 means the caller was accepted."""
    with AlgaClient(target, timeout_s=timeout_s) as client:
        try:
            client.get(PROBE_PATH)
        except HttpError as exc:
            if exc.status == 404:
                return
            where = redact_url(target.base_url)
            which = "the session cookie (COOKIE_FILE / --cookie-file)" if target.cookie else KEY_SETTING
            if exc.status in (401, 403) or "authenticated" in str(exc).lower():
                raise ConfigError(f"{where} refused {which} for tenant {target.tenant_id}: {exc}") from None
            raise ConfigError(f"{where} answered the credential check with {exc}") from None
