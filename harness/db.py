"""Postgres access for fixtures: a read-only session that returns DataFrames, and an explicit writer.

Every read (:meth:`Database.query`, ``records``, ``one``, ``scalar``) is one statement run inside a
transaction the session opens itself, ``BEGIN READ ONLY``, and always rolls back: the three are sent
together in one pipeline (one round trip), and a pipeline sends each statement on its own, so
``SELECT 1; COMMIT; INSERT ...`` is refused by the server instead of ending the transaction. Before
anything is sent, statements that could escape that transaction or change the session (transaction
control, ``SET``/``RESET``, ``COPY``, ``DO``, ``CALL``, ``LISTEN``/``NOTIFY``, ``LOCK``, ``DISCARD``,
``LOAD``, ...) are refused with :class:`ReadOnlyViolation`; only reading statements (``SELECT``,
``WITH``, ``VALUES``, ``TABLE``, ``SHOW``, ``EXPLAIN`` of one of those) go out. A write the server
refuses (``WITH d AS (DELETE ...) SELECT``, ``set_config('transaction_read_only', 'off', ...)``) becomes a
:class:`ReadOnlyViolation` too.

Writes (cleanup, pausing other fixtures) go through :meth:`Database.writer`, a separate connection
to the write URL.
"""
from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.sql import Composable

from .errors import ReadOnlyViolation, TargetUnreachable, reason_of
from .redaction import redact_url

if TYPE_CHECKING:  # pandas is imported by query(): the runner checks the database without it
    import pandas as pd

Query = str | Composable
Params = Sequence[Any] | dict[str, Any] | None

READING_STATEMENTS = frozenset({"select", "with", "values", "table", "show", "explain"})
"""First keywords a read may start with; everything else is refused before it reaches the server."""
_EXPLAIN_FLAGS = frozenset({"analyze", "analyse", "verbose"})
_WRITE_HINT = "use fx.db.writer() for writes"


