"""Lanes: the tenants fixtures can run in at the same time, and a lock per tenant.

Opening a fixture pauses every other ``fixture.*`` workflow of its tenant, so two fixtures running
at once in one tenant would pause each other's workflows. Concurrent fixtures therefore run in
different tenants: the configured target is the first lane, and on the local sandbox every other
seeded tenant is one more. A machine-wide lock per tenant keeps separate processes (another
``harness run-all``, pytest-xdist workers) from sharing a tenant at the same moment.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Sequence

from ..config import Target
from ..sandbox.state import read_state


def lane_targets(target: Target) -> list[Target]:
    """``target`` first, then (on the local sandbox) one target per other sandbox tenant."""
    lanes = [target]
    state = read_state() if target.is_sandbox and not target.cookie else None
    if state is None or state.get("base_url", "").rstrip("/") != target.base_url:
        return lanes
    for tenant in state.get("tenants", []):
        if tenant["tenant_id"] != target.tenant_id:
            lanes.append(replace(target, tenant_id=tenant["tenant_id"], api_key=tenant["api_key"]))
    return lanes


def _lock_path(target: Target) -> Path:
    digest = hashlib.sha256(f"{target.base_url}|{target.tenant_id}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"harness-tenant-{digest}.lock"


def _try_lock(fd: int, blocking: bool) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


@contextmanager
def claim_lane(lanes: Sequence[Target], preferred: int = 0) -> Iterator[Target]:
    """Hold the lock of a free lane (``preferred`` first) for the block; wait for ``preferred`` if none is free."""
    order = [lanes[(preferred + i) % len(lanes)] for i in range(len(lanes))]
    fds: list[int] = []
    try:
        for blocking, lane in [(False, lane) for lane in order] + [(True, order[0])]:
            fd = os.open(_lock_path(lane), os.O_RDWR | os.O_CREAT, 0o666)
            fds.append(fd)
            if _try_lock(fd, blocking):
                yield lane
                return
    finally:
        for fd in fds:
            os.close(fd)  # closing the descriptor releases its lock
