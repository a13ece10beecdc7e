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

from .http_errors import V1ApiError, WorkflowApiError

SESSION_COOKIES = ("authjs.session-token", "__Secure-authjs.session-token", "next-auth.session-token")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# A usable key: active, unexpired, owned by an active internal user of an unsuspended tenant.
_USABLE = """
k.api_key = %(digest)s AND k.active AND (k.expires_at IS NULL OR k.expires_at > now())
AND (%(tenant)s::uuid IS NULL OR k.tenant = %(tenant)s::uuid)
AND EXISTS (SELECT 1 FROM users u WHERE u.tenant = k.tenant AND u.user_id = k.user_id
            AND NOT u.is_inactive AND u.user_type = 'internal')
AND EXISTS (SELECT 1 FROM tenants t WHERE t.tenant = k.tenant AND t.suspended_at IS NULL)
"""
# Counting the use and checking the limit in one statement keeps concurrent requests within the limit.
_USE_KEY = f"""
UPDATE api_keys k SET last_used_at = now(), updated_at = now(), usage_count = k.usage_count + 1
WHERE {_USABLE} AND (k.usage_limit IS NULL OR k.usage_count < k.usage_limit)
RETURNING k.tenant, k.user_id
"""
_EXHAUST_KEY = f"""
UPDATE api_keys k SET active = false, updated_at = now()
WHERE {_USABLE} AND k.usage_limit IS NOT NULL AND k.usage_count >= k.usage_limit
"""


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the tenant acted on and the user acting."""

    tenant: str
    user_id: str


def is_uuid(text: str) -> bool:
    """Whether ``text`` is a UUID in its canonical 8-4-4-4-12 hex form (any version)."""
    return _UUID.fullmatch(text) is not None


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
    """The key's tenant and user (restricted to ``x-tenant-id`` when sent); counts one use.

    A key that reached its usage limit is deactivated and refused, as AlgaPSA does.
    """
    params = {"digest": hashlib.sha256(key.encode()).hexdigest(),
              "tenant": tenant_header.lower() if tenant_header else None}
    async with request.app.state.pool.connection() as conn, conn.transaction(), \
            conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_USE_KEY, params)
        row = await cur.fetchone()
        if row is None:
            await cur.execute(_EXHAUST_KEY, params)
            return None
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
    if tenant and not is_uuid(tenant):
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
    """``/api/v1`` routes accept an API key only; an ``x-tenant-id`` must name the key's tenant."""
    key = request.headers.get("x-api-key")
    if not key:
        raise V1ApiError("UNAUTHORIZED", "API key required")
    tenant = request.headers.get("x-tenant-id")
    if tenant and not is_uuid(tenant):
        raise V1ApiError("UNAUTHORIZED", "Invalid API key")
    caller = await _by_api_key(request, key, tenant)
    if caller is None:
        raise V1ApiError("UNAUTHORIZED", "Invalid API key")
    return caller
