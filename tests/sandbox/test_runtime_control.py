"""Control flow through the real API: if, forEach, tryCatch, return from depth, onError, failures."""
from __future__ import annotations

from .runtime_helpers import Runtime, assign, messages, step_rows


def start(rt: Runtime, steps, payload=None, **options) -> dict:
    workflow_id, name = rt.one_workflow(steps, **options)
    started = rt.trigger(name, payload)["startedRuns"]
    assert len(started) == 1
    return rt.finished(started[0])


def test_if_runs_only_the_branch_taken(rt):
    steps = [{"id": "check", "type": "control.if", "condition": {"$expr": "payload.flag = 'yes'"},
              "then": [{"id": "yes", "type": "transform.assign", "config": assign(vars_branch="'then'")}],
              "else": [{"id": "no", "type": "transform.assign", "config": assign(vars_branch="'else'")}]},
             {"id": "after", "type": "state.set", "config": {"state": "DONE"}}]
    run = start(rt, steps, {"flag": "no"})
    assert run["status"] == "SUCCEEDED" and run["node_path"] is None and run["completed_at"] is not None
    rows = rt.steps(run["run_id"])
    assert step_rows(rows) == [("check", "SUCCEEDED", 1), ("no", "SUCCEEDED", 1), ("after", "SUCCEEDED", 1)]
    assert [s["step_path"] for s in rows] == ["root.steps[0]", "root.steps[0].else.steps[0]", "root.steps[1]"]
    envelope = rt.envelope(run["run_id"])
    assert envelope["vars"] == {"branch": "else"} and envelope["meta"]["state"] == "DONE"


def test_if_condition_must_be_boolean(rt):
    run = start(rt, [{"id": "check", "type": "control.if", "condition": {"$expr": "'yes'"}, "then": []}])
    assert run["status"] == "FAILED"
    assert run["error_json"]["category"] == "ExpressionError"
    assert run["error_json"]["message"] == "control.if condition did not evaluate to boolean"
    assert run["error_json"]["nodePath"] == "root.steps[0]"


def test_foreach_continues_past_failing_items(rt):
    steps = [{"id": "loop", "type": "control.forEach", "items": {"$expr": "payload.items"}, "itemVar": "item",
              "onItemError": "continue",
              "body": [{"id": "check", "type": "transform.assign",
                        "config": assign(vars_last="vars.item.value")},
                       {"id": "collect", "type": "transform.assign",
                        "config": assign(vars_seen="append(vars.seen, vars.item.name)")}]},
             {"id": "done", "type": "control.return"}]
    run = start(rt, steps, {"items": [{"name": "a", "value": 1}, {"name": "b"}, {"name": "c", "value": 3}]})
    assert run["status"] == "SUCCEEDED"
    rows = rt.steps(run["run_id"])
    assert step_rows(rows) == [("loop", "SUCCEEDED", 1), ("check", "SUCCEEDED", 1), ("collect", "SUCCEEDED", 1),
                               ("check", "SUCCEEDED", 2), ("collect", "SUCCEEDED", 2),
                               ("check", "SUCCEEDED", 3), ("collect", "SUCCEEDED", 3), ("done", "SUCCEEDED", 1)]
    assert rows[3]["error_json"]["category"] == "ExpressionError"  # item "b" has no value: absorbed
    assert [r["error_json"] for i, r in enumerate(rows) if i != 3] == [None] * 7
    envelope = rt.envelope(run["run_id"])
    assert envelope["vars"]["seen"] == ["a", "b", "c"]
    assert "item" not in envelope["vars"]  # restored (to absent) after the loop
    assert "__forEach" not in envelope["vars"]
    assert envelope["error"]["name"] == "ExpressionError"
    assert "Step error (continued)" not in messages(rt.logs(run["run_id"]))


