"""Ticket actions end to end: what they write, what they return and how they fail (runtime.md §4.4–4.6,
§4.8, §4.11)."""
from __future__ import annotations

import json
import uuid

from psycopg.types.json import Jsonb

from .action_flows import Flows, call, email_settings, expr, flows  # noqa: F401  (fixtures)

TICKET = expr("payload.ticketId")


def ticket(flows: Flows, ticket_id: str) -> dict:
    return flows.one("SELECT * FROM tickets WHERE ticket_id = %s", (ticket_id,))


def notes(flows: Flows, ticket_id: str) -> list[dict]:
    return flows.sql("SELECT * FROM comments WHERE ticket_id = %s ORDER BY created_at", (ticket_id,))


def error_of(run, step_id: str) -> tuple:
    error = run.step(step_id)["error_json"]
    return error["category"], error.get("code"), error["message"], error.get("details")


def test_add_comment_visibility_mentions_and_missing_ticket(flows: Flows) -> None:
    ticket_id = flows.new_ticket()
    user = flows.seed.technician_user_ids[0]
    missing = str(uuid.uuid4())
    run = flows.run([
        call("internal", "tickets.add_comment", {"ticket_id": TICKET, "body": "  [fixture x] keep   spacing ",
                                                 "visibility": "internal"}, save_as="internal"),
        call("mention", "tickets.add_comment", {"ticket_id": TICKET, "body": "look", "mentions": [user]}),
        call("missing", "tickets.add_comment", {"ticket_id": missing, "body": "x"}, on_error="continue"),
    ], ticketId=ticket_id)
    assert run.status == "SUCCEEDED"
    internal, mention = notes(flows, ticket_id)
    assert internal["note"] == "  [fixture x] keep   spacing " and internal["is_internal"] is True
    assert internal["is_resolution"] is False
    assert json.loads(mention["note"]) == [{"type": "paragraph", "content": [
        {"type": "mention", "props": {"userId": user}}, {"type": "text", "text": " look"}]}]
    assert run.vars()["internal"]["visibility"] == "internal"
    assert error_of(run, "missing") == ("ActionError", "NOT_FOUND", "Ticket not found or does not belong to tenant",
                                        None)


def test_assign_user_team_queue_and_head_shape(flows: Flows) -> None:
    seed = flows.seed
    tech, other = seed.technician_user_ids
    manager = str(flows.one("SELECT manager_id FROM teams WHERE team_id = %s", (seed.team_id,))["manager_id"])
    first_member = str(flows.one("SELECT user_id FROM team_members WHERE team_id = %s ORDER BY created_at, user_id",
                                 (seed.team_id,))["user_id"])
    tickets = [flows.new_ticket(assigned_to=other) for _ in range(4)]
    flows.sql("INSERT INTO ticket_resources (tenant, ticket_id, assigned_to, additional_user_id) "
              "VALUES (%s, %s, %s, %s)", (seed.tenant_id, tickets[0], other, tech))
    run = flows.run([
        call("user", "tickets.assign", {"ticket_id": tickets[0], "assignee": {"type": "user", "id": tech},
                                        "reason": "why", "comment": {"body": "[fixture assign] moved"}},
             save_as="user"),
        call("team", "tickets.assign", {"ticket_id": tickets[1], "assignee": {"type": "team", "id": seed.team_id}}),
        call("queue", "tickets.assign", {"ticket_id": tickets[2], "assignee": {"type": "queue", "id": seed.team_id}}),
        call("head", "tickets.assign", {"ticket_id": tickets[3], "assignment": {
            "primary": {"type": "user", "id": tech}, "additional_user_ids": [other]}}),
        call("noop", "tickets.assign", {"ticket_id": tickets[3], "assignee": {"type": "user", "id": tech}},
             save_as="noop"),
    ])
    assert run.status == "SUCCEEDED", run.error
    assert [str(ticket(flows, t)["assigned_to"]) for t in tickets] == [tech, manager, first_member, tech]
    assert str(ticket(flows, tickets[0])["updated_by"]) == seed.actor_user_id
    assert flows.sql("SELECT 1 FROM ticket_resources WHERE ticket_id = %s", (tickets[0],)) == []
    agents = flows.sql("SELECT assigned_to, additional_user_id FROM ticket_resources WHERE ticket_id = %s",
                       (tickets[3],))
    assert [(str(a["assigned_to"]), str(a["additional_user_id"])) for a in agents] == [(tech, other)]
    [comment] = notes(flows, tickets[0])
    assert comment["is_internal"] is True and comment["metadata"]["reason"] == "why"
    assert run.vars()["user"]["assigned_to"] == tech and run.vars()["user"]["assigned_type"] == "user"
    audits = flows.sql("SELECT changed_data FROM audit_logs WHERE record_id = %s ORDER BY timestamp", (run.run_id,))
    assert audits[-1]["changed_data"]["noop"] is True


