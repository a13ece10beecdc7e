"""The fixture-facing Postgres client, against the sandbox's real embedded Postgres.

Write attempts aim at one marker value in ``tenants.phone_number`` of the session tenant; a write that
got through would leave the marker behind (and is undone after the test).
"""
from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from psycopg import sql as pgsql
from psycopg.conninfo import make_conninfo

from harness import artifacts, db as db_module
from harness.config import Target
from harness.db import Database, statement_refusal
from harness.errors import HarnessError, ReadOnlyViolation, TargetUnreachable


def write_url(env: dict[str, str]) -> str:
    return env.get("DATABASE_WRITE_URL") or env["DATABASE_URL"]


@pytest.fixture()
def db(sandbox_env: dict[str, str]) -> Iterator[Database]:
    database = Database(sandbox_env["DATABASE_URL"], write_url=write_url(sandbox_env))
    yield database
    database.close()


@pytest.fixture()
def marker(sandbox_env: dict[str, str]) -> Iterator[str]:
    """A fresh value no row holds; the tenant's phone number is put back after the test, whatever happened."""
    value = f"ro-probe-{uuid.uuid4()}"
    tenant = sandbox_env["TENANT_ID"]
    with psycopg.connect(write_url(sandbox_env), autocommit=True) as conn:
        (original,) = conn.execute("SELECT phone_number FROM tenants WHERE tenant = %s", (tenant,)).fetchone()
        yield value
        conn.execute("UPDATE tenants SET phone_number = %s WHERE tenant = %s AND phone_number = %s",
                     (original, tenant, value))


def written(env: dict[str, str], marker: str) -> int:
    """Rows holding the marker, seen from a fresh connection (so only committed writes count)."""
    with psycopg.connect(write_url(env), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM tenants WHERE phone_number = %s", (marker,)).fetchone()[0]


def update_sql(env: dict[str, str], marker: str) -> str:
    return f"UPDATE tenants SET phone_number = '{marker}' WHERE tenant = '{env['TENANT_ID']}'"


# -- reading ---------------------------------------------------------------------------------------

def test_query_returns_a_dataframe_with_plain_values(db, sandbox_env):
    frame = db.query("SELECT user_id, username, created_at FROM users WHERE tenant = %s ORDER BY created_at",
                     (sandbox_env["TENANT_ID"],))
    assert list(frame.columns) == ["user_id", "username", "created_at"]
    assert len(frame) >= 2
    assert isinstance(frame.loc[0, "user_id"], str), "UUIDs come back as text"


def test_empty_result_keeps_its_columns(db):
    frame = db.query("SELECT run_id, status FROM workflow_runs WHERE false")
    assert frame.empty and list(frame.columns) == ["run_id", "status"]


def test_records_one_scalar(db, sandbox_env):
    tenant = sandbox_env["TENANT_ID"]
    assert db.scalar("SELECT count(*) FROM tenants WHERE tenant = %s", (tenant,)) == 1
    assert db.one("SELECT tenant FROM tenants WHERE tenant = %s", (tenant,)) == {"tenant": tenant}
    assert db.one("SELECT 1 AS x WHERE false") is None
    assert db.records("SELECT %(a)s::int AS a", {"a": 7}) == [{"a": 7}]


@pytest.mark.parametrize("sql", [
    "SHOW transaction_read_only",
    "  -- a comment first\n/* and /* a nested */ block */ SELECT 1",
    "((SELECT 1))",
    "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
    "VALUES (1)",
    "TABLE tenants",
    "EXPLAIN SELECT 1",
    "EXPLAIN (ANALYZE, COSTS OFF) SELECT 1",
    "SELECT 'a; COMMIT' AS text, $$; DELETE$$ AS body;",
])
def test_reading_statements_run(db, sql):
    assert db.records(sql)


def test_composed_queries_are_checked_like_text(db):
    count = pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier("tenants"))
    assert db.scalar(count) >= 2
    with pytest.raises(ReadOnlyViolation, match="DELETE is not a reading statement"):
        db.records(pgsql.SQL("DELETE FROM {} WHERE false").format(pgsql.Identifier("tenants")))


