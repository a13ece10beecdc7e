"""Creators (``fx.create``): tickets, projects with phases and tasks, schedule entries, contacts.

Each goes through ``/api/v1`` where AlgaPSA has a route (so the server publishes its events, as it
would for a person), else through the writer session, and registers its cleanup before returning:
an API delete with the SQL cascade as its fallback, journaled, so nothing is left behind even when
the kernel dies.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..cleanup import ApiDelete, Sql
from ..errors import FixtureError
from .record import Record

if TYPE_CHECKING:
    from ..fixture import Fixture

_TICKET_PICKS = ("client_id", "board_id", "status_id", "priority_id")  # what a ticket needs from the tenant
_TICKET_ROWS = (  # children first; only when the API refuses the delete or is unreachable
    "DELETE FROM comments WHERE tenant = %(tenant)s AND ticket_id = %(id)s",
    "DELETE FROM project_ticket_links WHERE tenant = %(tenant)s AND ticket_id = %(id)s",
    "DELETE FROM tickets WHERE tenant = %(tenant)s AND ticket_id = %(id)s",
)
_PROJECT_ROWS = (
    "DELETE FROM task_checklist_items WHERE tenant = %(tenant)s AND task_id IN (SELECT t.task_id FROM project_tasks t "
    "JOIN project_phases p ON p.tenant = t.tenant AND p.phase_id = t.phase_id WHERE p.project_id = %(id)s)",
    "DELETE FROM project_ticket_links WHERE tenant = %(tenant)s AND project_id = %(id)s",
    "DELETE FROM project_tasks t USING project_phases p WHERE t.tenant = %(tenant)s AND p.tenant = t.tenant "
    "AND p.phase_id = t.phase_id AND p.project_id = %(id)s",
    "DELETE FROM project_phases WHERE tenant = %(tenant)s AND project_id = %(id)s",
    "DELETE FROM project_status_mappings WHERE tenant = %(tenant)s AND project_id = %(id)s",
    "DELETE FROM projects WHERE tenant = %(tenant)s AND project_id = %(id)s",
)
SCHEDULE_ROWS = (
    "DELETE FROM schedule_conflicts WHERE tenant = %(tenant)s AND (entry_id_1 = %(id)s OR entry_id_2 = %(id)s)",
    "DELETE FROM schedule_entry_assignees WHERE tenant = %(tenant)s AND entry_id = %(id)s",
    "DELETE FROM schedule_entries WHERE tenant = %(tenant)s AND entry_id = %(id)s",
)


def iso(moment: datetime) -> str:
    """A timestamp as AlgaPSA's API writes it: ISO 8601 in UTC with milliseconds and a ``Z``."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Creators:
    """Rows a fixture creates for itself, each cleaned up after the test whatever happens."""

    def __init__(self, fx: Fixture) -> None:
        self._fx = fx

    def _title(self, what: str, title: str | None) -> str:
        return title or f"{self._fx.marker()} {what} {uuid.uuid4().hex[:8]}"

    def _delete_later(self, path: str, rows: Iterable[str], row_id: str, label: str) -> None:
        params = {"tenant": self._fx.tenant_id, "id": row_id}
        self._fx.on_cleanup(ApiDelete(path, fallback=[Sql(statement, params) for statement in rows]), label)

    def ticket(self, title: str | None = None, **fields: Any) -> Record:
        """``POST /api/v1/tickets``; the server publishes TICKET_CREATED. Client, board, status and priority
        default to :meth:`harness.domain.picks.Picks.ticket_defaults`; other ``fields`` go into the body."""
        body = {"title": self._title("ticket", title), **fields}
        if not all(body.get(key) for key in _TICKET_PICKS):
            defaults = self._fx.picks.ticket_defaults()
            body = {key: defaults[key] for key in _TICKET_PICKS} | body
        ticket_id = self._fx.api.post("/api/v1/tickets", body).json["data"]["ticket_id"]
        self._delete_later(f"/api/v1/tickets/{ticket_id}", _TICKET_ROWS, ticket_id, "delete the ticket")
        return self._fx.find.ticket(ticket_id)

    def project(self, name: str | None = None, *, phases: Iterable[str] = (),
                tasks: Mapping[str, Iterable[str]] | None = None, **fields: Any) -> Record:
        """``POST /api/v1/projects`` for the oldest client (unless ``client_id`` is given), then one
        ``POST .../phases`` per name in ``phases`` and one ``POST .../phases/{id}/tasks`` per task name
        in ``tasks[phase name]`` (in the project's first status). Returns the project row, plus ``phases`` and ``tasks`` as DataFrames."""
        fx = self._fx
        body = {"project_name": self._title("project", name), **fields}
        body.setdefault("client_id", fx.picks.client().client_id)
        project_id = fx.api.post("/api/v1/projects", body).json["data"]["project_id"]
        self._delete_later(f"/api/v1/projects/{project_id}", _PROJECT_ROWS, project_id, "delete the project")
        base = f"/api/v1/projects/{project_id}/phases"
        first_status = self._task_status(project_id) if tasks else None
        for phase_name in phases:
            phase_id = fx.api.post(base, {"phase_name": phase_name}).json["data"]["phase_id"]
            for task_name in (tasks or {}).get(phase_name, ()):
                fx.api.post(f"{base}/{phase_id}/tasks", {"task_name": task_name,
                                                         "project_status_mapping_id": first_status})
        row = fx.db.one("SELECT project_id, project_name, project_number, client_id, status, wbs_code "
                        "FROM projects WHERE tenant = %s AND project_id = %s", (fx.tenant_id, project_id))
        return Record({**(row or {}), "phases": fx.find.project_phases(project_id),
                       "tasks": fx.find.project_tasks(project_id)})

    def project_task(self, project_id: str, phase_id: str, task_name: str | None = None, **fields: Any) -> Record:
        """``POST /api/v1/projects/{id}/phases/{phase}/tasks`` (PROJECT_TASK_CREATED, and PROJECT_TASK_ASSIGNED
        with ``assigned_to``), in the project's first task status unless ``project_status_mapping_id`` is
        given. The project's cleanup removes it. Returns the task as the server answered."""
        body = {"task_name": self._title("task", task_name), **fields}
        body.setdefault("project_status_mapping_id", self._task_status(project_id))
        path = f"/api/v1/projects/{project_id}/phases/{phase_id}/tasks"
        return Record(self._fx.api.post(path, body).json["data"])

    def comment(self, ticket_id: str, text: str | None = None, *, is_internal: bool = False, **fields: Any) -> Record:
        """``POST /api/v1/tickets/{id}/comments`` (TICKET_COMMENT_ADDED); the ticket's cleanup removes it.
        Returns the comment as the server answered."""
        body = {"comment_text": text or self._title("comment", None), "is_internal": is_internal, **fields}
        return Record(self._fx.api.post(f"/api/v1/tickets/{ticket_id}/comments", body).json["data"])

    def _task_status(self, project_id: str) -> str:
        """The project's first task status mapping. AlgaPSA's API creates none (its UI does), so when the
        project has none, one for the tenant's first project-task status is written (the project's
        cleanup removes it)."""
        fx = self._fx
        found = fx.db.scalar("SELECT project_status_mapping_id FROM project_status_mappings WHERE tenant = %s "
                             "AND project_id = %s ORDER BY display_order LIMIT 1", (fx.tenant_id, project_id))
        if found is not None:
            return str(found)
        written = fx.db.writer().records(
            "INSERT INTO project_status_mappings (tenant, project_id, status_id, display_order, is_visible, is_standard) "
            "SELECT tenant, %(project)s, status_id, 1, true, false FROM statuses WHERE tenant = %(tenant)s "
            "AND status_type = 'project_task' ORDER BY order_number LIMIT 1 RETURNING project_status_mapping_id",
            {"tenant": fx.tenant_id, "project": project_id})
        if not written:
            raise FixtureError(f"tenant {fx.tenant_id} needs a project task status")
        return str(written[0]["project_status_mapping_id"])

    def schedule_entry(self, start: datetime, end: datetime, *, title: str | None = None,
                       user_ids: Iterable[str] = (), **fields: Any) -> Record:
        """``POST /api/v1/schedules``: an entry from ``start`` to ``end`` assigned to ``user_ids``
        (``work_item_type``/``work_item_id``, ``notes``, ``is_private`` as further ``fields``)."""
        body = {"title": self._title("schedule entry", title), "scheduled_start": iso(start),
                "scheduled_end": iso(end), "assigned_user_ids": list(user_ids), **fields}
        entry_id = self._fx.api.post("/api/v1/schedules", body).json["data"]["entry_id"]
        self._delete_later(f"/api/v1/schedules/{entry_id}", SCHEDULE_ROWS, entry_id, "delete the schedule entry")
        return Record(self._fx.find.schedule_entries(entry_id=entry_id).iloc[0].to_dict())

    def document(self, name: str | None = None, *, mime_type: str = "application/pdf", size: int = 1024) -> Record:
        """A stored file and its document (``external_files`` + ``documents``), as an upload leaves them,
        written through the writer session (the sandbox has no upload route). ``tickets.add_attachment`` and
        ``email.send`` take its ``file_id`` or ``document_id``. Removed at cleanup with its associations."""
        fx = self._fx
        user = fx.picks.user().user_id
        file_id, document_id = str(uuid.uuid4()), str(uuid.uuid4())
        name = name or f"{fx.marker()} document {file_id[:8]}.pdf"
        params = {"tenant": fx.tenant_id, "file": file_id, "document": document_id}
        fx.on_cleanup(Sql("WITH links AS (DELETE FROM document_associations WHERE tenant = %(tenant)s "
                          "AND document_id = %(document)s), documents AS (DELETE FROM documents WHERE tenant = %(tenant)s "
                          "AND document_id = %(document)s) DELETE FROM external_files WHERE tenant = %(tenant)s "
                          "AND file_id = %(file)s", params), "delete the document")
        writer = fx.db.writer()
        writer.execute("INSERT INTO external_files (tenant, file_id, file_name, original_name, mime_type, file_size, "
                       "storage_path, uploaded_by_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                       (fx.tenant_id, file_id, name, name, mime_type, size, f"fixtures/{file_id}", user))
        writer.execute("INSERT INTO documents (tenant, document_id, document_name, user_id, created_by, entered_at, "
                       "file_id, mime_type, file_size) VALUES (%s, %s, %s, %s, %s, now(), %s, %s, %s)",
                       (fx.tenant_id, document_id, name, user, user, file_id, mime_type, size))
        return Record({"document_id": document_id, "file_id": file_id, "document_name": name, "mime_type": mime_type})

    def contact(self, full_name: str | None = None, *, email: str | None = None, client_id: str | None = None,
                **fields: Any) -> Record:
        """A contact of ``client_id`` (default: the oldest client), written through the writer session:
        the sandbox has no contacts route, and the row is AlgaPSA's ``contacts`` row on either target."""
        fx = self._fx
        suffix = uuid.uuid4().hex[:8]
        columns = {"tenant": fx.tenant_id, "full_name": full_name or f"{fx.marker()} contact {suffix}",
                   "email": email or f"fixture.{suffix}@example.com",
                   "client_id": client_id or fx.picks.client().client_id, **fields}
        contact_id = str(uuid.uuid4())
        fx.on_cleanup(Sql("WITH notes AS (DELETE FROM interactions WHERE tenant = %(tenant)s AND contact_name_id = %(id)s) "
                          "DELETE FROM contacts WHERE tenant = %(tenant)s AND contact_name_id = %(id)s",
                          {"tenant": fx.tenant_id, "id": contact_id}), "delete the contact with its interactions")
        names = ", ".join(columns)
        return Record(fx.db.writer().records(
            f"INSERT INTO contacts (contact_name_id, {names}) VALUES (%s, {', '.join(['%s'] * len(columns))}) "
            "RETURNING contact_name_id, full_name, email, client_id, created_at", (contact_id, *columns.values()))[0])