def _plain(value: Any) -> Any:
    """Make driver values friendly to DataFrames and JSON: UUIDs as text; numerics stay exact ``Decimal``."""
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# -- statement check -------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
      (?P<space>\s+)
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<escape_string>[Ee]'(?:[^'\\]|''|\\.)*(?:'|\Z))
    | (?P<string>[BbXxNn]?'(?:[^']|'')*(?:'|\Z))
    | (?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z0-9_]*)?\$)
    | (?P<ident>(?:[Uu]&)?"(?:[^"]|"")*(?:"|\Z))
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


def _skip_block_comment(sql: str, pos: int) -> int:
    """Position after the (nestable) ``/* ... */`` comment whose opening ends at ``pos``."""
    depth = 1
    while depth and pos < len(sql):
        if sql.startswith("/*", pos):
            depth, pos = depth + 1, pos + 2
        elif sql.startswith("*/", pos):
            depth, pos = depth - 1, pos + 2
        else:
            pos += 1
    return pos


def _tokens(sql: str) -> Iterator[str]:
    """Significant tokens of ``sql``: lower-cased words and single punctuation characters.

    Comments and whitespace are dropped; string literals, dollar-quoted bodies and quoted identifiers
    come out as one opaque token each, so nothing inside them is read as a keyword or a ``;``.
    """
    pos = 0
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        assert match is not None  # the last alternative matches any character
        kind, pos = match.lastgroup, match.end()
        if kind == "block_comment":
            pos = _skip_block_comment(sql, pos)
        elif kind == "dollar":
            end = sql.find(match.group(0), pos)
            pos = len(sql) if end < 0 else end + len(match.group(0))
            yield "$string"
        elif kind in ("string", "escape_string"):
            yield "'string"
        elif kind == "ident":
            yield '"ident'
        elif kind == "word":
            yield match.group(0).lower()
        elif kind == "other":
            yield match.group(0)


def _explained(tokens: list[str]) -> list[str]:
    """The statement an ``EXPLAIN`` (with or without options) is about."""
    rest = tokens[1:]
    if rest[:1] == ["("] and rest[1:2] and rest[1] not in READING_STATEMENTS and rest[1] != "(":
        depth = 0
        for index, token in enumerate(rest):
            depth += {"(": 1, ")": -1}.get(token, 0)
            if depth == 0:
                rest = rest[index + 1:]
                break
    while rest[:1] and rest[0] in _EXPLAIN_FLAGS:
        rest = rest[1:]
    return rest


def statement_refusal(sql: str) -> str | None:
    """Why ``sql`` may not run on the read-only session, or ``None`` when it is one reading statement."""
    tokens = list(_tokens(sql))
    if ";" in tokens:
        cut = tokens.index(";")
        if any(t != ";" for t in tokens[cut:]):
            return "more than one statement; send one statement per call"
        tokens = tokens[:cut]
    statement = tokens
    while statement[:1] == ["("]:
        statement = statement[1:]
    if not statement:
        return "no statement"
    first = statement[0]
    if not first[0].isalpha():
        return "the statement does not start with a keyword"
    if first == "explain":
        explained = _explained(statement)
        while explained[:1] == ["("]:
            explained = explained[1:]
        inner = explained[0] if explained else ""
        if inner not in READING_STATEMENTS - {"explain", "show"}:
            return f"EXPLAIN {inner.upper() or '(nothing)'} is not a reading statement"
        return None
    if first not in READING_STATEMENTS:
        return f"{first.upper()} is not a reading statement"
    return None


# -- sessions --------------------------------------------------------------------------------------

def _connect(url: str, *, read_only: bool) -> psycopg.Connection[dict[str, Any]]:
    """A connection in autocommit mode; the read session never prepares statements on its own."""
    options = "-c default_transaction_read_only=on" if read_only else None
    try:
        # Automatic preparation is off on the read session: a statement skipped by a failed pipeline
        # would be remembered as prepared although the server never saw it.
        return psycopg.connect(url, autocommit=True, row_factory=dict_row, options=options, connect_timeout=10,
                               prepare_threshold=None if read_only else 5)
    except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:  # refused, bad credentials, a malformed URL
        raise TargetUnreachable(f"cannot connect to database {redact_url(url)}: {redact_url(reason_of(exc))}") from None


class Writer:
    """A write-capable connection, meant for cleanup and fixture bookkeeping only."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        self._conn = conn

    def execute(self, sql: Query, params: Params = None) -> int:
        """Run one statement and return the number of affected rows."""
        cur = self._conn.execute(sql, params)
        return cur.rowcount

    def records(self, sql: Query, params: Params = None) -> list[dict[str, Any]]:
        """Run a statement with RETURNING (or a SELECT) and return its rows."""
        cur = self._conn.execute(sql, params)
        return [{k: _plain(v) for k, v in row.items()} for row in cur.fetchall()] if cur.description else []

    def close(self) -> None:
        self._conn.close()


class Database:
    """Read-only queries as DataFrames or records; ``writer()`` for the rare write.

    ``url`` is the read session's database; ``write_url`` (default: ``url``) is the one ``writer()`` uses.
    """

    def __init__(self, url: str, write_url: str | None = None) -> None:
        self.url = url
        self.write_url = write_url or url
        self._conn: psycopg.Connection[dict[str, Any]] | None = _connect(url, read_only=True)
        self._writer: Writer | None = None

    def _session(self) -> psycopg.Connection[dict[str, Any]]:
        if self._conn is None or self._conn.closed:
            self._conn = _connect(self.url, read_only=True)
        return self._conn

    def _settle(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        """Leave the session idle after a read, whatever happened; drop it when that is impossible."""
        if conn.closed or conn.broken:
            conn.close()
            self._conn = None
            return
        if conn.info.transaction_status == TransactionStatus.IDLE:
            return
        try:
            conn.execute("ROLLBACK")
        except BaseException as exc:  # the next read opens a fresh session
            conn.close()
            self._conn = None
            if not isinstance(exc, Exception):
                raise

    def _rows(self, sql: Query, params: Params) -> tuple[list[str], list[dict[str, Any]]]:
        conn = self._session()
        refusal = statement_refusal(sql.as_string(conn) if isinstance(sql, Composable) else sql)
        if refusal is not None:
            raise ReadOnlyViolation(f"refused on the read-only session: {refusal}; {_WRITE_HINT}")
        control, cur = conn.cursor(), conn.cursor()
        try:
            try:
                with conn.pipeline():
                    control.execute("BEGIN READ ONLY")
                    cur.execute(sql, params)
                    control.execute("ROLLBACK")
            finally:
                self._settle(conn)
        except (psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.ActiveSqlTransaction) as exc:
            # a write, or an attempt to make the running transaction read-write
            raise ReadOnlyViolation(f"the read-only session refused it ({exc.diag.message_primary}); "
                                    f"{_WRITE_HINT}") from exc
        except psycopg.OperationalError as exc:
            if conn.closed or conn.broken:
                raise TargetUnreachable(f"lost the database connection: {redact_url(str(exc))}") from None
            raise
        if cur.description is None:
            return [], []
        columns = [c.name for c in cur.description]
        return columns, [{k: _plain(v) for k, v in row.items()} for row in cur.fetchall()]

    def records(self, sql: Query, params: Params = None) -> list[dict[str, Any]]:
        """Rows as a list of dicts."""
        return self._rows(sql, params)[1]

    def one(self, sql: Query, params: Params = None) -> dict[str, Any] | None:
        """The first row, or ``None``."""
        rows = self.records(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: Query, params: Params = None) -> Any:
        """The first column of the first row, or ``None``."""
        row = self.one(sql, params)
        return next(iter(row.values())) if row else None

    def query(self, sql: Query, params: Params = None) -> pd.DataFrame:
        """Rows as a DataFrame (columns kept even when there are no rows; numerics stay ``Decimal``)."""
        import pandas as pd

        columns, rows = self._rows(sql, params)
        return pd.DataFrame.from_records(rows, columns=columns)

    def writer(self) -> Writer:
        """The explicit write handle on the write URL (opened on first use, then reused)."""
        if self._writer is None:
            self._writer = Writer(_connect(self.write_url, read_only=False))
        return self._writer

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._writer is not None:
            self._writer.close()