def test_foreach_without_continue_fails_the_run(rt):
    steps = [{"id": "loop", "type": "control.forEach", "items": {"$expr": "payload.items"}, "itemVar": "item",
              "body": [{"id": "check", "type": "transform.assign", "config": assign(vars_last="vars.item.value")}]}]
    run = start(rt, steps, {"items": [{"value": 1}, {}]})
    assert run["status"] == "FAILED"
    assert step_rows(rt.steps(run["run_id"]))[-1] == ("check", "FAILED", 2)
    assert run["error_json"]["message"] == "Expression result is not JSON-serializable"


def test_foreach_items_must_be_an_array(rt):
    run = start(rt, [{"id": "loop", "type": "control.forEach", "items": {"$expr": "'x'"}, "itemVar": "i",
                      "body": []}])
    assert run["status"] == "FAILED"
    assert (run["error_json"]["category"], run["error_json"]["message"]) == \
        ("ValidationError", "control.forEach items did not evaluate to array")


def test_try_catch_captures_the_error_and_returns(rt):
    steps = [{"id": "guard", "type": "control.tryCatch", "captureErrorAs": "caught",
              "try": [{"id": "boom", "type": "transform.assign", "config": assign(vars_x="payload.missing")},
                      {"id": "never", "type": "state.set", "config": {"state": "NEVER"}}],
              "catch": [{"id": "note", "type": "transform.assign",
                         "config": assign(vars_message="coalesce(vars.caught.message, 'unknown')",
                                          vars_where="vars.caught.nodePath")},
                        {"id": "stop", "type": "control.return"}]},
             {"id": "after", "type": "state.set", "config": {"state": "AFTER"}}]
    run = start(rt, steps)
    assert run["status"] == "SUCCEEDED" and run["error_json"] is None
    rows = rt.steps(run["run_id"])
    assert step_rows(rows) == [("guard", "SUCCEEDED", 1), ("boom", "FAILED", 1), ("note", "SUCCEEDED", 1),
                               ("stop", "SUCCEEDED", 1)]
    assert rows[1]["error_json"]["category"] == "ExpressionError"
    envelope = rt.envelope(run["run_id"])
    assert envelope["vars"]["message"] == "Expression result is not JSON-serializable"
    assert envelope["vars"]["where"] == "root.steps[0].try.steps[0]"
    assert envelope["vars"]["caught"]["category"] == "ExpressionError"
    assert envelope["error"]["name"] == "ExpressionError" and envelope["error"]["data"]["nodePath"] == \
        "root.steps[0].try.steps[0]"
    assert "Step failed (caught)" in messages(rt.logs(run["run_id"]))


def test_error_inside_catch_fails_the_run(rt):
    steps = [{"id": "guard", "type": "control.tryCatch",
              "try": [{"id": "boom", "type": "transform.assign", "config": assign(vars_x="payload.missing")}],
              "catch": [{"id": "again", "type": "transform.assign", "config": assign(vars_y="payload.nothing")}]}]
    run = start(rt, steps)
    assert run["status"] == "FAILED"
    assert run["error_json"]["nodePath"] == "root.steps[0].catch.steps[0]"
    assert messages(rt.logs(run["run_id"]))[-1] == "Run failed"


def test_return_from_nested_depth_ends_the_run(rt):
    steps = [{"id": "loop", "type": "control.forEach", "items": {"$expr": "[1, 2, 3]"}, "itemVar": "n",
              "body": [{"id": "guard", "type": "control.tryCatch", "catch": [],
                        "try": [{"id": "second", "type": "control.if", "condition": {"$expr": "vars.n = 2"},
                                 "then": [{"id": "stop", "type": "control.return"}]},
                                {"id": "count", "type": "transform.assign",
                                 "config": assign(vars_count="coalesce(vars.count, 0) + 1")}]}]},
             {"id": "after", "type": "state.set", "config": {"state": "AFTER"}}]
    run = start(rt, steps)
    assert run["status"] == "SUCCEEDED"
    ids = [s["definition_step_id"] for s in rt.steps(run["run_id"])]
    assert ids == ["loop", "guard", "second", "count", "guard", "second", "stop"]
    assert "after" not in ids and rt.envelope(run["run_id"])["vars"]["count"] == 1
    assert messages(rt.logs(run["run_id"]))[-2:] == ["Step succeeded", "Run completed"]


