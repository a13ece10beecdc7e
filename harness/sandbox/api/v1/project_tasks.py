"""Project tasks: ``/api/v1/projects/{id}/tasks`` and ``/api/v1/projects/tasks/{taskId}``, plus the task
creation behind ``POST /projects/{id}/phases/{phaseId}/tasks``.

Writes publish PROJECT_TASK_CREATED / _ASSIGNED / _STATUS_CHANGED / _COMPLETED like AlgaPSA's service.
Path ids, and body keys that are no column (``tags``), fail in Postgres as in AlgaPSA (500).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from ... import domain_events
from ...auth import Caller, v1_caller
from ...http_errors import V1ApiError
from . import project_events
from .common import (data_response, fetch_all, fetch_one, insert_row, js_iso, lower_ids, plain, require_permission,
                     update_row, v1_body, v1_strict_body)
from .project_rules import ensure_unreferenced, key_after, next_wbs, optional, parse_body, raw_id, require_project
from .validation import BodySchema

router = APIRouter(prefix="/projects")

_FIELDS = {
    "task_name": "string(min=1)", "description": "string?", "assigned_to": "uuid?",
    "estimated_hours": "number(min=0)?", "due_date": "datetime?", "priority_id": "uuid?", "task_type_key": "string?",
    "project_status_mapping_id": "uuid", "wbs_code": "string?", "tags": "array<string>?",
}
CREATE = BodySchema("CreateProjectTask", _FIELDS, max_length={"task_name": 255})
UPDATE = BodySchema("UpdateProjectTask", optional(_FIELDS), max_length={"task_name": 255})
REQUIRED = {"task_name": "Task name is required"}
_ID_FIELDS = ("assigned_to", "priority_id", "project_status_mapping_id")
# Rows that keep a task (foreign keys without cascade), in the order Postgres checks them.
_REFERRERS = (("project_ticket_links", "task_id"), ("task_resources", "task_id"),
              ("project_task_dependencies", "predecessor_task_id"), ("project_task_dependencies", "successor_task_id"))

_TASK = """
SELECT t.*, ph.project_id FROM project_tasks t
JOIN project_phases ph ON ph.tenant = t.tenant AND ph.phase_id = t.phase_id
WHERE t.tenant = %s AND t.task_id = %s
"""
_STATUS = """
SELECT coalesce(m.custom_name, s.name, m.project_status_mapping_id::text) AS status,
       coalesce(s.is_closed, false) AS is_closed
