"""Shared test fixtures: a real sandbox (embedded Postgres + HTTP server on loopback) per session."""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Iterator

import pytest

from harness.sandbox import control
from harness.sandbox.state import env_for

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A sandbox started for this test session (and stopped after it)."""
    directory = Path(os.environ.get("HARNESS_TEST_SANDBOX_DIR") or tmp_path_factory.mktemp("sandbox"))
    control.start(directory=directory, port=_free_port())
    yield directory
    control.stop(directory)


@pytest.fixture(scope="session")
def sandbox_state(sandbox_dir: Path) -> dict:
    state = control.status(sandbox_dir)
    assert state is not None, "the test sandbox is not running"
    return state


@pytest.fixture(scope="session")
def sandbox_env(sandbox_state: dict) -> dict[str, str]:
    """BASE_URL, TENANT_ID, DATABASE_URL and the API key of the first sandbox tenant."""
    return env_for(sandbox_state)


@pytest.fixture(scope="session")
def second_tenant_env(sandbox_state: dict) -> dict[str, str]:
    return env_for(sandbox_state, sandbox_state["tenants"][1]["slug"])
