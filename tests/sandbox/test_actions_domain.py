"""Notification, project, CRM, scheduling, email and lookup actions end to end (runtime.md §4.2–4.3,
§4.7, §4.9–4.10, §4.12)."""
from __future__ import annotations

import json
import random
import uuid

from psycopg.types.json import Jsonb

from .action_flows import (  # noqa: F401  (fixtures)
    Flows,
    call,
    email_settings,
    expr,
    flows,
    tenant_email_settings,
)


def error_of(run, step_id: str) -> tuple:
    error = run.step(step_id)["error_json"]
    return error["category"], error.get("code"), error["message"], error.get("details")


def test_notifications_resolve_roles_and_reject_unknown_users(flows: Flows) -> None:
    seed = flows.seed
    marker = f"[fixture notify {uuid.uuid4().hex[:6]}]"
    ghost = str(uuid.uuid4())
    run = flows.run([
        call("notify", "notifications.send_in_app", {
            "recipients": {"user_ids": [seed.actor_user_id], "role_names": ["TECHNICIAN"]},
            "title": marker, "body": "body text", "severity": "warning", "link": "/msp/tickets"}, save_as="sent"),
        call("ghost", "notifications.send_in_app", {"recipients": {"user_ids": [ghost]}, "title": marker,
                                                    "body": "ghost"}, on_error="continue"),
        call("nobody", "notifications.send_in_app", {"recipients": {"role_names": ["No Such Role"]}, "title": marker,
                                                     "body": "nobody"}, on_error="continue"),
    ])
    assert run.status == "SUCCEEDED"
    rows = flows.sql("SELECT * FROM internal_notifications WHERE title = %s ORDER BY created_at", (marker,))
    assert sorted(str(r["user_id"]) for r in rows) == sorted([seed.actor_user_id, *seed.technician_user_ids])
    first = rows[0]
    assert (first["template_name"], first["language_code"], first["type"], first["category"]) == (
        "workflow-custom", "en", "warning", "workflow")
    assert (first["message"], first["link"], first["delivery_status"], first["is_read"]) == (
        "body text", "/msp/tickets", "pending", False)
    assert first["metadata"] == {"source": "workflow", "run_id": run.run_id, "step_path": "root.steps[0]"}
    assert run.vars()["sent"]["delivered_count"] == 3
    assert error_of(run, "ghost") == ("ActionError", "NOT_FOUND", "One or more users not found",
                                      {"missing_user_ids": [ghost]})
    assert error_of(run, "nobody")[:3] == ("ValidationError", "VALIDATION_ERROR",
                                           "At least one recipient user_id is required")


def test_create_task_defaults_links_and_errors(flows: Flows) -> None:
    seed = flows.seed
    ticket_id = flows.new_ticket()
    manager = str(flows.one("SELECT manager_id FROM teams WHERE team_id = %s", (seed.team_id,))["manager_id"])
    count = flows.one("SELECT count(*) AS n FROM project_tasks WHERE phase_id = %s", (seed.phase_ids[0],))["n"]
    run = flows.run([
        call("task", "projects.create_task", {"project_id": seed.project_id, "title": "[fixture task] kickoff",
                                              "assignee": {"type": "team", "id": seed.team_id},
                                              "link_ticket_id": expr("payload.ticketId")}, save_as="task"),
        call("no-project", "projects.create_task", {"project_id": str(uuid.uuid4()), "title": "x"},
             on_error="continue"),
        call("bad-status", "projects.create_task", {"project_id": seed.project_id, "title": "x",
                                                    "status_id": seed.status_id}, on_error="continue"),
        call("bad-user", "projects.create_task", {"project_id": seed.project_id, "title": "x",
                                                  "assignee": {"type": "user", "id": str(uuid.uuid4())}},
             on_error="continue"),
    ], ticketId=ticket_id)
    assert run.status == "SUCCEEDED", run.error
    task = run.vars()["task"]
    row = flows.one("SELECT * FROM project_tasks WHERE task_id = %s", (task["task_id"],))
    assert row["task_name"] == "[fixture task] kickoff" and str(row["phase_id"]) == seed.phase_ids[0]
    assert row["wbs_code"] == f"1.1.{count + 1}" and str(row["assigned_to"]) == manager
    assert str(row["status_id"]) == seed.task_status_id == task["status_id"]
    assert task["url"] == f"/msp/projects/{seed.project_id}?task={task['task_id']}"
    [link] = flows.sql("SELECT * FROM ticket_entity_links WHERE ticket_id = %s", (ticket_id,))
    assert (link["entity_type"], str(link["entity_id"])) == ("project_task", task["task_id"])
    assert flows.sql("SELECT 1 FROM project_ticket_links WHERE task_id = %s", (task["task_id"],)) != []
    assert error_of(run, "no-project")[:3] == ("ActionError", "NOT_FOUND", "Project not found")
    assert error_of(run, "bad-status")[:3] == ("ValidationError", "VALIDATION_ERROR", "Invalid project task status_id")
    assert error_of(run, "bad-user")[2] == "Assignee user not found"


