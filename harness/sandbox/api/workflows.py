"""Workflow routes: bundle import/export and event submission."""
from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ..auth import Caller, workflow_caller
from ..definitions import canonical_json, check_bundle, export_bundle, import_bundle
from ..errors import WorkflowApiError
from ..events import submit_event
from .body import json_body

router = APIRouter()
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _force(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


@router.post("/api/workflow-definitions/import")
async def import_route(request: Request, caller: Caller = Depends(workflow_caller)) -> JSONResponse:
    bundle = await json_body(request)
    check_bundle(bundle, request.app.state.schemas)
    async with request.app.state.pool.connection() as conn:
        summary = await import_bundle(conn, bundle, tenant=caller.tenant, user_id=caller.user_id,
                                      force=_force(request.query_params.get("force")))
    return JSONResponse(summary)


@router.get("/api/workflow-definitions/{workflow_id}/export")
async def export_route(workflow_id: str, request: Request, caller: Caller = Depends(workflow_caller)) -> Response:
    if not _UUID.match(workflow_id):
        raise WorkflowApiError(404, "Not found")
    async with request.app.state.pool.connection() as conn:
        bundle = await export_bundle(conn, workflow_id, tenant=caller.tenant)
    return Response(canonical_json(bundle), media_type="application/json; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="workflow-bundle.json"'})


@router.post("/api/workflow/events")
async def events_route(request: Request, caller: Caller = Depends(workflow_caller)) -> JSONResponse:
    body = await json_body(request)
    async with request.app.state.pool.connection() as conn:
        response, started = await submit_event(conn, request.app.state.schemas, body, tenant=caller.tenant,
                                               user_id=caller.user_id)
    for run in started:
        request.app.state.executor.submit(run.run_id)
    return JSONResponse(response)
