"""Target configuration: which AlgaPSA (or sandbox) a fixture talks to.

Resolution order for every field: explicit argument (CLI flag or notebook parameter) >
environment variable > the local sandbox's state file (only when no BASE_URL is configured).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigError

DEFAULT_TIMEOUT_MS = 60_000
DEFAULT_ARTIFACTS_DIR = "artifacts"


@dataclass(frozen=True)
class Target:
    """Everything needed to reach one AlgaPSA tenant over HTTP and Postgres."""

    base_url: str
    tenant_id: str
    database_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    cookie: str | None = field(default=None, repr=False)
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    artifacts_dir: str = DEFAULT_ARTIFACTS_DIR
    is_sandbox: bool = False

    def secrets(self) -> list[str]:
        """Values that must never appear in an artifact or an executed notebook."""
        found = [s for s in (self.api_key, self.cookie) if s]
        for url in (self.database_url, self.base_url):
            password = urlsplit(url).password if url else None
            if password:
                found.append(password)
        return found

    def kernel_env(self) -> dict[str, str]:
        """Environment variables that carry this target (secrets included) into a kernel."""
        env = {"BASE_URL": self.base_url, "TENANT_ID": self.tenant_id, "TIMEOUT_MS": str(self.timeout_ms),
               "ARTIFACTS_DIR": self.artifacts_dir}
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.api_key:
            env["WORKFLOW_HARNESS_API_KEY"] = self.api_key
        if self.cookie:
            env["HARNESS_COOKIE"] = self.cookie
        return env

    def describe(self) -> str:
        """One line naming the target without secrets."""
        db = redact_url(self.database_url) if self.database_url else "no database"
        kind = "sandbox" if self.is_sandbox else "target"
        return f"{kind} {self.base_url} tenant {self.tenant_id} ({db})"


def redact_url(url: str) -> str:
    """Replace the password of a URL with ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _first(*values: str | None) -> str | None:
    for value in values:
        if value is not None and str(value).strip() != "":
            return str(value).strip()
    return None


def _read_cookie_file(path: str) -> str:
    try:
        return Path(path).read_text().replace("\r", "").replace("\n", "").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read cookie file {path}: {exc.strerror}") from None


def _parse_timeout(value: str | int | None) -> int:
    if value is None:
        return DEFAULT_TIMEOUT_MS
    try:
        timeout = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"timeout must be a whole number of milliseconds, got {value!r}") from None
    if timeout <= 0:
        raise ConfigError(f"timeout must be positive, got {timeout}")
    return timeout


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def resolve_target(
    *,
    base_url: str | None = None,
    tenant_id: str | None = None,
    database_url: str | None = None,
    api_key: str | None = None,
    cookie: str | None = None,
    cookie_file: str | None = None,
    timeout_ms: int | str | None = None,
    artifacts_dir: str | None = None,
    env: Mapping[str, str] | None = None,
    start_sandbox: bool = False,
) -> Target:
    """Build a :class:`Target` from explicit values, then the environment, then the sandbox.

    With no base URL from either source, the local sandbox is used; ``start_sandbox`` starts it
    when it is not running (otherwise a :class:`ConfigError` explains how to start it).
    """
    env = os.environ if env is None else env
    url = _first(base_url, env.get("BASE_URL"))
    sandbox: dict[str, str] = {}
    if url is None:
        from .sandbox.state import sandbox_env  # local import: only needed without a target

        sandbox = sandbox_env(start=start_sandbox)
        url = sandbox["BASE_URL"]
    cookie_path = _first(cookie_file, env.get("COOKIE_FILE"))
    cookie_value = _first(cookie, env.get("HARNESS_COOKIE"), env.get("COOKIE"))
    if cookie_value is None and cookie_path:
        cookie_value = _read_cookie_file(cookie_path)
    target = Target(
        base_url=url.rstrip("/"),
        tenant_id=_first(tenant_id, env.get("TENANT_ID"), sandbox.get("TENANT_ID")) or "",
        database_url=_first(database_url, env.get("DATABASE_URL"), env.get("PG_CONNECTION_STRING"),
                            sandbox.get("DATABASE_URL")),
        api_key=_first(api_key, env.get("WORKFLOW_HARNESS_API_KEY"), env.get("ALGA_API_KEY"),
                       sandbox.get("WORKFLOW_HARNESS_API_KEY")),
        cookie=cookie_value,
        timeout_ms=_parse_timeout(_first(str(timeout_ms) if timeout_ms is not None else None,
                                         env.get("TIMEOUT_MS"))),
        artifacts_dir=_first(artifacts_dir, env.get("ARTIFACTS_DIR")) or DEFAULT_ARTIFACTS_DIR,
        is_sandbox=bool(sandbox) or env.get("HARNESS_SANDBOX") == "1",
    )
    validate_target(target)
    return target


def validate_target(target: Target) -> None:
    """Raise :class:`ConfigError` with one clear line when the target cannot work."""
    if not re.match(r"^https?://[^/\s]+", target.base_url):
        raise ConfigError(f"base URL must start with http:// or https://, got {target.base_url!r}")
    if not target.tenant_id:
        raise ConfigError("no tenant: pass --tenant or set TENANT_ID")
    if not _UUID.match(target.tenant_id):
        raise ConfigError(f"tenant must be a UUID, got {target.tenant_id!r}")
    if not target.database_url:
        raise ConfigError("no database: pass --database-url or set DATABASE_URL")
    if not target.api_key and not target.cookie:
        raise ConfigError("no credentials: set WORKFLOW_HARNESS_API_KEY (or ALGA_API_KEY), or pass --cookie-file")


def with_overrides(target: Target, **changes: object) -> Target:
    """A copy of ``target`` with some fields changed (``None`` values are ignored)."""
    return replace(target, **{k: v for k, v in changes.items() if v is not None})