def test_every_read_is_its_own_read_only_transaction(db):
    assert db.scalar("SHOW transaction_read_only") == "on"
    first = db.scalar("SELECT now()")
    assert db.scalar("SELECT now()") > first, "each read starts a new transaction"


def test_decimal_values_stay_exact(db, tmp_path: Path):
    row = db.one("SELECT 0.1::numeric + 0.2::numeric AS total, 12345678901234567.89::numeric AS money")
    assert row == {"total": Decimal("0.3"), "money": Decimal("12345678901234567.89")}
    frame = db.query("SELECT 19.99::numeric(12,2) AS price UNION ALL SELECT 0.01")
    assert frame["price"].dtype == object and frame["price"].sum() == Decimal("20.00")
    assert json.loads(json.dumps(row, default=str)) == {"total": "0.3", "money": "12345678901234567.89"}
    artifacts.write_failure_artifacts(tmp_path, notebook_text=None, context={"row": row}, error_text="x",
                                      export={}, secrets=[])
    assert json.loads((tmp_path / "failure.context.json").read_text())["row"]["money"] == "12345678901234567.89"


# -- refusing writes -------------------------------------------------------------------------------

REFUSED_BEFORE_SENDING = [
    "SET default_transaction_read_only = off",
    "set transaction_read_only = off",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    "RESET ALL",
    "SET ROLE NONE",
    "SET SESSION AUTHORIZATION DEFAULT",
    "BEGIN READ WRITE",
    "START TRANSACTION READ WRITE",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT s",
    "RELEASE SAVEPOINT s",
    "PREPARE TRANSACTION 'p'",
    "COPY tenants TO STDOUT",
    "COPY tenants FROM STDIN",
    "DO $$BEGIN PERFORM 1; END$$",
    "CALL nothing()",
    "LISTEN c",
    "NOTIFY c",
    "UNLISTEN *",
    "LOCK TABLE tenants",
    "DISCARD ALL",
    "LOAD 'plpgsql'",
    "PREPARE p AS SELECT 1",
    "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
    "CREATE TABLE probe (x int)",
    "TRUNCATE tenants",
    "VACUUM tenants",
    "EXPLAIN ANALYZE DELETE FROM tenants",
    "/* SELECT */ SET default_transaction_read_only = off",
    "-- SELECT\nCOMMIT",
    "( /* ( */ (COPY (SELECT 1) TO STDOUT))",
    "SELECT 1; COMMIT",
    "SELECT 1 /* ; */; -- ;\n SET default_transaction_read_only = off",
]


@pytest.mark.parametrize("sql", REFUSED_BEFORE_SENDING)
def test_session_escapes_are_refused_before_reaching_the_server(db, sql):
    assert statement_refusal(sql) is not None
    with pytest.raises(ReadOnlyViolation, match=r"use fx\.db\.writer\(\) for writes") as info:
        db.records(sql)
    assert info.value.__cause__ is None, "refused by the client, not by the server"
    assert isinstance(info.value, HarnessError) and not isinstance(info.value, AssertionError)
    assert db.scalar("SHOW transaction_read_only") == "on"
    assert db.scalar("SHOW default_transaction_read_only") == "on"


