"""``/api/v1/projects`` and ``/api/v1/projects/{id}``: list, create, read, update and delete projects.

Creation and deletion publish nothing (see ``project_events``); an update publishes
PROJECT_STATUS_CHANGED when ``status`` was given and differs, then PROJECT_UPDATED.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from ... import domain_events
from ...auth import Caller, v1_caller
from ...http_errors import V1ApiError
from . import project_events
from .common import (data_response, fetch_one, insert_row, js_iso, lower_ids, plain, require_permission, resource_id,
                     update_row, v1_body)
from .project_rules import ensure_unreferenced, optional, parse_body
from .validation import BodySchema

router = APIRouter(prefix="/projects")

# Status names the API accepts instead of a status id, and the tenant status each one means.
STATUS_NAMES = {"planning": "Planning", "active": "Active", "on_hold": "On Hold", "completed": "Completed",
                "cancelled": "Cancelled", "in_progress": "Active"}
DEFAULT_PHASE = {"phase_name": "Initial Phase", "description": "Default project phase", "status": "active"}
# AlgaPSA's service takes only version 1-5 UUIDs as status ids; anything else is looked up as a name.
_STATUS_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", re.I)
_ID_FIELDS = ("client_id", "assigned_to", "contact_name_id")
# Like AlgaPSA, creation always generates wbs_code and drops budgeted_hours/tags.
_INSERTED = ("project_name", "description", "start_date", "end_date", "is_inactive", *_ID_FIELDS)
# Rows that keep a project (foreign keys without cascade), in the order Postgres checks them.
_REFERRERS = (("project_phases", "project_id"), ("project_ticket_links", "project_id"), ("interactions", "project_id"))
_REQUIRED = {"project_name": "Project name is required"}

_FIELDS = {
    "client_id": "uuid", "project_number": "string(min=1)?", "project_name": "string(min=1)",
    "description": "string?", "start_date": "datetime?", "end_date": "datetime?", "wbs_code": "string?",
    "is_inactive": "bool?", "status": f"uuid|enum({'|'.join(STATUS_NAMES)})?", "assigned_to": "uuid?",
    "contact_name_id": "uuid?", "budgeted_hours": "number(min=0)?", "tags": "array<string>?",
    "create_default_phase": "bool?",
}
_LIMITS = {"project_name": 255, "project_number": 50}
CREATE = BodySchema("CreateProject", _FIELDS, max_length=_LIMITS)
UPDATE = BodySchema("UpdateProject", optional(_FIELDS), max_length=_LIMITS)

_PROJECT_STATUS = "tenant = %s AND (status_type = 'project' OR item_type = 'project')"
_DETAIL = """
SELECT p.*, c.client_name, ct.full_name AS contact_name, concat(u.first_name, ' ', u.last_name) AS assigned_user_name
FROM projects p
LEFT JOIN clients c ON c.tenant = p.tenant AND c.client_id = p.client_id
LEFT JOIN contacts ct ON ct.tenant = p.tenant AND ct.contact_name_id = p.contact_name_id
LEFT JOIN users u ON u.tenant = p.tenant AND u.user_id = p.assigned_to
WHERE p.tenant = %s AND p.project_id = %s
"""
# Top-level WBS codes are "1", "2", ...; a per-tenant lock keeps concurrent creations from taking the same one.
_WBS_LOCK = "SELECT pg_advisory_xact_lock(hashtext('projects.wbs:' || %s))"
_MAX_WBS = ("SELECT coalesce(max(wbs_code::numeric), 0) + 1 AS next FROM projects "
            "WHERE tenant = %s AND wbs_code ~ '^[0-9]+$'")


async def _status_by_name(conn: AsyncConnection, tenant: str, name: str) -> str:
    row = await fetch_one(conn, f"SELECT status_id FROM statuses WHERE {_PROJECT_STATUS} AND name = %s "
                                "ORDER BY order_number LIMIT 1", (tenant, STATUS_NAMES.get(name.lower(), name)))
    if row is None:
        raise V1ApiError("VALIDATION_ERROR", f"Invalid status: {name}")
    return str(row["status_id"])


async def _status_id(conn: AsyncConnection, tenant: str, status: str | None) -> str:
    """The status to store: an id as given, a name's tenant status, else the default project status."""
    if status is None:
        row = await fetch_one(conn, f"SELECT status_id FROM statuses WHERE {_PROJECT_STATUS} "
                                    "ORDER BY is_default IS TRUE DESC, order_number, status_id LIMIT 1", (tenant,))
        if row is None:
            raise V1ApiError("CONFLICT", "Unable to determine project status. "
                                         "Please ensure project statuses are configured.")
        return str(row["status_id"])
    if _STATUS_UUID.fullmatch(status):
        return status.lower()
    return await _status_by_name(conn, tenant, status)