def test_assign_errors_in_contract_order(flows: Flows) -> None:
    ticket_id, nobody = flows.new_ticket(), str(uuid.uuid4())
    run = flows.run([
        call("team", "tickets.assign", {"ticket_id": TICKET, "assignee": {"type": "team", "id": nobody}},
             on_error="continue"),
        call("queue", "tickets.assign", {"ticket_id": TICKET, "assignee": {"type": "queue", "id": nobody}},
             on_error="continue"),
        call("user-before-ticket", "tickets.assign", {"ticket_id": nobody, "assignee": {"type": "user", "id": nobody}},
             on_error="continue"),
        call("ticket", "tickets.assign", {"ticket_id": nobody,
                                          "assignee": {"type": "user", "id": flows.seed.actor_user_id}},
             on_error="continue"),
        call("shape", "tickets.assign", {"ticket_id": TICKET}, on_error="continue"),
    ], ticketId=ticket_id)
    assert run.status == "SUCCEEDED"
    assert error_of(run, "team") == ("ActionError", "NOT_FOUND", "Team not found", {"team_id": nobody})
    assert error_of(run, "queue") == ("ActionError", "NOT_FOUND", "Queue has no members", {"queue_id": nobody})
    assert error_of(run, "user-before-ticket") == ("ActionError", "NOT_FOUND", "User not found", {"user_id": nobody})
    assert error_of(run, "ticket") == ("ActionError", "NOT_FOUND", "Ticket not found", {"ticket_id": nobody})
    assert error_of(run, "shape")[2] == "action.call failed"
    assert "Required" in run.step("shape")["error_json"]["details"]["message"]


