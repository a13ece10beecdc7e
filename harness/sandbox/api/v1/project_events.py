"""The workflow events AlgaPSA's project service publishes with ``publishWorkflowEvent``.

Payloads are built like AlgaPSA's project builders, then get the base fields with the write's own
timestamp as ``occurredAt``. The bus derives the correlation key from ``projectId``. Events AlgaPSA
sends with plain ``publishEvent`` (PROJECT_CREATED, PROJECT_ASSIGNED, PROJECT_DELETED) lack
``occurredAt``, match no schema and start no run; the sandbox does not publish them.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from ...domain_events import DomainEvent
from .common import plain

_SNAKE = re.compile(r"_([a-z])")
_NOT_CHANGES = ("tenant", "updated_at", "created_at")


def _event(name: str, payload: dict[str, Any], *, tenant: str, user_id: str, occurred_at: str) -> DomainEvent:
    base = {"actorType": "USER", "actorUserId": user_id, "tenantId": tenant, "occurredAt": occurred_at}
    return DomainEvent(name, {**payload, **base}, payload["projectId"])


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value}


def project_updated(project_id: str, before: Mapping[str, Any], after: Mapping[str, Any], keys: list[str], *,
                    at: str, tenant: str, user_id: str) -> DomainEvent:
    """PROJECT_UPDATED: ``changes``/``updatedFields`` (camelCase) for the given keys whose value changed."""
    changes = {_SNAKE.sub(lambda m: m.group(1).upper(), key): {"previous": plain(before.get(key)),
                                                                "new": plain(after.get(key))}
               for key in keys if key not in _NOT_CHANGES and plain(before.get(key)) != plain(after.get(key))}
    payload = {"projectId": project_id, "updatedAt": at, **_present(updatedFields=list(changes), changes=changes)}
    return _event("PROJECT_UPDATED", payload, tenant=tenant, user_id=user_id, occurred_at=at)


def project_status_changed(project_id: str, previous: str, new: str, *, at: str, tenant: str,
                           user_id: str) -> DomainEvent:
    """PROJECT_STATUS_CHANGED, when an update's ``status`` differs from the stored one."""
    payload = {"projectId": project_id, "previousStatus": previous, "newStatus": new, "changedAt": at}
    return _event("PROJECT_STATUS_CHANGED", payload, tenant=tenant, user_id=user_id, occurred_at=at)


def task_created(project_id: str, task: Mapping[str, Any], status: str, *, at: str, tenant: str,
                 user_id: str) -> DomainEvent:
    """PROJECT_TASK_CREATED for a task row with JSON-plain values."""
    payload = {"projectId": project_id, "taskId": task["task_id"], "title": task["task_name"], "status": status,
               "createdByUserId": user_id, "createdAt": at, **_present(dueDate=task["due_date"])}
    return _event("PROJECT_TASK_CREATED", payload, tenant=tenant, user_id=user_id, occurred_at=at)


def task_assigned(project_id: str, task_id: str, assignee: str, assigned_by_name: str | None, *, at: str,
                  tenant: str, user_id: str) -> DomainEvent:
    """PROJECT_TASK_ASSIGNED, when a task gets a (new) assignee."""
    payload = {"projectId": project_id, "taskId": task_id, "assignedToId": assignee, "assignedToType": "user",
               "assignedByUserId": user_id, **_present(assignedByName=assigned_by_name), "assignedAt": at}
    return _event("PROJECT_TASK_ASSIGNED", payload, tenant=tenant, user_id=user_id, occurred_at=at)


def task_status_changed(project_id: str, task_id: str, previous: str, new: str, *, at: str, tenant: str,
                        user_id: str) -> DomainEvent:
    """PROJECT_TASK_STATUS_CHANGED, when a task's status mapping changes."""
    payload = {"projectId": project_id, "taskId": task_id, "previousStatus": previous, "newStatus": new,
               "changedAt": at}
    return _event("PROJECT_TASK_STATUS_CHANGED", payload, tenant=tenant, user_id=user_id, occurred_at=at)


def task_completed(project_id: str, task_id: str, *, at: str, tenant: str, user_id: str) -> DomainEvent:
    """PROJECT_TASK_COMPLETED, when a status change moves a task from an open to a closed status."""
    payload = {"projectId": project_id, "taskId": task_id, "completedByUserId": user_id, "completedAt": at}
    return _event("PROJECT_TASK_COMPLETED", payload, tenant=tenant, user_id=user_id, occurred_at=at)
