"""The command-line flags that name a target, shared by every command that talks to one."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

_FLAGS = (
    click.option("--base-url", default=None, help="AlgaPSA base URL (default BASE_URL, else the local sandbox)."),
    click.option("--tenant", "tenant_id", default=None, help="Tenant id (default TENANT_ID)."),
    click.option("--database-url", "--pg-url", "database_url", default=None,
                 help="Postgres URL for assertions, ideally a read-only role (default DATABASE_URL)."),
    click.option("--database-write-url", default=None,
                 help="Postgres URL for cleanup writes (default DATABASE_WRITE_URL, else the database URL)."),
    click.option("--cookie-file", default=None, help="File holding the session Cookie header value."),
)
NAMES = ("base_url", "tenant_id", "database_url", "database_write_url", "cookie_file")


def target_options(command: F) -> F:
    """Add the target flags; the command receives them as one ``target_flags`` dict for ``resolve_target``."""

    def collect(**kwargs: Any) -> Any:
        kwargs["target_flags"] = {name: kwargs.pop(name) for name in NAMES}
        return command(**kwargs)

    collect.__name__, collect.__doc__ = command.__name__, command.__doc__
    collect.__click_params__ = list(getattr(command, "__click_params__", []))  # type: ignore[attr-defined]
    for flag in reversed(_FLAGS):
        collect = flag(collect)
    return collect  # type: ignore[return-value]
