"""The event catalog as authors see it: each event's payload schema ref and the fields a trigger must send,
and close names for a misspelt event (``harness events``, ``harness new --event``)."""
from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Any

from ..contract.event_payloads import default_registry
from ..contract.sample_payloads import SERVER_FILLED


@dataclass(frozen=True)
class EventInfo:
    """One event: its name, its payload schema ref, and the required payload fields a trigger sends (the
    server fills in ``tenantId``, ``occurredAt`` and the actor fields itself)."""

    name: str
    schema_ref: str
    required: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "required": list(self.required)}


def event_catalog(text: str = "") -> list[EventInfo]:
    """The events whose name or schema ref contains ``text`` (any case), sorted by name."""
    registry = default_registry()
    needle = text.lower()
    found = []
    for name, ref in sorted(registry.events().items()):
        if needle in name.lower() or needle in ref.lower():
            required = registry.json_schema(ref).get("required", [])
            found.append(EventInfo(name, ref, tuple(f for f in required if f not in SERVER_FILLED)))
    return found


def close_event_names(text: str, *, words: bool = False) -> list[str]:
    """The known event names closest to ``text`` (a misspelling, any case), best first; with ``words``
    also the words of those names (``TICKET``, ``CREATED``), each a filter of its own."""
    names = default_registry().events()
    candidates = set(names) | ({word for name in names for word in name.split("_")} if words else set())
    return difflib.get_close_matches(text.upper(), sorted(candidates), n=3, cutoff=0.7)


def did_you_mean(close: list[str]) -> str:
    """`` (did you mean A, B or C?)``; empty when there is nothing to suggest."""
    if not close:
        return ""
    names = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
    return f" (did you mean {names}?)"
