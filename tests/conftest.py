"""Shared test fixtures: a real sandbox (embedded Postgres + HTTP server on loopback) per session."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from harness.sandbox import control
from harness.sandbox.state_file import env_for

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def sandbox_dir() -> Iterator[Path]:
    """A sandbox started for this test session (and stopped after it)."""
    # Not under pytest's basetemp: pytest deletes old numbered temp folders when another session
    # (including nested ones some tests start) begins, which would pull the data folder from under
    # the running Postgres.
    given = os.environ.get("HARNESS_TEST_SANDBOX_DIR")
    directory = Path(given or tempfile.mkdtemp(prefix="harness-test-sandbox-"))
    control.start(directory=directory, port=_free_port())
    yield directory
    control.stop(directory)
    if not given:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox_state(sandbox_dir: Path) -> dict:
    state = control.status(sandbox_dir)
    assert state is not None, "the test sandbox is not running"
    return state


@pytest.fixture(scope="session")
def sandbox_env(sandbox_state: dict) -> dict[str, str]:
    """BASE_URL, TENANT_ID, DATABASE_URL (read-only role), DATABASE_WRITE_URL (writer role) and the API key
    of the first sandbox tenant; DDL and seed access is ``sandbox_state["admin_database_url"]``."""
    return env_for(sandbox_state)


@pytest.fixture(scope="session")
def second_tenant_env(sandbox_state: dict) -> dict[str, str]:
    return env_for(sandbox_state, sandbox_state["tenants"][1]["slug"])
