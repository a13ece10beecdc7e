"""Import refuses bundles whose definitions need what the runtime lacks, and malformed triggers."""
from __future__ import annotations

import pytest

from .runtime_helpers import Runtime, bundle, event_name, unique, workflow


def refused(rt: Runtime, data: dict) -> dict:
    response = rt.http.post("/api/workflow-definitions/import", params={"force": "true"}, json=data)
    assert response.status_code == 400, response.text
    return response.json()


def test_undeclared_dependencies_in_definitions_are_refused(rt):
    key = unique("rtest.deps")
    steps = [{"id": "guard", "type": "control.tryCatch", "catch": [],
              "try": [{"id": "nested", "type": "control.if", "condition": {"$expr": "true"},
                       "then": [{"id": "call", "type": "action.call",
                                 "config": {"actionId": "made.up_action", "version": 3}},
                                {"id": "human", "type": "human.task", "config": {}}]}]}]
    wf = workflow(key, steps, event=event_name())
    wf["dependencies"] = {"actions": [], "nodeTypes": [], "schemaRefs": []}
    wf["draft"]["definition"]["payloadSchemaRef"] = "payload.NotRegistered.v1"
    body = refused(rt, bundle(wf))
    assert body["error"] == "Workflow bundle has missing runtime dependencies."
    details = body["details"]
    assert details["missingActions"] == [{"actionId": "made.up_action", "version": 3}]
    assert "human.task" in details["missingNodeTypes"] and "control.tryCatch" not in details["missingNodeTypes"]
    assert details["missingSchemaRefs"] == ["payload.NotRegistered.v1"]
    [entry] = details["missingByWorkflow"]
    assert entry["workflowKey"] == key and entry["missingActions"] == details["missingActions"]
    assert rt.t.one("SELECT 1 FROM workflow_definitions WHERE key = %s", (key,)) is None


def test_unknown_control_block_is_a_missing_node_type(rt):
    wf = workflow(unique("rtest.deps"), [{"id": "x", "type": "control.parallel"}], event=event_name())
    body = refused(rt, bundle(wf))
    assert body["details"]["missingNodeTypes"] == ["control.parallel"]


def test_declared_missing_dependencies_are_listed_first(rt):
    wf = workflow(unique("rtest.deps"), [{"id": "s", "type": "state.set", "config": {"state": "A"}}],
                  event=event_name())
    wf["dependencies"]["nodeTypes"] = ["time.wait", "control.whatever"]
    body = refused(rt, bundle(wf))
    assert body["details"]["missingNodeTypes"] == ["time.wait"]


@pytest.mark.parametrize("trigger, where", [
    ({"type": "event"}, "/workflows/0/metadata/trigger/eventName"),
    ({"type": "webhook", "eventName": "X"}, "/workflows/0/metadata/trigger/type"),
    ({"type": "event", "eventName": "X", "extra": True}, "/workflows/0/metadata/trigger"),
    ({"type": "event", "eventName": "X", "payloadMapping": []}, "/workflows/0/metadata/trigger/payloadMapping"),
])
def test_malformed_triggers_are_refused(rt, trigger, where):
    wf = workflow(unique("rtest.trigger"), [{"id": "s", "type": "state.set", "config": {"state": "A"}}],
                  event=event_name())
    wf["metadata"]["trigger"] = trigger
    body = refused(rt, bundle(wf))
    assert body["error"].startswith(f"Workflow bundle failed schema validation ({where}: ")
    assert body["details"]["errors"][0]["instancePath"] == where


def test_definition_trigger_is_checked_too(rt):
    wf = workflow(unique("rtest.trigger"), [{"id": "s", "type": "state.set", "config": {"state": "A"}}],
                  event=event_name())
    wf["publishedVersions"][0]["definition"] = {**wf["publishedVersions"][0]["definition"], "trigger": "TICKET"}
    body = refused(rt, bundle(wf))
    assert body["details"]["errors"][0]["instancePath"] == "/workflows/0/publishedVersions/0/definition/trigger"


def test_export_recomputes_dependencies(rt):
    key = unique("rtest.export")
    steps = [{"id": "loop", "type": "control.forEach", "items": {"$expr": "[1]"}, "itemVar": "i",
              "body": [{"id": "w", "type": "event.wait",
                        "config": {"eventName": "X", "correlationKey": {"$expr": "'k'"}}}]},
             {"id": "s", "type": "state.set", "config": {"state": "A"}}]
    workflow_id = rt.import_bundle(bundle(workflow(key, steps, event=event_name())))[key]
    exported = rt.http.get(f"/api/workflow-definitions/{workflow_id}/export")
    assert exported.headers["content-type"] == "application/json; charset=utf-8"
    assert exported.text.endswith("}\n")
    deps = exported.json()["workflows"][0]["dependencies"]
    assert deps == {"actions": [], "nodeTypes": ["event.wait", "state.set"], "schemaRefs": ["payload.TicketCreated.v1"]}
