"""The sandbox server process: database (embedded Postgres by default), roles, schema and seed,
then the HTTP app.

Started in the background by ``harness sandbox start``; writes ``state.json`` (mode 0600) once
serving. A start the sandbox refuses (a database it did not create, a user that may not create
roles, ...) writes the one-line reason to ``start-error.txt`` and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import uvicorn

from ..redaction import redact_url
from . import embedded
from .auth import Caller
from .control import DATABASE_URL_ENV, ERROR_FILE
from .credentials import Credentials, load_credentials
from .database import StartRefused, prepare_database
from .db import seed as seeding
from .private_files import write_private
from .process import identity
from .roles import Roles, check_can_manage, ensure_roles, grant_access, login_url
from .state_file import state_file

DEFAULT_PORT = 8765
EXIT_REFUSED = 2


@dataclass(frozen=True)
class Databases:
    """The sandbox's database URLs (passwords included) and its embedded server, if any."""

    admin: str
    reader: str
    writer: str
    roles: Roles
    tenants: list[seeding.TenantSeed]
    server: Any = None


def set_up_database(directory: Path, creds: Credentials, database_url: str | None, *,
                    reset: bool = False) -> Databases:
    """Embedded Postgres (or ``database_url``), then roles, schema, seed and grants."""
    server = None
    if database_url:
        admin = database_url
    else:
        server, admin = embedded.start(directory / "pg", creds.database["owner"])
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            check_can_manage(conn, admin)
        tenants = prepare_database(admin, creds.api_keys(), reset=reset)
        with psycopg.connect(admin, autocommit=True) as conn:
            roles = ensure_roles(conn, creds.database)
            grant_access(conn, roles)
    except psycopg.errors.InsufficientPrivilege as exc:
        _stop(server)
        raise StartRefused(f"cannot set up the sandbox roles in {redact_url(admin)}: "
                           f"{redact_url(str(exc).strip())}") from None
    except psycopg.Error as exc:  # unreachable, bad credentials, a malformed URL, ...
        _stop(server)
        raise StartRefused(f"cannot use database {redact_url(admin)}: {redact_url(str(exc).strip())}") from None
    except BaseException:
        _stop(server)
        raise
    return Databases(admin, login_url(admin, roles.reader, creds.database["reader"]),
                     login_url(admin, roles.writer, creds.database["writer"]), roles, tenants, server)


def _stop(server: Any) -> None:
    if server is not None:
        server.cleanup()
        server.stop()  # also when a killed earlier server left its pid in pgserver's handle list


def pick_port(preferred: int | None) -> int:
    """The requested port, else 8765 when free, else any free port."""
    candidates = [preferred] if preferred else [DEFAULT_PORT, 0]
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise StartRefused(f"port {preferred} is in use")


def build_state(directory: Path, port: int, dbs: Databases, creds: Credentials) -> dict[str, Any]:
    """The content of ``state.json``: this process, its URLs, the database roles and the tenants."""
    return {**identity(os.getpid()), "port": port, "base_url": f"http://127.0.0.1:{port}",
            "database_url": dbs.reader, "database_write_url": dbs.writer, "admin_database_url": dbs.admin,
            "database_roles": {"reader": dbs.roles.reader, "writer": dbs.roles.writer},
            "data_dir": str(directory), "embedded_postgres": dbs.server is not None,
            "tenants": [{"slug": t.slug, "tenant_id": t.tenant_id, "api_key": creds.tenants[t.slug]["api_key"],
                         "session_cookie": f"authjs.session-token={creds.tenants[t.slug]['session']}",
                         "actor_user_id": t.actor_user_id} for t in dbs.tenants]}


def refuse(directory: Path, message: str) -> int:
    """Record why the start was refused for ``harness sandbox start``; the exit status."""
    line = redact_url(" ".join(message.split()))
    write_private(directory / ERROR_FILE, line + "\n")
    print(f"error: {line}", file=sys.stderr, flush=True)
    return EXIT_REFUSED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.sandbox.serve")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--database-url", help=f"an external Postgres (default: ${DATABASE_URL_ENV}, else embedded)")
    parser.add_argument("--reset-database", action="store_true", help="wipe the database first, whoever made it")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    directory: Path = args.dir.resolve()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    database_url = args.database_url or os.environ.pop(DATABASE_URL_ENV, None)
    creds = load_credentials(directory)
    try:
        dbs = set_up_database(directory, creds, database_url, reset=args.reset_database)
        port = pick_port(args.port)
    except StartRefused as exc:
        return refuse(directory, str(exc))
    sessions = {creds.tenants[t.slug]["session"]: Caller(t.tenant_id, t.actor_user_id) for t in dbs.tenants}
    from .app import create_app

    app = create_app(dbs.writer, sessions=sessions)
    path = state_file(directory)
    write_private(path, json.dumps(build_state(directory, port, dbs, creds), indent=2))
    # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so the
    # cleanup below (state file, embedded Postgres) still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=2)
    finally:
        path.unlink(missing_ok=True)
        _stop(dbs.server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
