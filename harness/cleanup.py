"""Durable cleanup: declarative actions journaled on disk the moment they are registered.

A fixture registers what must be undone (``fx.on_cleanup(ApiDelete(...))``, ``fx.on_cleanup(Sql(...))``).
Each declarative action is appended to a journal file outside the kernel, and flushed to disk,
before the call returns. Cleanup runs the actions last-in-first-out and marks each one done in the
journal. Whatever a dead kernel, an interrupt or a timeout left undone is replayed from the journal
by the runner, or later by ``harness cleanup`` when the whole machine went away.

A journal is JSON lines: one header, then ``add`` / ``done`` / ``failed`` records. Only ``add`` records
are synced to disk: a lost ``done`` only means an action runs again, and every action must be safe to
repeat (a ``DELETE ... WHERE``, an API delete whose 404 counts as done). The process that owns a
running fixture (the runner, or a kernel on its own) holds an exclusive ``flock`` on the journal, so a
journal nobody holds is a leftover; only that owner removes the file, once nothing is pending.
Arbitrary callables can still be registered, but they live in the kernel only.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import fcntl
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.types.json import Json, Jsonb

from .errors import HarnessError, HttpError, TargetUnreachable
from .project import state_dir
from .redaction import redact_text

JOURNAL_ENV = "HARNESS_CLEANUP_JOURNAL"  # set by the runner: the journal this kernel appends to
JOURNAL_DIR_ENV = "HARNESS_JOURNAL_DIR"
JOURNAL_VERSION = 1
SUFFIX = ".cleanup.jsonl"
LOCK_PATIENCE_S = 1.0  # how long taking a journal waits out another process's momentary liveness probe
API_TIMEOUT_S = 10.0  # per request, when the runner or `harness cleanup` replays
STALE_AFTER_S = 60.0  # an unheld journal with nothing pending this old is removed by `harness cleanup`


class CleanupError(HarnessError):
    """A cleanup action could not be registered or replayed."""


# -- parameters, as JSON and back ------------------------------------------------------------------

def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return {"$float": repr(float(value))}  # float(): numpy floats are floats, with another repr
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, (Json, Jsonb)):
        return {"$jsonb" if isinstance(value, Jsonb) else "$json": value.obj}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars from DataFrame cells
        return _encode(value.item())
    raise CleanupError(f"cleanup parameter of type {type(value).__name__} cannot be journaled; "
                       "wrap JSON values in psycopg.types.json.Jsonb, or pass text")


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "$float": float, "$decimal": decimal.Decimal, "$datetime": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat, "$json": Json, "$jsonb": Jsonb, "$bytes": base64.b64decode}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    (tag, raw), = value.items()
    return _DECODERS[tag](raw)


def encode_params(params: Sequence[Any] | Mapping[str, Any] | None) -> Any:
    """Statement parameters as JSON-ready data (tagged where JSON has no type of its own)."""
    if params is None:
        return None
    if isinstance(params, Mapping):
        return {"$named": {str(k): _encode(v) for k, v in params.items()}}
    return [_encode(v) for v in params]


def decode_params(raw: Any) -> Any:
    """Parameters written by :func:`encode_params` (sequences come back as lists)."""
    if raw is None:
        return None
    if isinstance(raw, dict):
        return {k: _decode(v) for k, v in raw["$named"].items()}
    return [_decode(v) for v in raw]


# -- actions ---------------------------------------------------------------------------------------

class CleanupTarget(Protocol):
    """What an action needs to run: the target's API and a write connection."""

    def api_delete(self, path: str) -> None: ...

    def execute(self, sql: str, params: Any) -> int: ...


