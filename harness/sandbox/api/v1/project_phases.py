"""``/api/v1/projects/{id}/phases``: list, create, update and delete phases, and a phase's tasks.

As in AlgaPSA, a phase route finds the phase by its own id (the project in the path is not checked
against it, except when creating a task), a phase update writes its body's keys as columns
unvalidated, and what Postgres refuses (a malformed id, an unknown key) is a 500. Phase writes publish
no events.
"""
from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from ... import domain_events
from ...auth import Caller, v1_caller
from ...http_errors import V1ApiError
from . import project_tasks
from .common import (data_response, fetch_all, fetch_one, insert_row, require_permission, unexpected_error,
                     update_row, v1_body, v1_strict_body)
from .project_rules import ensure_unreferenced, key_after, next_wbs, parse_body, project_of_phase, raw_id, require_project
from .validation import BodySchema

router = APIRouter(prefix="/projects/{project_id}/phases")

CREATE = BodySchema("CreateProjectPhase", {
    "phase_name": "string(min=1)", "description": "string?", "start_date": "datetime?", "end_date": "datetime?",
    "status": "string?", "order_number": "number(min=0)?", "wbs_code": "string?",
}, max_length={"phase_name": 255})
# Rows that keep a phase (foreign keys without cascade), in the order Postgres checks them.
_REFERRERS = (("project_tasks", "phase_id"), ("project_ticket_links", "phase_id"))
_ORDERED = "ORDER BY order_key NULLS LAST, order_number"


async def _phase(conn: AsyncConnection, caller: Caller, phase_id: str) -> str:
    phase_id = raw_id(phase_id)
    await project_of_phase(conn, caller.tenant, phase_id)
    return phase_id


@router.get("")
async def list_phases(project_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "read")
        project = await require_project(conn, caller.tenant, raw_id(project_id))
        rows = await fetch_all(conn, f"SELECT * FROM project_phases WHERE tenant = %s AND project_id = %s {_ORDERED}",
                               (caller.tenant, project["project_id"]))
    return data_response(rows)


@router.post("")
async def create_phase(project_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    """Numbered, coded and ordered after the project's existing phases, whatever the body says."""
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "update")
        project = await require_project(conn, caller.tenant, raw_id(project_id))
        body = parse_body(CREATE, await v1_body(request), {"phase_name": "Phase name is required"})
        async with conn.transaction():
            phases = await fetch_all(conn, "SELECT wbs_code, order_key FROM project_phases WHERE tenant = %s "
                                           f"AND project_id = %s {_ORDERED} FOR UPDATE",
                                     (caller.tenant, project["project_id"]))
            now = datetime.now(timezone.utc)
            columns = {"status": "planning", **body, "project_id": project["project_id"],
                       "order_number": len(phases) + 1,
                       "wbs_code": next_wbs(project["wbs_code"], [p["wbs_code"] for p in phases]),
                       "order_key": key_after(phases[-1]["order_key"] if phases else None),
                       "tenant": caller.tenant, "created_at": now, "updated_at": now}
            row = await insert_row(conn, "project_phases", columns)
    return data_response(row, 201)


@router.put("/{phase_id}")
async def update_phase(project_id: str, phase_id: str, request: Request,
                       caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "update")
        phase_id = await _phase(conn, caller, phase_id)
        changes = await v1_strict_body(request)
        if not isinstance(changes, dict):
            raise unexpected_error()
        row = await update_row(conn, "project_phases", caller.tenant, "phase_id", phase_id,
                               {**changes, "updated_at": datetime.now(timezone.utc)})
    if row is None:
        raise V1ApiError("NOT_FOUND", "Project phase not found")
    return data_response(row)


@router.delete("/{phase_id}")
async def delete_phase(project_id: str, phase_id: str, request: Request,
                       caller: Caller = Depends(v1_caller)) -> Response:
    """A bare delete: phase status mappings cascade, tasks and ticket links block it."""
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "delete")
        phase_id = await _phase(conn, caller, phase_id)
        async with conn.transaction():
            await ensure_unreferenced(conn, caller.tenant, "phase_id", phase_id, _REFERRERS)
            await conn.execute("DELETE FROM project_phases WHERE tenant = %s AND phase_id = %s",
                               (caller.tenant, phase_id))
    return Response(status_code=204)


@router.get("/{phase_id}/tasks")
async def list_phase_tasks(project_id: str, phase_id: str, request: Request,
                           caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "read")
        phase_id = await _phase(conn, caller, phase_id)
        rows = await fetch_all(conn, "SELECT * FROM project_tasks WHERE tenant = %s AND phase_id = %s "
                                     "ORDER BY order_key, wbs_code", (caller.tenant, phase_id))
    return data_response([project_tasks.public(row) for row in rows])


@router.post("/{phase_id}/tasks")
async def create_phase_task(project_id: str, phase_id: str, request: Request,
                            caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "update")
        project = await require_project(conn, caller.tenant, raw_id(project_id))
        phase = await fetch_one(conn, "SELECT phase_id, wbs_code FROM project_phases WHERE tenant = %s "
                                      "AND phase_id = %s AND project_id = %s",
                                (caller.tenant, raw_id(phase_id), project["project_id"]))
        if phase is None:
            raise V1ApiError("NOT_FOUND", "Project phase not found")
        task, events = await project_tasks.create_task(request, conn, caller, project["project_id"], phase)
    await domain_events.publish(request, events, tenant=caller.tenant)
    return data_response(task, 201)
