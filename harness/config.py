"""Target configuration: which AlgaPSA (or sandbox) a fixture talks to.

Resolution order for every field: explicit argument (CLI flag or notebook parameter) > environment
variable. The local sandbox is configuration like any other: when no target is configured, the CLI
or the pytest plugin starts it and puts its variables in the environment (:mod:`harness.local_sandbox`).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from .errors import ConfigError
from .redaction import cookie_secrets, credentials_in, redact_url, unique

if TYPE_CHECKING:
    from .db import Database

DEFAULT_TIMEOUT_MS = 60_000
DEFAULT_ARTIFACTS_DIR = "artifacts"

TARGET_VARIABLES = ("BASE_URL", "TENANT_ID", "DATABASE_URL", "DATABASE_WRITE_URL", "WORKFLOW_HARNESS_API_KEY",
                    "HARNESS_COOKIE", "TIMEOUT_MS", "ARTIFACTS_DIR", "HARNESS_SANDBOX")
"""The variables :meth:`Target.kernel_env` sets; a kernel never inherits them from elsewhere."""
PRIVATE_VARIABLES = ("HARNESS_SANDBOX_DIR", "HARNESS_TEST_SANDBOX_DIR", "PG_CONNECTION_STRING", "ALGA_API_KEY",
                     "COOKIE_FILE", "COOKIE", "HARNESS_SECRETS", "HARNESS_LOCK_DIR", "HARNESS_FORK_SERVER")
"""Harness internals and credentials that stay out of a kernel's environment."""
PRIVATE_PREFIXES = ("HARNESS_LANE", "HARNESS_TENANTS")
_LIBPQ_VARIABLE = re.compile(r"^PG[A-Z]+$")  # PGPASSWORD, PGSSLMODE, ...: how libpq reaches the target's database
_CONTAINED_SECRET_LEN = 8  # a variable holding a secret this long (or longer) inside its value is dropped too


@dataclass(frozen=True, repr=False)
class Target:
    """Everything needed to reach one AlgaPSA tenant over HTTP and Postgres.

    ``database_url`` is the assertion (read) session; ``database_write_url`` the one
    :meth:`harness.Database.writer` uses (``None``: the same URL). ``extra_secrets`` are further values
    to scrub, filled by :func:`resolve_target`: lane credentials, ``PGPASSWORD``, the values listed in
    ``HARNESS_SECRETS`` (the local sandbox's other keys, cookies and passwords), and the resolved key and
    cookie themselves.
    """

    base_url: str
    tenant_id: str
    database_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    cookie: str | None = field(default=None, repr=False)
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    artifacts_dir: str = DEFAULT_ARTIFACTS_DIR
    is_sandbox: bool = False
    database_write_url: str | None = None
    extra_secrets: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            if not f.repr:
                continue
            value = getattr(self, f.name)
            shown.append(f"{f.name}={redact_url(value)!r}" if isinstance(value, str) else f"{f.name}={value!r}")
        return f"Target({', '.join(shown)})"

    def secrets(self) -> list[str]:
        """Values that must never appear in an artifact or an executed notebook."""
        return unique([self.api_key, *cookie_secrets(self.cookie), *credentials_in(self.database_url),
                       *credentials_in(self.database_write_url), *credentials_in(self.base_url),
                       *self.extra_secrets])

    def database(self) -> "Database":
        """A :class:`harness.Database` on this target: reads on ``database_url``, writes on the write URL."""
        from .db import Database  # local import: db imports the driver and pandas

        return Database(self.database_url or "", write_url=self.database_write_url)

    def kernel_env(self) -> dict[str, str]:
        """Environment variables that carry this target (secrets included) into a kernel."""
        env = {"BASE_URL": self.base_url, "TENANT_ID": self.tenant_id, "TIMEOUT_MS": str(self.timeout_ms),
               "ARTIFACTS_DIR": self.artifacts_dir}
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.database_write_url:
            env["DATABASE_WRITE_URL"] = self.database_write_url
        if self.api_key:
            env["WORKFLOW_HARNESS_API_KEY"] = self.api_key
        if self.cookie:
            env["HARNESS_COOKIE"] = self.cookie
        if self.is_sandbox:
            env["HARNESS_SANDBOX"] = "1"
        return env

    def describe(self) -> str:
        """One line naming the target without secrets."""
        db = redact_url(self.database_url) if self.database_url else "no database"
        if self.database_write_url and self.database_write_url != self.database_url:
            db += f", writes via {redact_url(self.database_write_url)}"
        kind = "sandbox" if self.is_sandbox else "target"
        return f"{kind} {redact_url(self.base_url)} tenant {self.tenant_id} ({db})"