@pytest.mark.parametrize("template", [
    "{update}",
    "/* SELECT */ {update}",
    "-- SELECT\n{update}",
    "SELECT 1; COMMIT; {update}",
    "SELECT 1 -- ;\n; COMMIT; {update}",
    "WITH u AS ({update} RETURNING 1) SELECT * FROM u",
    "EXPLAIN ANALYZE WITH u AS ({update} RETURNING 1) SELECT * FROM u",
    "WITH s AS (SELECT set_config('transaction_read_only', 'off', true)), u AS ({update} RETURNING 1) "
    "SELECT * FROM s, u",
])
def test_writes_never_land(db, sandbox_env, marker, template):
    with pytest.raises(ReadOnlyViolation, match=r"use fx\.db\.writer\(\)"):
        db.records(template.format(update=update_sql(sandbox_env, marker)))
    assert written(sandbox_env, marker) == 0


def test_a_data_modifying_cte_is_refused_by_the_server(db, sandbox_env, marker):
    with pytest.raises(ReadOnlyViolation) as info:
        db.records(f"WITH u AS ({update_sql(sandbox_env, marker)} RETURNING 1) SELECT * FROM u")
    assert isinstance(info.value.__cause__, psycopg.errors.ReadOnlySqlTransaction)
    assert written(sandbox_env, marker) == 0


@pytest.mark.parametrize("sql", [
    "SELECT set_config('transaction_read_only', 'off', false)",
    "SELECT set_config('transaction_read_only', 'off', true)",
    "SELECT pg_catalog.set_config('transaction_read_only', 'off', false)",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT pg_catalog.set_config('default_transaction_read_only', 'off', false)",
])
def test_set_config_cannot_open_the_way_to_a_write(db, sandbox_env, marker, sql):
    try:
        db.records(sql)
    except ReadOnlyViolation:
        pass  # transaction_read_only cannot change once the statement has its snapshot
    assert db.scalar("SHOW default_transaction_read_only") == "on", "rolled back with the transaction"
    with pytest.raises(ReadOnlyViolation):
        db.records(f"WITH u AS ({update_sql(sandbox_env, marker)} RETURNING 1) SELECT * FROM u")
    assert written(sandbox_env, marker) == 0


@pytest.mark.parametrize("escape", [
    "SET default_transaction_read_only = off",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    "SET transaction_read_only = off",
    "BEGIN READ WRITE",
    "COMMIT",
    "RESET ALL",
])
def test_the_transaction_alone_holds_when_the_statement_check_is_bypassed(db, sandbox_env, marker, monkeypatch,
                                                                            escape):
    monkeypatch.setattr(db_module, "statement_refusal", lambda sql: None)
    try:
        db.records(escape)
    except psycopg.Error:
        pass
    for attempt in (update_sql(sandbox_env, marker), f"SELECT 1; COMMIT; {update_sql(sandbox_env, marker)}"):
        with pytest.raises((ReadOnlyViolation, psycopg.errors.SyntaxError)):
            db.records(attempt)
    assert written(sandbox_env, marker) == 0
    assert db.scalar("SHOW transaction_read_only") == "on"


def test_copy_to_program_never_runs(db, tmp_path: Path):
    target = tmp_path / "copied"
    for sql in (f"COPY (SELECT 1) TO PROGRAM 'touch {target}'",
                f"/* SELECT */ (COPY (SELECT 1) TO PROGRAM 'touch {target}')"):
        with pytest.raises(ReadOnlyViolation):
            db.records(sql)
    assert not target.exists()


@pytest.mark.parametrize("sql, params, error", [
    ("SELECT 1/0", None, psycopg.errors.DivisionByZero),
    ("SELECT * FROM no_such_table", None, psycopg.errors.UndefinedTable),
    ("SELECT %s, %s", (1,), psycopg.ProgrammingError),  # refused by the driver after BEGIN was queued
    ("WITH d AS (DELETE FROM tenants WHERE false RETURNING 1) SELECT * FROM d", None, ReadOnlyViolation),
    ("SELECT set_config('transaction_read_only', 'off', false)", None, ReadOnlyViolation),
])
def test_a_failed_statement_leaves_the_session_idle_and_usable(db, sandbox_env, sql, params, error):
    pid = db.scalar("SELECT pg_backend_pid()")
    with pytest.raises(error):
        db.records(sql, params)
    with psycopg.connect(sandbox_env["DATABASE_URL"], autocommit=True) as observer:
        state = observer.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert state == ("idle",), "no transaction left open"
    assert db.scalar("SELECT 3") == 3
    assert db.scalar("SELECT pg_backend_pid()") == pid, "the same session goes on"


