"""The one place that decides to use the local sandbox.

A command or a pytest session with no target configured (no ``--base-url``, no ``BASE_URL``) runs
against the local sandbox: started when it is not running, reused when it is. Its variables (the
target, its other tenants as lanes, the folder of its tenant locks, the secrets to scrub) are then
put in this process's environment and read like any other configuration: by this process, by
pytest-xdist workers and, minus the private ones, by kernels. The library, the execution layer and
kernels never start or read the sandbox themselves; only the CLI and the pytest plugin call this.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .config import Target, resolve_target


def use_sandbox_unless_configured(base_url: str | None = None, tenant: str | None = None) -> bool:
    """Unless ``base_url`` or ``BASE_URL`` names a target, start (or reuse) the local sandbox and put its
    variables in ``os.environ``, with ``tenant`` (a slug or id) as the target's; return whether it did."""
    if (base_url or "").strip() or os.environ.get("BASE_URL", "").strip():
        return False
    from .sandbox.state_file import sandbox_env  # the sandbox's stack loads only when it is the target

    os.environ.update(sandbox_env(start=True, tenant=tenant, on_start=_say_started))
    return True


def _say_started(state: dict[str, Any]) -> None:
    """Tell the user, once, that a server now runs in the background, and how to stop it."""
    folder = Path(state["data_dir"])
    shown = os.path.relpath(folder) if folder.is_relative_to(Path.cwd()) else str(folder)
    print(f"started the local sandbox in the background ({state['base_url']}, data in {shown}{os.sep}); "
          "`harness sandbox stop` stops it", file=sys.stderr)


def resolve_or_start(**fields: Any) -> Target:
    """:func:`harness.config.resolve_target` of ``fields``, on the local sandbox when nothing is configured."""
    if use_sandbox_unless_configured(fields.get("base_url"), fields.get("tenant_id")):
        fields = {**fields, "tenant_id": None}  # the sandbox's variables name the chosen tenant by id
    return resolve_target(**fields)
