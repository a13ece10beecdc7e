"""The sandbox's database: whose it is, and its schema and seed.

An empty database is initialised; one carrying the sandbox's marker (``sandbox_meta`` with the
schema hash) is the sandbox's own and is re-created when the DDL changed; anything else belongs to
someone else and is refused, untouched, unless the user asked for it to be wiped.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal, Mapping

import psycopg
from psycopg import sql

from ..errors import reason_of
from ..redaction import redact_url
from .db import seed as seeding
from ..contract.event_payloads import default_registry

SCHEMA_FILE = Path(seeding.__file__).with_name("schema.sql")
Contents = Literal["empty", "sandbox", "foreign"]

_SYSTEM_SCHEMA = ("n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
                  "AND n.nspname NOT LIKE 'pg\\_temp\\_%'")
_HAS_OBJECTS = f"""
SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_SYSTEM_SCHEMA})
    OR EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {_SYSTEM_SCHEMA})
    OR EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
               WHERE {_SYSTEM_SCHEMA} AND t.typrelid = 0 AND t.typelem = 0)
    OR EXISTS (SELECT 1 FROM pg_namespace n WHERE {_SYSTEM_SCHEMA} AND n.nspname <> 'public')
    OR EXISTS (SELECT 1 FROM pg_extension WHERE extname <> 'plpgsql')
"""
_USER_SCHEMAS = f"SELECT n.nspname FROM pg_namespace n WHERE {_SYSTEM_SCHEMA}"


class StartRefused(Exception):
    """The sandbox will not start as asked; the message is one line for the user (no secrets)."""


def schema_hash() -> str:
    return hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest()[:16]


def _marker(conn: psycopg.Connection[Any]) -> str | None:
    """The schema hash the sandbox recorded here, or ``None`` when there is no marker."""
    if conn.execute("SELECT to_regclass('public.sandbox_meta')").fetchone()[0] is None:
        return None
    row = conn.execute("SELECT value FROM public.sandbox_meta WHERE key = 'schema'").fetchone()
    return row[0] if row else None


def contents(conn: psycopg.Connection[Any]) -> Contents:
    """``sandbox`` (it carries the marker), ``empty`` (no objects outside the system schemas), or ``foreign``."""
    if _marker(conn) is not None:
        return "sandbox"
    return "foreign" if conn.execute(_HAS_OBJECTS).fetchone()[0] else "empty"


def _wipe(conn: psycopg.Connection[Any]) -> None:
    """Drop every schema outside the system ones (with everything in them) and start a new ``public``."""
    with conn.transaction():
        for (name,) in conn.execute(_USER_SCHEMAS).fetchall():
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
        for (name,) in conn.execute("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'").fetchall():
            conn.execute(sql.SQL("DROP EXTENSION IF EXISTS {} CASCADE").format(sql.Identifier(name)))
        conn.execute("CREATE SCHEMA public")


def _create_schema(conn: psycopg.Connection[Any], wanted: str) -> None:
    with conn.transaction():  # the marker exists only once every table does
        seeding.apply_schema(conn)
        conn.execute("CREATE TABLE sandbox_meta (key text PRIMARY KEY, value text NOT NULL)")
        conn.execute("INSERT INTO sandbox_meta VALUES ('schema', %s)", (wanted,))


def prepare_database(url: str, api_keys: Mapping[str, str], *, reset: bool = False) -> list[seeding.TenantSeed]:
    """Make ``url`` the sandbox's database: schema (re-created when the DDL changed) and seed.

    A non-empty database without the sandbox's marker raises :class:`StartRefused`, untouched,
    unless ``reset`` (which wipes any database first).
    """
    wanted = schema_hash()
    events = default_registry().events()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            found = contents(conn)
            if found == "foreign" and not reset:
                raise StartRefused(f"{redact_url(url)} is not empty and was not created by the sandbox; "
                                   "pass --reset-database to wipe it")
            if reset or (found == "sandbox" and _marker(conn) != wanted):
                _wipe(conn)
                found = "empty"
            if found == "empty":
                _create_schema(conn, wanted)
                return seeding.seed(conn, api_keys, events)
            if conn.execute("SELECT 1 FROM tenants LIMIT 1").fetchone() is None:
                return seeding.seed(conn, api_keys, events)
            return seeding.describe(api_keys)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StartRefused(f"cannot set up the sandbox schema in {redact_url(url)}: "
                           f"{_reason(exc)}") from None
    except psycopg.Error as exc:
        raise StartRefused(f"cannot use database {redact_url(url)}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return redact_url(reason_of(exc))
