"""``time.create_entry`` end to end: minutes, work date, time sheets, ticket and task side effects, the
audit row, errors and permissions (AlgaPSA HEAD's workflow time domain)."""
from __future__ import annotations

import json
import uuid

from .action_flows import Flows, call, expr, flows  # noqa: F401  (fixture)
from .test_actions_domain import error_of


def service_id(flows: Flows) -> str:
    row = flows.one("SELECT service_id FROM service_catalog WHERE tenant = %s", (flows.seed.tenant_id,))
    return str(row["service_id"])


def entry(flows: Flows, step_id: str, **fields: object) -> dict:
    return call(step_id, "time.create_entry", {"service_id": service_id(flows), **fields},
                save_as=step_id.replace("-", "_"), on_error="continue")


def test_entries_on_a_ticket_truncate_to_minutes_and_join_its_agents(flows: Flows) -> None:
    seed = flows.seed
    ticket_id = flows.new_ticket(assigned_to=None)
    tech = seed.technician_user_ids[0]
    link = {"type": "ticket", "id": expr("payload.ticketId")}
    run = flows.run([
        entry(flows, "mine", user_id=seed.actor_user_id, start="2026-03-02T10:15:42.123Z", duration_minutes=45,
              link=link, notes="[fixture time] triage"),
        entry(flows, "theirs", user_id=tech, start="2026-03-02T11:00:00Z", end="2026-03-02T11:29:59.999Z",
              billable_duration_minutes=15, link=link),
    ], ticketId=ticket_id)
    assert run.status == "SUCCEEDED", run.error
    mine, theirs = run.vars()["mine"]["time_entry"], run.vars()["theirs"]["time_entry"]
    assert {k: mine[k] for k in ("start_time", "end_time", "total_minutes", "billable_minutes", "work_date",
                                 "work_timezone", "approval_status", "invoiced", "notes", "work_item_type")} == {
        "start_time": "2026-03-02T10:15:00.000Z", "end_time": "2026-03-02T11:00:00.000Z", "total_minutes": 45,
        "billable_minutes": 45, "work_date": "2026-03-02", "work_timezone": "UTC", "approval_status": "DRAFT",
        "invoiced": False, "notes": "[fixture time] triage", "work_item_type": "ticket"}
    assert (theirs["total_minutes"], theirs["billable_minutes"], theirs["contract_line_id"]) == (29, 15, None)
    row = flows.one("SELECT * FROM time_entries WHERE entry_id = %s", (mine["entry_id"],))
    assert (row["billable_duration"], str(row["created_by"]), str(row["work_item_id"])) == (
        45, seed.actor_user_id, ticket_id)
    sheet = flows.one("SELECT * FROM time_sheets WHERE id = %s", (mine["time_sheet_id"],))
    assert (str(sheet["user_id"]), sheet["approval_status"]) == (seed.actor_user_id, "DRAFT")
    assert theirs["time_sheet_id"] != mine["time_sheet_id"]

    ticket = flows.one("SELECT assigned_to, updated_by FROM tickets WHERE ticket_id = %s", (ticket_id,))
    assert str(ticket["assigned_to"]) == seed.actor_user_id == str(ticket["updated_by"])
    [agent] = flows.sql("SELECT * FROM ticket_resources WHERE ticket_id = %s", (ticket_id,))
    assert (str(agent["assigned_to"]), str(agent["additional_user_id"])) == (seed.actor_user_id, tech)

    [audit, _] = flows.sql("SELECT * FROM audit_logs WHERE record_id = %s ORDER BY \"timestamp\"", (run.run_id,))
    assert audit["operation"] == "workflow_action:time.create_entry"
    assert audit["changed_data"] == {k: mine[k] for k in (
        "entry_id", "user_id", "service_id", "work_item_id", "work_item_type", "total_minutes", "billable_minutes",
        "work_date", "time_sheet_id", "contract_line_id", "approval_status")}
    assert audit["details"] == {"action_id": "time.create_entry", "action_version": 1, "step_path": "root.steps[0]",
                                "entry_id": mine["entry_id"]}


