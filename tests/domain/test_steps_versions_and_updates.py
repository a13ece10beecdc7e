"""fx.expect_step, fx.publish, fx.update and the finders the wider catalog needs, on the session sandbox."""
from __future__ import annotations

import copy
import dataclasses
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

import harness

from harness.domain.finders import SandboxOnly
from harness.errors import FixtureError
from harness.expect import ExpectationFailed
from harness.fixture import Fixture
from harness.workflow import definition_of

from .conftest import GOLDEN, count, golden_run


def _failing_version(fx: Fixture) -> dict:
    """The golden definition with an assignment of a user who does not exist before its last step."""
    definition = copy.deepcopy(definition_of(fx.bundle.workflow(fx.workflow_key)))
    definition["steps"].insert(-1, {"id": "assign-nobody", "type": "action.call", "config": {
        "actionId": "tickets.assign", "version": 1, "inputMapping": {
            "ticket_id": {"$expr": "payload.ticketId"},
            "assignee": {"type": "user", "id": {"$expr": "'00000000-0000-4000-8000-000000000001'"}}}}})
    return definition


def test_expect_step_asserts_one_step_and_names_what_differs(fx: Fixture) -> None:
    golden_run(fx)
    row = fx.expect_step("say-hello")
    assert row.status == "SUCCEEDED" and row.definition_step_id == "say-hello"
    with pytest.raises(ExpectationFailed, match="step say-hello status: expected 'FAILED', got 'SUCCEEDED'"):
        fx.expect_step("say-hello", "FAILED")
    with pytest.raises(ExpectationFailed, match="step say-hello attempts: expected 2, got 1"):
        fx.expect_step("say-hello", attempts=2)
    with pytest.raises(ExpectationFailed, match=r"step 'nowhere' did not run \(steps that ran: mark-ready, say-hello"):
        fx.expect_step("nowhere")


def test_a_published_version_runs_next_and_its_failure_is_read_off_the_step(fx: Fixture) -> None:
    assert fx.find.workflow().version == 1
    assert fx.publish(definition=_failing_version(fx)) == 2
    workflow = fx.find.workflow()
    assert (workflow.version, workflow.status, workflow.is_paused) == (2, "published", False)
    golden_run(fx)
    assert fx.run["workflow_version"] == 2
    fx.expect_run("FAILED", steps=["mark-ready", "say-hello", "assign-nobody"], step_status=None)
    row = fx.expect_step("assign-nobody", "FAILED", code="NOT_FOUND", category="ActionError", message="User not found")
    assert row.error_json["details"] == {"user_id": "00000000-0000-4000-8000-000000000001"}
    with pytest.raises(ExpectationFailed, match="step assign-nobody error code: expected 'CONFLICT', got 'NOT_FOUND'"):
        fx.expect_step("assign-nobody", "FAILED", code="CONFLICT")
    ledger = fx.find.invocations()
    assert list(ledger.action_id) == ["tickets.assign"] and list(ledger.status) == ["FAILED"]


def test_publish_refuses_what_it_cannot_wire(fx: Fixture) -> None:
    with pytest.raises(FixtureError, match="has no control.callWorkflow step 'say-hello'"):
        fx.publish(calls={"say-hello": fx.workflow_key})
    with pytest.raises(FixtureError, match="no workflow 'fixture.nowhere'"):
        fx.publish("fixture.nowhere")


def test_rest_updates_publish_their_events(fx: Fixture, admin: psycopg.Connection) -> None:
    ticket = fx.create.ticket()
    fx.update.ticket(ticket.ticket_id, title=f"{fx.marker()} renamed")
    comment = fx.create.comment(ticket.ticket_id, f"{fx.marker()} a reply")
    assert fx.find.ticket(ticket.ticket_id).title == f"{fx.marker()} renamed"
    assert (comment.comment_text, comment.is_internal) == (f"{fx.marker()} a reply", False)
    for event in ("TICKET_UPDATED", "TICKET_COMMENT_ADDED"):
        assert count(admin, "SELECT 1 FROM workflow_runtime_events WHERE tenant = %s AND event_name = %s "
                            "AND payload->>'ticketId' = %s", fx.tenant_id, event, str(ticket.ticket_id)) == 1, event
    project = fx.create.project(phases=["Build"])
    task = fx.create.project_task(project.project_id, project.phases.phase_id.iloc[0], f"{fx.marker()} rack")
    fx.update.project_task(task.task_id, task_name=f"{fx.marker()} rack twice")
    assert list(fx.find.project_tasks(project.project_id).task_name) == [f"{fx.marker()} rack twice"]
    assert count(admin, "SELECT 1 FROM workflow_runtime_events WHERE tenant = %s AND event_name = 'PROJECT_TASK_CREATED' "
                        "AND payload->>'taskId' = %s", fx.tenant_id, str(task.task_id)) == 1
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    entry = fx.create.schedule_entry(start, start + timedelta(hours=1))
    fx.update.schedule_entry(entry.entry_id, title=f"{fx.marker()} moved")
    assert fx.find.schedule_entries(entry_id=entry.entry_id).title.iloc[0] == f"{fx.marker()} moved"
    assert fx.cleanup() == []
    assert count(admin, "SELECT 1 FROM tickets WHERE ticket_id = %s", ticket.ticket_id) == 0
    assert count(admin, "SELECT 1 FROM comments WHERE ticket_id = %s", ticket.ticket_id) == 0