def test_update_fields_merges_attributes_and_checks_references(flows: Flows) -> None:
    seed = flows.seed
    ticket_id = flows.new_ticket(attributes=Jsonb({"keep": "me", "fixture_escalated": False}))
    progress = seed.ticket_status_ids["In Progress"]
    run = flows.run([
        call("patch", "tickets.update_fields", {"ticket_id": TICKET, "patch": {
            "attributes": {"fixture_escalated": True}, "status_id": progress, "tags": ["a", "b"],
            "due_date": "2026-02-01T10:00:00.000Z", "assigned_to": seed.technician_user_ids[0]},
            "idempotency_key": expr("'esc:' & payload.ticketId")}, save_as="patched"),
        call("bad-status", "tickets.update_fields", {"ticket_id": TICKET, "patch": {"status_id": seed.task_status_id}},
             on_error="continue"),
        call("bad-priority", "tickets.update_fields", {"ticket_id": TICKET,
                                                       "patch": {"priority_id": str(uuid.uuid4())}},
             on_error="continue"),
        call("stale", "tickets.update_fields", {"ticket_id": TICKET, "patch": {"title": "x"},
                                                "expected_updated_at": "2020-01-01T00:00:00.000Z"},
             on_error="continue"),
        call("empty", "tickets.update_fields", {"ticket_id": TICKET, "patch": {"unknown": 1}}, on_error="continue"),
    ], ticketId=ticket_id)
    assert run.status == "SUCCEEDED"
    row = ticket(flows, ticket_id)
    assert row["attributes"] == {"keep": "me", "fixture_escalated": True, "tags": ["a", "b"],
                                 "due_date": "2026-02-01T10:00:00.000Z"}
    assert str(row["status_id"]) == progress and str(row["updated_by"]) == seed.actor_user_id
    assert run.vars()["patched"] == {"ticket_id": ticket_id, "updated_at": run.vars()["patched"]["updated_at"],
                                     "status_id": progress, "priority_id": seed.priority_ids["Medium"],
                                     "tags": ["a", "b"]}
    assert run.invocations()[0]["idempotency_key"] == f"{seed.tenant_id}:esc:{ticket_id}"
    assert error_of(run, "bad-status")[:3] == ("ValidationError", "VALIDATION_ERROR", "Invalid status_id for ticket")
    assert error_of(run, "bad-priority")[2] == "Invalid priority_id for ticket"
    assert error_of(run, "stale")[:3] == ("ActionError", "CONFLICT", "Ticket was modified since expected_updated_at")
    assert "Patch must include at least one field" in run.step("empty")["error_json"]["details"]["message"]
    [audit] = flows.sql("SELECT changed_data FROM audit_logs WHERE record_id = %s", (run.run_id,))
    assert audit["changed_data"]["before"]["status_id"] == seed.status_id
    assert audit["changed_data"]["after"]["tags"] == ["a", "b"]


def test_create_and_close(flows: Flows) -> None:
    seed = flows.seed
    run = flows.run([
        call("create", "tickets.create", {
            "client_id": seed.client_id, "contact_id": seed.contact_ids[0], "title": "[fixture create] printer",
            "description": "it jams", "board_id": seed.board_id, "status_id": seed.status_id,
            "priority_id": seed.priority_ids["High"], "tags": ["hw"], "attributes": {"fixture": True},
            "initial_comment": {"body": "first!", "visibility": "internal"}}, save_as="created"),
        call("close", "tickets.close", {"ticket_id": expr("vars.created.ticket_id"),
                                        "resolution": {"code": "fixed"}, "public_note": "done",
                                        "internal_note": "root cause: paper"}, save_as="closed"),
        call("again", "tickets.close", {"ticket_id": expr("vars.created.ticket_id"), "resolution": {"code": "x"}},
             on_error="continue"),
    ])
    assert run.status == "SUCCEEDED", run.error
    created = run.vars()["created"]
    row = ticket(flows, created["ticket_id"])
    assert created["ticket_number"] == row["ticket_number"] and row["ticket_number"].startswith("TIC")
    assert row["attributes"] == {"fixture": True, "tags": ["hw"], "description": "it jams"}
    assert str(row["entered_by"]) == seed.actor_user_id and row["title"] == "[fixture create] printer"
    closed_status = flows.one("SELECT status_id FROM statuses WHERE tenant = %s AND status_type = 'ticket' AND "
                              "is_closed ORDER BY is_default DESC, order_number LIMIT 1", (seed.tenant_id,))
    assert str(row["status_id"]) == str(closed_status["status_id"]) and row["resolution_code"] == "fixed"
    assert row["closed_at"] is not None and str(row["closed_by"]) == seed.actor_user_id
    assert run.vars()["closed"]["final_status_id"] == str(closed_status["status_id"])
    assert [(n["note"], n["is_internal"], n["is_resolution"]) for n in notes(flows, created["ticket_id"])] == [
        ("first!", True, False), ("done", False, True), ("root cause: paper", True, True)]
    assert error_of(run, "again")[:3] == ("ActionError", "CONFLICT", "Ticket already closed")