def test_create_task_with_an_unknown_ticket_fails_after_the_swallowed_link_error(flows: Flows) -> None:
    seed = flows.seed
    title = f"[fixture task] orphan link {uuid.uuid4().hex[:6]}"
    run = flows.run([call("task", "projects.create_task", {"project_id": seed.project_id, "title": title,
                                                           "link_ticket_id": str(uuid.uuid4())})])
    assert run.status == "FAILED"
    assert (run.error["code"], run.error["message"]) == (
        "INTERNAL_ERROR", "current transaction is aborted, commands ignored until end of transaction block")
    assert flows.sql("SELECT 1 FROM project_tasks WHERE task_name = %s", (title,)) == []


def test_crm_notes_on_clients_tickets_and_projects(flows: Flows) -> None:
    seed = flows.seed
    ticket_id = flows.new_ticket(contact_name_id=seed.contact_ids[0])
    marker = f"[fixture crm {uuid.uuid4().hex[:6]}]"
    run = flows.run([
        call("client", "crm.create_activity_note", {"target": {"type": "client", "id": seed.client_id},
                                                    "body": marker, "category": "Workflow Fixture"}, save_as="note"),
        call("ticket", "crm.create_activity_note", {"target": {"type": "ticket", "id": expr("payload.ticketId")},
                                                    "body": marker + " ticket", "tags": ["t1"]}),
        call("project", "crm.create_activity_note", {"target": {"type": "project", "id": seed.project_id},
                                                     "body": "x", "visibility": "client_visible"},
             on_error="continue"),
        call("contact", "crm.create_activity_note", {"target": {"type": "contact", "id": str(uuid.uuid4())},
                                                     "body": "x"}, on_error="continue"),
    ], ticketId=ticket_id)
    assert run.status == "SUCCEEDED", run.error
    client_note, ticket_note = flows.sql("SELECT * FROM interactions WHERE notes LIKE %s ORDER BY notes",
                                         (marker + "%",))
    assert str(client_note["client_id"]) == seed.client_id and client_note["title"] == "Workflow Fixture"
    assert str(client_note["type_id"]) == seed.note_type_id and str(client_note["user_id"]) == seed.actor_user_id
    assert (client_note["visibility"], client_note["duration"]) == ("internal", 0)
    assert str(ticket_note["ticket_id"]) == ticket_id and str(ticket_note["contact_name_id"]) == seed.contact_ids[0]
    assert ticket_note["title"] == "Note" and ticket_note["tags"] == ["t1"]
    assert run.vars()["note"]["target_summary"] == {"client_id": seed.client_id, "client_name": "Northwind Traders"}
    assert error_of(run, "project")[:3] == ("ValidationError", "VALIDATION_ERROR",
                                            "client_visible notes are not supported for project targets")
    assert error_of(run, "contact")[:3] == ("ActionError", "NOT_FOUND", "Contact not found")