FROM project_status_mappings m LEFT JOIN statuses s ON s.tenant = m.tenant AND s.status_id = m.status_id
WHERE m.tenant = %s AND m.project_status_mapping_id = %s
"""
_SCOPE = ("SELECT project_status_mapping_id FROM project_status_mappings WHERE tenant = %s AND project_id = %s "
          "AND phase_id IS NOT DISTINCT FROM %s")
_ACTIVE_NAME = ("SELECT first_name || ' ' || last_name AS name FROM users WHERE tenant = %s AND user_id = %s "
                "AND NOT is_inactive AND first_name <> '' AND last_name <> ''")


def public(task: dict[str, Any]) -> dict[str, Any]:
    """The task as the API shows it: ``description_rich_text`` is internal (and the join's project_id too)."""
    return {k: v for k, v in task.items() if k not in ("description_rich_text", "project_id")}


async def _status(conn: AsyncConnection, tenant: str, mapping_id: Any) -> tuple[Any, bool]:
    """A status mapping's display name and whether it is closed (its id when it resolves to nothing)."""
    row = await fetch_one(conn, _STATUS, (tenant, mapping_id)) if mapping_id else None
    return (row["status"], row["is_closed"]) if row else (plain(mapping_id), False)


async def _assigned_by_name(conn: AsyncConnection, caller: Caller) -> str | None:
    row = await fetch_one(conn, _ACTIVE_NAME, (caller.tenant, caller.user_id))
    return row["name"] if row else None


async def _check_mapping(conn: AsyncConnection, tenant: str, project_id: str, phase_id: str, mapping_id: str) -> None:
    """The task's status mapping must be one of the project's, in the phase's effective scope."""
    mapping = await fetch_one(conn, "SELECT project_id FROM project_status_mappings WHERE tenant = %s "
                                    "AND project_status_mapping_id = %s", (tenant, mapping_id))
    if mapping is None or str(mapping["project_id"]) != project_id:
        raise V1ApiError("VALIDATION_ERROR", "Task status does not belong to this project")
    scope = await fetch_all(conn, _SCOPE, (tenant, project_id, phase_id)) or \
        await fetch_all(conn, _SCOPE, (tenant, project_id, None))
    if mapping_id not in [str(row["project_status_mapping_id"]) for row in scope]:
        raise V1ApiError("VALIDATION_ERROR", "Task status is not in the selected phase's status scope")


async def create_task(request: Request, conn: AsyncConnection, caller: Caller, project_id: str,
                      phase: dict[str, Any]) -> tuple[dict[str, Any], list[domain_events.DomainEvent]]:
    """Insert a task from the request body into ``phase``; the new row and the events to publish."""
    body = lower_ids(parse_body(CREATE, await v1_body(request), REQUIRED), _ID_FIELDS)
    async with conn.transaction():
        await _check_mapping(conn, caller.tenant, project_id, str(phase["phase_id"]), body["project_status_mapping_id"])
        siblings = await fetch_all(conn, "SELECT wbs_code, order_key FROM project_tasks WHERE tenant = %s "
                                         "AND phase_id = %s ORDER BY order_key NULLS LAST, created_at",
                                   (caller.tenant, phase["phase_id"]))
        now = datetime.now(timezone.utc)
        columns = {"task_type_key": "general", **body, "actual_hours": 0, "phase_id": phase["phase_id"],
                   "wbs_code": next_wbs(phase["wbs_code"], [s["wbs_code"] for s in siblings]),
                   "order_key": key_after(siblings[-1]["order_key"] if siblings else None),
                   "tenant": caller.tenant, "created_at": now, "updated_at": now}
        row = await insert_row(conn, "project_tasks", columns)
        status, _ = await _status(conn, caller.tenant, row["project_status_mapping_id"])
        assigner = await _assigned_by_name(conn, caller) if row["assigned_to"] else None
    task, who = plain(row), {"at": js_iso(now), "tenant": caller.tenant, "user_id": caller.user_id}
    events = [project_events.task_created(project_id, task, status, **who)]
    if task["assigned_to"]:
        events.append(project_events.task_assigned(project_id, task["task_id"], task["assigned_to"], assigner, **who))
    return task, events


async def _task(conn: AsyncConnection, caller: Caller, task_id: str) -> dict[str, Any]:
    row = await fetch_one(conn, _TASK, (caller.tenant, raw_id(task_id)))
    if row is None:
        raise V1ApiError("NOT_FOUND", "Task not found")
    return row


@router.get("/{project_id}/tasks")
async def list_project_tasks(project_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "read")
        project = await require_project(conn, caller.tenant, raw_id(project_id))
        rows = await fetch_all(conn, "SELECT t.* FROM project_tasks t JOIN project_phases ph "
                                     "ON ph.tenant = t.tenant AND ph.phase_id = t.phase_id "
                                     "WHERE t.tenant = %s AND ph.project_id = %s ORDER BY t.order_key, t.wbs_code",
                               (caller.tenant, project["project_id"]))
    return data_response([public(row) for row in rows])


@router.get("/tasks/{task_id}")
async def get_task(task_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "read")
        return data_response(public(await _task(conn, caller, task_id)))


@router.put("/tasks/{task_id}")
async def update_task(task_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> JSONResponse:
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "update")
        before = await _task(conn, caller, task_id)
        changes = lower_ids(parse_body(UPDATE, await v1_strict_body(request), REQUIRED), _ID_FIELDS)
        if "description" in changes:
            changes["description_rich_text"] = None  # the UI falls back to the new markdown
        now = datetime.now(timezone.utc)
        async with conn.transaction():
            row = await update_row(conn, "project_tasks", caller.tenant, "task_id", before["task_id"],
                                   {**changes, "updated_at": now})
            events = await _update_events(conn, caller, before, row, js_iso(now))
    await domain_events.publish(request, events, tenant=caller.tenant)
    return data_response(public(row))


async def _update_events(conn: AsyncConnection, caller: Caller, before: dict[str, Any], after: dict[str, Any],
                         at: str) -> list[domain_events.DomainEvent]:
    project_id, task_id = str(before["project_id"]), str(after["task_id"])
    who = {"at": at, "tenant": caller.tenant, "user_id": caller.user_id}
    events = []
    if after["assigned_to"] and after["assigned_to"] != before["assigned_to"]:
        events.append(project_events.task_assigned(project_id, task_id, str(after["assigned_to"]),
                                                   await _assigned_by_name(conn, caller), **who))
    if after["project_status_mapping_id"] != before["project_status_mapping_id"]:
        old, was_closed = await _status(conn, caller.tenant, before["project_status_mapping_id"])
        new, is_closed = await _status(conn, caller.tenant, after["project_status_mapping_id"])
        events.append(project_events.task_status_changed(project_id, task_id, old, new, **who))
        if is_closed and not was_closed:
            events.append(project_events.task_completed(project_id, task_id, **who))
    return events


@router.delete("/tasks/{task_id}")
async def delete_task(task_id: str, request: Request, caller: Caller = Depends(v1_caller)) -> Response:
    """A bare delete: checklist items cascade, ticket links, resources and dependencies block it."""
    async with request.app.state.pool.connection() as conn:
        await require_permission(conn, caller, "project", "delete")
        task = await _task(conn, caller, task_id)
        async with conn.transaction():
            await ensure_unreferenced(conn, caller.tenant, "task_id", str(task["task_id"]), _REFERRERS)
            await conn.execute("DELETE FROM project_tasks WHERE tenant = %s AND task_id = %s",
                               (caller.tenant, task["task_id"]))
    return Response(status_code=204)
