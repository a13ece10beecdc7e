"""wait_for_run: woken by the sandbox's terminal-run notifications, polling where there are none."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from typing import Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from harness import run_queries
from harness.config import resolve_target
from harness.db import Database
from harness.errors import RunTimeout
from harness.http import AlgaClient
from harness.workflow import import_bundle, load_bundle

from .conftest import HELLO

RUNS_TABLE = """CREATE TABLE workflow_runs (
    run_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), workflow_id uuid NOT NULL, workflow_version integer,
    tenant uuid NOT NULL, status text NOT NULL, event_type text, source_payload_schema_ref text,
    trigger_mapping_applied boolean DEFAULT false, input_json jsonb, error_json jsonb,
    started_at timestamptz NOT NULL DEFAULT now(), completed_at timestamptz, updated_at timestamptz DEFAULT now())"""
# A trigger with the sandbox's name that never notifies: the wait must still end, by polling.
SILENT_TRIGGER = f"""
CREATE FUNCTION silent() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER {run_queries.NOTIFY_TRIGGER} AFTER UPDATE ON workflow_runs FOR EACH ROW EXECUTE FUNCTION silent()"""


class Sleeps(list):
    """A ``sleep`` for wait_for_run that records the polling pauses it is asked for."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        threading.Event().wait(seconds)


def _insert_run(url: str, workflow_id: str, tenant: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        return str(conn.execute(
            "INSERT INTO workflow_runs (workflow_id, workflow_version, tenant, status) "
            "VALUES (%s, 1, %s, 'RUNNING') RETURNING run_id", (workflow_id, tenant)).fetchone()[0])


def _finish_later(url: str, run_id: str, after_s: float = 0.6) -> threading.Timer:
    def finish() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE workflow_runs SET status = 'SUCCEEDED', completed_at = now() WHERE run_id = %s",
                         (run_id,))
    timer = threading.Timer(after_s, finish)
    timer.start()
    return timer


def _wait_for_a_run_finished_later(url: str, workflow_id: str, tenant: str) -> tuple[dict, str, Sleeps, Database]:
    """Insert a RUNNING run, finish it 0.6 s later from another connection, and wait for it as the fixture
    does; the row the wait returned, the run's id, the polling pauses it took and its (closed) database."""
    since = datetime.now(timezone.utc)
    run_id = _insert_run(url, workflow_id, tenant)
    timer = _finish_later(url, run_id)
    db, sleeps = Database(url), Sleeps()
    try:
        row = run_queries.wait_for_run(db, workflow_id, tenant, since, timeout_ms=20_000, sleep=sleeps)
    finally:
        timer.join()
        db.close()
    return row, run_id, sleeps, db


@pytest.fixture
def bare_database(sandbox_state) -> Iterator[str]:
    """A scratch database holding only a workflow_runs table, like an AlgaPSA without the sandbox trigger."""
    name = f"runner_detect_{uuid.uuid4().hex[:8]}"
    admin = sandbox_state["admin_database_url"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = make_conninfo(admin, dbname=name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(RUNS_TABLE)
    yield url
    run_queries._notify_support.pop(url, None)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def paused_workflow(sandbox_env, sandbox_state, tmp_path) -> Iterator[tuple[str, str]]:
    """(workflow id, tenant) of a paused workflow imported into the sandbox: no event starts its run_queries."""
    bundle = json.loads((HELLO / "bundle.json").read_text())
    bundle["workflows"][0]["key"] = f"fixture.runner-detect-{uuid.uuid4().hex[:8]}"
    bundle["workflows"][0]["metadata"]["isPaused"] = True
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    target = resolve_target(env=sandbox_env)
    with AlgaClient(target) as api:
        workflow_id = import_bundle(api, load_bundle(tmp_path / "bundle.json"), force=True).workflow_id
    yield workflow_id, target.tenant_id
    with psycopg.connect(sandbox_state["admin_database_url"], autocommit=True) as conn:
        conn.execute("DELETE FROM workflow_definitions WHERE workflow_id = %s", (workflow_id,))


def test_the_terminal_notification_ends_the_wait(sandbox_state, paused_workflow, monkeypatch):
    workflow_id, tenant = paused_workflow
    url = sandbox_state["admin_database_url"]  # the test plays the runtime: it writes runs
    woken: list[bool] = []
    real_wait = run_queries.RunListener.wait

    def spy(self: run_queries.RunListener, workflow: str, timeout_s: float) -> bool:
        woken.append(real_wait(self, workflow, timeout_s))
        return woken[-1]

    monkeypatch.setattr(run_queries.RunListener, "wait", spy)
    row, run_id, sleeps, _ = _wait_for_a_run_finished_later(url, workflow_id, tenant)
    assert row["run_id"] == run_id and row["status"] == "SUCCEEDED"
    assert woken and woken[-1] is True, "a notification for this workflow woke the wait"
    assert sleeps == [], "while listening, the wait does not sleep-poll"


def test_without_the_trigger_the_wait_polls(bare_database):
    workflow_id, tenant = str(uuid.uuid4()), str(uuid.uuid4())
    row, run_id, sleeps, db = _wait_for_a_run_finished_later(bare_database, workflow_id, tenant)
    assert row["run_id"] == run_id and row["status"] == "SUCCEEDED"
    assert run_queries._notify_support[bare_database] is False and run_queries.open_listener(db, tenant) is None
    assert len(sleeps) > 1 and sleeps == sorted(sleeps) and max(sleeps) <= 0.25, "adaptive polling, capped"


def test_a_missed_notification_is_caught_by_the_safety_poll(bare_database):
    with psycopg.connect(bare_database, autocommit=True) as conn:
        conn.execute(SILENT_TRIGGER)
    workflow_id, tenant = str(uuid.uuid4()), str(uuid.uuid4())
    row, run_id, sleeps, db = _wait_for_a_run_finished_later(bare_database, workflow_id, tenant)
    assert row["status"] == "SUCCEEDED" and run_queries._notify_support[bare_database] is True
    assert sleeps == [], "listening, and found by the poll that runs every LISTEN_POLL_S"


def test_timeout_message_is_unchanged(bare_database):
    workflow_id, tenant = str(uuid.uuid4()), str(uuid.uuid4())
    since = datetime.now(timezone.utc)
    run_id = _insert_run(bare_database, workflow_id, tenant)
    db = Database(bare_database)
    try:
        with pytest.raises(RunTimeout) as caught:
            run_queries.wait_for_run(db, workflow_id, tenant, since, timeout_ms=300)
    finally:
        db.close()
    assert str(caught.value) == f"Timed out waiting for workflow run after 300 ms (newest run {run_id} is still RUNNING)"
    assert [r["run_id"] for r in caught.value.recent_runs] == [run_id]
