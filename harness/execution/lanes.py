"""Lanes: the tenants fixtures can run in at the same time, each with its own credentials, and a lock per tenant.

Opening a fixture pauses every other ``fixture.*`` workflow of its tenant, so two fixtures running at
once in one tenant would pause each other's workflows: concurrent fixtures run in different tenants.
The configured target is the first lane. More lanes come only from credentials in the configuration:
``HARNESS_LANE<N>_TENANT_ID`` with ``HARNESS_LANE<N>_API_KEY`` and/or ``HARNESS_LANE<N>_COOKIE_FILE``
(N = 2, 3, ...) add tenants of the same target (same base URL and database). The local sandbox's
variables (``harness sandbox env``, or the CLI and plugin when they start it) name its other seeded
tenants that way, with the keys it issued for them; a run never swaps the user's credentials for others.

A lock per tenant, in ``$HARNESS_LOCK_DIR`` (the sandbox sets its own folder) or the project's
``.harness/locks``, keeps separate processes (another run, pytest-xdist workers) apart.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from ..config import Target, read_cookie_file, validate_target
from ..errors import ConfigError
from ..project import state_dir

LANE_VAR = re.compile(r"^HARNESS_LANE(\d+)_TENANT_ID$")
LOCK_DIR_ENV = "HARNESS_LOCK_DIR"


def configured_lanes(target: Target, env: Mapping[str, str] | None = None) -> list[Target]:
    """The extra tenants the user configured, each with its own key or cookie (``HARNESS_LANE<N>_*``)."""
    env = os.environ if env is None else env
    lanes: list[Target] = []
    seen = {target.tenant_id.lower()}
    for number in sorted(int(m.group(1)) for name in env if (m := LANE_VAR.match(name))):
        prefix = f"HARNESS_LANE{number}_"
        tenant = env[prefix + "TENANT_ID"].strip()
        key = (env.get(prefix + "API_KEY") or "").strip() or None
        cookie = None
        if env.get(prefix + "COOKIE_FILE"):
            try:
                cookie = read_cookie_file(env[prefix + "COOKIE_FILE"])
            except ConfigError as exc:
                raise ConfigError(f"{prefix}COOKIE_FILE: {exc}") from None
        if not key and not cookie:
            raise ConfigError(f"lane {number}: set {prefix}API_KEY or {prefix}COOKIE_FILE for tenant {tenant}")
        if tenant.lower() in seen:
            raise ConfigError(f"lane {number}: tenant {tenant} is already a lane; each lane needs its own tenant")
        seen.add(tenant.lower())
        lane = replace(target, tenant_id=tenant, api_key=key, cookie=cookie)
        validate_target(lane)
        lanes.append(lane)
    return lanes


def lane_targets(target: Target, env: Mapping[str, str] | None = None) -> list[Target]:
    """``target`` first, then the configured lanes."""
    return [target, *configured_lanes(target, env)]


def lanes_notice(requested: int, lanes: int) -> str | None:
    """The one-line notice when more jobs were asked for than there are lanes."""
    if requested <= lanes:
        return None
    return (f"note: {requested} jobs need {requested} tenants (fixtures pause each other's workflows within a "
            f"tenant); this target has {lanes}, so {lanes} run at a time. Add tenants with "
            f"HARNESS_LANE2_TENANT_ID and HARNESS_LANE2_API_KEY (see README)")


def lock_dir() -> Path:
    """``$HARNESS_LOCK_DIR``, else ``<project>/.harness/locks``."""
    return state_dir(LOCK_DIR_ENV, "locks")


def _lock_path(target: Target) -> Path:
    digest = hashlib.sha256(f"{target.base_url}|{target.tenant_id.lower()}".encode()).hexdigest()[:16]
    return lock_dir() / f"tenant-{digest}.lock"


def _acquire(path: Path, blocking: bool) -> int | None:
    """An fd holding the lock on ``path``, or ``None`` when another process holds it (non-blocking).

    The file is removed by whoever releases it, so after locking, check that the path still names the
    file we locked; if not, someone removed it meanwhile: start over with the new file.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _release(path: Path, fd: int) -> None:
    path.unlink(missing_ok=True)  # while still holding the lock, so nobody locks a file being removed
    os.close(fd)


@contextmanager
def claim_lane(lanes: Sequence[Target], preferred: int = 0) -> Iterator[Target]:
    """Hold the lock of a free lane (``preferred`` first) for the block; wait for ``preferred`` if none is free."""
    order = [lanes[(preferred + i) % len(lanes)] for i in range(len(lanes))]
    for blocking, lane in [(False, lane) for lane in order] + [(True, order[0])]:
        path = _lock_path(lane)
        fd = _acquire(path, blocking)
        if fd is None:
            continue
        try:
            yield lane
        finally:
            _release(path, fd)
        return
