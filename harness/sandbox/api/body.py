"""Reading JSON request bodies with clear 4xx errors instead of framework defaults."""
from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from ..errors import V1ApiError, WorkflowApiError

MAX_BODY_BYTES = 1_048_576


async def json_body(request: Request, *, v1: bool = False, default: Any = None) -> Any:
    """The parsed body; oversized or malformed bodies raise the route family's 4xx error."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        message = f"Request body exceeds {MAX_BODY_BYTES} bytes"
        raise V1ApiError("PAYLOAD_TOO_LARGE", message) if v1 else WorkflowApiError(413, message)
    if not raw.strip():
        return default
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        message = f"Invalid JSON body: {exc if not isinstance(exc, RecursionError) else 'nested too deeply'}"
        raise V1ApiError("VALIDATION_ERROR", message) if v1 else WorkflowApiError(400, message)
