"""Updaters (``fx.update``): changes to rows the fixture created, through ``/api/v1`` like a person's.

The server publishes the events such a change publishes in AlgaPSA (TICKET_UPDATED, TICKET_CLOSED,
PROJECT_UPDATED, PROJECT_TASK_STATUS_CHANGED, ...), so these are the REST triggers of a fixture. The
rows are already registered for cleanup by the creator that made them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .record import Record

if TYPE_CHECKING:
    from ..fixture import Fixture


class Updaters:
    """REST updates of the fixture's own tickets, projects, tasks and schedule entries."""

    def __init__(self, fx: Fixture) -> None:
        self._fx = fx

    def _put(self, path: str, body: dict[str, Any]) -> Record:
        return Record(self._fx.api.put(path, body).json.get("data") or {})

    def ticket(self, ticket_id: str, **fields: Any) -> Record:
        """``PUT /api/v1/tickets/{id}`` with ``fields`` (``status_id``, ``priority_id``, ``assigned_to``,
        ``title``, ``attributes``, ...); returns the ticket as the server answered."""
        return self._put(f"/api/v1/tickets/{ticket_id}", fields)

    def ticket_status(self, ticket_id: str, status_id: str) -> Record:
        """``PUT /api/v1/tickets/{id}/status``: a closed status closes the ticket (TICKET_CLOSED)."""
        return self._put(f"/api/v1/tickets/{ticket_id}/status", {"status_id": status_id})

    def ticket_assignment(self, ticket_id: str, assigned_to: str | None) -> Record:
        """``PUT /api/v1/tickets/{id}/assignment``."""
        return self._put(f"/api/v1/tickets/{ticket_id}/assignment", {"assigned_to": assigned_to})

    def project(self, project_id: str, **fields: Any) -> Record:
        """``PUT /api/v1/projects/{id}`` with ``fields`` (``project_name``, ``status``, ``assigned_to``, ...)."""
        return self._put(f"/api/v1/projects/{project_id}", fields)

    def project_task(self, task_id: str, **fields: Any) -> Record:
        """``PUT /api/v1/projects/tasks/{id}`` with ``fields`` (``task_name``, ``assigned_to``,
        ``project_status_mapping_id``, ...)."""
        return self._put(f"/api/v1/projects/tasks/{task_id}", fields)

    def schedule_entry(self, entry_id: str, **fields: Any) -> Record:
        """``PUT /api/v1/schedules/{id}`` with ``fields`` (``title``, ``scheduled_start``, ``notes``, ...)."""
        return self._put(f"/api/v1/schedules/{entry_id}", fields)
