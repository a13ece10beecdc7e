"""``action.call`` through the real API and runtime: config and input errors, idempotency keys and
the invocation ledger, error policies, ``saveAs``, the actor and its permissions (runtime.md §3.7–3.9)."""
from __future__ import annotations

import json
import uuid

from .action_flows import Flows, call, expr, flows  # noqa: F401  (fixture)
from .v1_helpers import new_ticket

TRY_ASSIGN = {"id": "guard", "type": "control.tryCatch", "captureErrorAs": "caught",
              "try": [call("assign", "tickets.assign", {"ticket_id": expr("payload.ticketId"),
                                                        "assignee": {"type": "user", "id": expr("payload.badUser")}})],
              "catch": [call("report", "tickets.add_comment", {"ticket_id": expr("payload.ticketId"),
                                                               "body": expr("'caught: ' & vars.caught.message")}),
                        {"id": "done", "type": "control.return"}]}


def comments(flows: Flows, ticket_id: str) -> list[dict]:
    return flows.sql("SELECT * FROM comments WHERE tenant = %s AND ticket_id = %s ORDER BY created_at",
                     (flows.seed.tenant_id, ticket_id))


def test_unknown_action_and_strict_config_fail_the_step(flows: Flows) -> None:
    workflow = flows.workflow([
        call("unknown", "tickets.find", {"ticket_id": expr("payload.ticketId")}, on_error="continue"),
        {"id": "extra", "type": "action.call", "onError": {"policy": "continue"},
         "config": {"actionId": "tickets.find", "version": 1, "outputs": []}},
    ])
    flows.sql("UPDATE workflow_definition_versions SET definition_json = jsonb_set(definition_json::jsonb, "
              "'{steps,0,config,actionId}', '\"tickets.nothing\"')::json WHERE workflow_id = %s", (workflow.workflow_id,))
    run = workflow.run()
    assert run.status == "SUCCEEDED"
    unknown, extra = run.step("unknown")["error_json"], run.step("extra")["error_json"]
    assert (unknown["category"], unknown["message"]) == ("ValidationError", "Unknown action tickets.nothing@1")
    assert (extra["category"], extra["code"], extra["message"]) == ("ValidationError", "VALIDATION_ERROR",
                                                                     "Validation failed")
    assert extra["issues"][0]["code"] == "unrecognized_keys" and extra["issues"][0]["keys"] == ["outputs"]
    assert run.invocations() == []


def test_invalid_input_is_reported_like_the_fixture_era(flows: Flows) -> None:
    run = flows.run([call("comment", "tickets.add_comment", {"ticket_id": "not-a-uuid", "visibility": "loud"})])
    assert run.status == "FAILED"
    error = run.error
    assert (error["category"], error["code"], error["message"]) == ("ActionError", "INTERNAL_ERROR",
                                                                     "action.call failed")
    assert error["details"]["name"] == "ZodError" and error["nodePath"] == "root.steps[0]"
    issues = json.loads(error["details"]["message"])
    assert [(i["path"], i["code"]) for i in issues] == [
        (["ticket_id"], "invalid_string"), (["body"], "invalid_type"), (["visibility"], "invalid_enum_value")]
    assert issues[1]["message"] == "Required"
    assert run.invocations() == [], "input validation happens before the ledger"


def test_secret_refs_cannot_resolve_inside_runs(flows: Flows) -> None:
    run = flows.run([call("comment", "tickets.add_comment", {"ticket_id": expr("payload.ticketId"),
                                                             "body": {"$secret": "API_TOKEN"}})])
    assert run.status == "FAILED"
    assert run.error["category"] == "ActionError" and run.error["path"] == "/body"
    assert run.error["message"] == ('Failed to resolve secret "API_TOKEN": '
                                    "Secret resolution not available in this context: API_TOKEN")


def test_dedupe_key_makes_one_notification_across_runs(flows: Flows) -> None:
    workflow = flows.workflow([call("notify", "notifications.send_in_app", {
        "recipients": expr('{"user_ids": [payload.userId]}'), "title": "[fixture dedupe] hello",
        "body": expr("'dedupe ' & payload.dedupeKey"), "dedupe_key": expr("payload.dedupeKey")})])
    key = f"dedupe-{uuid.uuid4()}"
    first = workflow.run(userId=flows.seed.actor_user_id, dedupeKey=key)
    second = workflow.run(userId=flows.seed.actor_user_id, dedupeKey=key)
    assert (first.status, second.status) == ("SUCCEEDED", "SUCCEEDED")
    rows = flows.sql("SELECT * FROM internal_notifications WHERE tenant = %s AND message = %s",
                     (flows.seed.tenant_id, f"dedupe {key}"))
    assert len(rows) == 1 and rows[0]["title"] == "[fixture dedupe] hello"
    [invocation] = first.invocations()
    assert invocation["idempotency_key"] == f"{flows.seed.tenant_id}:{key}"
    assert invocation["status"] == "SUCCEEDED" and invocation["output_json"]["delivered_count"] == 1
    assert second.invocations() == [] and second.logs() == [], "a cached key runs nothing"