def test_close_notifies_the_requester_through_the_outbox(flows: Flows, email_settings: None) -> None:
    seed = flows.seed
    contact = flows.one("SELECT email FROM contacts WHERE contact_name_id = %s", (seed.contact_ids[0],))
    ticket_id = flows.new_ticket(contact_name_id=seed.contact_ids[0], ticket_number=f"N-{uuid.uuid4().hex[:8]}")
    run = flows.run([call("close", "tickets.close", {"ticket_id": TICKET, "resolution": {"code": "solved"},
                                                     "notify_requester": True,
                                                     "email": {"subject": "Closed {{ticket.ticketNumber}}"}})],
                    ticketId=ticket_id)
    assert run.status == "SUCCEEDED", run.error
    [mail] = flows.sql("SELECT * FROM email_outbox WHERE run_id = %s", (run.run_id,))
    number = ticket(flows, ticket_id)["ticket_number"]
    assert mail["to"] == [{"email": contact["email"]}] and mail["subject"] == f"Closed {number}"
    assert mail["from"] == {"email": "no-reply@example.com"} and "Resolution: solved" in mail["text"]


def test_close_without_requester_email_or_closed_status_fails(flows: Flows) -> None:
    run = flows.run([call("close", "tickets.close", {"ticket_id": TICKET, "resolution": {"code": "x"},
                                                     "notify_requester": True})], ticketId=flows.new_ticket())
    assert run.status == "FAILED"
    assert (run.error["category"], run.error["message"]) == ("ValidationError",
                                                             "Ticket has no requester contact to notify")
    assert ticket(flows, run.row["input_json"]["ticketId"])["closed_at"] is None, "the close was rolled back"


def test_link_entities(flows: Flows) -> None:
    seed = flows.seed
    ticket_id = flows.new_ticket()
    link = {"ticket_id": TICKET, "entity_type": "project", "entity_id": seed.project_id, "link_type": "related",
            "metadata": {"why": "test"}}
    run = flows.run([
        call("link", "tickets.link_entities", link, save_as="link"),
        call("duplicate", "tickets.link_entities", {**link, "metadata": {"again": True}}, on_error="continue"),
        call("asset", "tickets.link_entities", {**link, "entity_type": "asset", "entity_id": str(uuid.uuid4())},
             on_error="continue"),
        call("task", "tickets.link_entities", {**link, "entity_type": "project_task", "entity_id": str(uuid.uuid4())},
             on_error="continue"),
    ], ticketId=ticket_id)
    assert run.status == "SUCCEEDED"
    summary = run.vars()["link"]["linked_entity_summary"]
    assert summary == {"type": "project", "id": seed.project_id, "name": "Office Relocation", "url": None}
    [row] = flows.sql("SELECT * FROM ticket_entity_links WHERE ticket_id = %s", (ticket_id,))
    assert (row["entity_type"], row["link_type"], row["metadata"]) == ("project", "related", {"why": "test"})
    assert error_of(run, "duplicate")[:3] == ("ActionError", "CONFLICT", "Link already exists")
    assert error_of(run, "asset")[2] == "Asset not found"
    assert error_of(run, "task")[2] == "Project task not found"


