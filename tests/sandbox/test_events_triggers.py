"""Which runs an event starts: payload mapping, source refs, concurrency limits, auto-pause, fan-out."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from .runtime_helpers import REF, assign, event_name, messages
from .v1_helpers import eventually

NOOP = [{"id": "noop", "type": "state.set", "config": {"state": "SEEN"}}]


def test_payload_mapping_builds_the_run_input(rt):
    name = event_name()
    trigger = {"type": "event", "eventName": name, "sourcePayloadSchemaRef": "payload.TicketUpdated.v1",
               "payloadMapping": {"ticketId": {"$expr": "event.payload.ticketId"},
                                  "tenantId": {"$expr": "event.payload.tenantId"},
                                  "occurredAt": {"$expr": "event.payload.occurredAt"},
                                  "fixture.origin": {"$expr": "event.name & ':' & event.correlationKey"},
                                  "fixture.schema": {"$expr": "event.payloadSchemaRef"},
                                  "constant": {"nested": [1, {"$expr": "1 + 1"}]}}}
    workflow_id, _ = rt.one_workflow(NOOP, event=name, trigger=trigger)
    ticket = str(uuid.uuid4())
    [run_id] = rt.trigger(name, {"ticketId": ticket}, key="k1")["startedRuns"]
    run = rt.finished(run_id)
    assert run["status"] == "SUCCEEDED" and run["trigger_mapping_applied"] is True
    assert run["source_payload_schema_ref"] == "payload.TicketUpdated.v1"
    event = rt.t.one("SELECT payload FROM workflow_runtime_events WHERE event_name = %s", (name,))["payload"]
    assert run["input_json"] == {"ticketId": ticket, "tenantId": rt.t.tenant_id, "occurredAt": event["occurredAt"],
                                 "fixture": {"origin": f"{name}:k1",
                                                                 "schema": "payload.TicketUpdated.v1"},
                                 "constant": {"nested": [1, 2]}}
    assert rt.envelope(run_id)["meta"] == {"sourcePayloadSchemaRef": "payload.TicketUpdated.v1",
                                           "triggerMappingApplied": True, "state": "SEEN"}


def test_failing_or_invalid_mapping_starts_nothing(rt):
    name = event_name()
    failing = {"type": "event", "eventName": name, "sourcePayloadSchemaRef": REF,
               "payloadMapping": {"ticketId": {"$expr": "event.payload.nothing"}}}
    invalid = {"type": "event", "eventName": name, "sourcePayloadSchemaRef": REF,
               "payloadMapping": {"ticketId": {"$expr": "'not-a-uuid'"}}}
    first, _ = rt.one_workflow(NOOP, event=name, trigger=failing)
    second, _ = rt.one_workflow(NOOP, event=name, trigger=invalid)
    response = rt.trigger(name, ref=None)
    assert response["startedRuns"] == [] and response["status"] == "no_wait"
    assert rt.runs(first) == [] and rt.runs(second) == []


def test_source_ref_must_match_without_mapping(rt):
    name = event_name()
    workflow_id, _ = rt.one_workflow(NOOP, event=name)
    assert rt.trigger(name, ref="payload.TicketUpdated.v1")["startedRuns"] == []
    assert rt.trigger(name, ref=None)["startedRuns"] == []  # no ref at all: nothing to match
    assert len(rt.trigger(name)["startedRuns"]) == 1


def test_concurrency_limit_skips_new_runs(rt):
    wait = {"id": "wait", "type": "event.wait",
            "config": {"eventName": event_name(), "correlationKey": {"$expr": "'never'"}, "timeoutMs": 60_000}}
    workflow_id, name = rt.one_workflow([wait], concurrencyLimit=1)
    [first] = rt.trigger(name)["startedRuns"]
    eventually(lambda: rt.run(first)["status"] == "WAITING")
    assert rt.trigger(name)["startedRuns"] == []
    assert len(rt.runs(workflow_id)) == 1
    rt.t.sql("UPDATE workflow_runs SET status = 'CANCELED', completed_at = now() WHERE run_id = %s", (first,))
    assert len(rt.trigger(name)["startedRuns"]) == 1


def test_auto_pause_after_repeated_failures(rt):
    failing = [{"id": "bad", "type": "transform.assign", "config": assign(vars_x="payload.missing")}]
    workflow_id, name = rt.one_workflow(failing, autoPauseOnFailure=True, failureRateMinRuns=2,
                                        failureRateThreshold=0.5)
    first = rt.finished(rt.trigger(name)["startedRuns"][0])
    assert first["status"] == "FAILED"
    paused = rt.t.one("SELECT is_paused FROM workflow_definitions WHERE workflow_id = %s", (workflow_id,))
    assert paused["is_paused"] is False  # one run is below the window
    second = rt.finished(rt.trigger(name)["startedRuns"][0])
    eventually(lambda: rt.t.one("SELECT is_paused FROM workflow_definitions WHERE workflow_id = %s",
                                (workflow_id,))["is_paused"])
    log = next(log for log in rt.logs(second["run_id"])
               if log["message"] == "Workflow auto-paused due to failure rate threshold")
    assert log["level"] == "WARN" and log["context_json"] == {"failureRate": 1.0, "threshold": 0.5, "windowSize": 2}
    assert rt.trigger(name)["startedRuns"] == []


def test_every_event_starts_exactly_one_run_under_concurrency(rt):
    steps = [{"id": "a", "type": "state.set", "config": {"state": "A"}},
             {"id": "b", "type": "transform.assign", "config": assign(vars_t="payload.ticketId")},
             {"id": "done", "type": "control.return"}]
    workflow_id, name = rt.one_workflow(steps)
    keys = [str(uuid.uuid4()) for _ in range(60)]

    def post(key: str) -> list[str]:
        return rt.trigger(name, {"ticketId": key}, key=key)["startedRuns"]

    with ThreadPoolExecutor(8) as pool:
        started = [run for runs in pool.map(post, keys) for run in runs]
    assert len(started) == len(set(started)) == len(keys)
    done = eventually(lambda: (lambda rows: rows if all(r["status"] == "SUCCEEDED" for r in rows)
                               and len(rows) == len(keys) else None)(rt.runs(workflow_id)), 60)
    assert sorted(r["input_json"]["ticketId"] for r in done) == sorted(keys)
    counts = rt.t.sql("SELECT s.run_id, count(*) AS steps, max(s.attempt) AS attempt FROM workflow_run_steps s "
                      "JOIN workflow_runs r ON r.run_id = s.run_id WHERE r.workflow_id = %s GROUP BY s.run_id",
                      (workflow_id,))
    assert len(counts) == len(keys) and {(c["steps"], c["attempt"]) for c in counts} == {(3, 1)}
    completed = rt.t.sql("SELECT count(*) AS n FROM workflow_run_logs l JOIN workflow_runs r ON r.run_id = l.run_id "
                         "WHERE r.workflow_id = %s AND l.message = 'Run completed'", (workflow_id,))
    assert completed[0]["n"] == len(keys)
    assert messages(rt.logs(done[0]["run_id"]))[0] == "Run started"
