"""Where the local sandbox keeps its state, and the environment that points a client at it.

The kit never reads this file: the CLI and the pytest plugin turn it into environment variables
(:func:`env_for`, through ``harness.local_sandbox``), read like any other configuration. The state
file names the server process (pid, start time, command line), its URL, and three database URLs:
``database_url`` for the read-only role (assertions), ``database_write_url`` for the writer role
(cleanup) and ``admin_database_url`` for the owner (sandbox internals, reset and tests that need DDL).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError
from ..redaction import secrets_in_data
from ..project import state_dir
from .process import is_recorded

DIR_ENV = "HARNESS_SANDBOX_DIR"
LOCK_DIR_ENV = "HARNESS_LOCK_DIR"
SECRETS_ENV = "HARNESS_SECRETS"
STATE_FILE = "state.json"


def sandbox_dir() -> Path:
    """The sandbox data folder: ``$HARNESS_SANDBOX_DIR``, else ``<project root>/.harness/sandbox``.

    The project root is the nearest folder at or above the current one holding a ``pyproject.toml``
    or ``.git``, so every subfolder of a project finds the same sandbox.
    """
    return state_dir(DIR_ENV, "sandbox")


def state_file(directory: Path | None = None) -> Path:
    return (directory or sandbox_dir()) / STATE_FILE


def read_state_file(directory: Path | None = None) -> dict[str, Any] | None:
    """The state file's content, whether or not its process still runs; ``None`` without one."""
    try:
        state = json.loads(state_file(directory).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def read_state(directory: Path | None = None) -> dict[str, Any] | None:
    """The running sandbox's state, or ``None`` when its recorded process is gone (or the pid now
    belongs to another process)."""
    state = read_state_file(directory)
    return state if state is not None and is_recorded(state) else None


def env_for(state: dict[str, Any], tenant: str | None = None) -> dict[str, str]:
    """The variables a shell, a kernel or the kit needs to use this sandbox tenant: the target, the
    sandbox's other tenants as lanes (``HARNESS_LANE<N>_*``), the folder of its tenant locks, and
    ``HARNESS_SECRETS``: its other credentials (cookies, the owner's database password), for scrubbing.

    ``DATABASE_URL`` is the read-only role, ``DATABASE_WRITE_URL`` the writer.
    """
    tenants = state["tenants"]
    chosen = next((t for t in tenants if tenant in (None, t["slug"], t["tenant_id"])), None)
    if chosen is None:
        names = ", ".join(t["slug"] for t in tenants)
        raise ConfigError(f"the sandbox has no tenant {tenant!r} (tenants: {names})")
    env = {"BASE_URL": state["base_url"], "TENANT_ID": chosen["tenant_id"],
           "DATABASE_URL": state["database_url"],
           # a server started before the roles existed has one (owner) URL for everything
           "DATABASE_WRITE_URL": state.get("database_write_url") or state["database_url"],
           "WORKFLOW_HARNESS_API_KEY": chosen["api_key"], "HARNESS_SANDBOX": "1"}
    others = [t for t in tenants if t is not chosen]
    for number, other in enumerate(others, start=2):
        env[f"HARNESS_LANE{number}_TENANT_ID"] = other["tenant_id"]
        env[f"HARNESS_LANE{number}_API_KEY"] = other["api_key"]
    if state.get("data_dir"):
        env[LOCK_DIR_ENV] = str(Path(state["data_dir"]) / "locks")
    env[SECRETS_ENV] = json.dumps(secrets_in_data(state))
    return env


def sandbox_env(*, start: bool = False, tenant: str | None = None,
                on_start: Callable[[dict[str, Any]], None] | None = None) -> dict[str, str]:
    """Environment for the local sandbox; start it first when ``start`` is true and it is not running,
    then call ``on_start`` with its state."""
    state = read_state()
    if state is None:
        if not start:
            raise ConfigError("no target configured (BASE_URL unset) and the local sandbox is not running: "
                              "run `harness sandbox start` or set BASE_URL")
        from .control import start as start_sandbox  # imports the server stack only when needed

        state = start_sandbox()
        if on_start is not None:
            on_start(state)
    return env_for(state, tenant)
