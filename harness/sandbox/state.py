"""Where the local sandbox keeps its state, and the environment that points a client at it.

This module is all the harness library knows about the sandbox: a state file, read like any
other configuration source.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError

DIR_ENV = "HARNESS_SANDBOX_DIR"


def sandbox_dir() -> Path:
    """The sandbox data folder: ``$HARNESS_SANDBOX_DIR`` or ``./.harness/sandbox``."""
    return Path(os.environ.get(DIR_ENV) or Path.cwd() / ".harness" / "sandbox").resolve()


def state_file(directory: Path | None = None) -> Path:
    return (directory or sandbox_dir()) / "state.json"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state(directory: Path | None = None) -> dict[str, Any] | None:
    """The running sandbox's state, or ``None`` when it is not running."""
    path = state_file(directory)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if pid_alive(int(state.get("pid", 0))) else None


def env_for(state: dict[str, Any], tenant: str | None = None) -> dict[str, str]:
    """The variables a shell, notebook or kernel needs to use this sandbox tenant."""
    tenants = state["tenants"]
    chosen = next((t for t in tenants if tenant in (None, t["slug"], t["tenant_id"])), None)
    if chosen is None:
        names = ", ".join(t["slug"] for t in tenants)
        raise ConfigError(f"the sandbox has no tenant {tenant!r} (tenants: {names})")
    return {"BASE_URL": state["base_url"], "TENANT_ID": chosen["tenant_id"],
            "DATABASE_URL": state["database_url"], "WORKFLOW_HARNESS_API_KEY": chosen["api_key"],
            "HARNESS_SANDBOX": "1"}


def sandbox_env(*, start: bool = False, tenant: str | None = None) -> dict[str, str]:
    """Environment for the local sandbox; start it first when ``start`` is true."""
    state = read_state()
    if state is None:
        if not start:
            raise ConfigError("no target configured (BASE_URL unset) and the local sandbox is not running: "
                              "run `harness sandbox start` or set BASE_URL")
        from .control import start as start_sandbox  # imports the server stack only when needed

        state = start_sandbox()
    return env_for(state, tenant)