def test_scheduling_conflict_modes(flows: Flows) -> None:
    seed = flows.seed
    tech = seed.technician_user_ids[1]
    ticket_id = flows.new_ticket()
    day = f"{random.randint(2031, 2099)}-03-{random.randint(10, 28)}"  # a free day even on a reused sandbox

    def assign(step_id: str, start: str, end: str, mode: str, user: str = tech) -> dict:
        return call(step_id, "scheduling.assign_user", {
            "user_id": user, "window": {"start": f"{day}T{start}:00.000Z", "end": f"{day}T{end}:00.000Z"},
            "link": {"type": "ticket", "id": expr("payload.ticketId")}, "title": f"[fixture {step_id}]",
            "conflict_mode": mode}, save_as=step_id.replace("-", "_"), on_error="continue")

    run = flows.run([
        assign("first", "09:00", "10:00", "fail"),
        assign("clash", "09:30", "10:30", "fail"),
        assign("shifted", "09:30", "10:30", "shift"),
        assign("overlap", "09:15", "09:45", "override"),
        assign("backwards", "12:00", "11:00", "fail"),
        assign("not-tech", "13:00", "14:00", "fail", user=seed.actor_user_id),
    ], ticketId=ticket_id)
    assert run.status == "SUCCEEDED"
    variables = run.vars()
    assert variables["shifted"]["start"] == f"{day}T10:00:00.000Z" and variables["shifted"]["end"] == \
        f"{day}T11:00:00.000Z"
    entry = flows.one("SELECT * FROM schedule_entries WHERE entry_id = %s", (variables["first"]["schedule_event_id"],))
    assert (entry["title"], entry["status"], entry["work_item_type"], str(entry["work_item_id"])) == (
        "[fixture first]", "scheduled", "ticket", ticket_id)
    conflicts = flows.sql("SELECT entry_id_2 FROM schedule_conflicts WHERE entry_id_1 = %s",
                          (variables["overlap"]["schedule_event_id"],))
    assert [str(c["entry_id_2"]) for c in conflicts] == [variables["first"]["schedule_event_id"]]
    assert error_of(run, "clash")[:3] == ("ActionError", "CONFLICT", "Schedule conflict detected")
    assert error_of(run, "backwards")[:3] == ("ValidationError", "VALIDATION_ERROR",
                                              "window.start must be before window.end")
    assert error_of(run, "not-tech")[:3] == ("ActionError", "PERMISSION_DENIED",
                                             "User is not eligible for scheduling (requires Technician role)")


def test_email_send_needs_tenant_settings(flows: Flows) -> None:
    with tenant_email_settings(flows, None):
        run = flows.run([call("send", "email.send", {"to": [{"email": "someone@example.com"}], "subject": "hi"})])
    assert run.status == "FAILED"
    assert (run.error["category"], run.error["code"], run.error["message"]) == (
        "ActionError", "VALIDATION_ERROR", "Tenant email settings not configured")
    assert [s["attempt"] for s in run.steps()] == [1], "only TransientErrors are retried"


def test_email_send_records_one_outbox_message(flows: Flows, email_settings: None) -> None:
    key = f"email-{uuid.uuid4()}"
    workflow = flows.workflow([
        call("send", "email.send", {
            "to": expr('[{"email": payload.to}]'), "subject": "Hello {{user.name}}",
            "html": "<p>Hi {{user.name}}, {{missing}}</p>", "template_data": {"user": {"name": "Ada"}},
            "idempotency_key": expr("payload.key")}, save_as="sent"),
        call("foreign", "email.send", {"to": [{"email": "a@example.com"}], "subject": "x",
                                       "from": {"email": "me@elsewhere.test"}}, on_error="continue"),
        call("provider", "email.send", {"to": [{"email": "a@example.com"}], "subject": "x",
                                        "provider_id": "nope"}, on_error="continue"),
    ])
    run = workflow.run(to="requester@example.com", key=key)
    assert run.status == "SUCCEEDED", run.error
    [mail] = flows.sql("SELECT * FROM email_outbox WHERE run_id = %s", (run.run_id,))
    assert mail["to"] == [{"email": "requester@example.com"}] and mail["from"] == {"email": "no-reply@example.com"}
    assert (mail["subject"], mail["html"], mail["text"]) == ("Hello Ada", "<p>Hi Ada, {{missing}}</p>",
                                                            "Hi Ada, {{missing}}")
    assert mail["provider_id"] == "fixture-smtp"
    sent = run.vars()["sent"]
    assert (sent["success"], sent["status"], sent["provider_type"], sent["message_id"]) == (
        True, "sent", "smtp", mail["message_id"])
    assert error_of(run, "foreign")[:3] == ("ValidationError", "VALIDATION_ERROR",
                                            "From address domain is not allowed for this tenant")
    assert error_of(run, "provider")[2] == "Unknown provider_id"
    again = workflow.run(to="requester@example.com", key=key)
    assert again.status == "SUCCEEDED"
    assert flows.sql("SELECT 1 FROM email_outbox WHERE run_id = %s", (again.run_id,)) == [], \
        "the same idempotency_key sends once"


