"""fx.find's run-side finders (runs since the trigger, recorded events, waits, run input and variables)
and fx.expect_no_run, against the golden fixture on the session sandbox."""
from __future__ import annotations

import uuid

import psycopg
import pytest

import harness
from harness.expect import ExpectationFailed
from harness.fixture import Fixture


def _post(fx: Fixture, **payload: object) -> str:
    key = str(uuid.uuid4())
    fx.post_event({"ticketId": key, "updatedFields": [], "changes": {}, **payload}, correlation_key=key)
    return key


def test_no_run_passes_until_the_trigger_starts_one(fx: Fixture) -> None:
    assert fx.expect_no_run(window_ms=200).empty
    _post(fx)
    with pytest.raises(ExpectationFailed, match="produced a run within 5000 ms"):
        fx.expect_no_run(window_ms=5000)
    runs = fx.find.runs()
    assert list(runs.run_id) == [fx.run_id] and list(runs.status) == ["SUCCEEDED"]


def test_the_run_input_and_its_final_variables(fx: Fixture) -> None:
    key = _post(fx, fixtureNote="kept")
    fx.wait_for_run(timeout_ms=20_000)
    run_input = fx.find.run_input()
    assert (run_input.ticketId, run_input.fixtureNote, run_input.tenantId) == (key, "kept", fx.tenant_id)
    assert fx.find.run_vars().greeting == f"hello {key}"


def test_recorded_events_include_rejected_ones(fx: Fixture) -> None:
    key = _post(fx)
    accepted = fx.find.events(key)
    assert list(accepted.event_name) == ["TICKET_CREATED"] and accepted.error_message.isna().all()
    rejected_key = str(uuid.uuid4())
    error = harness.expect.raises(harness.HttpError, fx.post_event, {"changes": {}}, correlation_key=rejected_key)
    assert error.status == 400
    rejected = fx.find.events(rejected_key)
    assert len(rejected) == 1 and "payload.TicketCreated.v1" in rejected.error_message.iloc[0]


def test_waits_of_the_run(fx: Fixture, admin: psycopg.Connection) -> None:
    _post(fx)
    fx.wait_for_run(timeout_ms=20_000)
    assert fx.find.waits().empty
    admin.execute("INSERT INTO workflow_run_waits (tenant, run_id, step_path, wait_type, key, event_name, status) "
                  "VALUES (%s, %s, 'root.steps[1]', 'event', 'k', 'TICKET_UPDATED', 'RESOLVED')",
                  (fx.tenant_id, fx.run_id))
    waits = fx.find.waits()
    assert waits[["wait_type", "event_name", "key", "status"]].to_dict("records") == [
        {"wait_type": "event", "event_name": "TICKET_UPDATED", "key": "k", "status": "RESOLVED"}]
