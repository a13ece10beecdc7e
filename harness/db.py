"""Postgres access for fixtures: a read-only session that returns DataFrames, and an explicit writer.

The read session runs with ``default_transaction_read_only = on`` at the server, so a stray
write in an assertion cell fails loudly. Writes (cleanup, pausing other fixtures) go through
:meth:`Database.writer`, which is a separate connection on purpose.
"""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Sequence

import pandas as pd
import psycopg
from psycopg.rows import dict_row

from .config import redact_url
from .errors import TargetUnreachable

Params = Sequence[Any] | dict[str, Any] | None


def _plain(value: Any) -> Any:
    """Make driver values friendly to DataFrames and JSON (UUIDs as text, numerics as float)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _connect(url: str, *, read_only: bool) -> psycopg.Connection:
    options = "-c default_transaction_read_only=on" if read_only else None
    try:
        return psycopg.connect(url, autocommit=True, row_factory=dict_row, options=options, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise TargetUnreachable(f"cannot connect to database {redact_url(url)}: {reason}") from None


class Writer:
    """A write-capable connection, meant for cleanup and fixture bookkeeping only."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = None) -> int:
        """Run one statement and return the number of affected rows."""
        cur = self._conn.execute(sql, params)
        return cur.rowcount

    def records(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """Run a statement with RETURNING (or a SELECT) and return its rows."""
        cur = self._conn.execute(sql, params)
        return [{k: _plain(v) for k, v in row.items()} for row in cur.fetchall()] if cur.description else []

    def close(self) -> None:
        self._conn.close()


class Database:
    """Read-only queries as DataFrames or records; ``writer()`` for the rare write."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = _connect(url, read_only=True)
        self._writer: Writer | None = None

    def _rows(self, sql: str, params: Params) -> tuple[list[str], list[dict[str, Any]]]:
        try:
            cur = self._conn.execute(sql, params)
        except psycopg.OperationalError as exc:
            if self._conn.closed or self._conn.broken:
                raise TargetUnreachable(f"lost the database connection: {exc}") from None
            raise
        if cur.description is None:
            return [], []
        columns = [c.name for c in cur.description]
        return columns, [{k: _plain(v) for k, v in row.items()} for row in cur.fetchall()]

    def records(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """Rows as a list of dicts."""
        return self._rows(sql, params)[1]

    def one(self, sql: str, params: Params = None) -> dict[str, Any] | None:
        """The first row, or ``None``."""
        rows = self.records(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Params = None) -> Any:
        """The first column of the first row, or ``None``."""
        row = self.one(sql, params)
        return next(iter(row.values())) if row else None

    def query(self, sql: str, params: Params = None) -> pd.DataFrame:
        """Rows as a DataFrame (columns kept even when there are no rows)."""
        columns, rows = self._rows(sql, params)
        return pd.DataFrame.from_records(rows, columns=columns)

    def writer(self) -> Writer:
        """The explicit write handle (opened on first use, then reused)."""
        if self._writer is None:
            self._writer = Writer(_connect(self.url, read_only=False))
        return self._writer

    def close(self) -> None:
        self._conn.close()
        if self._writer is not None:
            self._writer.close()
