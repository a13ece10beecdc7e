"""The sandbox's generated secrets, kept in ``credentials.json`` (mode 0600) in its folder.

Per tenant an API key and a session token; for the database a password for the owner role
(embedded Postgres only), the reader and the writer. Generated once per folder; missing pieces
are added on the next start, so an older file keeps its keys.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .db.seed import TENANTS
from .private_files import write_private

FILE_NAME = "credentials.json"
DATABASE_ROLES = ("owner", "reader", "writer")


@dataclass(frozen=True)
class Credentials:
    """``tenants``: slug → ``{"api_key", "session"}``; ``database``: role kind → password."""

    tenants: dict[str, dict[str, str]]
    database: dict[str, str]

    def api_keys(self) -> dict[str, str]:
        return {slug: values["api_key"] for slug, values in self.tenants.items()}


def load_credentials(directory: Path) -> Credentials:
    """The folder's credentials, generating (and saving) whatever is missing."""
    path = directory / FILE_NAME
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    if "tenants" not in data and data:  # the first layout: tenant slugs at the top level
        data = {"tenants": data}
    tenants = dict(data.get("tenants") or {})
    database = dict(data.get("database") or {})
    changed = not path.exists()
    for slug in TENANTS:
        if slug not in tenants:
            tenants[slug] = {"api_key": "sbx_" + secrets.token_urlsafe(24), "session": secrets.token_urlsafe(24)}
            changed = True
    for role in DATABASE_ROLES:
        if not database.get(role):
            database[role] = secrets.token_urlsafe(24)
            changed = True
    if changed or "tenants" not in data:
        write_private(path, json.dumps({"tenants": tenants, "database": database}, indent=2))
    return Credentials(tenants, database)
