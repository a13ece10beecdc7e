"""The action registry: every action the sandbox runtime can call, keyed by ``(actionId, version)``."""
from __future__ import annotations

from typing import Any

from . import (attachments, crm, email, lookups, notifications, projects, scheduling, search, ticket_assign,
               ticket_links, tickets, time_entries)
from .base import Action

ACTIONS: dict[tuple[str, int], Action] = {
    (action.id, action.version): action
    for module in (notifications, projects, tickets, ticket_assign, ticket_links, attachments, lookups, search, crm,
                   scheduling, email, time_entries)
    for action in module.ACTIONS
}


def get_action(action_id: str, version: int) -> Action | None:
    return ACTIONS.get((action_id, version))


def retry_hint(action_id: str, version: int) -> dict[str, Any] | None:
    """The action's built-in retry policy (AlgaPSA's ``retryHint``), used when a step sets none."""
    action = ACTIONS.get((action_id, version))
    return dict(action.retry) if action and action.retry else None