def test_foreach_iterations_with_identical_inputs_each_act(flows: Flows) -> None:
    ticket_id = flows.new_ticket()
    body = [call("comment", "tickets.add_comment", {"ticket_id": expr("payload.ticketId"), "body": "same text"})]
    keyed = [call("keyed", "tickets.add_comment", {"ticket_id": expr("payload.ticketId"), "body": "keyed text"},
                  key="'one-key-' & payload.ticketId")]
    run = flows.run([
        {"id": "loop", "type": "control.forEach", "items": expr("payload.items"), "itemVar": "item", "body": body},
        {"id": "keyed-loop", "type": "control.forEach", "items": expr("payload.items"), "itemVar": "item",
         "body": keyed},
    ], ticketId=ticket_id, items=["x", "x"])
    assert run.status == "SUCCEEDED"
    assert [c["note"] for c in comments(flows, ticket_id)] == ["same text", "same text", "keyed text"]
    keys = [i["idempotency_key"] for i in run.invocations()]
    assert len(keys) == 3 and len(set(keys[:2])) == 2
    assert keys[0].endswith(":root.steps[0].body.steps[0]") and keys[1].endswith(":root.steps[0].body.body.steps[0]")
    assert keys[2] == f"{flows.seed.tenant_id}:one-key-{ticket_id}"


def test_a_key_whose_invocation_failed_is_not_run_again(flows: Flows) -> None:
    ticket_id = str(uuid.uuid4())
    workflow = flows.workflow([call("assign", "tickets.assign", {
        "ticket_id": expr("payload.ticketId"), "assignee": {"type": "user", "id": expr("payload.userId")}},
        key="'assign-' & payload.ticketId")])
    failed = workflow.run(ticketId=ticket_id, userId=flows.seed.technician_user_ids[0])
    assert failed.status == "FAILED" and failed.error["message"] == "Ticket not found"
    assert failed.error["details"] == {"ticket_id": ticket_id}
    [row] = failed.invocations()
    assert (row["status"], row["attempt"]) == ("FAILED", 1)
    assert json.loads(row["error_message"])["code"] == "NOT_FOUND"

    flows.new_ticket(ticket_id=ticket_id)
    again = workflow.run(ticketId=ticket_id, userId=flows.seed.technician_user_ids[0])
    assert again.status == "FAILED" and again.invocations() == []
    assert {k: again.error[k] for k in ("category", "code", "message")} == {
        "category": "ActionError", "code": "INTERNAL_ERROR", "message": "action.call failed"}
    assert again.error["details"]["message"] == \
        'duplicate key value violates unique constraint "workflow_action_invocations_idempotency_unique"'
    assert flows.one("SELECT status, attempt FROM workflow_action_invocations WHERE invocation_id = %s",
                     (row["invocation_id"],)) == {"status": "FAILED", "attempt": 1}
    assert flows.one("SELECT assigned_to FROM tickets WHERE ticket_id = %s", (ticket_id,))["assigned_to"] is None


def test_database_errors_are_internal_errors(flows: Flows) -> None:
    run = flows.run([call("search", "contacts.search", {"query": "North"})])
    assert run.status == "FAILED"
    assert {k: run.error[k] for k in ("category", "code", "message", "details")} == {
        "category": "ActionError", "code": "INTERNAL_ERROR", "message": 'column "phone" does not exist',
        "details": {"name": "error"}}
    [row] = run.invocations()
    assert row["status"] == "FAILED" and json.loads(row["error_message"])["code"] == "INTERNAL_ERROR"


