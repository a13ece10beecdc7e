"""Business actions callable from ``action.call`` steps, keyed by ``(actionId, version)``."""
from __future__ import annotations

from typing import Any

ACTIONS: dict[tuple[str, int], Any] = {}
