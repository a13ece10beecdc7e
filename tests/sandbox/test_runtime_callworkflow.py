"""control.callWorkflow the way the callWorkflow fixtures drive it: publish the child, export the parent,
patch its call step, PUT the draft, publish the parent, then trigger."""
from __future__ import annotations

import uuid

from .runtime_helpers import (
    Runtime,
    assign,
    bundle,
    event_name,
    messages,
    step_rows,
    unique,
    workflow,
)

PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def next_version(rt: Runtime, workflow_id: str) -> int:
    row = rt.t.one("SELECT coalesce(max(version), 0) + 1 AS v FROM workflow_definition_versions WHERE workflow_id = %s",
                   (workflow_id,))
    return row["v"]


def publish(rt: Runtime, workflow_id: str) -> int:
    version = next_version(rt, workflow_id)
    response = rt.http.post(f"/api/workflow-definitions/{workflow_id}/{version}/publish", json={})
    assert response.status_code == 200 and response.json()["ok"], response.text
    assert response.json()["publishedVersion"] == version
    return version


def setup_call(rt: Runtime, child_steps: list[dict], *, output_mapping: dict | None = None) -> tuple[str, str, str]:
    """Import parent + child as drafts, publish the child, patch and publish the parent."""
    name = event_name()
    parent_key, child_key = unique("rtest.parent"), unique("rtest.child")
    call = {"id": "call-child", "type": "control.callWorkflow", "workflowId": PLACEHOLDER, "workflowVersion": 1,
            "inputMapping": {"note": {"$expr": "'from ' & payload.ticketId"}, "ticketId": {"$expr": "payload.ticketId"}}}
    if output_mapping:
        call["outputMapping"] = output_mapping
    parent_steps = [{"id": "prepare", "type": "state.set", "config": {"state": "CALLING"}}, call,
                    {"id": "after", "type": "transform.assign", "config": assign(vars_done="true")}]
    ids = rt.import_bundle(bundle(workflow(parent_key, parent_steps, event=name, published=False),
                                  workflow(child_key, child_steps, event=None, published=False)))
    parent_id, child_id = ids[parent_key], ids[child_key]
    assert rt.trigger(name)["startedRuns"] == []  # drafts start nothing
    child_version = publish(rt, child_id)
    exported = rt.http.get(f"/api/workflow-definitions/{parent_id}/export")
    assert exported.status_code == 200
    draft = exported.json()["workflows"][0]["draft"]["definition"]
    step = next(s for s in draft["steps"] if s["type"] == "control.callWorkflow")
    step["workflowId"], step["workflowVersion"] = child_id, child_version
    updated = rt.http.put(f"/api/workflow-definitions/{parent_id}/1", json={"definition": draft})
    assert updated.status_code == 200, updated.text
    assert updated.json()["draft_definition"]["steps"][1]["workflowId"] == child_id
    assert updated.json()["validation_status"] == "valid"
    publish(rt, parent_id)
    return parent_id, child_id, name


def test_parent_calls_published_child(rt):
    child_steps = [{"id": "child-work", "type": "transform.assign",
                    "config": assign(vars_greeting="'hi ' & payload.note")},
                   {"id": "child-done", "type": "control.return"}]
    parent_id, child_id, name = setup_call(rt, child_steps,
                                           output_mapping={"vars.fromChild": {"$expr": "vars.childRun.vars.greeting"}})
    ticket = str(uuid.uuid4())
    run = rt.finished(rt.trigger(name, {"ticketId": ticket})["startedRuns"][0])
    assert run["status"] == "SUCCEEDED"
    assert step_rows(rt.steps(run["run_id"])) == [("prepare", "SUCCEEDED", 1), ("call-child", "SUCCEEDED", 1),
                                                  ("after", "SUCCEEDED", 1)]
    envelope = rt.envelope(run["run_id"])
    assert envelope["vars"]["fromChild"] == f"hi from {ticket}" and "childRun" not in envelope["vars"]
    [child] = rt.runs(child_id)
    assert child["status"] == "SUCCEEDED" and child["input_json"] == {"note": f"from {ticket}", "ticketId": ticket}
    assert (child["trigger_type"], child["event_type"]) == (None, None)
    parent_run = str(run["run_id"])
    assert str(child["parent_run_id"]) == parent_run and str(child["root_run_id"]) == parent_run
    assert child["trigger_metadata_json"] == {"parentRunId": parent_run, "rootRunId": parent_run,
                                              "parentStepPath": "root.steps[1]"}
    assert child["workflow_version"] == 1
    assert step_rows(rt.steps(str(child["run_id"]))) == [("child-work", "SUCCEEDED", 1), ("child-done", "SUCCEEDED", 1)]
    assert "Run started" in messages(rt.logs(str(child["run_id"])))
    assert rt.runs(parent_id)[0]["trigger_type"] == "event"


def test_child_failure_fails_the_parent_step(rt):
    child_steps = [{"id": "child-bad", "type": "transform.assign", "config": assign(vars_x="payload.nothing")}]
    parent_id, child_id, name = setup_call(rt, child_steps)
    run = rt.finished(rt.trigger(name)["startedRuns"][0])
    assert run["status"] == "FAILED"
    assert run["error_json"]["category"] == "ActionError"
    assert run["error_json"]["message"] == "Child workflow failed: Expression result is not JSON-serializable"
    assert run["error_json"]["nodePath"] == "root.steps[1]"
    assert rt.runs(child_id)[0]["status"] == "FAILED"


def test_missing_child_version_fails_without_a_child_run(rt):
    parent_id, child_id, name = setup_call(rt, [{"id": "noop", "type": "control.return"}])
    rt.t.sql("DELETE FROM workflow_definition_versions WHERE workflow_id = %s", (child_id,))
    run = rt.finished(rt.trigger(name)["startedRuns"][0])
    assert run["status"] == "FAILED"
    assert run["error_json"]["message"] == f"Workflow definition {child_id} v1 not found"
    assert rt.runs(child_id) == []


def test_republish_uses_the_next_version(rt):
    parent_id, child_id, name = setup_call(rt, [{"id": "noop", "type": "control.return"}])
    response = rt.http.post(f"/api/workflow-definitions/{child_id}/1/publish", json={})
    assert response.json() == {"ok": True, "publishedVersion": 2, "errors": [], "warnings": []}
    row = rt.t.one("SELECT status, draft_version, draft_definition FROM workflow_definitions WHERE workflow_id = %s",
                   (child_id,))
    assert row["status"] == "published" and row["draft_version"] == 3 and row["draft_definition"]["version"] == 3
    version = rt.t.one("SELECT * FROM workflow_definition_versions WHERE workflow_id = %s AND version = 2",
                       (child_id,))
    assert version["definition_json"]["version"] == 2 and version["definition_json"]["id"] == child_id
    assert version["payload_schema_json"]["title"] == "payload.TicketCreated.v1"
    assert str(version["published_by"]) == rt.t.actor_user_id