def test_upper_case_ids_compare_as_text(flows: Flows) -> None:
    seed = flows.seed
    ticket_id = flows.new_ticket(assigned_to=seed.technician_user_ids[0])
    upper = seed.technician_user_ids[0].upper()
    run = flows.run([
        call("notify", "notifications.send_in_app", {"recipients": {"user_ids": [upper]}, "title": "t", "body": "b"},
             on_error="continue"),
        call("assign", "tickets.assign", {"ticket_id": expr("payload.ticketId"), "assignee": {"type": "user",
                                                                                              "id": upper}},
             save_as="assigned"),
    ], ticketId=ticket_id)
    assert run.status == "SUCCEEDED", run.error
    assert run.step("notify")["error_json"]["details"] == {"missing_user_ids": [upper]}
    audit = flows.one("SELECT changed_data FROM audit_logs WHERE record_id = %s AND operation = %s",
                      (run.run_id, "workflow_action:tickets.assign"))
    assert "noop" not in audit["changed_data"], "an upper-case id is not the current assignee"
    assert run.vars()["assigned"]["assigned_to"] == seed.technician_user_ids[0]


def test_try_catch_captures_user_not_found(flows: Flows) -> None:
    ticket_id = flows.new_ticket()
    run = flows.run([TRY_ASSIGN], ticketId=ticket_id, badUser=str(uuid.uuid4()))
    assert run.status == "SUCCEEDED" and run.error is None
    assert [c["note"] for c in comments(flows, ticket_id)] == ["caught: User not found"]
    caught = run.vars()["caught"]
    assert (caught["category"], caught["code"], caught["message"]) == ("ActionError", "NOT_FOUND", "User not found")
    assert caught["nodePath"] == "root.steps[0].try.steps[0]" and set(caught["details"]) == {"user_id"}
    assert run.step("assign")["status"] == "FAILED"


def test_unhandled_user_not_found_fails_the_run(flows: Flows) -> None:
    bad_user = str(uuid.uuid4())
    run = flows.run(TRY_ASSIGN["try"], ticketId=flows.new_ticket(), badUser=bad_user)
    assert run.status == "FAILED"
    assert {k: run.error[k] for k in ("category", "code", "message", "details", "nodePath")} == {
        "category": "ActionError", "code": "NOT_FOUND", "message": "User not found",
        "details": {"user_id": bad_user}, "nodePath": "root.steps[0]"}


def test_config_on_error_continue_keeps_going(flows: Flows) -> None:
    ticket_id = flows.new_ticket()
    failing = call("assign", "tickets.assign", {"ticket_id": expr("payload.ticketId"),
                                                "assignee": {"type": "user", "id": str(uuid.uuid4())}})
    failing["config"]["onError"] = {"policy": "continue"}
    run = flows.run([failing, call("after", "tickets.add_comment", {"ticket_id": expr("payload.ticketId"),
                                                                    "body": expr("'after ' & error.message")})],
                    ticketId=ticket_id)
    assert run.status == "SUCCEEDED"
    assigned = run.step("assign")
    assert assigned["status"] == "SUCCEEDED" and assigned["error_json"]["message"] == "User not found"
    assert [c["note"] for c in comments(flows, ticket_id)] == ["after User not found"]


def test_save_as_keeps_attribute_types(flows: Flows) -> None:
    attributes = {"fixture_is_vip": True, "fixture_notify_user_ids": [flows.seed.actor_user_id],
                  "fixture_level": 3, "fixture_meta": {"tier": "gold", "flags": [False, None]}}
    ticket = new_ticket(flows.api, attributes=attributes)
    run = flows.run([
        call("load", "tickets.find", {"ticket_id": expr("payload.ticketId"), "include": {"attributes": True}},
             save_as="vars.lookup"),
        call("plain", "tickets.find", {"ticket_id": expr("payload.ticketId")}, save_as="bare"),
        {"id": "vip", "type": "control.if", "condition": expr("vars.lookup.ticket.attributes.fixture_is_vip"),
         "then": [call("notify", "notifications.send_in_app", {
             "recipients": expr('{"user_ids": vars.lookup.ticket.attributes.fixture_notify_user_ids}'),
             "title": "[fixture vip]", "body": expr("'vip ' & payload.ticketId")})]},
    ], ticketId=ticket["ticket_id"])
    assert run.status == "SUCCEEDED", run.error
    variables = run.vars()
    assert variables["lookup"]["ticket"]["attributes"] == attributes
    assert variables["lookup"]["ticket"]["ticket_number"] == ticket["ticket_number"]
    assert "attributes" not in variables["bare"]["ticket"]
    assert flows.one("SELECT count(*) AS n FROM internal_notifications WHERE message = %s",
                     (f"vip {ticket['ticket_id']}",))["n"] == 1


