"""The durable cleanup journal: its codec, its file format, replay, liveness, and the actions themselves.

SQL runs against the session sandbox's real Postgres (marker rows in ``audit_logs``); the API side of
``ApiDelete`` uses httpx.MockTransport behind the real client.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import numpy as np
import psycopg
import pytest
from psycopg.types.json import Json, Jsonb

from harness.cleanup import (ApiDelete, CleanupError, CleanupSession, Journal, Sql, action_from_json,
                             describe_action, is_live, journal_matches, leftover_journals, leftover_warning,
                             read_journal, replay, stale_journals, strip_userinfo)
from harness.config import Target
from harness.db import Database
from harness.http import AlgaClient

MARKER_TABLE = "harness_test_marker"


def write_url(env: dict[str, str]) -> str:
    return env.get("DATABASE_WRITE_URL") or env["DATABASE_URL"]


def insert_marker(env: dict[str, str]) -> str:
    marker = f"journal-{uuid.uuid4()}"
    with psycopg.connect(write_url(env), autocommit=True) as conn:
        conn.execute("INSERT INTO audit_logs (tenant, operation, table_name, record_id, changed_data, details) "
                     "VALUES (%s, 'insert', %s, %s, '{}', '{}')", (env["TENANT_ID"], MARKER_TABLE, marker))
    return marker


def marker_rows(env: dict[str, str], marker: str) -> int:
    with psycopg.connect(write_url(env), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM audit_logs WHERE table_name = %s AND record_id = %s",
                            (MARKER_TABLE, marker)).fetchone()[0]


def delete_marker(env: dict[str, str], marker: str) -> Sql:
    return Sql("DELETE FROM audit_logs WHERE tenant = %s AND table_name = %s AND record_id = %s",
               (env["TENANT_ID"], MARKER_TABLE, marker))


@pytest.fixture()
def database(sandbox_env: dict[str, str]) -> Iterator[Database]:
    db = Database(sandbox_env["DATABASE_URL"], write_url=write_url(sandbox_env))
    yield db
    db.close()


@pytest.fixture()
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journals" / "fx-1.cleanup.jsonl"


def held_journal(path: Path, *actions: tuple[str, Any]) -> Journal:
    journal = Journal(path, hold=True)
    journal.header(test_id="fx", base_url="http://alga.test", tenant_id="t-1", database_url=None)
    for label, action in actions:
        journal.add(label, action)
    return journal


class Recorder:
    """A cleanup target that records what it is asked to do, and fails statements it is told to."""

    def __init__(self, failing: set[str] = frozenset()) -> None:
        self.calls: list[str] = []
        self.failing = failing

    def api_delete(self, path: str) -> None:
        self.calls.append(f"DELETE {path}")

    def execute(self, sql: str, params: Any) -> int:
        self.calls.append(sql)
        if sql in self.failing:
            raise RuntimeError(f"refused: {sql}")
        return 1


# -- parameters ------------------------------------------------------------------------------------

def roundtrip(action: Any) -> Any:
    return action_from_json(json.loads(json.dumps(action.to_json())))


def test_parameters_survive_the_journal():
    moment = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    ident = uuid.uuid4()
    params = (None, True, 7, "text", 0.1, Decimal("12.3400"), moment, dt.date(2026, 3, 1), b"\x00\xff",
              ident, (1, "a"), np.int64(5), np.float64(2.5))
    back = roundtrip(Sql("SELECT %s", params)).params
    assert back == [None, True, 7, "text", 0.1, Decimal("12.3400"), moment, dt.date(2026, 3, 1), b"\x00\xff",
                    str(ident), [1, "a"], 5, 2.5]
    assert type(back[5]) is Decimal and str(back[5]) == "12.3400", "numerics stay exact, scale included"
    assert back[6].utcoffset() == dt.timedelta(hours=2)

    jsonb, plain = roundtrip(Sql("SELECT %s, %s", (Jsonb({"a": [1, {"b": None}]}), Json([1, 2])))).params
    assert type(jsonb) is Jsonb and jsonb.obj == {"a": [1, {"b": None}]}
    assert type(plain) is Json and plain.obj == [1, 2]

    named = roundtrip(Sql("SELECT %(when)s, %(amount)s", {"when": moment, "amount": Decimal("1.5")})).params
    assert named == {"when": moment, "amount": Decimal("1.5")}


def test_decoded_parameters_reach_postgres_with_their_types(database):
    moment = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone.utc)
    action = roundtrip(Sql("SELECT %s::numeric AS n, %s::timestamptz AS t, %s::jsonb AS j",
                           (Decimal("10.010"), moment, Jsonb({"k": [1, 2]}))))
    row = database.writer().records(action.sql, action.params)[0]
    assert row == {"n": Decimal("10.010"), "t": moment, "j": {"k": [1, 2]}}


@pytest.mark.parametrize("params", [(object(),), ({"not": "wrapped"},), (Jsonb({"at": dt.datetime.now()}),)])
def test_parameters_that_cannot_be_journaled_are_refused_when_registered(params):
    with pytest.raises(CleanupError):
        Sql("DELETE FROM x WHERE y = %s", params)


def test_actions_are_checked_and_described():
    with pytest.raises(CleanupError):
        ApiDelete("api/v1/tickets/1")
    with pytest.raises(CleanupError):
        ApiDelete("/api/v1/tickets/1", fallback=["DELETE FROM tickets"])  # type: ignore[list-item]
    with pytest.raises(CleanupError):
        Sql("  ")
    api = ApiDelete("/api/v1/tickets/1", fallback=[Sql("DELETE FROM tickets WHERE ticket_id = %s", ("1",))])
    assert roundtrip(api).to_json() == api.to_json()
    assert describe_action(api.to_json()) == "DELETE /api/v1/tickets/1 (else 1 SQL statement(s))"
    assert describe_action(Sql("DELETE  FROM t\n WHERE a = %s", (1,)).to_json()) == "SQL DELETE FROM t WHERE a = %s"


# -- the file --------------------------------------------------------------------------------------

def test_a_torn_last_line_is_ignored(journal_path):
    journal = held_journal(journal_path, ("first", Sql("DELETE FROM a")), ("second", Sql("DELETE FROM b")))
    journal.done(1)
    with journal_path.open("a") as handle:
        handle.write('{"type":"done","id":')  # the writer died mid-record
    state = read_journal(journal_path)
    assert state.header["testId"] == "fx" and [e.label for e in state.pending] == ["second"]
    journal.close()
    assert journal_path.exists(), "something is still pending"
    again = Journal(journal_path)
    assert again.add("third", Sql("DELETE FROM c")) == 3, "ids continue after the torn line"
    again.close()


def test_replay_runs_pending_actions_last_registered_first(journal_path):
    journal = held_journal(journal_path, ("one", Sql("DELETE FROM one")), ("two", ApiDelete("/two")),
                           ("three", Sql("DELETE FROM three")))
    journal.done(2)
    recorder = Recorder()
    seen: list[tuple[str, str | None]] = []
    assert replay(journal, recorder, on_result=lambda entry, error: seen.append((entry.label, error))) == []
    assert recorder.calls == ["DELETE FROM three", "DELETE FROM one"]
    assert seen == [("three", None), ("one", None)]
    assert read_journal(journal_path).pending == []
    journal.close()
    assert not journal_path.exists(), "the owner removes a journal with nothing pending"


def test_failed_actions_stay_pending_until_a_later_replay_succeeds(journal_path):
    journal = held_journal(journal_path, ("keep", Sql("DELETE FROM fine")), ("flaky", Sql("DELETE FROM flaky")))
    errors = replay(journal, Recorder(failing={"DELETE FROM flaky"}))
    assert errors == ["cleanup 'flaky' failed: RuntimeError: refused: DELETE FROM flaky"]
    state = read_journal(journal_path)
    assert [e.label for e in state.pending] == ["flaky"] and state.errors == {2: errors[0]}
    journal.close()
    assert journal_path.exists(), "kept for `harness cleanup`"

    journal = Journal(journal_path, hold=True)
    recorder = Recorder()
    assert replay(journal, recorder) == [] and recorder.calls == ["DELETE FROM flaky"]
    journal.close()
    assert not journal_path.exists()


def test_only_the_owner_removes_a_journal(journal_path):
    owner = held_journal(journal_path)
    appender = Journal(journal_path)  # the kernel, under a runner
    entry = appender.add("x", Sql("DELETE FROM x"))
    appender.done(entry)
    appender.close()
    assert journal_path.exists(), "a kernel never removes the runner's journal"
    owner.close()
    assert not journal_path.exists()


# -- liveness --------------------------------------------------------------------------------------

HOLDER = """
import sys, time
from pathlib import Path
from harness.cleanup import Journal, Sql
journal = Journal(Path(sys.argv[1]), hold=True)
journal.header(test_id="held", base_url="http://alga.test", tenant_id="t-1", database_url=None)
journal.add("pending", Sql("DELETE FROM x"))
print("held", flush=True)
time.sleep(120)
"""


def test_a_journal_is_live_while_its_owner_runs_and_a_leftover_after(journal_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(journal_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert is_live(journal_path)
        assert list(leftover_journals(journal_path.parent)) == []
        with pytest.raises(CleanupError, match="still running"):
            Journal(journal_path, hold=True)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert not is_live(journal_path)
    assert list(leftover_journals(journal_path.parent)) == [journal_path]
    assert leftover_warning(journal_path.parent) == (
        "warning: 1 cleanup journal(s) left by runs that died; run `harness cleanup`")
    taken = Journal(journal_path, hold=True)  # e.g. `harness cleanup`
    assert is_live(journal_path)
    taken.close()


def test_finished_and_empty_journals_are_neither_leftovers_nor_warned_about(tmp_path):
    done = Journal(tmp_path / "done.cleanup.jsonl")  # not held: as if its runner was killed before removing it
    done.header(test_id="fx", base_url="http://alga.test", tenant_id="t-1", database_url=None)
    done.done(done.add("x", Sql("DELETE FROM x")))
    done.close()
    assert list(leftover_journals(tmp_path)) == [] and leftover_warning(tmp_path) is None
    assert list(stale_journals(tmp_path, min_age_s=0)) == [tmp_path / "done.cleanup.jsonl"]
    assert list(stale_journals(tmp_path)) == [], "a fresh one may belong to a run that is just starting"


def test_a_journal_matches_its_target_whatever_the_userinfo():
    header = {"baseUrl": strip_userinfo("https://user:pw@alga.example.com:8443/"), "tenantId": "T-1"}
    assert header["baseUrl"] == "https://alga.example.com:8443"
    assert journal_matches(header, "https://alga.example.com:8443", "t-1")
    assert not journal_matches(header, "https://alga.example.com:8443", "t-2")
    assert not journal_matches(header, "https://other.example.com:8443", "t-1")


# -- actions against the target --------------------------------------------------------------------

def session_with_api(handler: Callable[[httpx.Request], httpx.Response], database: Database) -> CleanupSession:
    target = Target(base_url="http://alga.test", tenant_id="11111111-1111-4111-8111-111111111111", api_key="k")
    return CleanupSession(AlgaClient(target, transport=httpx.MockTransport(handler)), database.writer)


def respond(status: int) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "DELETE" and request.url.path == "/api/v1/tickets/42"
        return httpx.Response(status, json={"error": {"code": "X", "message": "m"}} if status >= 400 else None)
    return handler


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize("handler, marker_deleted", [
    (respond(204), False),  # the API deleted it: no fallback
    (respond(404), False),  # already gone: done, no fallback
    (respond(500), True),  # refused: the fallback statements run
    (respond(403), True),
    (unreachable, True),  # the server is down: the fallback statements run
], ids=["204", "404", "500", "403", "unreachable"])
def test_api_delete_falls_back_to_sql_unless_the_api_did_it(handler, marker_deleted, sandbox_env, database,
                                                            journal_path):
    marker = insert_marker(sandbox_env)
    journal = held_journal(journal_path, ("ticket", ApiDelete("/api/v1/tickets/42",
                                                              fallback=[delete_marker(sandbox_env, marker)])))
    with session_with_api(handler, database) as session:
        assert replay(journal, session) == []
    journal.close()
    assert not journal_path.exists()
    assert marker_rows(sandbox_env, marker) == (0 if marker_deleted else 1)
    delete_marker(sandbox_env, marker).run(CleanupSession(None, database.writer))


@pytest.mark.parametrize("handler, error", [(respond(500), "HttpError: HTTP 500: m"),
                                            (unreachable, "TargetUnreachable: cannot reach http://alga.test")])
def test_api_delete_without_fallback_fails_and_stays_pending(handler, error, database, journal_path):
    journal = held_journal(journal_path, ("ticket", ApiDelete("/api/v1/tickets/42")))
    with session_with_api(handler, database) as session:
        errors = replay(journal, session)
    journal.close()
    assert len(errors) == 1 and error in errors[0]
    assert [e.label for e in read_journal(journal_path).pending] == ["ticket"]


def test_sql_replays_from_another_process_against_the_target(sandbox_env, journal_path):
    """What the runner does after a kernel died: a session of its own, on the target's write URL."""
    marker = insert_marker(sandbox_env)
    journal = held_journal(journal_path, ("marker", delete_marker(sandbox_env, marker)))
    target = Target(base_url=sandbox_env["BASE_URL"], tenant_id=sandbox_env["TENANT_ID"],
                    database_url=sandbox_env["DATABASE_URL"], database_write_url=sandbox_env.get("DATABASE_WRITE_URL"),
                    api_key=sandbox_env["WORKFLOW_HARNESS_API_KEY"])
    with CleanupSession.for_target(target) as session:
        assert replay(journal, session) == []
    journal.close()
    assert marker_rows(sandbox_env, marker) == 0 and not journal_path.exists()
