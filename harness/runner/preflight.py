"""Checks that the target is reachable before a kernel is started for nothing."""
from __future__ import annotations

import httpx

from ..config import Target
from ..db import Database
from ..errors import TargetUnreachable


def preflight(target: Target, timeout_s: float = 5.0) -> None:
    """Raise :class:`TargetUnreachable` unless both the HTTP server and the database answer."""
    try:
        httpx.get(target.base_url + "/", timeout=timeout_s)
    except httpx.TransportError as exc:
        raise TargetUnreachable(f"cannot reach {target.base_url}: {exc or type(exc).__name__}") from None
    Database(target.database_url or "").close()