def test_on_error_continue_absorbs_the_failure(rt):
    steps = [{"id": "soft", "type": "transform.assign", "config": assign(vars_x="payload.missing"),
              "onError": {"policy": "continue"}},
             {"id": "after", "type": "state.set", "config": {"state": "AFTER"}}]
    run = start(rt, steps)
    assert run["status"] == "SUCCEEDED" and run["error_json"] is None
    rows = rt.steps(run["run_id"])
    assert step_rows(rows) == [("soft", "SUCCEEDED", 1), ("after", "SUCCEEDED", 1)]
    assert rows[0]["error_json"]["category"] == "ExpressionError"
    assert "Step error (continued)" in messages(rt.logs(run["run_id"]))


def test_unhandled_failure_records_run_failed(rt):
    run = start(rt, [{"id": "ok", "type": "state.set", "config": {"state": "A"}},
                     {"id": "bad", "type": "transform.assign", "config": assign(vars_x="payload.missing")},
                     {"id": "never", "type": "state.set", "config": {"state": "B"}}])
    assert run["status"] == "FAILED" and run["node_path"] is None and run["completed_at"] is not None
    assert run["error_json"]["nodePath"] == "root.steps[1]" and run["error_json"]["at"].endswith("Z")
    assert step_rows(rt.steps(run["run_id"])) == [("ok", "SUCCEEDED", 1), ("bad", "FAILED", 1)]
    logs = rt.logs(run["run_id"])
    failed = [log for log in logs if log["message"] == "Run failed"]
    assert len(failed) == 1 and failed[0]["level"] == "ERROR" and failed[0]["step_path"] == "root.steps[1]"


def test_invalid_node_config_fails_with_validation_error(rt):
    run = start(rt, [{"id": "bad", "type": "state.set", "config": {"state": "", "extra": 1}}])
    assert run["status"] == "FAILED"
    error = run["error_json"]
    assert (error["category"], error["code"], error["message"]) == ("ValidationError", "VALIDATION_ERROR",
                                                                    "Validation failed")
    assert {i["code"] for i in error["issues"]} == {"too_small", "unrecognized_keys"}


def test_malformed_definition_fails_at_launch(rt):
    run = start(rt, [{"id": "cond", "type": "control.if", "then": []}])
    assert run["status"] == "FAILED"
    error = run["error_json"]
    assert error["stage"] == "launch" and error["category"] == "ValidationError"
    assert error["issues"][0]["path"] == ["steps", 0, "condition"]
    assert rt.steps(run["run_id"]) == []
    assert "Run failed" in messages(rt.logs(run["run_id"]))


def test_unknown_node_type_fails_the_step(rt):
    # import refuses unknown node types, so plant one directly in the stored version
    workflow_id, name = rt.one_workflow([{"id": "x", "type": "state.set", "config": {"state": "A"}}])
    rt.t.sql("UPDATE workflow_definition_versions SET definition_json = jsonb_set(definition_json::jsonb, "
             "'{steps,0,type}', '\"made.up\"')::json WHERE workflow_id = %s", (workflow_id,))
    run = rt.finished(rt.trigger(name)["startedRuns"][0])
    assert run["status"] == "FAILED"
    assert (run["error_json"]["category"], run["error_json"]["message"]) == ("ValidationError",
                                                                             "Unknown node type made.up")


def test_assignments_run_in_bundle_key_order(rt):
    # jsonb would put the shorter key first; the bundle's order must win.
    config = {"assign": {"vars.errorMessage": {"$expr": "'User not found'"},
                         "vars.body": {"$expr": "'caught: ' & vars.errorMessage"}}}
    run = start(rt, [{"id": "both", "type": "transform.assign", "config": config}])
    assert run["status"] == "SUCCEEDED"
    assert rt.envelope(run["run_id"])["vars"] == {"errorMessage": "User not found", "body": "caught: User not found"}
