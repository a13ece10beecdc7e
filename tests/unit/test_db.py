"""The fixture-facing Postgres client, against the sandbox's real embedded Postgres."""
from __future__ import annotations

import psycopg
import pytest

from harness.db import Database
from harness.errors import TargetUnreachable


@pytest.fixture()
def db(sandbox_env):
    database = Database(sandbox_env["DATABASE_URL"])
    yield database
    database.close()


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


def test_read_session_refuses_writes_at_the_server(db):
    assert db.scalar("SHOW default_transaction_read_only") == "on"
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        db.records("UPDATE tenants SET email = email")


def test_writer_is_a_separate_explicit_handle(db, sandbox_env):
    writer = db.writer()
    assert writer is db.writer(), "one write connection per Database"
    tenant = sandbox_env["TENANT_ID"]
    changed = writer.execute("UPDATE tenants SET email = email WHERE tenant = %s", (tenant,))
    assert changed == 1
    assert writer.records("SELECT tenant FROM tenants WHERE tenant = %s", (tenant,)) == [{"tenant": tenant}]


def test_unreachable_database_is_one_clear_line():
    with pytest.raises(TargetUnreachable, match=r"cannot connect to database postgresql://u:\*\*\*@127.0.0.1:9/x"):
        Database("postgresql://u:pw@127.0.0.1:9/x")