def test_what_a_workflow_creates_with_the_marker_is_found_and_swept(fx: Fixture, admin: psycopg.Connection) -> None:
    """Rows as tickets.create, tickets.link_entities, tickets.add_attachment and time.create_entry write them."""
    defaults, user = fx.picks.ticket_defaults(), fx.picks.user()
    ticket = str(admin.execute(
        "INSERT INTO tickets (tenant, title, ticket_number, client_id, board_id, status_id, priority_id, entered_by, "
        "entered_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now()) RETURNING ticket_id",
        (fx.tenant_id, f"{fx.marker()} made by a workflow", f"FX-{uuid.uuid4().hex[:6]}", defaults.client_id,
         defaults.board_id, defaults.status_id, defaults.priority_id, user.user_id)).fetchone()[0])
    admin.execute("INSERT INTO comments (tenant, ticket_id, note, is_internal, is_resolution, author_type, user_id) "
                  "VALUES (%s, %s, 'no marker here', false, false, 'internal', %s)", (fx.tenant_id, ticket, user.user_id))
    admin.execute("INSERT INTO ticket_entity_links (tenant, ticket_id, entity_type, entity_id, link_type) "
                  "VALUES (%s, %s, 'contract', %s, 'covers')", (fx.tenant_id, ticket, str(uuid.uuid4())))
    document = admin.execute(
        "INSERT INTO documents (tenant, document_name, user_id, created_by, entered_at) VALUES (%s, %s, %s, %s, now()) "
        "RETURNING document_id", (fx.tenant_id, f"{fx.marker()} invoice.pdf", user.user_id, user.user_id)).fetchone()[0]
    admin.execute("INSERT INTO document_associations (tenant, document_id, entity_id, entity_type) "
                  "VALUES (%s, %s, %s, 'ticket')", (fx.tenant_id, document, ticket))
    admin.execute("INSERT INTO time_entries (tenant, user_id, start_time, end_time, notes, work_item_id, "
                  "work_item_type, work_date, work_timezone) VALUES (%s, %s, now(), now() + interval '1 hour', %s, %s, "
                  "'ticket', current_date, 'UTC')", (fx.tenant_id, user.user_id, f"{fx.marker()} onsite", ticket))
    assert list(fx.find.tickets().ticket_id) == [ticket]
    assert list(fx.find.ticket_links(ticket).link_type) == ["covers"]
    assert list(fx.find.attachments(ticket).document_name) == [f"{fx.marker()} invoice.pdf"]
    assert list(fx.find.time_entries(ticket).notes) == [f"{fx.marker()} onsite"]
    assert fx.cleanup() == []
    for table, where in (("tickets", "ticket_id"), ("comments", "ticket_id"), ("ticket_entity_links", "ticket_id"),
                         ("document_associations", "entity_id"), ("time_entries", "work_item_id")):
        assert count(admin, f"SELECT 1 FROM {table} WHERE {where} = %s", ticket) == 0, table
    assert count(admin, "SELECT 1 FROM documents WHERE document_id = %s", document) == 0


def test_settings_overrides_put_everything_back(fx: Fixture, admin: psycopg.Connection) -> None:
    row = "SELECT row_to_json(s)::text FROM tenant_email_settings s WHERE tenant = %s ORDER BY id"
    closed = "SELECT count(*) FROM statuses WHERE tenant = %s AND status_type = 'ticket' AND is_closed"
    admin.execute("INSERT INTO tenant_email_settings (tenant, default_from_domain, provider_configs) "
                  "VALUES (%s, 'example.org', '[{\"providerId\": \"kept\"}]')", (fx.tenant_id,))
    try:
        before = admin.execute(row, (fx.tenant_id,)).fetchall()
        closed_before = admin.execute(closed, (fx.tenant_id,)).fetchone()[0]
        fx.override.no_email_settings()
        hidden = fx.override.no_closed_ticket_status()
        assert admin.execute(row, (fx.tenant_id,)).fetchall() == []
        assert len(hidden) == closed_before > 0 and admin.execute(closed, (fx.tenant_id,)).fetchone()[0] == 0
        assert fx.cleanup() == []
        assert admin.execute(row, (fx.tenant_id,)).fetchall() == before, "the settings row, exactly"
        assert admin.execute(closed, (fx.tenant_id,)).fetchone()[0] == closed_before
    finally:
        admin.execute("DELETE FROM tenant_email_settings WHERE tenant = %s AND default_from_domain = 'example.org'",
                      (fx.tenant_id,))


def test_a_failing_provider_is_a_sandbox_only_double(fx: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fx, "target", dataclasses.replace(fx.target, is_sandbox=False))
    with pytest.raises(SandboxOnly, match="only the sandbox can reach"):
        fx.override.failing_email_delivery()
    with pytest.raises(SandboxOnly, match="how a real tenant closes tickets"):
        fx.override.no_closed_ticket_status()


def test_opening_pauses_other_fixture_workflows_and_leaves_paused_ones_alone(journal_dir, admin) -> None:
    keys = []
    for name in ("ticket-created-vip-notify", "ticket-created-notify-multiple"):
        other = harness.open_fixture(GOLDEN.parent / name)  # imports its workflow
        other.cleanup()
        other.close()
        keys.append(other.workflow_key)
    tenant, (running, paused) = other.tenant_id, keys
    state = "SELECT is_paused, xmin::text FROM workflow_definitions WHERE tenant = %s AND key = %s"
    admin.execute("UPDATE workflow_definitions SET is_paused = (key = %s) WHERE tenant = %s AND key = ANY(%s)",
                  (paused, tenant, keys))
    before = admin.execute(state, (tenant, paused)).fetchone()
    fx = harness.open_fixture(GOLDEN)
    try:
        assert admin.execute(state, (tenant, running)).fetchone()[0], "another fixture's workflow is paused"
        assert admin.execute(state, (tenant, paused)).fetchone() == before, "a paused workflow is not rewritten"
    finally:
        fx.cleanup()
        fx.close()