async def _load(conn: AsyncConnection, caller: Caller, project_id: str) -> dict[str, Any]:
    row = await fetch_one(conn, _DETAIL, (caller.tenant, project_id))
    if row is None:
        raise V1ApiError("NOT_FOUND", "Project not found")
    return row


@router.post("")
async def create_project(request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "create")
        body = lower_ids(parse_body(CREATE, await v1_body(request), _REQUIRED), _ID_FIELDS)
        now = datetime.now(timezone.utc)
        async with conn.transaction():
            await conn.execute(_WBS_LOCK, (caller.tenant,))
            wbs = str((await fetch_one(conn, _MAX_WBS, (caller.tenant,)))["next"])
            number = body.get("project_number") or (await fetch_one(
                conn, "SELECT generate_next_number(%s, 'PROJECT') AS n", (caller.tenant,)))["n"]
            columns = {name: body[name] for name in _INSERTED if name in body}
            columns.update(tenant=caller.tenant, wbs_code=wbs, project_number=number, created_at=now, updated_at=now,
                           status=await _status_id(conn, caller.tenant, body.get("status")))
            project = await insert_row(conn, "projects", columns)
            if body.get("create_default_phase"):
                await conn.execute(
                    "INSERT INTO project_phases (tenant, project_id, phase_name, description, status, order_number, "
                    "wbs_code, start_date, end_date, created_at, updated_at) "
                    "VALUES (%s, %s, %s, %s, %s, 1, %s, %s, %s, %s, %s)",
                    (caller.tenant, project["project_id"], DEFAULT_PHASE["phase_name"], DEFAULT_PHASE["description"],
                     DEFAULT_PHASE["status"], f"{wbs}.1", project["start_date"], project["end_date"], now, now))
    return data_response(project, 201)


@router.get("/{project_id}")
async def get_project(project_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "read")
        return data_response(await _load(conn, caller, resource_id(project_id, "project")))


@router.put("/{project_id}")
async def update_project(project_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "update")
        project_id = resource_id(project_id, "project")
        await _load(conn, caller, project_id)
        # like AlgaPSA, tags/create_default_phase are written as columns, which Postgres refuses
        changes = lower_ids(parse_body(UPDATE, await v1_body(request), _REQUIRED), _ID_FIELDS)
        async with conn.transaction():
            before = await fetch_one(conn, "SELECT * FROM projects WHERE tenant = %s AND project_id = %s FOR UPDATE",
                                     (caller.tenant, project_id))
            if before is None:
                raise V1ApiError("NOT_FOUND", "Project not found")
            columns = {**changes, "updated_at": datetime.now(timezone.utc)}
            if "status" in changes:
                columns["status"] = await _status_id(conn, caller.tenant, changes["status"])
            row = await update_row(conn, "projects", caller.tenant, "project_id", project_id, columns)
    project = plain(row)
    if "status" in changes and not _STATUS_UUID.fullmatch(changes["status"]):
        project["status"] = changes["status"]  # AlgaPSA echoes the name it was given
    await domain_events.publish(request, _update_events(project_id, plain(before), project, list(changes), caller,
                                                        js_iso(row["updated_at"])), tenant=caller.tenant)
    return data_response(project)


def _update_events(project_id: str, before: dict[str, Any], after: dict[str, Any], keys: list[str], caller: Caller,
                   at: str) -> list[domain_events.DomainEvent]:
    who = {"at": at, "tenant": caller.tenant, "user_id": caller.user_id}
    events = []
    if "status" in keys and before["status"] != after["status"]:
        events.append(project_events.project_status_changed(project_id, before["status"], after["status"], **who))
    events.append(project_events.project_updated(project_id, before, after, keys, **who))
    return events


@router.delete("/{project_id}")
async def delete_project(project_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> Response:
    """A bare delete: status mappings and materials cascade, phases, ticket links and CRM notes block it."""
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "delete")
        project_id = resource_id(project_id, "project")
        await _load(conn, caller, project_id)
        async with conn.transaction():
            await ensure_unreferenced(conn, caller.tenant, "project_id", project_id, _REFERRERS)
            deleted = await fetch_one(conn, "DELETE FROM projects WHERE tenant = %s AND project_id = %s "
                                            "RETURNING project_id", (caller.tenant, project_id))
    if deleted is None:
        raise V1ApiError("NOT_FOUND", "Project not found")
    return Response(status_code=204)
