"""The sandbox's two login roles on its database: a reader (SELECT only) and a writer (rows only).

Neither is superuser, may create roles or databases, belongs to any other role (so no
``pg_execute_server_program``, no ``COPY ... TO PROGRAM``), or may create objects. Their names carry
the database name, their passwords come from the sandbox's credentials file and are sent to the
server already hashed (SCRAM). A role of that name that the sandbox did not create is refused.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from ..redaction import redact_url
from .database import StartRefused

_TABLE_PRIVILEGES = {"reader": "SELECT", "writer": "SELECT, INSERT, UPDATE, DELETE"}
_SEQUENCE_PRIVILEGES = {"reader": "SELECT", "writer": "USAGE, SELECT"}
_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
_CHECK = """
SELECT r.rolname, r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls,
       EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid),
       has_schema_privilege(r.oid, 'public', 'CREATE'), has_database_privilege(r.oid, current_database(), 'CREATE')
FROM pg_roles r WHERE r.rolname = ANY(%s)
"""


@dataclass(frozen=True)
class Roles:
    """The two role names of one sandbox database."""

    reader: str
    writer: str

    def items(self) -> list[tuple[str, str]]:
        return [("reader", self.reader), ("writer", self.writer)]


def role_names(database: str) -> Roles:
    """``harness_sandbox_<database>_<hash>_reader`` / ``_writer`` (at most 63 characters)."""
    slug = re.sub(r"[^a-z0-9]+", "_", database.lower()).strip("_")[:24] or "db"
    base = f"harness_sandbox_{slug}_{hashlib.sha256(database.encode()).hexdigest()[:6]}"
    return Roles(f"{base}_reader", f"{base}_writer")


def login_url(url: str, user: str, password: str) -> str:
    """``url`` (a URL or a libpq DSN) signing in as ``user`` with ``password`` instead."""
    if not url.startswith(("postgresql://", "postgres://")):
        return make_conninfo(url, user=user, password=password)
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if k not in ("user", "password")], safe="/")
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _comment(kind: str, database: str) -> str:
    return f"harness sandbox {kind} role of database {database}"


def _scram(conn: psycopg.Connection[Any], role: str, password: str) -> str:
    return conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()


def check_can_manage(conn: psycopg.Connection[Any], url: str) -> None:
    """Refuse (one line) when the connection's user may not create roles."""
    user, allowed = conn.execute("SELECT current_user, rolsuper OR rolcreaterole FROM pg_roles "
                                 "WHERE rolname = current_user").fetchone()
    if not allowed:
        raise StartRefused(f"the user {user!r} of {redact_url(url)} may not create roles (it needs CREATEROLE): "
                           "the sandbox creates a read-only and a writer role on its database")


def ensure_roles(conn: psycopg.Connection[Any], passwords: dict[str, str]) -> Roles:
    """Create the reader and writer (or reset an earlier sandbox's: attributes, password, memberships)."""
    database = conn.execute("SELECT current_database()").fetchone()[0]
    roles = role_names(database)
    for kind, name in roles.items():
        row = conn.execute("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s",
                           (name,)).fetchone()
        if row is not None and row[0] != _comment(kind, database):
            raise StartRefused(f"a role named {name} exists and was not created by the sandbox; "
                               "drop or rename it first")
        verb = "ALTER" if row is not None else "CREATE"
        conn.execute(sql.SQL("{} ROLE {} WITH " + _ATTRIBUTES + " PASSWORD {}").format(
            sql.SQL(verb), sql.Identifier(name), sql.Literal(_scram(conn, name, passwords[kind]))))
        conn.execute(sql.SQL("COMMENT ON ROLE {} IS {}").format(sql.Identifier(name),
                                                                sql.Literal(_comment(kind, database))))
        for (granted,) in conn.execute("SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                                       "WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = %s)",
                                       (name,)).fetchall():
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(granted), sql.Identifier(name)))
    return roles


def grant_access(conn: psycopg.Connection[Any], roles: Roles) -> None:
    """Grant each role its privileges on every sandbox table (run after the schema exists)."""
    database = sql.Identifier(conn.execute("SELECT current_database()").fetchone()[0])
    both = sql.SQL(", ").join([sql.Identifier(roles.reader), sql.Identifier(roles.writer)])
    with conn.transaction():
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(database, both))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, both))
        conn.execute(sql.SQL("REVOKE ALL ON SCHEMA public FROM {}").format(both))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(both))
        conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(both))
        conn.execute(sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {}").format(both))
        for kind, name in roles.items():
            role = sql.Identifier(name)
            conn.execute(sql.SQL("GRANT " + _TABLE_PRIVILEGES[kind] + " ON ALL TABLES IN SCHEMA public TO {}")
                         .format(role))
            conn.execute(sql.SQL("GRANT " + _SEQUENCE_PRIVILEGES[kind] + " ON ALL SEQUENCES IN SCHEMA public TO {}")
                         .format(role))
        conn.execute(sql.SQL("REVOKE INSERT, UPDATE, DELETE ON sandbox_meta FROM {}")
                     .format(sql.Identifier(roles.writer)))
    _close_public_doors(conn, database)
    _verify(conn, roles)


def _close_public_doors(conn: psycopg.Connection[Any], database: sql.Identifier) -> None:
    """What every role gets through PUBLIC: no objects in ``public``, no temporary tables (when we may)."""
    for statement in (sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
                      sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(database)):
        try:
            with conn.transaction():
                conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            pass  # not the owner: checked below where it matters


def _verify(conn: psycopg.Connection[Any], roles: Roles) -> None:
    for name, powerful, member, create_in_schema, create_in_db in conn.execute(
            _CHECK, ([roles.reader, roles.writer],)).fetchall():
        if powerful or member or create_in_schema or create_in_db:
            raise StartRefused(f"the sandbox role {name} would have more rights than it should (superuser, role "
                               "membership or CREATE); the database's owner must revoke CREATE on schema public "
                               "from PUBLIC")
