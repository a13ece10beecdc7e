"""``tickets.assign`` (contract §4.6): the fixture-era ``assignee`` input, plus HEAD's ``assignment``."""
from __future__ import annotations

import uuid
from typing import Any

from ..runtime.run_errors import action_error
from .base import Action, ActionContext, iso, utc_now
from .comments import create_comment
from .schema import DATETIME, UUID, Arr, Bool, Enum, Obj, Refine, Str

_ADD_AGENT = """
INSERT INTO ticket_resources (tenant, assignment_id, ticket_id, assigned_to, additional_user_id, assigned_at)
SELECT %s, %s, %s, %s, %s, %s
WHERE NOT EXISTS (SELECT 1 FROM ticket_resources
                  WHERE tenant = %s AND ticket_id = %s AND assigned_to = %s AND additional_user_id = %s)
"""


async def clear_agent_conflicts(ctx: ActionContext, ticket_id: str, user_id: str | None) -> None:
    """Prepare ``ticket_resources`` for a new primary assignee before ``tickets.assigned_to`` changes.

    Rows follow the primary through the foreign key's ON UPDATE CASCADE; a row naming the new
    primary as additional agent has to go first, and without a primary no agent rows remain.
    """
    if user_id is None:
        await ctx.execute("DELETE FROM ticket_resources WHERE tenant = %s AND ticket_id = %s", ctx.tenant, ticket_id)
    else:
        await ctx.execute("DELETE FROM ticket_resources WHERE tenant = %s AND ticket_id = %s "
                          "AND additional_user_id = %s", ctx.tenant, ticket_id, user_id)


async def _resolve(ctx: ActionContext, assignee: dict[str, Any]) -> str:
    """The user an assignee stands for: the user, a team's manager, or a queue's first member."""
    if assignee["type"] == "user":
        return assignee["id"]
    if assignee["type"] == "team":
        team = await ctx.one("SELECT manager_id FROM teams WHERE tenant = %s AND team_id = %s",
                             ctx.tenant, assignee["id"])
        if team is None:
            raise action_error("NOT_FOUND", "Team not found", {"team_id": assignee["id"]})
        return team["manager_id"]
    member = await ctx.one("SELECT user_id FROM team_members WHERE tenant = %s AND team_id = %s "
                           "ORDER BY created_at ASC LIMIT 1", ctx.tenant, assignee["id"])
    if member is None:
        raise action_error("NOT_FOUND", "Queue has no members", {"queue_id": assignee["id"]})
    return member["user_id"]


async def assign(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    await ctx.require_permission("ticket", "update")
    assignment = data.get("assignment") or {}
    assignee = data.get("assignee") or assignment["primary"]
    ticket_id, reason = data["ticket_id"], data.get("reason")
    user_id = await _resolve(ctx, assignee)
    if await ctx.one("SELECT 1 FROM users WHERE tenant = %s AND user_id = %s", ctx.tenant, user_id) is None:
        raise action_error("NOT_FOUND", "User not found", {"user_id": user_id})
    ticket = await ctx.one("SELECT assigned_to, updated_at FROM tickets WHERE tenant = %s AND ticket_id = %s",
                           ctx.tenant, ticket_id)
    if ticket is None:
        raise action_error("NOT_FOUND", "Ticket not found", {"ticket_id": ticket_id})
    result = {"ticket_id": ticket_id, "assigned_type": assignee["type"], "assigned_id": assignee["id"]}

    if data["no_op_if_already_assigned"] and ticket["assigned_to"] == user_id:  # text comparison, as in AlgaPSA
        await ctx.audit({"ticket_id": ticket_id, "noop": True, "assigned_to": user_id, "assignee": assignee,
                         "reason": reason}, ticket_id=ticket_id, assigned_to=user_id, noop=True)
        return {**result, "assigned_to": ticket["assigned_to"], "updated_at": iso(ticket["updated_at"] or utc_now())}

    now = utc_now()
    await clear_agent_conflicts(ctx, ticket_id, user_id)
    updated = await ctx.one("UPDATE tickets SET assigned_to = %s, updated_by = %s, updated_at = %s "
                            "WHERE tenant = %s AND ticket_id = %s RETURNING assigned_to, updated_at",
                            user_id, ctx.actor, now, ctx.tenant, ticket_id)
    for agent in assignment.get("additional_user_ids") or []:
        if agent != user_id:
            await ctx.execute(_ADD_AGENT, ctx.tenant, str(uuid.uuid4()), ticket_id, user_id, agent, now,
                              ctx.tenant, ticket_id, user_id, agent)
    comment_id = None
    if data.get("comment"):
        comment = data["comment"]
        created = await create_comment(ctx, ticket_id, comment["body"], is_internal=comment["visibility"] == "internal",
                                       metadata=ctx.metadata(reason=reason))
        comment_id = created["comment_id"]
    await ctx.audit({"ticket_id": ticket_id, "assigned_to": user_id, "assignee": assignee, "reason": reason,
                     "comment_id": comment_id}, ticket_id=ticket_id, assigned_to=user_id, comment_id=comment_id)
    return {**result, "assigned_to": updated["assigned_to"], "updated_at": iso(updated["updated_at"])}


_ASSIGNEE = Obj(fields={"type": Enum(options=("user", "team", "queue")), "id": UUID})

ACTIONS = (
    Action(
        id="tickets.assign",
        input=Obj(
            fields={
                "ticket_id": UUID,
                "assignee": _ASSIGNEE.optional(),
                "assignment": Obj(fields={"primary": _ASSIGNEE,
                                          "additional_user_ids": Arr(item=UUID).default([])}).optional(),
                "reason": Str().optional(),
                "comment": Obj(fields={"body": Str(min_len=1),
                                       "visibility": Enum(options=("public", "internal")).default("internal")}
                               ).optional(),
                "no_op_if_already_assigned": Bool().default(True),
            },
            refinements=(Refine(lambda d: "assignee" in d or "assignment" in d, "Required", ("assignee",)),),
        ),
        output=Obj(fields={"ticket_id": UUID, "assigned_type": Enum(options=("user", "team", "queue")),
                           "assigned_id": UUID, "assigned_to": UUID.nullable(), "updated_at": DATETIME}),
        handler=assign,
    ),
)
