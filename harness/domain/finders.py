"""Finders (``fx.find``): the rows a workflow wrote for this fixture, as DataFrames.

Rows are found by the id they belong to (a ticket, a project, a user, a run) and, where a workflow
writes free text, by the fixture's marker (``[fixture <name>]``), newest first.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import FixtureError
from ..redaction import redact_url
from .record import Record

if TYPE_CHECKING:
    import pandas as pd

    from ..fixture import Fixture

LIMIT = 50  # a fixture looks at a handful of rows; a runaway workflow should not flood the notebook


class SandboxOnly(FixtureError):
    """A fact only the sandbox records (e.g. sent mail) was asked of a target that does not keep it."""


class Finders:
    """Side effects of this fixture's workflow, read from AlgaPSA's tables."""

    def __init__(self, fx: Fixture) -> None:
        self._fx = fx

    def _query(self, sql: str, **params: object) -> pd.DataFrame:
        return self._fx.db.query(sql, {"tenant": self._fx.tenant_id, "marker": f"%{self._fx.marker()}%",
                                       "limit": LIMIT, **params})

    def ticket(self, ticket_id: str) -> Record:
        """The ticket row (status, priority, assignee, attributes: an object even where they were stored as
        JSON text inside the jsonb)."""
        row = self._fx.db.one("SELECT ticket_id, ticket_number, title, client_id, board_id, status_id, priority_id, "
                              "assigned_to, CASE jsonb_typeof(attributes) WHEN 'string' THEN (attributes #>> '{}')::jsonb "
                              "ELSE attributes END AS attributes, closed_at, updated_at FROM tickets "
                              "WHERE tenant = %s AND ticket_id = %s", (self._fx.tenant_id, ticket_id))
        if row is None:
            raise FixtureError(f"no ticket {ticket_id} in tenant {self._fx.tenant_id}")
        return Record(row)

    def comments(self, ticket_id: str) -> pd.DataFrame:
        """The ticket's comments, newest first."""
        return self._query("SELECT comment_id, note, is_internal, is_resolution, author_type, user_id, created_at "
                           "FROM comments WHERE tenant = %(tenant)s AND ticket_id = %(ticket)s "
                           "ORDER BY created_at DESC LIMIT %(limit)s", ticket=ticket_id)

    def notifications(self, user_id: str | None = None) -> pd.DataFrame:
        """Internal notifications carrying this fixture's marker in the title or message (to ``user_id``, if given)."""
        return self._query(
            "SELECT user_id, title, message, type, category, template_name, link, is_read, created_at "
            "FROM internal_notifications WHERE tenant = %(tenant)s AND (title LIKE %(marker)s OR message LIKE %(marker)s) "
            "AND (%(user)s::uuid IS NULL OR user_id = %(user)s::uuid) ORDER BY created_at DESC LIMIT %(limit)s",
            user=user_id)

    def interactions(self, client_id: str | None = None, ticket_id: str | None = None) -> pd.DataFrame:
        """Interactions (activity notes) carrying the marker in the title or notes, of ``client_id`` / ``ticket_id``."""
        return self._query(
            "SELECT interaction_id, title, notes, visibility, category, client_id, ticket_id, user_id, interaction_date "
            "FROM interactions WHERE tenant = %(tenant)s AND (title LIKE %(marker)s OR notes LIKE %(marker)s) "
            "AND (%(client)s::uuid IS NULL OR client_id = %(client)s::uuid) "
            "AND (%(ticket)s::uuid IS NULL OR ticket_id = %(ticket)s::uuid) ORDER BY created_at DESC LIMIT %(limit)s",
            client=client_id, ticket=ticket_id)

    def project_phases(self, project_id: str) -> pd.DataFrame:
        """The project's phases in order."""
        return self._query("SELECT phase_id, phase_name, wbs_code, order_number, status FROM project_phases "
                           "WHERE tenant = %(tenant)s AND project_id = %(project)s ORDER BY order_number",
                           project=project_id)

    def project_tasks(self, project_id: str) -> pd.DataFrame:
        """The project's tasks with their phase, in WBS order."""
        return self._query(
            "SELECT t.task_id, t.task_name, t.description, t.wbs_code, t.status_id, t.assigned_to, p.phase_name, "
            "t.created_at FROM project_tasks t JOIN project_phases p ON p.tenant = t.tenant AND p.phase_id = t.phase_id "
            "WHERE t.tenant = %(tenant)s AND p.project_id = %(project)s ORDER BY t.wbs_code LIMIT %(limit)s",
            project=project_id)

    def schedule_entries(self, *, entry_id: str | None = None, work_item_id: str | None = None,
                         user_id: str | None = None) -> pd.DataFrame:
        """Schedule entries by id, by the work item they book (a ticket, a task) or by assignee (else by
        marker), one row per assignee, newest first."""
        return self._query(
            "SELECT se.entry_id, se.title, se.notes, se.status, se.work_item_type, se.work_item_id, a.user_id, "
            "se.scheduled_start, se.scheduled_end, se.is_private FROM schedule_entries se "
            "LEFT JOIN schedule_entry_assignees a ON a.tenant = se.tenant AND a.entry_id = se.entry_id "
            "WHERE se.tenant = %(tenant)s AND (%(entry)s::uuid IS NULL OR se.entry_id = %(entry)s::uuid) "
            "AND (%(item)s::uuid IS NULL OR se.work_item_id = %(item)s::uuid) "
            "AND (%(user)s::uuid IS NULL OR a.user_id = %(user)s::uuid) "
            "AND (COALESCE(%(entry)s, %(item)s, %(user)s) IS NOT NULL OR se.title LIKE %(marker)s) "
            "ORDER BY se.created_at DESC LIMIT %(limit)s", entry=entry_id, item=work_item_id, user=user_id)

    def emails(self, run_id: str | None = None) -> pd.DataFrame:
        """Mail sent by ``run_id`` (default: the current run). **Sandbox only**: the sandbox keeps what
        ``email.send`` delivers in its ``email_outbox`` table; a real AlgaPSA hands mail to its provider,
        where no query can see it, so on such a target this raises :class:`SandboxOnly` instead of
        quietly asserting less."""
        fx = self._fx
        if not fx.keeps_sent_mail:
            raise SandboxOnly(f"sent mail can only be read on the sandbox (its email_outbox table); "
                              f"{redact_url(fx.target.base_url)} keeps no copy, so this fixture's mail check needs the sandbox")
        return self._query('SELECT "from", "to", cc, bcc, subject, text, html, attachments, provider_id, step_path, '
                           'created_at FROM email_outbox '
                           "WHERE tenant = %(tenant)s AND run_id = %(run)s ORDER BY created_at LIMIT %(limit)s",
                           run=run_id or fx.run_id)

    def runs(self) -> pd.DataFrame:
        """Runs of this fixture's workflow started since the trigger, whatever their status, newest first."""
        fx = self._fx
        return self._query("SELECT run_id, status, event_type, started_at, completed_at FROM workflow_runs "
                           "WHERE tenant = %(tenant)s AND workflow_id = %(workflow)s AND started_at >= %(since)s "
                           "ORDER BY started_at DESC LIMIT %(limit)s", workflow=fx.workflow_id,
                           since=fx.trigger_started_at)

    def events(self, correlation_key: str) -> pd.DataFrame:
        """The events posted with ``correlation_key`` as the server recorded them (``workflow_runtime_events``,
        rejected ones too, with their ``error_message``), oldest first."""
        return self._query("SELECT event_name, payload_schema_ref, error_message, matched_run_id, created_at, "
                           "processed_at FROM workflow_runtime_events WHERE tenant = %(tenant)s "
                           "AND correlation_key = %(key)s ORDER BY created_at LIMIT %(limit)s", key=correlation_key)

    def waits(self, run_id: str | None = None) -> pd.DataFrame:
        """The waits (``event.wait`` and others) of ``run_id`` (default: the current run), oldest first."""
        return self._query("SELECT wait_type, event_name, key, status, step_path, timeout_at, resolved_at "
                           "FROM workflow_run_waits WHERE run_id = %(run)s ORDER BY created_at LIMIT %(limit)s",
                           run=run_id or self._fx.run_id)

    def run_input(self, run_id: str | None = None) -> Record:
        """The input of ``run_id`` (default: the current run): the posted payload as the server enriched it."""
        return Record(self._fx.db.scalar("SELECT input_json FROM workflow_runs WHERE tenant = %s AND run_id = %s",
                                         (self._fx.tenant_id, run_id or self._fx.run_id)) or {})

    def run_vars(self, run_id: str | None = None) -> Record:
        """The workflow variables of ``run_id`` (default: the current run) in its last envelope snapshot."""
        envelope = self._fx.db.scalar("SELECT envelope_json FROM workflow_run_snapshots WHERE run_id = %s "
                                      "ORDER BY created_at DESC LIMIT 1", (run_id or self._fx.run_id,))
        return Record((envelope or {}).get("vars") or {})

    def invocations(self, run_id: str | None = None) -> pd.DataFrame:
        """The idempotency ledger (``workflow_action_invocations``) of ``run_id`` (default: the current run):
        one row per action invocation with its key, status and attempt, oldest first. An invocation an
        earlier run already made with the same key is not repeated, so it is missing here."""
        return self._query("SELECT step_path, action_id, action_version, idempotency_key, status, attempt, "
                           "error_message, output_json, created_at FROM workflow_action_invocations "
                           "WHERE tenant = %(tenant)s AND run_id = %(run)s ORDER BY created_at LIMIT %(limit)s",
                           run=run_id or self._fx.run_id)

    def workflow(self, workflow_key: str | None = None) -> Record:
        """A workflow's definition row (default: this fixture's): ``status``, ``is_paused``,
        ``concurrency_limit``, ``auto_pause_on_failure`` and its newest published ``version``."""
        fx = self._fx
        row = fx.db.one("SELECT d.workflow_id, d.key, d.status, d.is_paused, d.concurrency_limit, "
                        "d.auto_pause_on_failure, (SELECT max(version) FROM workflow_definition_versions v "
                        "WHERE v.workflow_id = d.workflow_id) AS version FROM workflow_definitions d "
                        "WHERE d.tenant = %s AND d.key = %s", (fx.tenant_id, workflow_key or fx.workflow_key))
        if row is None:
            raise FixtureError(f"no workflow {workflow_key or fx.workflow_key!r} in tenant {fx.tenant_id}")
        return Record(row)

    def tickets(self) -> pd.DataFrame:
        """Tickets carrying this fixture's marker in their title (those a workflow created, and the
        fixture's own), newest first."""
        return self._query("SELECT ticket_id, ticket_number, title, client_id, board_id, status_id, priority_id, "
                           "assigned_to, attributes, entered_by, closed_at, entered_at FROM tickets "
                           "WHERE tenant = %(tenant)s AND title LIKE %(marker)s ORDER BY entered_at DESC "
                           "LIMIT %(limit)s")

    def ticket_links(self, ticket_id: str) -> pd.DataFrame:
        """The ticket's entity links (``ticket_entity_links``: projects, tasks, assets, contracts), oldest first."""
        return self._query("SELECT link_id, entity_type, entity_id, link_type, metadata, created_at "
                           "FROM ticket_entity_links WHERE tenant = %(tenant)s AND ticket_id = %(ticket)s "
                           "ORDER BY created_at LIMIT %(limit)s", ticket=ticket_id)

    def attachments(self, ticket_id: str) -> pd.DataFrame:
        """The documents associated with the ticket, oldest first."""
        return self._query("SELECT d.document_id, d.document_name, d.mime_type, d.file_id, a.created_at "
                           "FROM document_associations a JOIN documents d ON d.tenant = a.tenant "
                           "AND d.document_id = a.document_id WHERE a.tenant = %(tenant)s AND a.entity_id = %(ticket)s "
                           "AND a.entity_type = 'ticket' ORDER BY a.created_at LIMIT %(limit)s", ticket=ticket_id)

    def time_entries(self, work_item_id: str | None = None) -> pd.DataFrame:
        """Time entries carrying this fixture's marker in their notes (on ``work_item_id``, if given), newest first."""
        return self._query("SELECT entry_id, user_id, work_item_id, work_item_type, start_time, end_time, "
                           "billable_duration, notes, approval_status, work_date, time_sheet_id, created_at "
                           "FROM time_entries WHERE tenant = %(tenant)s AND notes LIKE %(marker)s "
                           "AND (%(item)s::uuid IS NULL OR work_item_id = %(item)s::uuid) "
                           "ORDER BY created_at DESC LIMIT %(limit)s", item=work_item_id)
