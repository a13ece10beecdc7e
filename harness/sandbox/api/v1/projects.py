"""``/api/v1/projects``: create, list, read and delete projects (http-and-db.md §7.4–7.5).

AlgaPSA publishes PROJECT_CREATED / PROJECT_DELETED with plain ``publishEvent`` (no ``occurredAt``),
so they never start workflow runs; the sandbox therefore publishes nothing for projects.
"""
from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection, sql

from ...auth import Caller, is_uuid, v1_caller
from ...http_errors import V1ApiError
from .common import data_response, fetch_one, list_resource, require_permission, resource_id, v1_body
from .validation import BodySchema

router = APIRouter(prefix="/projects")

# Status names the API accepts instead of a status id, and the tenant status each one means.
STATUS_NAMES = {"planning": "Planning", "active": "Active", "on_hold": "On Hold", "completed": "Completed",
                "cancelled": "Cancelled", "in_progress": "Active"}
DEFAULT_PHASE = {"phase_name": "Initial Phase", "description": "Default project phase", "status": "active"}
_ID_FIELDS = ("client_id", "assigned_to", "contact_name_id")
# Like AlgaPSA, wbs_code is always generated and budgeted_hours/tags are accepted but not stored.
_INSERTED = ("project_name", "description", "start_date", "end_date", "is_inactive", *_ID_FIELDS)
_LIST_FILTERS = ("client_id", "status", "assigned_to", "contact_name_id")

CREATE = BodySchema("CreateProject", {
    "client_id": "uuid", "project_name": "string(min=1)", "project_number": "string(min=1)?",
    "description": "string?", "wbs_code": "string?", "start_date": "datetime?", "end_date": "datetime?",
    "is_inactive": "bool?", "status": f"uuid|enum({'|'.join(STATUS_NAMES)})?",
    "assigned_to": "uuid?", "contact_name_id": "uuid?", "budgeted_hours": "number(min=0)?",
    "tags": "array<string>?", "create_default_phase": "bool?",
}, max_length={"project_name": 255, "project_number": 50})

_PROJECT_STATUS = "tenant = %s AND (status_type = 'project' OR item_type = 'project')"
_DETAIL = """
SELECT p.*, c.client_name, ct.full_name AS contact_name,
       CASE WHEN u.first_name IS NOT NULL AND u.last_name IS NOT NULL
            THEN u.first_name || ' ' || u.last_name END AS assigned_user_name
FROM projects p
LEFT JOIN clients c ON c.tenant = p.tenant AND c.client_id = p.client_id
LEFT JOIN contacts ct ON ct.tenant = p.tenant AND ct.contact_name_id = p.contact_name_id
LEFT JOIN users u ON u.tenant = p.tenant AND u.user_id = p.assigned_to
WHERE p.tenant = %s
"""
# Top-level WBS codes are "1", "2", ...; a per-tenant lock keeps concurrent creations from taking the same one.
_WBS_LOCK = "SELECT pg_advisory_xact_lock(hashtext('projects.wbs:' || %s))"
_MAX_WBS = ("SELECT coalesce(max(wbs_code::numeric), 0) + 1 AS next FROM projects "
            "WHERE tenant = %s AND wbs_code ~ '^[0-9]+$'")


async def _status_id(conn: AsyncConnection, tenant: str, status: str | None) -> str:
    """The project status to store: the given id or name, else the tenant's default project status."""
    if status is None:
        row = await fetch_one(conn, f"SELECT status_id FROM statuses WHERE {_PROJECT_STATUS} "
                                    "ORDER BY is_default IS TRUE DESC, order_number, status_id LIMIT 1", (tenant,))
        if row is None:
            raise V1ApiError("CONFLICT", "Unable to determine project status. "
                                         "Please ensure project statuses are configured.")
        return str(row["status_id"])
    if is_uuid(status):
        row = await fetch_one(conn, f"SELECT status_id FROM statuses WHERE {_PROJECT_STATUS} AND status_id = %s",
                              (tenant, status.lower()))
    else:
        row = await fetch_one(conn, f"SELECT status_id FROM statuses WHERE {_PROJECT_STATUS} AND name = %s "
                                    "ORDER BY order_number LIMIT 1", (tenant, STATUS_NAMES[status]))
    if row is None:
        raise V1ApiError("VALIDATION_ERROR", f"Invalid status: {status}",
                         [{"path": ["status"], "message": f"Invalid status: {status}"}])
    return str(row["status_id"])


@router.post("")
async def create_project(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "create")
        body = CREATE.parse(await v1_body(request))
        now = datetime.now(timezone.utc)
        async with conn.transaction():
            await conn.execute(_WBS_LOCK, (caller.tenant,))
            wbs = str((await fetch_one(conn, _MAX_WBS, (caller.tenant,)))["next"])
            number = body.get("project_number") or (await fetch_one(
                conn, "SELECT generate_next_number(%s, 'PROJECT') AS n", (caller.tenant,)))["n"]
            columns = {name: body[name] for name in _INSERTED if name in body}
            columns.update({name: body[name].lower() for name in _ID_FIELDS if name in body},
                           tenant=caller.tenant, wbs_code=wbs, project_number=number, created_at=now, updated_at=now,
                           status=await _status_id(conn, caller.tenant, body.get("status")))
            project = await fetch_one(conn, sql.SQL("INSERT INTO projects ({}) VALUES ({}) RETURNING *").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(", ").join(sql.Placeholder() * len(columns))),
                tuple(columns.values()))
            if body.get("create_default_phase"):
                await conn.execute(
                    "INSERT INTO project_phases (tenant, project_id, phase_name, description, status, order_number, "
                    "wbs_code, start_date, end_date, created_at, updated_at) "
                    "VALUES (%s, %s, %s, %s, %s, 1, %s, %s, %s, %s, %s)",
                    (caller.tenant, project["project_id"], DEFAULT_PHASE["phase_name"], DEFAULT_PHASE["description"],
                     DEFAULT_PHASE["status"], f"{wbs}.1", project["start_date"], project["end_date"], now, now))
    return data_response(project, 201)


@router.get("")
async def list_projects(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    return await list_resource(request, caller, resource="project", detail=_DETAIL, table="projects",
                               filter_names=_LIST_FILTERS, order_by="p.project_name, p.project_id")


@router.get("/{project_id}")
async def get_project(project_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    project_id = resource_id(project_id, "project")
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "read")
        row = await fetch_one(conn, _DETAIL + " AND p.project_id = %s", (caller.tenant, project_id))
    if row is None:
        raise V1ApiError("NOT_FOUND", "Project not found")
    return data_response(row)


@router.delete("/{project_id}")
async def delete_project(project_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> Response:
    """A bare delete; phases, tasks, links, mappings and materials go with it by cascade."""
    project_id = resource_id(project_id, "project")
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "delete")
        deleted = await fetch_one(conn, "DELETE FROM projects WHERE tenant = %s AND project_id = %s "
                                        "RETURNING project_id", (caller.tenant, project_id))
    if deleted is None:
        raise V1ApiError("NOT_FOUND", "Project not found")
    return Response(status_code=204)