def kernel_environment(target: Target, extra: Mapping[str, str],
                       base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a kernel running against ``target``.

    ``base`` (default ``os.environ``) minus harness internals, other credentials and any other target's
    settings, plus :meth:`Target.kernel_env` and ``extra``. A variable is dropped when its name is private
    (``HARNESS_SANDBOX_DIR``, ``ALGA_API_KEY``, ``HARNESS_LANE*``, ...), when its value is one of the
    target's secrets or holds one, or when it carries URL/DSN credentials. libpq's own ``PG*`` variables
    stay: the kernel's database connection may need them.
    """
    base = os.environ if base is None else base
    secrets = target.secrets()
    long_secrets = [s for s in secrets if len(s) >= _CONTAINED_SECRET_LEN]

    def private(name: str, value: str) -> bool:
        if name in TARGET_VARIABLES or name in PRIVATE_VARIABLES or name.startswith(PRIVATE_PREFIXES):
            return True
        if _LIBPQ_VARIABLE.match(name):
            return False
        return value in secrets or any(s in value for s in long_secrets) or redact_url(value) != value

    env = {name: value for name, value in base.items() if not private(name, value)}
    return {**env, **target.kernel_env(), **extra}


def _first(*values: str | None) -> str | None:
    for value in values:
        if value is not None and str(value).strip() != "":
            return str(value).strip()
    return None


def read_cookie_file(path: str) -> str:
    """A cookie file's ``Cookie`` header value (line breaks dropped); :class:`ConfigError` when unreadable."""
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
    database_write_url: str | None = None,
    api_key: str | None = None,
    cookie: str | None = None,
    cookie_file: str | None = None,
    timeout_ms: int | str | None = None,
    artifacts_dir: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Target:
    """Build a :class:`Target` from explicit values, then the environment (default ``os.environ``).

    The write URL is ``database_write_url``, else ``DATABASE_WRITE_URL``, else ``None`` (writes use the
    read URL). ``extra_secrets`` gets the credentials of the environment (other API keys, lane keys and
    cookies, ``PGPASSWORD``, ``HARNESS_SECRETS``). Without a base URL: :class:`ConfigError`.
    """
    env = os.environ if env is None else env
    url = _first(base_url, env.get("BASE_URL"))
    if url is None:
        raise ConfigError("no target configured: set BASE_URL (for the local sandbox: eval \"$(harness sandbox env)\"), "
                          "or run through `harness run`, `harness lab` or pytest, which start the sandbox")
    cookie_path = _first(cookie_file, env.get("COOKIE_FILE"))
    cookie_value = _first(cookie, env.get("HARNESS_COOKIE"), env.get("COOKIE"))
    if cookie_value is None and cookie_path:
        cookie_value = read_cookie_file(cookie_path)
    target = Target(
        base_url=url.rstrip("/"),
        tenant_id=_first(tenant_id, env.get("TENANT_ID")) or "",
        database_url=_first(database_url, env.get("DATABASE_URL"), env.get("PG_CONNECTION_STRING")),
        database_write_url=_first(database_write_url, env.get("DATABASE_WRITE_URL")),
        api_key=_first(api_key, env.get("WORKFLOW_HARNESS_API_KEY"), env.get("ALGA_API_KEY")),
        cookie=cookie_value,
        timeout_ms=_parse_timeout(_first(str(timeout_ms) if timeout_ms is not None else None,
                                         env.get("TIMEOUT_MS"))),
        artifacts_dir=_first(artifacts_dir, env.get("ARTIFACTS_DIR")) or DEFAULT_ARTIFACTS_DIR,
        is_sandbox=env.get("HARNESS_SANDBOX") == "1",
    )
    # The target's own key and cookie too: copies made for other tenants (lanes) keep scrubbing them.
    extra = unique([target.api_key, *cookie_secrets(target.cookie), *_environment_secrets(env)])
    target = replace(target, extra_secrets=tuple(extra))
    validate_target(target)
    return target


_LANE_SECRET = re.compile(r"^HARNESS_LANE\d+_(?:API_KEY|COOKIE|COOKIE_FILE)$")


def _environment_secrets(env: Mapping[str, str]) -> list[str]:
    """Credentials in the environment besides the target's own: other keys, lane credentials, PGPASSWORD."""
    found: list[str | None] = [env.get("ALGA_API_KEY"), env.get("WORKFLOW_HARNESS_API_KEY"), env.get("PGPASSWORD"),
                               *cookie_secrets(env.get("COOKIE")), *cookie_secrets(env.get("HARNESS_COOKIE"))]
    for name, value in env.items():
        if not _LANE_SECRET.match(name) or not value.strip():
            continue
        if name.endswith("_FILE"):
            try:
                found += cookie_secrets(read_cookie_file(value))
            except ConfigError:
                continue
        else:
            found += cookie_secrets(value.strip())
    try:
        listed = json.loads(env.get("HARNESS_SECRETS") or "[]")
    except ValueError:
        listed = []
    found += [value for value in listed if isinstance(value, str)] if isinstance(listed, list) else []
    return unique(found)


def validate_target(target: Target) -> None:
    """Raise :class:`ConfigError` with one clear line when the target cannot work."""
    if not re.match(r"^https?://[^/\s]+", target.base_url):
        raise ConfigError(f"base URL must start with http:// or https://, got {redact_url(target.base_url)!r}")
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
