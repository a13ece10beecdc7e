"""Helpers for fault-injection tests: the journaled fixture, its marker row, commands run in the
background so a test can signal them, and a TCP forwarder the test can take down like a server."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psycopg

from harness.cleanup import Journal, Sql, read_journal

from .conftest import DATA, clean_env

FAULT_FIXTURE = DATA / "journaled-fixture"
MARKER_TABLE = "harness_test_marker"
PATIENCE_S = 180  # upper bound for anything a test waits on; never an expectation of speed


def write_url(env: dict[str, str]) -> str:
    return env.get("DATABASE_WRITE_URL") or env["DATABASE_URL"]


def marker_rows(env: dict[str, str], marker: str) -> int:
    """Marker rows the journaled fixture inserted and its cleanup deletes."""
    with psycopg.connect(write_url(env), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM audit_logs WHERE table_name = %s AND record_id = %s",
                            (MARKER_TABLE, marker)).fetchone()[0]


def journals(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.cleanup.jsonl")) if folder.is_dir() else []


def pending_labels(path: Path) -> list[str]:
    return [entry.label for entry in read_journal(path).pending]


def foreign_journal(folder: Path) -> Path:
    """A leftover journal of a run against another target."""
    journal = Journal(folder / "elsewhere-20260101T000000-0000.cleanup.jsonl")
    journal.header(test_id="elsewhere", base_url="https://alga.example.com", tenant_id="t-elsewhere",
                   database_url=None)
    journal.add("remote row", Sql("DELETE FROM tickets WHERE ticket_id = %s", ("x",)))
    journal.close()
    return journal.path


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = PATIENCE_S) -> None:
    give_up = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def process_gone(pid: int) -> bool:
    """True when ``pid`` has exited (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@dataclass
class Fault:
    """One fault-injection setup: the environment for the journaled fixture and where it reports."""

    env: dict[str, str]
    folder: Path
    marker: str = field(default_factory=lambda: f"fault-{uuid.uuid4()}")

    @property
    def journal_dir(self) -> Path:
        return self.folder / "journals"

    @property
    def ready_file(self) -> Path:
        return self.folder / "ready"

    @property
    def artifacts(self) -> Path:
        return self.folder / "artifacts"

    def variables(self, fault: str, **extra: str) -> dict[str, str]:
        return clean_env({**self.env, "HARNESS_JOURNAL_DIR": str(self.journal_dir), "HARNESS_TEST_FAULT": fault,
                          "HARNESS_TEST_MARKER_ID": self.marker, "HARNESS_TEST_READY": str(self.ready_file),
                          **extra})

    def kernel_pid(self) -> int:
        wait_for(self.ready_file.exists, "the fixture to reach its fault cell")
        wait_for(lambda: bool(self.ready_file.read_text().strip()), "the kernel pid")
        return int(self.ready_file.read_text())

    def rows(self) -> int:
        return marker_rows(self.env, self.marker)


class Background:
    """``python -m harness.cli ARGS`` (or another module) running in the background, output to files."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, module: str = "harness.cli") -> None:
        self.out_path, self.err_path = cwd / f"out-{uuid.uuid4().hex[:6]}.txt", cwd / f"err-{uuid.uuid4().hex[:6]}.txt"
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", module, *args], env=env, cwd=cwd, stdout=out,
                                         stderr=err, stdin=subprocess.DEVNULL)

    def signal(self, signum: int = signal.SIGINT) -> None:
        self.proc.send_signal(signum)

    def wait(self) -> int:
        try:
            return self.proc.wait(timeout=PATIENCE_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    @property
    def stdout(self) -> str:
        return self.out_path.read_text()

    @property
    def stderr(self) -> str:
        return self.err_path.read_text()


class Forwarder:
    """A TCP forwarder to ``127.0.0.1:port``: point BASE_URL at it, then ``close()`` it like a server
    going down (the listening socket and every open connection close)."""

    def __init__(self, port: int, listen_port: int = 0) -> None:
        self._upstream = port
        self._listener = socket.create_server(("127.0.0.1", listen_port))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self._upstream))
            except OSError:
                client.close()
                continue
            self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # stops listening and wakes the blocked accept()
        except OSError:
            pass
        self._listener.close()
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def kill(pid: int) -> None:
    """SIGKILL ``pid``, from outside, like the OOM killer."""
    os.kill(pid, signal.SIGKILL)