def test_user_time_zone_task_side_effects_and_detached_entries(flows: Flows) -> None:
    seed = flows.seed
    tech = seed.technician_user_ids[1]
    flows.sql("UPDATE users SET timezone = 'America/New_York' WHERE user_id = %s", (tech,))
    task_id = str(uuid.uuid4())
    flows.sql("INSERT INTO project_tasks (tenant, task_id, phase_id, task_name, wbs_code) VALUES (%s, %s, %s, %s, %s)",
              (seed.tenant_id, task_id, seed.phase_ids[1], "[fixture time] task", f"1.2.{uuid.uuid4().hex[:6]}"))
    try:
        run = flows.run([
            entry(flows, "evening", user_id=tech, start="2026-03-03T02:30:00Z", duration_minutes=50,
                  link={"type": "project_task", "id": task_id}, billable_duration_minutes=40),
            entry(flows, "free", user_id=tech, start="2026-03-03T03:30:00Z", duration_minutes=10, billable=False,
                  attach_to_timesheet=False, link={"type": "project_task", "id": task_id}),
        ])
    finally:
        flows.sql("UPDATE users SET timezone = NULL WHERE user_id = %s", (tech,))
    assert run.status == "SUCCEEDED", run.error
    evening, free = run.vars()["evening"]["time_entry"], run.vars()["free"]["time_entry"]
    assert (evening["work_date"], evening["work_timezone"]) == ("2026-03-02", "America/New_York")
    assert (free["billable_minutes"], free["total_minutes"], free["time_sheet_id"]) == (0, 10, None)
    task = flows.one("SELECT assigned_to, actual_hours FROM project_tasks WHERE task_id = %s", (task_id,))
    assert (str(task["assigned_to"]), task["actual_hours"]) == (tech, 40)


def test_entry_errors(flows: Flows) -> None:
    seed = flows.seed
    me, missing = seed.actor_user_id, str(uuid.uuid4())
    other_sheet = flows.one("SELECT id FROM time_sheets WHERE user_id <> %s LIMIT 1", (me,))
    run = flows.run([
        entry(flows, "no-end", user_id=me, start="2026-03-02T10:00:00Z"),
        entry(flows, "negative", user_id=me, start="2026-03-02T10:00:00Z", duration_minutes=-1),
        entry(flows, "backwards", user_id=me, start="2026-03-02T10:00:00Z", end="2026-03-02T09:00:00Z"),
        entry(flows, "ghost-user", user_id=missing, start="2026-03-02T10:00:00Z", duration_minutes=5),
        call("ghost-service", "time.create_entry", {"user_id": me, "service_id": missing,
                                                    "start": "2026-03-02T10:00:00Z", "duration_minutes": 5},
             on_error="continue"),
        entry(flows, "ghost-ticket", user_id=me, start="2026-03-02T10:00:00Z", duration_minutes=5,
              link={"type": "ticket", "id": missing}),
        entry(flows, "ghost-sheet", user_id=me, start="2026-03-02T10:00:00Z", duration_minutes=5,
              time_sheet_id=missing),
        entry(flows, "no-period", user_id=me, start="2040-01-01T10:00:00Z", duration_minutes=5),
    ])
    assert run.status == "SUCCEEDED"
    no_end = run.step("no-end")["error_json"]
    assert (no_end["code"], no_end["message"]) == ("INTERNAL_ERROR", "action.call failed")
    assert json.loads(no_end["details"]["message"])[0]["message"] == "Provide either end or duration_minutes"
    assert "Number must be greater than or equal to 0" in run.step("negative")["error_json"]["details"]["message"]
    assert error_of(run, "backwards") == ("ValidationError", "VALIDATION_ERROR", "end must be at or after start",
                                          {"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T09:00:00Z"})
    assert error_of(run, "ghost-user") == ("ActionError", "NOT_FOUND", "User not found", {"user_id": missing})
    assert error_of(run, "ghost-service") == ("ValidationError", "VALIDATION_ERROR",
                                              "Service is required and must exist", {"service_id": missing})
    assert error_of(run, "ghost-ticket") == ("ActionError", "NOT_FOUND", "Ticket not found", {"ticket_id": missing})
    assert error_of(run, "ghost-sheet")[1:3] == ("NOT_FOUND", "Time sheet not found")
    assert error_of(run, "no-period") == ("ValidationError", "VALIDATION_ERROR",
                                          "No open time period found for work_date", {"work_date": "2040-01-01"})
    if other_sheet:  # a sheet of another user, left by an earlier test
        wrong = flows.run([entry(flows, "wrong", user_id=me, start="2026-03-02T10:00:00Z", duration_minutes=5,
                                 time_sheet_id=str(other_sheet["id"]))])
        assert error_of(wrong, "wrong")[2] == "Time sheet owner must match time entry user"


def test_logging_for_someone_else_needs_timeentry_update(flows: Flows) -> None:
    workflow = flows.workflow([call("log", "time.create_entry", {
        "user_id": expr("payload.userId"), "service_id": service_id(flows), "start": "2026-03-02T10:00:00Z",
        "duration_minutes": 5})])
    flows.sql("UPDATE workflow_definition_versions SET published_by = %s WHERE workflow_id = %s",
              (flows.seed.technician_user_ids[0], workflow.workflow_id))
    denied = workflow.run(userId=flows.seed.actor_user_id)
    assert (denied.error["code"], denied.error["message"]) == ("PERMISSION_DENIED",
                                                               "Permission denied: timeentry:update")
    own = workflow.run(userId=flows.seed.technician_user_ids[0])
    assert own.status == "SUCCEEDED", own.error