class CleanupAction(Protocol):
    """A cleanup step that can be written to a journal and run later, in another process."""

    def run(self, target: CleanupTarget) -> None: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Sql:
    """One parameterised statement, run through the writer connection (``%s`` or ``%(name)s``)."""

    sql: str
    params: Sequence[Any] | Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.sql, str) or not self.sql.strip():
            raise CleanupError("Sql needs a statement")
        try:  # refuse what cannot be journaled now, not at replay time
            json.dumps(encode_params(self.params))
        except (TypeError, ValueError) as exc:
            raise CleanupError(f"cleanup parameters cannot be journaled: {exc}") from None

    def run(self, target: CleanupTarget) -> None:
        target.execute(self.sql, self.params)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "sql", "sql": self.sql, "params": encode_params(self.params)}


@dataclass(frozen=True)
class ApiDelete:
    """``DELETE <path>`` on the target's API; when it fails for any reason other than 404 (refused,
    server error, target unreachable), the ``fallback`` statements run instead, in order."""

    path: str
    fallback: Sequence[Sql] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            raise CleanupError(f"ApiDelete needs a path starting with '/', got {self.path!r}")
        object.__setattr__(self, "fallback", tuple(self.fallback))
        if not all(isinstance(s, Sql) for s in self.fallback):
            raise CleanupError("ApiDelete fallback must be a list of Sql statements")

    def run(self, target: CleanupTarget) -> None:
        try:
            target.api_delete(self.path)
            return
        except HttpError as exc:
            if exc.status == 404:
                return  # already gone
            if not self.fallback:
                raise
        except TargetUnreachable:
            if not self.fallback:
                raise
        for statement in self.fallback:
            statement.run(target)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "api_delete", "path": self.path, "fallback": [s.to_json() for s in self.fallback]}


def action_from_json(data: Mapping[str, Any]) -> CleanupAction:
    """Rebuild an action written by ``to_json``."""
    kind = data.get("kind")
    if kind == "sql":
        return Sql(data["sql"], decode_params(data.get("params")))
    if kind == "api_delete":
        return ApiDelete(data["path"], [Sql(s["sql"], decode_params(s.get("params")))
                                        for s in data.get("fallback") or []])
    raise CleanupError(f"unknown cleanup action {kind!r}")


def describe_action(data: Mapping[str, Any]) -> str:
    """One line saying what a journaled action does (statement text, no parameter values)."""
    if data.get("kind") == "api_delete":
        fallback = len(data.get("fallback") or [])
        return f"DELETE {data.get('path')}" + (f" (else {fallback} SQL statement(s))" if fallback else "")
    text = " ".join(str(data.get("sql", "")).split())
    return f"SQL {text if len(text) <= 120 else text[:119] + '…'}"


# -- the journal -----------------------------------------------------------------------------------

def journal_dir() -> Path:
    """``$HARNESS_JOURNAL_DIR``, else ``<project root>/.harness/cleanup``."""
    return state_dir(JOURNAL_DIR_ENV, "cleanup")


