"""Starting, stopping and inspecting the background sandbox process.

``stop`` signals only a process that is provably the sandbox (the pid, start time and command line
recorded in ``state.json``), and also stops an embedded Postgres a killed server left running.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from ..redaction import redact_url
from ..errors import HarnessError
from . import embedded
from .private_files import private_lock
from .process import is_recorded, servers_of, terminate
from .state_file import read_state, read_state_file, sandbox_dir, state_file

START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 20
LOCK_FILE = "start.lock"
DATABASE_URL_ENV = "HARNESS_SANDBOX_DATABASE_URL"
"""How ``start`` hands ``--database-url`` to the server process (kept out of the process list)."""
ERROR_FILE = "start-error.txt"
"""Where the server process writes why it refused to start (one line)."""


def _lock(directory: Path) -> Any:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return private_lock(directory / LOCK_FILE)


def _healthy(state: dict[str, Any]) -> bool:
    try:
        return httpx.get(state["base_url"] + "/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def status(directory: Path | None = None) -> dict[str, Any] | None:
    """The running sandbox's state, or ``None``."""
    state = read_state(directory)
    return state if state is not None and _healthy(state) else None


def _last_log_line(log_path: Path) -> str:
    try:
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return redact_url(lines[-1]) if lines else "no log output"


def _refusal(directory: Path) -> str | None:
    try:
        return (directory / ERROR_FILE).read_text().strip() or None
    except OSError:
        return None


def start(*, database_url: str | None = None, port: int | None = None, directory: Path | None = None,
          reset_database: bool = False) -> dict[str, Any]:
    """Start the sandbox unless it runs already; return its state once it answers HTTP.

    A start the server refuses raises :class:`HarnessError` with its one-line reason.
    """
    directory = directory or sandbox_dir()
    with _lock(directory):
        state = status(directory)
        if state is not None:
            return state
        state_file(directory).unlink(missing_ok=True)
        (directory / ERROR_FILE).unlink(missing_ok=True)
        log_path = directory / "server.log"
        cmd = [sys.executable, "-m", "harness.sandbox.serve", "--dir", str(directory)]
        if reset_database:
            cmd.append("--reset-database")
        if port:
            cmd += ["--port", str(port)]
        env = {k: v for k, v in os.environ.items() if k != DATABASE_URL_ENV}
        if database_url:
            env[DATABASE_URL_ENV] = database_url  # not on the command line, where `ps` shows it
        with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                refusal = _refusal(directory)
                if refusal:
                    raise HarnessError(refusal)
                raise HarnessError(f"the sandbox failed to start: {_last_log_line(log_path)} (log: {log_path})")
            state = read_state(directory)
            if state is not None and state.get("pid") == proc.pid and _healthy(state):
                return state
            time.sleep(0.1)
        proc.terminate()
        raise HarnessError(f"the sandbox did not start within {START_TIMEOUT_S}s (log: {log_path})")


@dataclass(frozen=True)
class StopResult:
    """What ``stop`` found and did."""

    server_pid: int | None = None
    """The sandbox server that was stopped."""
    stale_pid: int | None = None
    """A pid in ``state.json`` that was no longer the sandbox (not signalled; the state was removed)."""
    postgres_pid: int | None = None
    """An embedded Postgres left running by a killed server, now stopped."""
    messages: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.server_pid is not None or self.postgres_pid is not None


def stop(directory: Path | None = None) -> StopResult:
    """Stop the sandbox (and its embedded Postgres), verifying each process before signalling it."""
    directory = directory or sandbox_dir()
    if not directory.is_dir():
        return StopResult(messages=["sandbox was not running"])
    with _lock(directory):
        server_pid = stale_pid = None
        messages = []
        recorded = read_state_file(directory)
        if recorded is not None:
            if is_recorded(recorded):
                server_pid = int(recorded["pid"])
                terminate(server_pid, timeout_s=STOP_TIMEOUT_S)
                messages.append("sandbox stopped")
            else:
                stale_pid = int(recorded.get("pid") or 0)
                why = "now belongs to another process" if psutil.pid_exists(stale_pid) else "is no longer running"
                messages.append(f"removed a stale sandbox state file (its pid {stale_pid} {why}; not signalled)")
            state_file(directory).unlink(missing_ok=True)
        if server_pid is None:  # no (valid) state file: a server of this folder is known by its command line
            for pid in servers_of(directory):
                terminate(pid, timeout_s=STOP_TIMEOUT_S)
                server_pid = pid
                messages.append(f"stopped a sandbox server that had no state file (pid {pid})")
        postgres_pid = None
        orphan = embedded.postmaster(directory / "pg")
        if orphan is not None:
            postgres_pid = orphan.pid
            embedded.stop_postmaster(orphan)
            messages.append(f"stopped the embedded Postgres left running (pid {postgres_pid})")
        if not messages:
            messages.append("sandbox was not running")
        return StopResult(server_pid, stale_pid, postgres_pid, messages)


def reset(directory: Path | None = None) -> None:
    """Wipe every row and re-seed the running sandbox's database."""
    from .credentials import load_credentials
    from .db import seed as seeding
    from ..contract.event_payloads import default_registry

    directory = directory or sandbox_dir()
    state = status(directory)
    if state is None:
        raise HarnessError("the sandbox is not running: run `harness sandbox start` first")
    creds = load_credentials(directory)
    with psycopg.connect(state.get("admin_database_url") or state["database_url"], autocommit=True) as conn:
        seeding.reset(conn, creds.api_keys(), default_registry().events())
