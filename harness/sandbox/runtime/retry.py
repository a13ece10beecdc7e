"""Step retries (contract §3.10): which policy applies, whether a failure is retried, and the backoff."""
from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from ..actions.registry import retry_hint


def retry_policy(step: dict[str, Any]) -> dict[str, Any] | None:
    """The step's own ``retry``, else (``action.call``) the action's built-in hint, else none."""
    if step.get("retry"):
        return step["retry"]
    if step.get("type") == "action.call":
        config = step.get("config") or {}
        action_id, version = config.get("actionId"), config.get("version")
        if isinstance(action_id, str) and isinstance(version, int) and not isinstance(version, bool):
            return retry_hint(action_id, version)
    return None


def should_retry(policy: dict[str, Any], error: dict[str, Any], attempt: int) -> bool:
    """Retried while attempts remain and, when ``retryOn`` is given, the category is listed."""
    if attempt >= policy["maxAttempts"]:
        return False
    retry_on = policy.get("retryOn")
    return retry_on is None or error.get("category") in retry_on


def backoff(policy: dict[str, Any], attempt: int) -> timedelta:
    """``backoffMs × multiplier^(attempt−1)``, times a factor in [0.8, 1.2] with jitter (the default).

    Like AlgaPSA's fixture-era engine, ``maxDelayMs`` is not applied.
    """
    delay = policy["backoffMs"] * policy.get("backoffMultiplier", 2) ** max(0, attempt - 1)
    if policy.get("jitter", True):
        delay *= random.uniform(0.8, 1.2)
    return timedelta(milliseconds=delay)
