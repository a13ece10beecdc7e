"""A sandbox that cannot hurt: it never wipes a database it did not create, never signals a process
that is not provably its own, stops the Postgres a killed server left behind, keeps its secrets in
0600 files from the first byte, and finds its folder from the project root."""
from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
import pytest
from psycopg import sql

from harness.errors import HarnessError
from harness.sandbox import control, embedded, private_files
from harness.sandbox.credentials import load_credentials
from harness.sandbox.database import (
    StartRefused,
    contents,
    prepare_database,
    schema_hash,
)
from harness.sandbox.roles import login_url, role_names
from harness.sandbox.state_file import read_state, sandbox_dir, state_file

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def on_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def harness_cli(args: list[str], env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], env={**os.environ, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def scratch_database(sandbox_state) -> Iterator[str]:
    """A new, empty database on the session sandbox's Postgres (owner URL); dropped afterwards with its roles."""
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    admin = sandbox_state["admin_database_url"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield on_database(admin, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        for role in (role_names(name).reader, role_names(name).writer):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def foreign_database(scratch_database) -> str:
    """The scratch database holding someone else's table and rows."""
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE precious (id int PRIMARY KEY, note text NOT NULL)")
        conn.execute("INSERT INTO precious VALUES (1, 'keep me'), (2, 'me too')")
    return scratch_database


def precious_rows(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT id, note FROM precious ORDER BY id").fetchall()


KEYS = {"acme": "sbx_test_acme", "globex": "sbx_test_globex"}


# --- databases ------------------------------------------------------------------------------------

def test_a_foreign_database_is_refused_untouched(foreign_database):
    with pytest.raises(StartRefused) as refused:
        prepare_database(foreign_database, KEYS)
    message = str(refused.value)
    assert "is not empty and was not created by the sandbox; pass --reset-database to wipe it" in message
    password = urlsplit(foreign_database).password
    assert password and password not in message and ":***@" in message
    assert precious_rows(foreign_database) == [(1, "keep me"), (2, "me too")]
    with psycopg.connect(foreign_database, autocommit=True) as conn:
        assert contents(conn) == "foreign"
        assert conn.execute("SELECT to_regclass('public.tickets')").fetchone()[0] is None


def test_an_empty_database_is_initialised_and_then_recognised(scratch_database):
    tenants = prepare_database(scratch_database, KEYS)
    assert [t.slug for t in tenants] == ["acme", "globex"]
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        assert contents(conn) == "sandbox"
        ticket = conn.execute("SELECT ticket_id FROM tickets LIMIT 1").fetchone()[0]
    assert prepare_database(scratch_database, KEYS) == tenants  # its own: kept as it is
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM tickets WHERE ticket_id = %s", (ticket,)).fetchone()[0] == 1
        conn.execute("UPDATE sandbox_meta SET value = 'an-older-schema' WHERE key = 'schema'")
        conn.execute("CREATE TABLE leftover (a int)")
    prepare_database(scratch_database, KEYS)  # the DDL changed: the sandbox re-creates its own database
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        assert conn.execute("SELECT value FROM sandbox_meta WHERE key = 'schema'").fetchone()[0] == schema_hash()
        assert conn.execute("SELECT to_regclass('public.leftover')").fetchone()[0] is None


def test_start_on_a_foreign_database_is_one_error_line_and_reset_database_wipes_it(foreign_database, tmp_path):
    password = urlsplit(foreign_database).password
    env = {"HARNESS_SANDBOX_DIR": str(tmp_path / "sbx")}
    result = harness_cli(["sandbox", "start", "--database-url", foreign_database, "--port", str(free_port())], env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "is not empty and was not created by the sandbox; pass --reset-database" in result.stderr
    assert password not in result.stdout + result.stderr
    assert password not in (tmp_path / "sbx" / "server.log").read_text()
    assert precious_rows(foreign_database) == [(1, "keep me"), (2, "me too")]

    directory = tmp_path / "sbx"
    state = control.start(database_url=foreign_database, directory=directory, port=free_port(), reset_database=True)
    try:
        assert not state["embedded_postgres"] and state["admin_database_url"] == foreign_database
        with psycopg.connect(state["database_url"], autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('public.precious')").fetchone()[0] is None
            assert conn.execute("SELECT count(*) FROM tenants").fetchone()[0] == 2
        assert role_names(urlsplit(foreign_database).path.strip("/")).reader == state["database_roles"]["reader"]
    finally:
        assert control.stop(directory).server_pid == state["pid"]


def test_a_user_that_may_not_create_roles_is_one_clear_error(scratch_database, sandbox_state, tmp_path):
    writer = sandbox_state["database_roles"]["writer"]
    password = load_credentials(Path(sandbox_state["data_dir"])).database["writer"]
    url = login_url(scratch_database, writer, password)
    with pytest.raises(HarnessError) as failed:
        control.start(database_url=url, directory=tmp_path / "sbx", port=free_port())
    message = str(failed.value)
    assert message.startswith(f"the user '{writer}' of ") and "may not create roles (it needs CREATEROLE)" in message
    assert password not in message
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        assert contents(conn) == "empty", "nothing was created before the refusal"


@pytest.mark.parametrize("url", ["postgresql://someone:pw-not-shown-123@127.0.0.1:9/nowhere",
                                 "host=127.0.0.1 port=9 dbname=nowhere user=someone password=pw-not-shown-123"])
def test_an_unusable_database_url_is_one_error_line_without_its_password(tmp_path, url):
    env = {"HARNESS_SANDBOX_DIR": str(tmp_path / "sbx")}
    result = harness_cli(["sandbox", "start", "--database-url", url, "--port", str(free_port())], env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: cannot use database ") and result.stderr.count("\n") == 1
    output = result.stdout + result.stderr + (tmp_path / "sbx" / "server.log").read_text()
    assert "pw-not-shown-123" not in output


# --- processes ------------------------------------------------------------------------------------

def fake_state(directory: Path, pid: int, **extra: Any) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    private_files.write_private(state_file(directory), json.dumps({
        "pid": pid, "port": 1, "base_url": "http://127.0.0.1:1", "database_url": "postgresql://x@/y",
        "database_write_url": "postgresql://x@/y", "tenants": [], **extra}))


@pytest.mark.parametrize("recorded", ["new", "old"])
def test_a_stale_state_whose_pid_is_another_process_is_not_signalled(tmp_path, recorded):
    sleeper = subprocess.Popen(["sleep", "120"])
    try:
        extra = {"process_started": psutil.Process(sleeper.pid).create_time() - 100,
                 "cmdline": [sys.executable, "-m", "harness.sandbox.serve", "--dir", str(tmp_path)]}
        fake_state(tmp_path, sleeper.pid, **(extra if recorded == "new" else {}))
        assert read_state(tmp_path) is None and control.status(tmp_path) is None
        result = control.stop(tmp_path)
        assert sleeper.poll() is None, "the unrelated process was signalled"
        assert not result and result.stale_pid == sleeper.pid and result.server_pid is None
        assert result.messages == [f"removed a stale sandbox state file (its pid {sleeper.pid} now belongs to "
                                   "another process; not signalled)"]
        assert not state_file(tmp_path).exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_killed_server_leaves_postgres_which_stop_stops(tmp_path):
    directory = tmp_path / "sbx"
    first = control.start(directory=directory, port=free_port())
    workers = [p for p in psutil.Process(first["pid"]).children() if "expression_worker" in " ".join(p.cmdline())]
    assert workers, "the server runs expression workers"
    os.kill(first["pid"], signal.SIGKILL)
    psutil.Process(first["pid"]).wait(10)
    postmaster = embedded.postmaster(directory / "pg")
    assert postmaster is not None and postmaster.is_running(), "Postgres outlives a SIGKILLed server"
    assert all(not w.is_running() or w.status() == psutil.STATUS_ZOMBIE for w in _after(workers)), \
        "expression workers die with their server"

    result = control.stop(directory)
    assert result.postgres_pid == postmaster.pid and result.server_pid is None
    assert result.messages == [
        f"removed a stale sandbox state file (its pid {first['pid']} is no longer running; not signalled)",
        f"stopped the embedded Postgres left running (pid {postmaster.pid})"]
    assert not postmaster.is_running() and embedded.postmaster(directory / "pg") is None

    # A restart on the same data folder (passwords now required by pg_hba.conf): same roles, same URLs.
    second = control.start(directory=directory, port=free_port())
    assert second["database_roles"] == first["database_roles"]
    assert second["database_url"] == first["database_url"]
    with psycopg.connect(second["database_url"], autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM tenants").fetchone()[0] == 2

    # Without its state file the server is still found, by its command line, and stopped cleanly.
    state_file(directory).unlink()
    result = control.stop(directory)
    assert result.server_pid == second["pid"] and result.postgres_pid is None
    assert result.messages == [f"stopped a sandbox server that had no state file (pid {second['pid']})"]
    assert embedded.postmaster(directory / "pg") is None, "the server stopped its Postgres on the way out"
    assert control.stop(directory).messages == ["sandbox was not running"]


def _after(workers: list[psutil.Process], timeout_s: float = 10.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE
                                              for w in workers):
        time.sleep(0.05)
    return workers


def test_a_postgres_of_another_folder_is_not_taken_for_an_orphan(tmp_path, sandbox_dir):
    pid_file = tmp_path / "pg" / "postmaster.pid"
    pid_file.parent.mkdir()
    pid_file.write_text((sandbox_dir / "pg" / "postmaster.pid").read_text())  # someone else's live postmaster
    assert embedded.postmaster(tmp_path / "pg") is None
    assert control.stop(tmp_path).messages == ["sandbox was not running"]
    assert embedded.postmaster(sandbox_dir / "pg") is not None, "the session sandbox's Postgres still runs"


# --- files ----------------------------------------------------------------------------------------

def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_session_sandbox_secrets_are_private(sandbox_dir):
    for name in ("credentials.json", "state.json", "start.lock"):
        assert mode(sandbox_dir / name) == 0o600, name


def test_private_files_are_0600_from_creation_even_with_an_open_umask(tmp_path, monkeypatch):
    seen: list[tuple[str, int, str]] = []
    real_replace = os.replace

    def spying_replace(src: Any, dst: Any) -> None:
        seen.append((Path(src).name, mode(Path(src)), Path(src).read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spying_replace)
    old = os.umask(0)
    try:
        target = tmp_path / "state.json"
        target.write_text("old, world-readable")
        target.chmod(0o644)
        private_files.write_private(target, '{"secret": 1}')
        with private_files.private_lock(tmp_path / "start.lock"):
            assert mode(tmp_path / "start.lock") == 0o600
    finally:
        os.umask(old)
    [(temp_name, temp_mode, temp_text)] = seen
    assert temp_name.startswith(".state.json.") and temp_mode == 0o600 and temp_text == '{"secret": 1}'
    assert mode(target) == 0o600 and target.read_text() == '{"secret": 1}'
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_temp_file_name_already_taken_is_never_written_through(tmp_path, monkeypatch):
    monkeypatch.setattr(private_files.secrets, "token_hex", lambda _n: "fixed")
    decoy = tmp_path / f".state.json.{os.getpid()}.fixed.tmp"
    elsewhere = tmp_path / "elsewhere"
    decoy.symlink_to(elsewhere)
    with pytest.raises(FileExistsError):
        private_files.write_private(tmp_path / "state.json", "secret")
    assert not elsewhere.exists() and not (tmp_path / "state.json").exists()


def test_credentials_are_generated_once_into_a_private_file(tmp_path):
    first = load_credentials(tmp_path)
    assert mode(tmp_path / "credentials.json") == 0o600
    assert set(first.database) == {"owner", "reader", "writer"} and set(first.tenants) == {"acme", "globex"}
    assert load_credentials(tmp_path) == first


def test_credentials_of_the_first_layout_keep_their_keys(tmp_path):
    (tmp_path / "credentials.json").write_text(json.dumps({"acme": {"api_key": "k1", "session": "s1"},
                                                           "globex": {"api_key": "k2", "session": "s2"}}))
    creds = load_credentials(tmp_path)
    assert creds.api_keys() == {"acme": "k1", "globex": "k2"} and all(creds.database.values())
    assert mode(tmp_path / "credentials.json") == 0o600


# --- where the sandbox lives ---------------------------------------------------------------------

@pytest.mark.parametrize("marker", ["pyproject.toml", ".git"])
def test_the_sandbox_folder_is_found_from_the_project_root(tmp_path, monkeypatch, marker):
    project = tmp_path / "project"
    sub = project / "fixtures" / "x"
    sub.mkdir(parents=True)
    (project / marker).mkdir() if marker == ".git" else (project / marker).write_text("")
    monkeypatch.delenv("HARNESS_SANDBOX_DIR", raising=False)
    monkeypatch.chdir(sub)
    assert sandbox_dir() == (project / ".harness" / "sandbox").resolve()
    monkeypatch.setenv("HARNESS_SANDBOX_DIR", str(tmp_path / "elsewhere"))
    assert sandbox_dir() == (tmp_path / "elsewhere").resolve()


def test_outside_any_project_the_sandbox_is_under_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("HARNESS_SANDBOX_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    if any((p / m).exists() for p in (tmp_path, *tmp_path.parents) for m in ("pyproject.toml", ".git")):
        pytest.fail(f"{tmp_path} lies inside a project; this test needs a folder outside any")
    assert sandbox_dir() == (tmp_path / ".harness" / "sandbox").resolve()


def test_status_from_a_subfolder_finds_the_projects_sandbox(tmp_path, sandbox_dir):
    project = tmp_path / "project"
    sub = project / "fixtures" / "x"
    sub.mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    folder = project / ".harness" / "sandbox"
    folder.mkdir(parents=True)
    # The session sandbox's state, as if it had been started in this project.
    private_files.write_private(folder / "state.json", (sandbox_dir / "state.json").read_text())
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_SANDBOX_DIR"}
    result = subprocess.run([sys.executable, "-m", "harness.cli", "sandbox", "status"], env=env, cwd=sub,
                            capture_output=True, text=True, timeout=60)
    state = json.loads((sandbox_dir / "state.json").read_text())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"sandbox running at {state['base_url']} (pid {state['pid']}")
    elsewhere = subprocess.run([sys.executable, "-m", "harness.cli", "sandbox", "status"], env=env,
                               cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert elsewhere.stdout.strip() == "sandbox not running"
