"""``projects.create_task`` (contract §4.3)."""
from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ..runtime.run_errors import action_error
from .base import Action, ActionContext, invalid, iso, utc_now
from .schema import DATETIME, UUID, Enum, Obj, Str

_INSERT_TASK = """
INSERT INTO project_tasks (tenant, task_id, phase_id, task_name, description, assigned_to, due_date, status_id,
                           priority_id, wbs_code, created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
_LINK_PROJECT = """
INSERT INTO project_ticket_links (tenant, link_id, project_id, phase_id, task_id, ticket_id, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
"""
_LINK_TICKET = """
INSERT INTO ticket_entity_links (tenant, link_id, ticket_id, entity_type, entity_id, link_type, metadata, created_at)
VALUES (%s, %s, %s, 'project_task', %s, 'project_task', %s, %s)
"""


async def _assignee(ctx: ActionContext, assignee: dict[str, Any] | None) -> str | None:
    """The user a task goes to: the user itself, or a team's manager."""
    if assignee is None:
        return None
    user_id = assignee["id"]
    if assignee["type"] == "team":
        team = await ctx.one("SELECT manager_id FROM teams WHERE tenant = %s AND team_id = %s", ctx.tenant, user_id)
        if team is None or not team["manager_id"]:
            raise action_error("NOT_FOUND", "Team not found")
        user_id = team["manager_id"]
    if await ctx.one("SELECT 1 FROM users WHERE tenant = %s AND user_id = %s", ctx.tenant, user_id) is None:
        raise action_error("NOT_FOUND", "Assignee user not found")
    return user_id


async def _status(ctx: ActionContext, status_id: str | None) -> str | None:
    if status_id is not None:
        if await ctx.one("SELECT 1 FROM statuses WHERE tenant = %s AND status_id = %s AND status_type = 'project_task'",
                         ctx.tenant, status_id) is None:
            raise invalid("Invalid project task status_id")
        return status_id
    row = await ctx.one("SELECT status_id FROM statuses WHERE tenant = %s AND status_type = 'project_task' "
                        "ORDER BY is_default DESC NULLS LAST, order_number ASC LIMIT 1", ctx.tenant)
    return row["status_id"] if row else None


async def _link_ignoring_errors(ctx: ActionContext, sql: str, *params: Any) -> None:
    """AlgaPSA swallows a failed link insert without a savepoint, so the transaction stays aborted and
    the action fails on its next statement (the audit row) with Postgres's "current transaction is
    aborted" error, rolling the task back."""
    try:
        await ctx.execute(sql, *params)
    except psycopg.Error:
        pass


async def create_task(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("project_task", "create")
    project_id = data["project_id"]
    if await ctx.one("SELECT 1 FROM projects WHERE tenant = %s AND project_id = %s", ctx.tenant, project_id) is None:
        raise action_error("NOT_FOUND", "Project not found")
    phase_id = data.get("phase_id")
    if phase_id is None:
        first = await ctx.one("SELECT phase_id FROM project_phases WHERE tenant = %s AND project_id = %s "
                              "ORDER BY order_number ASC LIMIT 1", ctx.tenant, project_id)
        phase_id = first["phase_id"] if first else None
    if phase_id is None:
        raise action_error("NOT_FOUND", "Project phase not found")
    assigned_to = await _assignee(ctx, data.get("assignee"))
    status_id = await _status(ctx, data.get("status_id"))

    phase = await ctx.one("SELECT wbs_code FROM project_phases WHERE tenant = %s AND phase_id = %s",
                          ctx.tenant, phase_id)
    count = await ctx.one("SELECT count(*) AS n FROM project_tasks WHERE tenant = %s AND phase_id = %s",
                          ctx.tenant, phase_id)
    wbs_code = f"{(phase or {}).get('wbs_code') or '1'}.{count['n'] + 1}"
    task_id = str(uuid.uuid4())
    now = utc_now()
    await ctx.execute(_INSERT_TASK, ctx.tenant, task_id, phase_id, data["title"], data.get("description"), assigned_to,
                      data.get("due_date"), status_id, data.get("priority_id"), wbs_code, now, now)
    ticket_id = data.get("link_ticket_id")
    if ticket_id:
        await _link_ignoring_errors(ctx, _LINK_PROJECT, ctx.tenant, str(uuid.uuid4()), project_id, phase_id, task_id,
                                ticket_id, now)
        await _link_ignoring_errors(ctx, _LINK_TICKET, ctx.tenant, str(uuid.uuid4()), ticket_id, task_id,
                                Jsonb({"project_id": project_id, "phase_id": phase_id}), now)
    await ctx.audit({"project_id": project_id, "task_id": task_id, "phase_id": phase_id, "link_ticket_id": ticket_id},
                    task_id=task_id)
    return {"task_id": task_id, "url": f"/msp/projects/{project_id}?task={task_id}", "status_id": status_id,
            "priority_id": data.get("priority_id"), "created_at": iso(now)}


ACTIONS = (
    Action(
        id="projects.create_task",
        input=Obj(fields={
            "project_id": UUID,
            "phase_id": UUID.optional(),
            "title": Str(min_len=1),
            "description": Str().optional(),
            "due_date": DATETIME.optional(),
            "status_id": UUID.optional(),
            "priority_id": UUID.nullable().optional(),
            "assignee": Obj(fields={"type": Enum(options=("user", "team")), "id": UUID}).optional(),
            "link_ticket_id": UUID.optional(),
        }),
        output=Obj(fields={"task_id": UUID, "url": Str(), "status_id": UUID.nullable(),
                           "priority_id": UUID.nullable(), "created_at": DATETIME}),
        handler=create_task,
    ),
)