def test_client_and_contact_lookups(flows: Flows) -> None:
    seed = flows.seed
    contact = flows.one("SELECT * FROM contacts WHERE contact_name_id = %s", (seed.contact_ids[0],))
    flows.sql("DELETE FROM contact_phone_numbers WHERE contact_name_id = %s", (seed.contact_ids[0],))
    flows.sql("INSERT INTO contact_phone_numbers (tenant, contact_name_id, phone_number, canonical_type, is_default, "
              "display_order) VALUES (%s, %s, '+1 (555) 010-0000', 'mobile', false, 0), "
              "(%s, %s, '+1 (555) 010-4477', 'work', true, 1)", (seed.tenant_id, seed.contact_ids[0]) * 2)
    flows.sql("UPDATE clients SET properties = %s WHERE client_id = %s",
              (Jsonb({"external_ref": "crm:42", "vip": True}), seed.client_ids[1]))
    flows.sql("UPDATE clients SET properties = %s WHERE client_id = %s",
              (Jsonb(json.dumps({"tier": "gold"})), seed.client_ids[2]))
    run = flows.run([
        call("by-email", "contacts.find", {"email": contact["email"].upper()}, save_as="by_email"),
        call("by-phone", "contacts.find", {"phone": "1-555-010-4477"}, on_error="continue"),
        call("short-phone", "contacts.find", {"phone": "555-010-447", "phone_match": "last10"}, on_error="continue"),
        call("scoped", "contacts.find", {"email": contact["email"], "client_id": seed.client_ids[2],
                                         "on_not_found": "error"}, on_error="continue"),
        call("client", "clients.find", {"name": "northwind traders", "include_primary_contact": True},
             save_as="client"),
        call("by-ref", "clients.find", {"external_ref": "crm:42"}, save_as="by_ref"),
        call("by-id", "clients.find", {"client_id": seed.client_ids[1]}, on_error="continue"),
        call("text-props", "clients.find", {"client_id": seed.client_ids[2]}, save_as="text_props"),
        call("bad-ref", "clients.find", {"external_ref": "no spaces"}, on_error="continue"),
        call("clients", "clients.search", {"query": "o", "page_size": 1}, on_error="continue"),
        call("search", "clients.search", {"query": "co", "page_size": 1}, save_as="search"),
    ])
    assert run.status == "SUCCEEDED", run.error
    variables = run.vars()
    assert variables["by_email"]["contact"]["contact_name_id"] == seed.contact_ids[0]
    assert variables["by_email"]["contact"]["phone"] == "+1 (555) 010-4477"
    assert error_of(run, "by-phone")[:3] == ("ActionError", "INTERNAL_ERROR", 'column "phone" does not exist')
    assert error_of(run, "short-phone")[2] == "phone is invalid"
    assert error_of(run, "scoped") == ("ActionError", "NOT_FOUND", "Contact not found", {"matched_by": "email"})
    assert variables["client"]["client"]["client_id"] == seed.client_id
    assert variables["client"]["primary_contact"] == {
        "contact_name_id": seed.contact_ids[0], "full_name": contact["full_name"], "email": contact["email"],
        "phone": None, "client_id": seed.client_id}
    assert variables["client"]["client"]["client_type"] == "company"
    assert variables["by_ref"]["client"]["properties"] == {"external_ref": "crm:42", "vip": True}
    assert error_of(run, "by-id") == ("ActionError", "INTERNAL_ERROR", '"[object Object]" is not valid JSON',
                                      {"name": "SyntaxError"})
    assert variables["text_props"]["client"]["properties"] == {"tier": "gold"}
    assert "external_ref has invalid format" in run.step("bad-ref")["error_json"]["details"]["message"]
    assert error_of(run, "clients")[2] == "query must be at least 2 characters"
    search = variables["search"]
    names = [r["client_name"] for r in flows.sql(
        "SELECT client_name FROM clients WHERE tenant = %s AND client_name ILIKE '%%co%%' ORDER BY client_name",
        (seed.tenant_id,))]
    assert (search["total"], search["page"], search["page_size"]) == (len(names), 1, 1)
    assert [c["client_name"] for c in search["clients"]] == names[:1] == [search["first_client"]["client_name"]]