def test_add_attachment_from_documents_and_files(flows: Flows) -> None:
    seed = flows.seed
    ticket_id = flows.new_ticket()
    file_id, big_id, exe_id, doc_id = (str(uuid.uuid4()) for _ in range(4))
    for fid, size, mime in ((file_id, 1200, "application/pdf"), (big_id, 20 * 1024 * 1024, "application/pdf"),
                            (exe_id, 10, "application/x-msdownload")):
        flows.sql("INSERT INTO external_files (tenant, file_id, file_name, original_name, mime_type, file_size, "
                  "storage_path, uploaded_by_id) VALUES (%s, %s, 'stored.bin', 'report.pdf', %s, %s, '/x', %s)",
                  (seed.tenant_id, fid, mime, size, seed.actor_user_id))
    flows.sql("INSERT INTO documents (tenant, document_id, document_name, user_id, created_by) VALUES (%s, %s, "
              "'Existing doc', %s, %s)", (seed.tenant_id, doc_id, seed.actor_user_id, seed.actor_user_id))
    run = flows.run([
        call("file", "tickets.add_attachment", {"ticket_id": TICKET, "source": {"file_id": file_id},
                                                "comment": {"body": "attached"}}, save_as="file"),
        call("doc", "tickets.add_attachment", {"ticket_id": TICKET, "source": {"document_id": doc_id}}, save_as="doc"),
        call("big", "tickets.add_attachment", {"ticket_id": TICKET, "source": {"file_id": big_id}},
             on_error="continue"),
        call("exe", "tickets.add_attachment", {"ticket_id": TICKET, "source": {"file_id": exe_id}},
             on_error="continue"),
        call("gone", "tickets.add_attachment", {"ticket_id": TICKET, "source": {"document_id": str(uuid.uuid4())}},
             on_error="continue"),
        call("url", "tickets.add_attachment", {"ticket_id": TICKET, "source": {"url": "https://example.com/a.pdf"}},
             on_error="continue"),
        call("none", "tickets.add_attachment", {"ticket_id": TICKET, "source": {}}, on_error="continue"),
        call("find", "tickets.find", {"ticket_id": TICKET, "include": {"attachments": True}}, save_as="found"),
    ], ticketId=ticket_id)
    assert run.status == "SUCCEEDED", run.error
    variables = run.vars()
    assert variables["file"]["filename"] == "report.pdf" and variables["file"]["storage_ref"] == file_id
    assert variables["file"]["mime_type"] == "application/pdf"
    assert variables["doc"] == {"attachment_id": doc_id, "filename": "Existing doc", "mime_type": None,
                                "storage_ref": None}
    assert {a["document_id"] for a in variables["found"]["attachments"]} == {variables["file"]["attachment_id"], doc_id}
    [comment] = notes(flows, ticket_id)
    assert comment["metadata"]["attachment_id"] == variables["file"]["attachment_id"]
    assert error_of(run, "big")[:3] == ("ValidationError", "VALIDATION_ERROR", "Attachment too large")
    assert error_of(run, "exe")[2] == "Attachment mime_type not allowed"
    assert error_of(run, "gone")[2] == "Document not found"
    assert error_of(run, "url")[:3] == ("TransientError", "TRANSIENT_FAILURE", "Failed to download attachment URL")
    assert "One of file_id, document_id, or url is required" in run.step("none")["error_json"]["details"]["message"]


def test_find_by_number_and_external_ref(flows: Flows) -> None:
    ref = f"ext-{uuid.uuid4().hex[:8]}"
    ticket_id = flows.new_ticket(attributes=Jsonb({"external_ref": ref}))
    flows.new_ticket(ticket_number=f"NUM-{ref}")
    run = flows.run([
        call("by-ref", "tickets.find", {"external_ref": ref}, save_as="by_ref"),
        call("by-number", "tickets.find", {"ticket_number": f"NUM-{ref}", "include": {"comments": True}},
             save_as="by_number"),
        call("none", "tickets.find", {"ticket_id": str(uuid.uuid4())}, save_as="none"),
        call("strict", "tickets.find", {"ticket_id": str(uuid.uuid4()), "on_not_found": "error"}, on_error="continue"),
        call("nothing", "tickets.find", {"include": {"attributes": True}}, on_error="continue"),
    ])
    assert run.status == "SUCCEEDED"
    variables = run.vars()
    assert variables["by_ref"]["ticket"]["ticket_id"] == ticket_id
    assert variables["by_number"]["ticket"]["ticket_number"] == f"NUM-{ref}"
    assert variables["by_number"]["comments"] == []
    assert variables["none"] == {"ticket": None, "comments": [], "attachments": []}
    assert error_of(run, "strict")[:3] == ("ActionError", "NOT_FOUND", "Ticket not found")
    assert "ticket_id, ticket_number, or external_ref is required" in \
        run.step("nothing")["error_json"]["details"]["message"]