def test_ledger_logs_and_audit_of_one_invocation(flows: Flows) -> None:
    ticket_id = flows.new_ticket()
    run = flows.run([call("comment", "tickets.add_comment", {"ticket_id": expr("payload.ticketId"),
                                                             "body": "[fixture ledger] note", "extra": 1})],
                    ticketId=ticket_id)
    assert run.status == "SUCCEEDED"
    [row] = run.invocations()
    assert row["lease_owner"] == f"run:{run.run_id}" and row["lease_expires_at"] > row["started_at"]
    assert row["input_json"] == {"ticket_id": ticket_id, "body": "[fixture ledger] note", "visibility": "public"}
    assert row["idempotency_key"] == f"{flows.seed.tenant_id}:run:{run.run_id}:root.steps[0]"
    started, succeeded = run.logs()
    assert (started["message"], succeeded["message"]) == ("Action invocation started", "Action invocation succeeded")
    assert started["context_json"]["inputPreview"] == {"truncated": False, "preview": row["input_json"],
                                                       "sizeBytes": started["context_json"]["inputSizeBytes"]}
    assert succeeded["context_json"]["outputPreview"]["preview"] == row["output_json"]
    [audit] = flows.sql("SELECT * FROM audit_logs WHERE record_id = %s", (run.run_id,))
    assert audit["operation"] == "workflow_action:tickets.add_comment" and audit["table_name"] == "workflow_runs"
    assert audit["user_id"] == flows.seed.actor_user_id
    assert audit["details"] == {"action_id": "tickets.add_comment", "action_version": 1, "step_path": "root.steps[0]",
                                "ticket_id": ticket_id, "comment_id": row["output_json"]["comment_id"]}
    [comment] = comments(flows, ticket_id)
    assert comment["metadata"] == {"source": "workflow", "run_id": run.run_id, "step_path": "root.steps[0]"}
    assert comment["author_type"] == "internal" and str(comment["user_id"]) == flows.seed.actor_user_id


def test_actor_without_roles_is_denied_and_a_missing_actor_fails(flows: Flows) -> None:
    steps = [call("notify", "notifications.send_in_app", {"recipients": expr('{"user_ids": [payload.userId]}'),
                                                          "title": "t", "body": "b"}),
             call("comment", "tickets.add_comment", {"ticket_id": expr("payload.ticketId"), "body": "x"})]
    workflow = flows.workflow(steps)
    flows.sql("UPDATE workflow_definition_versions SET published_by = %s WHERE workflow_id = %s",
              (flows.seed.inactive_user_id, workflow.workflow_id))
    denied = workflow.run(ticketId=flows.new_ticket(), userId=flows.seed.actor_user_id)
    assert denied.status == "FAILED" and denied.step("notify")["status"] == "SUCCEEDED"
    assert {k: denied.error[k] for k in ("category", "code", "message", "details")} == {
        "category": "ActionError", "code": "PERMISSION_DENIED", "message": "Permission denied: ticket:update",
        "details": {"resource": "ticket", "action": "update"}}

    flows.sql("UPDATE workflow_definition_versions SET published_by = NULL WHERE workflow_id = %s",
              (workflow.workflow_id,))
    flows.sql("UPDATE workflow_definitions SET created_by = NULL WHERE workflow_id = %s", (workflow.workflow_id,))
    orphan = workflow.run(ticketId=flows.new_ticket(), userId=flows.seed.actor_user_id)
    assert orphan.status == "FAILED"
    assert (orphan.error["code"], orphan.error["message"]) == ("INTERNAL_ERROR", "Workflow actor user not found")
    assert [i["status"] for i in orphan.invocations()] == ["FAILED"]


def test_failed_action_rolls_back_its_writes(flows: Flows) -> None:
    run = flows.run([call("notify", "notifications.send_in_app", {
        "recipients": {"user_ids": [flows.seed.actor_user_id, str(uuid.uuid4())]}, "title": "t",
        "body": expr("'rollback ' & payload.ticketId")})])
    assert run.status == "FAILED" and run.error["message"] == "One or more users not found"
    message = f"rollback {run.row['input_json']['ticketId']}"
    assert flows.sql("SELECT 1 FROM internal_notifications WHERE message = %s", (message,)) == []
    assert flows.sql("SELECT 1 FROM audit_logs WHERE record_id = %s", (run.run_id,)) == []
    assert [i["status"] for i in run.invocations()] == ["FAILED"]