def new_journal_path(test_id: str, directory: Path | None = None) -> Path:
    """A fresh, unique journal file name for one fixture execution."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in test_id) or "fixture"
    return (directory or journal_dir()) / f"{safe}-{stamp}-{uuid.uuid4().hex[:8]}{SUFFIX}"


def database_place(url: str | None) -> str | None:
    """``host:port/dbname`` of a database URL (no user, no password), to recognise the same database."""
    if not url:
        return None
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return None
    return f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


def strip_userinfo(url: str) -> str:
    """``url`` without user and password, and without a trailing slash."""
    parts = urlsplit(url.strip())
    if parts.hostname:
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        parts = parts._replace(netloc=host + (f":{parts.port}" if parts.port else ""))
    return urlunsplit(parts).rstrip("/")


def _take_lock(fd: int, patience_s: float) -> bool:
    give_up = time.monotonic() + patience_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= give_up:
                return False
            time.sleep(0.01)


class Journal:
    """An append-only journal file. ``hold=True`` also takes the exclusive lock that marks it as live,
    and makes this the owner: the only one that removes the file (on :meth:`close`, when nothing is pending)."""

    def __init__(self, path: Path, *, hold: bool = False) -> None:
        self.path = path
        self.hold = hold
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if hold and not _take_lock(self._fd, LOCK_PATIENCE_S):
            os.close(self._fd)
            raise CleanupError(f"{path} belongs to a fixture that is still running")
        self._next = 1 + max((e.id for e in read_journal(path).entries), default=0)

    def _write(self, record: dict[str, Any], *, sync: bool = False) -> None:
        os.write(self._fd, (json.dumps(record, separators=(",", ":")) + "\n").encode())
        if sync:
            os.fsync(self._fd)

    def header(self, *, test_id: str, base_url: str, tenant_id: str, database_url: str | None) -> None:
        """Describe the target the actions belong to (written once, before any action; synced with the first)."""
        if os.fstat(self._fd).st_size == 0:
            self._write({"type": "journal", "version": JOURNAL_VERSION, "testId": test_id,
                         "baseUrl": strip_userinfo(base_url), "tenantId": tenant_id,
                         "database": database_place(database_url), "pid": os.getpid(),
                         "createdAt": dt.datetime.now(dt.timezone.utc).isoformat()})

    def add(self, label: str, action: CleanupAction) -> int:
        """Journal one action; returns its id. The record is on disk when this returns."""
        entry_id = self._next
        self._next += 1
        self._write({"type": "add", "id": entry_id, "label": label, "action": action.to_json()}, sync=True)
        return entry_id

    def done(self, entry_id: int) -> None:
        self._write({"type": "done", "id": entry_id})

    def failed(self, entry_id: int, error: str) -> None:
        self._write({"type": "failed", "id": entry_id, "error": error})

    def close(self) -> None:
        """Close the file (and release the lock); the owner removes it when nothing is left to do."""
        if self._fd < 0:
            return
        try:
            if self.hold and not read_journal(self.path).pending:
                self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_journal(path: Path, *, hold: bool, test_id: str, target: Any) -> Journal:
    """Open the journal at ``path`` and write its header naming ``target`` (closed again if that fails)."""
    journal = Journal(path, hold=hold)
    try:
        journal.header(test_id=test_id, base_url=target.base_url, tenant_id=target.tenant_id,
                       database_url=target.database_url)
    except BaseException:
        journal.close()
        raise
    return journal


def attempt(label: str, step: Callable[[], Any]) -> str | None:
    """Run one cleanup step; ``None`` when it worked, else the line that says how it failed."""
    try:
        step()
    except Exception as exc:  # every step runs, whatever the others do: the caller moves on
        return f"cleanup {label!r} failed: {type(exc).__name__}: {exc}"
    return None


def mark(journal: Journal, entry_id: int, error: str | None) -> None:
    """Record the outcome of one journaled action: done, or failed (and so still pending)."""
    if error is None:
        journal.done(entry_id)
    else:
        journal.failed(entry_id, error)


@dataclass(frozen=True)
class Entry:
    """One journaled action: its id, label and JSON form."""

    id: int
    label: str
    action: dict[str, Any]


@dataclass
class JournalState:
    """What a journal file says: its header, every action, and those not done yet (in order)."""

    path: Path
    header: dict[str, Any]
    entries: list[Entry]
    pending: list[Entry]
    errors: dict[int, str]


def read_journal(path: Path) -> JournalState:
    """Parse a journal; a torn last line (the writer died mid-write) or a malformed record is ignored."""
    header: dict[str, Any] = {}
    entries: dict[int, Entry] = {}
    done: set[int] = set()
    errors: dict[int, str] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        try:
            record = json.loads(line)
            kind = record.get("type")
            if kind == "journal":
                header = record
            elif kind == "add" and isinstance(record["action"], dict):
                entries[int(record["id"])] = Entry(int(record["id"]), str(record.get("label", "")), record["action"])
            elif kind == "done":
                done.add(int(record["id"]))
            elif kind == "failed":
                errors[int(record["id"])] = str(record.get("error", ""))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    ordered = [entries[k] for k in sorted(entries)]
    return JournalState(path, header, ordered, [e for e in ordered if e.id not in done], errors)


def replay(journal: Journal, target: CleanupTarget,
           on_result: Callable[[Entry, str | None], None] | None = None) -> list[str]:
    """Run the journal's pending actions, last registered first; return the errors.

    Each action is marked done as it succeeds. A failed action stays pending, so a later replay
    (``harness cleanup``) tries it again. ``on_result(entry, error)`` hears about each action.
    Closing the journal removes it once nothing is pending.
    """
    errors: list[str] = []
    for entry in reversed(read_journal(journal.path).pending):
        error = attempt(entry.label, lambda: action_from_json(entry.action).run(target))
        error = redact_text(error) if error is not None else None
        mark(journal, entry.id, error)
        if error is not None:
            errors.append(error)
        if on_result:
            on_result(entry, error)
    return errors


def is_live(path: Path) -> bool:
    """True while a running fixture (runner or kernel) holds the journal's lock."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def leftover_journals(directory: Path | None = None) -> Iterator[Path]:
    """Journals with pending actions that no live process holds: left by runs that died."""
    folder = directory or journal_dir()
    if not folder.is_dir():
        return
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        if not is_live(path) and read_journal(path).pending:
            yield path


