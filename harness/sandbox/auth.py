"""Who is calling: tenant and user from ``x-api-key`` / session cookie and ``x-tenant-id``.

Used as FastAPI dependencies, so every route states the credentials it accepts.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie

from fastapi import Request
from psycopg.rows import dict_row

from .errors import V1ApiError, WorkflowApiError

SESSION_COOKIES = ("authjs.session-token", "__Secure-authjs.session-token", "next-auth.session-token")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

_KEY_LOOKUP = """
SELECT k.api_key_id, k.tenant, k.user_id, k.usage_limit, k.usage_count
FROM api_keys k
JOIN users u ON u.tenant = k.tenant AND u.user_id = k.user_id
JOIN tenants t ON t.tenant = k.tenant
WHERE k.api_key = %s AND k.active AND (k.expires_at IS NULL OR k.expires_at > now())
  AND NOT coalesce(u.is_inactive, false) AND u.user_type = 'internal' AND t.suspended_at IS NULL
"""


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the tenant acted on and the user acting."""

    tenant: str
    user_id: str


def _session_token(cookie_header: str) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except Exception:  # a malformed cookie is simply not a session
        return None
    for name, morsel in jar.items():
        if name in SESSION_COOKIES or name.startswith("authjs.session-token."):
            return morsel.value
    return None


async def _by_api_key(request: Request, key: str, tenant_header: str | None) -> Caller | None:
    digest = hashlib.sha256(key.encode()).hexdigest()
    pool = request.app.state.pool
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_KEY_LOOKUP, (digest,))
        row = await cur.fetchone()
        if row is None or (tenant_header and str(row["tenant"]) != tenant_header.lower()):
            return None
        if row["usage_limit"] is not None and row["usage_count"] >= row["usage_limit"]:
            await cur.execute("UPDATE api_keys SET active = false WHERE api_key_id = %s", (row["api_key_id"],))
            return None
        await cur.execute("UPDATE api_keys SET last_used_at = now(), updated_at = now(), "
                          "usage_count = usage_count + 1 WHERE api_key_id = %s", (row["api_key_id"],))
    return Caller(str(row["tenant"]), str(row["user_id"]))


def _by_session(request: Request, cookie_header: str, tenant_header: str | None) -> Caller | None:
    token = _session_token(cookie_header)
    session = request.app.state.sessions.get(token) if token else None
    if session is None or (tenant_header and session.tenant != tenant_header.lower()):
        return None
    return session


async def workflow_caller(request: Request) -> Caller:
    """Workflow routes accept a tenant API key or a sandbox session cookie."""
    key = request.headers.get("x-api-key")
    tenant = request.headers.get("x-tenant-id")
    cookie = request.headers.get("cookie")
    if tenant and not _UUID.match(tenant):
        raise WorkflowApiError(401, "Unauthorized: invalid x-tenant-id")
    if cookie:
        caller = _by_session(request, cookie, tenant)
        if caller is not None:
            return caller
    if not key:
        raise WorkflowApiError(401, "Unauthorized: API key missing")
    caller = await _by_api_key(request, key, tenant)
    if caller is None:
        raise WorkflowApiError(401, "Unauthorized: invalid API key")
    return caller


async def v1_caller(request: Request) -> Caller:
    """``/api/v1`` routes accept an API key only."""
    key = request.headers.get("x-api-key")
    if not key:
        raise V1ApiError("UNAUTHORIZED", "API key required")
    tenant = request.headers.get("x-tenant-id")
    if tenant and not _UUID.match(tenant):
        raise V1ApiError("UNAUTHORIZED", "Invalid API key")
    caller = await _by_api_key(request, key, tenant)
    if caller is None:
        raise V1ApiError("UNAUTHORIZED", "Invalid API key")
    return caller
