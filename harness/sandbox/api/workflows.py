"""Workflow routes: bundle import/export, draft update, publish and event submission.

Every malformed request gets a 4xx with the workflow error envelope: unparseable, too deeply
nested or non-storable JSON (NaN, NUL characters, lone surrogates) is refused before any write.
"""
from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ..auth import Caller, is_uuid, workflow_caller
from ..definitions import canonical_json, check_bundle, export_bundle, import_bundle, publish, update_draft
from ..http_errors import WorkflowApiError
from ..events import submit_event
from ...contract.zod import js_type
from ..runtime.schema import issue
from .body import json_body

router = APIRouter()
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
MAX_DEPTH = 512  # far beyond real payloads, and within what Python and Postgres handle


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def _force(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


async def _body(request: Request) -> Any:
    """The JSON body, refused unless Postgres can store it as ``jsonb``."""
    body = await json_body(request)
    if _depth_exceeds(body, MAX_DEPTH):
        raise WorkflowApiError(400, f"Invalid JSON body: nested deeper than {MAX_DEPTH} levels")
    try:
        text = json.dumps(body, allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise WorkflowApiError(400, "Invalid JSON body: unpaired Unicode surrogate in a string") from None
    except ValueError:
        raise WorkflowApiError(400, "Invalid JSON body: NaN and Infinity are not JSON") from None
    if _NUL_ESCAPE.search(text):
        raise WorkflowApiError(400, "Invalid JSON body: strings must not contain NUL (\\u0000)")
    return body


def _workflow_id(workflow_id: str) -> str:
    if not is_uuid(workflow_id):
        raise WorkflowApiError(404, "Not found")
    return workflow_id.lower()


def _version(segment: str) -> int:
    """The ``{version}`` path segment as a positive integer (AlgaPSA's ``Number(...)`` plus Zod check)."""
    if not segment.isascii() or not segment.isdigit():
        raise WorkflowApiError(400, "Invalid request", [issue("invalid_type", ["version"], "Expected number, received nan",
                                                              expected="number", received="nan")])
    if int(segment) < 1:
        raise WorkflowApiError(400, "Invalid request", [issue("too_small", ["version"], "Number must be greater than 0",
                                                              minimum=0, type="number", inclusive=False, exact=False)])
    return int(segment)


@router.post("/api/workflow-definitions/import")
async def import_route(request: Request, caller: Caller = Depends(workflow_caller)) -> JSONResponse:
    bundle = await _body(request)
    check_bundle(bundle, request.app.state.schemas)
    async with request.app.state.pool.connection() as conn:
        summary = await import_bundle(conn, bundle, tenant=caller.tenant, user_id=caller.user_id,
                                      force=_force(request.query_params.get("force")))
    return JSONResponse(summary)


@router.get("/api/workflow-definitions/{workflow_id}/export")
async def export_route(workflow_id: str, request: Request, caller: Caller = Depends(workflow_caller)) -> Response:
    async with request.app.state.pool.connection() as conn:
        bundle = await export_bundle(conn, _workflow_id(workflow_id), tenant=caller.tenant)
    return Response(canonical_json(bundle), media_type="application/json; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="workflow-bundle.json"'})


@router.put("/api/workflow-definitions/{workflow_id}/{version}")
async def update_draft_route(workflow_id: str, version: str, request: Request,
                             caller: Caller = Depends(workflow_caller)) -> JSONResponse:
    workflow_id = _workflow_id(workflow_id)  # the version segment is ignored, as in AlgaPSA
    body = await _body(request)
    async with request.app.state.pool.connection() as conn:
        row = await update_draft(conn, workflow_id, body, tenant=caller.tenant, user_id=caller.user_id,
                                 schemas=request.app.state.schemas)
    return JSONResponse(row)


@router.post("/api/workflow-definitions/{workflow_id}/{version}/publish")
async def publish_route(workflow_id: str, version: str, request: Request,
                        caller: Caller = Depends(workflow_caller)) -> JSONResponse:
    workflow_id, requested = _workflow_id(workflow_id), _version(version)
    body = await _body(request)
    if body is not None and not isinstance(body, dict):
        received = js_type(body)
        raise WorkflowApiError(400, "Invalid request", [issue("invalid_type", [], f"Expected object, received {received}",
                                                              expected="object", received=received)])
    async with request.app.state.pool.connection() as conn:
        result = await publish(conn, workflow_id, requested, body, tenant=caller.tenant, user_id=caller.user_id,
                               schemas=request.app.state.schemas)
    return JSONResponse(result)


@router.post("/api/workflow/events")
async def events_route(request: Request, caller: Caller = Depends(workflow_caller)) -> JSONResponse:
    body = await _body(request)
    async with request.app.state.pool.connection() as conn:
        response, resumed, started = await submit_event(conn, request.app.state.schemas, body,
                                                        tenant=caller.tenant, user_id=caller.user_id)
    executor = request.app.state.executor
    if resumed:
        executor.submit(resumed)
    for run in started:
        executor.submit(run.run_id, run.seed)
    return JSONResponse(response)
