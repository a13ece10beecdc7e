"""Starting, stopping and inspecting the background sandbox process."""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
import psycopg

from ..errors import HarnessError
from .state import read_state, sandbox_dir, state_file

START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 20


@contextmanager
def _lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "start.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
    return lines[-1] if lines else "no log output"


def start(*, database_url: str | None = None, port: int | None = None,
          directory: Path | None = None) -> dict[str, Any]:
    """Start the sandbox unless it runs already; return its state once it answers HTTP."""
    directory = directory or sandbox_dir()
    with _lock(directory):
        state = status(directory)
        if state is not None:
            return state
        state_file(directory).unlink(missing_ok=True)
        log_path = directory / "server.log"
        cmd = [sys.executable, "-m", "harness.sandbox.serve", "--dir", str(directory)]
        if database_url:
            cmd += ["--database-url", database_url]
        if port:
            cmd += ["--port", str(port)]
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise HarnessError(f"the sandbox failed to start: {_last_log_line(log_path)} (log: {log_path})")
            state = read_state(directory)
            if state is not None and state.get("pid") == proc.pid and _healthy(state):
                return state
            time.sleep(0.1)
        proc.terminate()
        raise HarnessError(f"the sandbox did not start within {START_TIMEOUT_S}s (log: {log_path})")


def stop(directory: Path | None = None) -> bool:
    """Stop the sandbox (and its embedded Postgres); False when it was not running."""
    directory = directory or sandbox_dir()
    state = read_state(directory)
    if state is None:
        return False
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    state_file(directory).unlink(missing_ok=True)
    return True


def reset(directory: Path | None = None) -> None:
    """Wipe every row and re-seed the running sandbox's database."""
    from .db import seed as seeding
    from .payloads.registry import default_registry
    from .serve import load_credentials

    directory = directory or sandbox_dir()
    state = status(directory)
    if state is None:
        raise HarnessError("the sandbox is not running: run `harness sandbox start` first")
    creds = load_credentials(directory)
    with psycopg.connect(state["database_url"], autocommit=True) as conn:
        seeding.reset(conn, {slug: c["api_key"] for slug, c in creds.items()}, default_registry().events())
