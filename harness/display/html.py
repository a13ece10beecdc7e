"""Small HTML builders shared by the pictures and the DataFrame formatter.

Only inline ``style`` and ``title`` attributes carry the look: JupyterLab's sanitiser (untrusted
outputs, i.e. a re-opened notebook) drops ``<style>``, ``<svg>`` and ``data-*`` attributes but keeps these.
"""
from __future__ import annotations

import html
import re
import uuid
from typing import Any

UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SHORT_ID_CHARS = 8
MUTED = "#757575"


def esc(value: Any) -> str:
    """``value`` as text, escaped for HTML content and attribute values."""
    return html.escape(str(value), quote=True)


def is_uuid(value: Any) -> bool:
    """Whether ``value`` is a UUID or a string shaped like one."""
    return isinstance(value, uuid.UUID) or (isinstance(value, str) and UUID_TEXT.match(value) is not None)


def short_id(value: Any) -> str:
    """A UUID as its first characters and "…", the full value on hover, never wrapped."""
    text = str(value)
    return (f'<span title="{esc(text)}" style="white-space: nowrap; font-family: monospace">'
            f"{esc(text[:SHORT_ID_CHARS])}…</span>")


def clipped(text: str, limit: int) -> str:
    """``text`` escaped, cut to ``limit`` characters with the whole text on hover when longer."""
    if len(text) <= limit:
        return esc(text)
    return f'<span title="{esc(text)}">{esc(text[:limit - 1])}…</span>'


def badge(text: str, colour: str) -> str:
    """A small rounded label in ``colour``."""
    return (f'<span style="background-color: {colour}; color: #fff; border-radius: 3px; padding: 0 4px; '
            f'white-space: nowrap; font-size: 90%">{esc(text)}</span>')