def test_a_lost_connection_is_reopened_for_the_next_read(db, sandbox_env):
    pid = db.scalar("SELECT pg_backend_pid()")
    other = Database(sandbox_env["DATABASE_URL"])
    try:
        assert other.scalar("SELECT pg_terminate_backend(%s)", (pid,)) is True
    finally:
        other.close()
    with pytest.raises(TargetUnreachable, match="lost the database connection"):
        db.scalar("SELECT 1")
    assert db.scalar("SELECT 4") == 4
    assert db.scalar("SELECT pg_backend_pid()") != pid


# -- the write path --------------------------------------------------------------------------------

def test_writer_is_a_separate_explicit_handle(db, sandbox_env):
    writer = db.writer()
    assert writer is db.writer(), "one write connection per Database"
    tenant = sandbox_env["TENANT_ID"]
    changed = writer.execute("UPDATE tenants SET email = email WHERE tenant = %s", (tenant,))
    assert changed == 1
    assert writer.records("SELECT tenant FROM tenants WHERE tenant = %s", (tenant,)) == [{"tenant": tenant}]


def test_writer_connects_to_the_write_url(sandbox_env):
    database = Database(make_conninfo(sandbox_env["DATABASE_URL"], application_name="harness-reads"),
                        write_url=make_conninfo(write_url(sandbox_env), application_name="harness-writes"))
    try:
        assert database.scalar("SHOW application_name") == "harness-reads"
        assert database.writer().records("SHOW application_name") == [{"application_name": "harness-writes"}]
    finally:
        database.close()


def test_without_a_write_url_the_writer_uses_the_read_url(sandbox_env):
    url = make_conninfo(sandbox_env["DATABASE_URL"], application_name="harness-only")
    database = Database(url)
    try:
        assert database.write_url == url
        assert database.writer().records("SHOW application_name") == [{"application_name": "harness-only"}]
    finally:
        database.close()


def test_target_database_writes_on_the_targets_write_url(sandbox_env):
    target = Target(base_url="http://127.0.0.1:9", tenant_id=sandbox_env["TENANT_ID"],
                    database_url=make_conninfo(sandbox_env["DATABASE_URL"], application_name="t-reads"),
                    database_write_url=make_conninfo(write_url(sandbox_env), application_name="t-writes"))
    database = target.database()
    try:
        assert database.scalar("SHOW application_name") == "t-reads"
        assert database.writer().records("SHOW application_name") == [{"application_name": "t-writes"}]
    finally:
        database.close()


# -- unreachable -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url, secret", [
    ("postgresql://u:pw-url@127.0.0.1:9/x", "pw-url"),
    ("postgresql://u@127.0.0.1:9/x?password=pw-query", "pw-query"),
    ("host=127.0.0.1 port=9 user=u password=pw-plain dbname=x", "pw-plain"),
    ("host=127.0.0.1 port=9 user=u password='pw quoted \\' too' dbname=x", "pw quoted"),
])
def test_unreachable_database_is_one_clear_line_without_the_password(url, secret):
    with pytest.raises(TargetUnreachable, match=r"^cannot connect to database .*127\.0\.0\.1") as info:
        Database(url)
    message = str(info.value)
    assert "\n" not in message and "***" in message
    assert secret not in message and "too" not in message


def test_unreachable_database_keeps_the_url_readable():
    with pytest.raises(TargetUnreachable, match=r"cannot connect to database postgresql://u:\*\*\*@127.0.0.1:9/x"):
        Database("postgresql://u:pw@127.0.0.1:9/x")
