"""Draft update and publish: validation results, versions, and what starts runs."""
from __future__ import annotations

import uuid

import pytest

from .runtime_helpers import Runtime, bundle, definition, event_name, unique, workflow


def draft_workflow(rt: Runtime, steps: list[dict], **options) -> tuple[str, str]:
    key, name = unique("rtest.publish"), event_name()
    return rt.import_bundle(bundle(workflow(key, steps, event=name, published=False, **options)))[key], name


def publish_codes(rt: Runtime, workflow_id: str, body: dict | None = None) -> list[str]:
    response = rt.http.post(f"/api/workflow-definitions/{workflow_id}/1/publish", json=body or {})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is False and result["warnings"] == []
    assert rt.t.one("SELECT 1 FROM workflow_definition_versions WHERE workflow_id = %s", (workflow_id,)) is None
    return [e["code"] for e in result["errors"]]


def test_publish_rejects_invalid_definitions(rt):
    steps = [{"id": "a", "type": "state.set", "config": {"state": "A"}},
             {"id": "a", "type": "made.up", "config": {}},
             {"id": "b", "type": "action.call", "config": {"actionId": "no.such_action", "version": 1}},
             {"id": "c", "type": "control.if", "condition": {"$expr": "$string(1) = '1'"}, "then": []},
             {"id": "d", "type": "transform.assign", "config": {"assign": {"unscoped": {"$expr": "1"}}}},
             {"id": "e", "type": "control.forEach", "items": {"$expr": ""}, "itemVar": "i", "body": []},
             {"id": "f", "type": "state.set", "config": {"state": ""}}]
    workflow_id, _ = draft_workflow(rt, [{"id": "a", "type": "state.set", "config": {"state": "A"}}])
    draft = definition("invalid", steps, event=None, ref="payload.Nope.v1")
    assert rt.http.put(f"/api/workflow-definitions/{workflow_id}/1", json={"definition": draft}).status_code == 200
    codes = publish_codes(rt, workflow_id)
    for code in ("DUPLICATE_STEP_ID", "UNKNOWN_NODE_TYPE", "UNKNOWN_ACTION", "INVALID_EXPR", "INVALID_ASSIGN_PATH",
                 "INVALID_CONFIG", "UNKNOWN_PAYLOAD_SCHEMA_REF"):
        assert code in codes
    assert codes.count("INVALID_EXPR") == 2


def test_publish_rejects_a_malformed_body_definition(rt):
    workflow_id, _ = draft_workflow(rt, [{"id": "a", "type": "state.set", "config": {"state": "A"}}])
    codes = publish_codes(rt, workflow_id, {"definition": {"name": "x", "steps": "nope"}})
    assert set(codes) == {"INVALID_WORKFLOW_DEFINITION"}


def test_published_draft_starts_runs_and_paused_does_not(rt):
    workflow_id, name = draft_workflow(rt, [{"id": "a", "type": "state.set", "config": {"state": "A"}}])
    assert rt.trigger(name)["startedRuns"] == []
    response = rt.http.post(f"/api/workflow-definitions/{workflow_id}/5/publish", json={})
    assert response.json()["publishedVersion"] == 5
    [run_id] = rt.trigger(name)["startedRuns"]
    run = rt.finished(run_id)
    assert run["status"] == "SUCCEEDED" and run["workflow_version"] == 5
    rt.t.sql("UPDATE workflow_definitions SET is_paused = true WHERE workflow_id = %s", (workflow_id,))
    response = rt.post_event(name)
    assert response.status_code == 200 and response.json()["startedRuns"] == []
    assert len(rt.runs(workflow_id)) == 1


def test_put_draft_updates_columns_and_reports_validation(rt):
    workflow_id, name = draft_workflow(rt, [{"id": "a", "type": "state.set", "config": {"state": "A"}}])
    new = definition("renamed", [{"id": "z", "type": "made.up"}], event=None)
    new["version"] = 4
    response = rt.http.put(f"/api/workflow-definitions/{workflow_id}/99", json=new)  # bare definition form
    assert response.status_code == 200, response.text
    row = response.json()
    assert row["workflow_id"] == workflow_id and row["name"] == "renamed" and row["draft_version"] == 4
    assert row["draft_definition"]["id"] == workflow_id and row["trigger"] is None
    assert row["validation_status"] == "error"
    assert [e["code"] for e in row["validation_errors"]] == ["UNKNOWN_NODE_TYPE"]
    assert row["payload_schema_mode"] == "pinned" and row["payload_schema_provenance"] == "pinned"


@pytest.mark.parametrize("body, path", [
    ({"definition": {"id": "x", "version": 1, "name": "n", "payloadSchemaRef": "r", "steps": [], "bogus": 1}},
     ["definition"]),
    ({"definition": {"id": "x", "version": 0, "name": "n", "payloadSchemaRef": "r", "steps": []}},
     ["definition", "version"]),
    ({"definition": {"id": "x", "version": 1, "name": "n", "payloadSchemaRef": "r",
                     "steps": [{"id": "s", "type": "control.if", "then": []}]}},
     ["definition", "steps", 0, "condition"]),
    ([1, 2], []),
])
def test_put_draft_rejects_invalid_definitions(rt, body, path):
    workflow_id, _ = draft_workflow(rt, [{"id": "a", "type": "state.set", "config": {"state": "A"}}])
    response = rt.http.put(f"/api/workflow-definitions/{workflow_id}/1", json=body)
    assert response.status_code == 400
    result = response.json()
    assert result["error"] == "Invalid request" and result["details"][0]["path"] == path


@pytest.mark.parametrize("method, suffix", [("put", "/1"), ("post", "/1/publish"), ("get", "/export")])
def test_unknown_or_malformed_workflow_ids_are_404(rt, method, suffix):
    body = {"json": {"definition": definition("x", [], event=None)}} if method == "put" else \
        {} if method == "get" else {"json": {}}
    for workflow_id in (str(uuid.uuid4()), "not-a-uuid", "1; DROP TABLE x"):
        response = getattr(rt.http, method)(f"/api/workflow-definitions/{workflow_id}{suffix}", **body)
        assert response.status_code == 404, (workflow_id, response.text)
        assert response.json() == {"error": "Not found"}


@pytest.mark.parametrize("version", ["0", "abc", "-1", "1.5"])
def test_publish_version_segment_must_be_positive(rt, version):
    workflow_id, _ = draft_workflow(rt, [{"id": "a", "type": "state.set", "config": {"state": "A"}}])
    response = rt.http.post(f"/api/workflow-definitions/{workflow_id}/{version}/publish", json={})
    assert response.status_code == 400 and response.json()["error"] == "Invalid request"
