"""Business actions callable from ``action.call`` steps, keyed by ``(actionId, version)``."""
from __future__ import annotations

from .registry import ACTIONS

__all__ = ["ACTIONS"]