def stale_journals(directory: Path | None = None, min_age_s: float = STALE_AFTER_S) -> Iterator[Path]:
    """Journals nobody holds with nothing pending (their runner was killed before removing them)."""
    folder = directory or journal_dir()
    if not folder.is_dir():
        return
    now = time.time()
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            old_enough = now - path.stat().st_mtime >= min_age_s
        except FileNotFoundError:
            continue
        if old_enough and not is_live(path) and not read_journal(path).pending:
            yield path


def leftover_warning(directory: Path | None = None) -> str | None:
    """The one-line warning every run prints when runs that died left cleanup behind, else ``None``."""
    count = sum(1 for _ in leftover_journals(directory))
    if not count:
        return None
    return f"warning: {count} cleanup journal(s) left by runs that died; run `harness cleanup`"


def journal_matches(header: Mapping[str, Any], base_url: str, tenant_id: str) -> bool:
    """True when a journal's header names this target: same base URL (userinfo aside) and tenant."""
    return (strip_userinfo(str(header.get("baseUrl", ""))) == strip_userinfo(base_url)
            and str(header.get("tenantId", "")).lower() == tenant_id.lower())


class CleanupSession:
    """Runs actions against a target: its API for deletes, a writer connection opened on first use."""

    def __init__(self, api: Any, open_writer: Callable[[], Any], *, open_api: Callable[[], Any] | None = None) -> None:
        self._api = api
        self._open_api = open_api
        self._open_writer = open_writer
        self._writer: Any = None
        self._owned: list[Any] = []

    @classmethod
    def for_target(cls, target: Any) -> "CleanupSession":
        """A session with its own client and connection, each opened on first use (the runner's after
        the kernel, ``harness cleanup``'s). Writes go to the target's write URL."""
        from .db import Database
        from .http import AlgaClient

        def open_api() -> Any:
            client = AlgaClient(target, timeout_s=API_TIMEOUT_S)
            session._owned.append(client)
            return client

        def open_writer() -> Any:
            db = Database(target.database_url or "", write_url=getattr(target, "database_write_url", None))
            session._owned.append(db)
            return db.writer()

        session = cls(None, open_writer, open_api=open_api)
        return session

    def api_delete(self, path: str) -> None:
        if self._api is None and self._open_api is not None:
            self._api = self._open_api()
        self._api.delete(path)

    def execute(self, sql: str, params: Any) -> int:
        if self._writer is None:
            self._writer = self._open_writer()
        return self._writer.execute(sql, params)

    def close(self) -> None:
        """Close the client and connections this session opened itself."""
        for resource in self._owned:
            resource.close()
        self._owned.clear()

    def __enter__(self) -> "CleanupSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
