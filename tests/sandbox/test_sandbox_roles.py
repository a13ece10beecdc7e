"""The sandbox's database roles, on the session sandbox's embedded Postgres: a read-only reader for
assertions, a writer for rows only, and a password required of every role, the owner included."""
from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from harness.sandbox.roles import login_url
from harness.sandbox.state_file import env_for


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def whoami(url: str) -> str:
    with connect(url) as conn:
        return conn.execute("SELECT current_user").fetchone()[0]


def refused(url: str, statement: str | sql.Composable, params: Any = None) -> None:
    with connect(url) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement, params)


def test_env_exports_the_reader_and_the_writer(sandbox_state):
    env = env_for(sandbox_state)
    roles = sandbox_state["database_roles"]
    assert env["DATABASE_URL"] == sandbox_state["database_url"]
    assert env["DATABASE_WRITE_URL"] == sandbox_state["database_write_url"]
    assert whoami(env["DATABASE_URL"]) == roles["reader"]
    assert whoami(env["DATABASE_WRITE_URL"]) == roles["writer"]
    assert whoami(sandbox_state["admin_database_url"]) == "postgres"
    assert roles["reader"].startswith("harness_sandbox_") and roles["writer"].startswith("harness_sandbox_")


def test_neither_role_has_special_powers(sandbox_state):
    roles = sandbox_state["database_roles"]
    with connect(sandbox_state["admin_database_url"]) as conn:
        rows = conn.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, "
            "pg_has_role(oid, 'pg_execute_server_program', 'MEMBER'), "
            "pg_has_role(oid, 'pg_write_server_files', 'MEMBER'), "
            "EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid) "
            "FROM pg_roles r WHERE rolname = ANY(%s)", ([roles["reader"], roles["writer"]],)).fetchall()
    assert len(rows) == 2
    assert all(not any(flags) for _, *flags in rows), rows


def test_the_reader_only_reads(sandbox_state, sandbox_env):
    reader, writer_role = sandbox_state["database_url"], sandbox_state["database_roles"]["writer"]
    tenant = sandbox_env["TENANT_ID"]
    with connect(reader) as conn:
        before = conn.execute("SELECT count(*), max(title) FROM tickets WHERE tenant = %s", (tenant,)).fetchone()
    refused(reader, "INSERT INTO workflow_runtime_events (tenant, event_name) VALUES (%s, 'ROLE_TEST')", (tenant,))
    refused(reader, "UPDATE tickets SET title = 'changed by the reader' WHERE tenant = %s", (tenant,))
    refused(reader, "DELETE FROM tickets WHERE tenant = %s", (tenant,))
    refused(reader, "TRUNCATE workflow_runtime_events")
    refused(reader, "CREATE TABLE reader_was_here (a int)")
    refused(reader, "CREATE TEMPORARY TABLE reader_was_here (a int)")
    refused(reader, "CREATE SCHEMA reader_was_here")
    refused(reader, "COPY (SELECT 1) TO PROGRAM 'touch /tmp/reader_was_here'")
    refused(reader, sql.SQL("SET ROLE {}").format(sql.Identifier(writer_role)))
    refused(reader, "SET ROLE postgres")
    with connect(reader) as conn:
        assert conn.execute("SELECT count(*), max(title) FROM tickets WHERE tenant = %s",
                            (tenant,)).fetchone() == before


def test_the_writer_changes_rows_but_not_the_schema(sandbox_state, sandbox_env):
    writer, tenant = sandbox_state["database_write_url"], sandbox_env["TENANT_ID"]
    with connect(writer) as conn:
        event_id = conn.execute("INSERT INTO workflow_runtime_events (tenant, event_name) VALUES (%s, 'ROLE_TEST') "
                                "RETURNING event_id", (tenant,)).fetchone()[0]
        assert conn.execute("UPDATE workflow_runtime_events SET error_message = 'x' WHERE event_id = %s",
                            (event_id,)).rowcount == 1
        assert conn.execute("DELETE FROM workflow_runtime_events WHERE event_id = %s", (event_id,)).rowcount == 1
    refused(writer, "CREATE TABLE writer_was_here (a int)")
    refused(writer, "CREATE TEMPORARY TABLE writer_was_here (a int)")
    refused(writer, "ALTER TABLE tickets ADD COLUMN writer_was_here int")
    refused(writer, "DROP TABLE workflow_runtime_events")
    refused(writer, "TRUNCATE workflow_runtime_events")
    refused(writer, "COPY (SELECT 1) TO PROGRAM 'touch /tmp/writer_was_here'")
    refused(writer, "CREATE ROLE writer_was_here")
    refused(writer, "SET ROLE postgres")
    refused(writer, "UPDATE sandbox_meta SET value = 'x'")  # the schema marker is the owner's


@pytest.mark.parametrize("url_key", ["database_url", "database_write_url", "admin_database_url"])
def test_every_role_needs_its_password(sandbox_state, url_key):
    url = sandbox_state[url_key]
    user = whoami(url)
    for password in ("", "not-the-password"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            connect(login_url(url, user, password)).close()
