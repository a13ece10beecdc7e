"""Reading JSON request bodies with clear 4xx errors instead of framework defaults.

Oversized bodies are refused without being read: a ``Content-Length`` above the limit at once,
a chunked body as soon as the bytes received pass it.
"""
from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from ..http_errors import V1ApiError, WorkflowApiError

MAX_BODY_BYTES = 1_048_576


def _too_large(v1: bool) -> Exception:
    message = f"Request body exceeds {MAX_BODY_BYTES} bytes"
    return V1ApiError("PAYLOAD_TOO_LARGE", message) if v1 else WorkflowApiError(413, message)


async def read_limited(request: Request, *, v1: bool = False, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, at most ``limit`` bytes; more raises the route family's 413 before reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(v1)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(v1)
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request, *, default: Any = None) -> Any:
    """The parsed body of a workflow route; oversized or malformed bodies raise its 4xx error."""
    raw = await read_limited(request)
    if not raw.strip():
        return default
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        message = f"Invalid JSON body: {exc if not isinstance(exc, RecursionError) else 'nested too deeply'}"
        raise WorkflowApiError(400, message) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_like_node(raw: bytes) -> Any:
    """``JSON.parse`` of the body as Node's ``Request.json()`` decodes it (UTF-8, BOM dropped, bad bytes
    replaced); ValueError when it is not JSON. A body nested deeper than Python's parser goes stands
    for an empty array or object, which is as far as a schema check of it looks."""
    text = raw.decode("utf-8-sig", errors="replace")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        return [] if text.lstrip(" \t\r\n").startswith("[") else {}
