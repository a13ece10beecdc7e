"""Assertions for fixture notebooks, including DataFrame-aware ones.

A failed DataFrame assertion carries the frame it looked at (``.frame``) and, inside a notebook,
displays it, so the reader sees the rows that did not match rather than only a message.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Mapping, TypeVar, Union

from .display.frames import display_frames, for_display  # noqa: F401  (notebooks call expect.for_display)

if TYPE_CHECKING:  # pandas is imported on use: the runner imports this module and never needs it
    import pandas as pd

Where = Union[None, str, Mapping[str, Any], Callable[["pd.DataFrame"], "pd.Series[bool]"]]
E = TypeVar("E", bound=BaseException)


class ExpectationFailed(AssertionError):
    """An assertion in a fixture failed; ``frame`` holds the DataFrame involved, if any."""

    def __init__(self, message: str, frame: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.frame = frame


def _fail(message: str, frame: pd.DataFrame | None = None) -> None:
    if frame is not None:
        display_frames(f"**Expectation failed:** {message}", ("rows looked at", frame))
    raise ExpectationFailed(message, frame)


def ok(condition: Any, message: str = "expected a truthy value") -> None:
    """Fail with ``message`` unless ``condition`` is truthy."""
    if not condition:
        _fail(message)


def equal(actual: Any, expected: Any, message: str | None = None) -> None:
    """Fail unless ``actual == expected``."""
    if actual != expected:
        _fail(f"{message + ': ' if message else ''}expected {expected!r}, got {actual!r}")


def match(actual: Any, pattern: str | re.Pattern[str], message: str | None = None) -> None:
    """Fail unless the regular expression ``pattern`` is found in ``str(actual)``."""
    if actual is None or not re.search(pattern, str(actual)):
        shown = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
        _fail(f"{message + ': ' if message else ''}{actual!r} does not match /{shown}/")


def contains(haystack: Any, needle: str, message: str | None = None) -> None:
    """Fail unless ``needle`` is a substring of ``str(haystack)``."""
    if haystack is None or needle not in str(haystack):
        _fail(f"{message + ': ' if message else ''}{needle!r} not found in {haystack!r}")


def raises(error: type[E], call: Callable[..., Any], *args: Any, message: str | None = None, **kwargs: Any) -> E:
    """Call ``call(*args, **kwargs)`` and return the ``error`` it raises; fail if it returns instead."""
    try:
        result = call(*args, **kwargs)
    except error as exc:
        return exc
    raise ExpectationFailed(f"{message + ': ' if message else ''}expected {error.__name__}, got {result!r}")


def _select(frame: pd.DataFrame, where: Where) -> pd.DataFrame:
    if where is None:
        return frame
    if isinstance(where, str):
        return frame.query(where)
    if callable(where):
        return frame[where(frame)]
    import pandas as pd

    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        if column not in frame.columns:
            _fail(f"no column {column!r} (columns: {', '.join(map(str, frame.columns))})", frame)
        mask &= frame[column].map(lambda cell, v=value: cell == v)
    return frame[mask]


def _describe(where: Where) -> str:
    if where is None:
        return ""
    if isinstance(where, Mapping):
        return " where " + " and ".join(f"{k} == {v!r}" for k, v in where.items())
    return f" where {where}" if isinstance(where, str) else " matching the predicate"


def rows(frame: pd.DataFrame, where: Where = None, *, at_least: int = 1, exactly: int | None = None,
         message: str | None = None) -> pd.DataFrame:
    """Assert how many rows of ``frame`` satisfy ``where``; return those rows.

    ``where`` is a pandas query string, a ``{column: value}`` mapping, or a function of the frame
    returning a boolean Series.
    """
    selected = _select(frame, where)
    count = len(selected)
    wanted_ok = count == exactly if exactly is not None else count >= at_least
    if not wanted_ok:
        wanted = f"exactly {exactly}" if exactly is not None else f"at least {at_least}"
        prefix = f"{message}: " if message else ""
        _fail(f"{prefix}expected {wanted} row(s){_describe(where)}, found {count} of {len(frame)}", frame)
    return selected


def no_rows(frame: pd.DataFrame, where: Where = None, message: str | None = None) -> None:
    """Assert that no row of ``frame`` satisfies ``where``."""
    rows(frame, where, exactly=0, message=message)
