"""event.wait (resume by event, early follow-up events, timeouts) and scheduled retries."""
from __future__ import annotations

import uuid

from .runtime_helpers import Runtime, assign, event_name, messages, step_rows
from .v1_helpers import eventually


def wait_step(follow: str, *, timeout_ms: int | None = 10_000) -> dict:
    config = {"eventName": follow, "correlationKey": {"$expr": "payload.ticketId"},
              "assign": {"vars.minutes": {"$expr": "vars.event.minutes"}}}
    if timeout_ms:
        config["timeoutMs"] = timeout_ms
    return {"id": "wait", "type": "event.wait", "config": config}


AFTER = {"id": "after", "type": "state.set", "config": {"state": "RESUMED"}}


def waiting(rt: Runtime, run_id: str) -> dict:
    return eventually(lambda: (lambda r: r if r["status"] == "WAITING" else None)(rt.run(run_id)))


def test_event_resumes_a_waiting_run(rt):
    follow = event_name()
    workflow_id, name = rt.one_workflow([wait_step(follow), AFTER])
    ticket = str(uuid.uuid4())
    run_id = rt.trigger(name, {"ticketId": ticket}, key=ticket)["startedRuns"][0]
    parked = waiting(rt, run_id)
    assert parked["node_path"] == "root.steps[0]"
    [wait] = rt.waits(run_id)
    assert (wait["wait_type"], wait["status"], wait["key"], wait["event_name"]) == ("event", "WAITING", ticket, follow)
    assert wait["timeout_at"] is not None

    other = rt.trigger(follow, {"ticketId": ticket}, key="some-other-key")
    assert other["status"] == "no_wait" and other["runId"] is None
    response = rt.trigger(follow, {"ticketId": ticket, "minutes": 7}, key=ticket)
    assert response["status"] == "resumed" and response["runId"] == run_id

    run = rt.finished(run_id)
    assert run["status"] == "SUCCEEDED"
    assert (run["resume_event_name"], run["resume_event_payload"], run["resume_error"]) == (None, None, None)
    assert step_rows(rt.steps(run_id)) == [("wait", "STARTED", 1), ("wait", "SUCCEEDED", 2), ("after", "SUCCEEDED", 1)]
    envelope = rt.envelope(run_id)
    assert envelope["vars"]["eventName"] == follow and envelope["vars"]["minutes"] == 7
    assert envelope["vars"]["event"]["ticketId"] == ticket
    [wait] = rt.waits(run_id)
    assert wait["status"] == "RESOLVED" and wait["resolved_at"] is not None
    event = rt.t.one("SELECT * FROM workflow_runtime_events WHERE event_id = %s", (response["eventId"],))
    assert (str(event["matched_run_id"]), str(event["matched_wait_id"]), event["matched_step_path"]) == \
        (run_id, str(wait["wait_id"]), "root.steps[0]")
    logs = messages(rt.logs(run_id))
    for message in ("Event wait created", "Step waiting", "Event wait resolved", "Run resumed from event",
                    "Run completed"):
        assert message in logs
    assert logs.index("Event wait resolved") < logs.index("Run resumed from event")


def test_follow_up_event_posted_before_the_wait_exists_still_resumes(rt):
    """The follow-up arrives while the run is still busy before its wait; it is kept and claimed."""
    follow = event_name()
    busy = {"id": "busy", "type": "control.forEach", "items": {"$expr": "payload.work"}, "itemVar": "n",
            "body": [{"id": "spin", "type": "transform.assign", "config": assign(vars_total="vars.n")}]}
    workflow_id, name = rt.one_workflow([busy, wait_step(follow, timeout_ms=5000), AFTER])
    ticket = str(uuid.uuid4())
    run_id = rt.trigger(name, {"ticketId": ticket, "work": list(range(150))}, key=ticket)["startedRuns"][0]
    follow_up = rt.trigger(follow, {"ticketId": ticket, "minutes": 1}, key=ticket)
    assert follow_up["status"] == "no_wait"  # the run has not reached its wait yet
    run = rt.finished(run_id)
    assert run["status"] == "SUCCEEDED"
    assert [s for s in step_rows(rt.steps(run_id)) if s[0] != "spin"][-3:] == \
        [("wait", "STARTED", 1), ("wait", "SUCCEEDED", 2), ("after", "SUCCEEDED", 1)]
    assert rt.envelope(run_id)["vars"]["minutes"] == 1
    event = rt.t.one("SELECT matched_run_id FROM workflow_runtime_events WHERE event_id = %s",
                     (follow_up["eventId"],))
    assert str(event["matched_run_id"]) == run_id


def test_one_event_resumes_only_the_oldest_wait(rt):
    follow = event_name()
    workflow_id, name = rt.one_workflow([wait_step(follow), AFTER])
    ticket = str(uuid.uuid4())
    first = rt.trigger(name, {"ticketId": ticket}, key=ticket)["startedRuns"][0]
    waiting(rt, first)
    second = rt.trigger(name, {"ticketId": ticket}, key=ticket)["startedRuns"][0]
    waiting(rt, second)
    assert rt.trigger(follow, {"ticketId": ticket, "minutes": 1}, key=ticket)["runId"] == first
    assert rt.finished(first)["status"] == "SUCCEEDED"
    assert rt.run(second)["status"] == "WAITING"
    assert rt.trigger(follow, {"ticketId": ticket, "minutes": 2}, key=ticket)["runId"] == second
    assert rt.finished(second)["status"] == "SUCCEEDED"


