"""An opened fixture (the golden one) on the session sandbox, in this process, with its own journal folder."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

import harness
from harness.fixture import Fixture

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "ticket-created-hello"


@pytest.fixture
def journal_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_env: dict[str, str]) -> Path:
    for name, value in sandbox_env.items():
        monkeypatch.setenv(name, value)
    folder = tmp_path / "journals"
    monkeypatch.setenv("HARNESS_JOURNAL_DIR", str(folder))
    monkeypatch.delenv("HARNESS_CLEANUP_JOURNAL", raising=False)
    return folder


@pytest.fixture
def fx(journal_dir: Path) -> Iterator[Fixture]:
    opened = harness.open_fixture(GOLDEN)
    try:
        yield opened
    finally:
        opened.cleanup()
        opened.close()


@pytest.fixture
def admin(sandbox_state: dict) -> Iterator[psycopg.Connection]:
    """The sandbox's owner connection, to look at (and stage) rows the read-only role cannot write."""
    with psycopg.connect(sandbox_state["admin_database_url"], autocommit=True) as conn:
        yield conn


def count(conn: psycopg.Connection, sql: str, *params: object) -> int:
    return conn.execute(f"SELECT count(*) FROM ({sql}) AS found", params).fetchone()[0]


def golden_run(fx: Fixture) -> None:
    """Trigger the golden workflow with a fresh ticket id and wait for its run."""
    ticket_id = str(uuid.uuid4())
    fx.post_event({"ticketId": ticket_id, "updatedFields": [], "changes": {}}, correlation_key=ticket_id)
    fx.wait_for_run(timeout_ms=20_000)