def test_wait_timeout_fails_the_run(rt):
    follow = event_name()
    workflow_id, name = rt.one_workflow([wait_step(follow, timeout_ms=300), AFTER])
    run = rt.finished(rt.trigger(name)["startedRuns"][0])
    assert run["status"] == "FAILED"
    assert (run["error_json"]["category"], run["error_json"]["message"]) == ("TimeoutError", "Event wait timeout")
    assert step_rows(rt.steps(run["run_id"])) == [("wait", "STARTED", 1), ("wait", "FAILED", 2)]
    [wait] = rt.waits(run["run_id"])
    assert wait["status"] == "RESOLVED"
    logs = rt.logs(run["run_id"])
    timed_out = next(log for log in logs if log["message"] == "Event wait timed out")
    assert timed_out["level"] == "WARN" and timed_out["context_json"]["waitId"] == str(wait["wait_id"])
    assert "Run resumed with error" in messages(logs)


def test_wait_timeout_can_be_caught(rt):
    follow = event_name()
    steps = [{"id": "guard", "type": "control.tryCatch", "captureErrorAs": "err",
              "try": [wait_step(follow, timeout_ms=200)],
              "catch": [{"id": "note", "type": "transform.assign", "config": assign(vars_why="vars.err.message")}]},
             AFTER]
    workflow_id, name = rt.one_workflow(steps)
    run = rt.finished(rt.trigger(name)["startedRuns"][0])
    assert run["status"] == "SUCCEEDED" and run["resume_error"] is None
    assert rt.envelope(run["run_id"])["vars"]["why"] == "Event wait timeout"


def test_retry_policy_schedules_attempts_until_exhausted(rt):
    failing = {"id": "flaky", "type": "transform.assign", "config": assign(vars_x="payload.missing"),
               "retry": {"maxAttempts": 3, "backoffMs": 50, "backoffMultiplier": 2}}
    workflow_id, name = rt.one_workflow([failing])
    run_id = rt.trigger(name)["startedRuns"][0]
    run = rt.finished(run_id)
    assert run["status"] == "FAILED"
    rows = rt.steps(run_id)
    assert step_rows(rows) == [("flaky", "RETRY_SCHEDULED", 1), ("flaky", "RETRY_SCHEDULED", 2),
                               ("flaky", "FAILED", 3)]
    assert all(r["error_json"]["category"] == "ExpressionError" for r in rows)
    waits = rt.waits(run_id)
    assert [(w["wait_type"], w["status"]) for w in waits] == [("retry", "RESOLVED")] * 2
    assert (waits[1]["timeout_at"] - waits[1]["created_at"]).total_seconds() * 1000 >= 100 * 0.8 - 5
    logs = rt.logs(run_id)
    assert messages(logs).count("Retry scheduled") == 2 and messages(logs).count("Retry wait resolved") == 2
    scheduled = next(log for log in logs if log["message"] == "Retry scheduled")
    assert scheduled["context_json"]["attempt"] == 1 and scheduled["context_json"]["error"]["category"] == \
        "ExpressionError"


def test_retry_on_filters_categories(rt):
    failing = {"id": "flaky", "type": "transform.assign", "config": assign(vars_x="payload.missing"),
               "retry": {"maxAttempts": 3, "backoffMs": 10, "retryOn": ["TransientError"]}}
    workflow_id, name = rt.one_workflow([failing])
    run = rt.finished(rt.trigger(name)["startedRuns"][0])
    assert run["status"] == "FAILED"
    assert step_rows(rt.steps(run["run_id"])) == [("flaky", "FAILED", 1)]
    assert rt.waits(run["run_id"]) == []


def test_a_waiting_run_shows_waiting_while_retry_is_pending(rt):
    failing = {"id": "flaky", "type": "transform.assign", "config": assign(vars_x="payload.missing"),
               "retry": {"maxAttempts": 2, "backoffMs": 1500, "jitter": False}}
    workflow_id, name = rt.one_workflow([failing])
    run_id = rt.trigger(name)["startedRuns"][0]
    parked = waiting(rt, run_id)
    assert parked["node_path"] == "root.steps[0]" and parked["error_json"]["category"] == "ExpressionError"
    assert rt.finished(run_id)["status"] == "FAILED"


def test_resume_without_a_definition_fails_at_launch(rt):
    follow = event_name()
    workflow_id, name = rt.one_workflow([wait_step(follow), AFTER])
    ticket = str(uuid.uuid4())
    run_id = rt.trigger(name, {"ticketId": ticket}, key=ticket)["startedRuns"][0]
    waiting(rt, run_id)
    rt.t.sql("DELETE FROM workflow_definition_versions WHERE workflow_id = %s", (workflow_id,))
    assert rt.trigger(follow, {"ticketId": ticket, "minutes": 1}, key=ticket)["runId"] == run_id
    run = rt.finished(run_id)
    assert run["status"] == "FAILED" and run["node_path"] is None
    assert run["error_json"] == {"message": f"Workflow definition {workflow_id} v1 not found", "stage": "launch"}
    assert messages(rt.logs(run_id))[-1] == "Run failed"
