"""DataFrames shortened for reading, and shown under a title in a notebook."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported on use: the runner imports expect, hence this module
    import pandas as pd

MAX_SHOWN_ROWS = 20
MAX_CELL_CHARS = 48  # under pandas' display.max_colwidth (50), which cuts longer text itself


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (where rich displays reach a notebook)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def short(value: Any, limit: int) -> Any:
    """JSON values as compact text, and text longer than ``limit`` cut with "…"."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, default=str, separators=(",", ":"))
    if isinstance(value, str) and len(value) > limit:
        return value[:limit - 1] + "…"
    return value


def for_display(frame: pd.DataFrame, max_rows: int = MAX_SHOWN_ROWS, max_chars: int = MAX_CELL_CHARS) -> pd.DataFrame:
    """A copy of ``frame`` fit for reading: the first and last rows of a long frame, and JSON or
    long text cells shortened to ``max_chars``. For display only; assertions use the full frame."""
    import pandas as pd

    shown = frame
    if len(frame) > max_rows:
        shown = pd.concat([frame.head(max_rows - max_rows // 2), frame.tail(max_rows // 2)])
    # only text and JSON can be long: other columns (numbers, times, nullable integers) keep their values and dtype
    texts = [i for i, dtype in enumerate(shown.dtypes) if dtype == object or isinstance(dtype, pd.StringDtype)]
    if shown.empty or not texts:
        return shown
    shown = shown.copy(deep=False)
    for i in texts:  # by position: labels may repeat
        shown.isetitem(i, [short(cell, max_chars) for cell in shown.iloc[:, i]])
    return shown


def display_frames(title: str, *frames: tuple[str, pd.DataFrame], figure: Any = None) -> bool:
    """In a notebook, show a Markdown title (or ``figure`` in its place: a picture carries its own
    heading), then each ``(label, frame)`` shortened by :func:`for_display`.

    Returns whether anything was displayed (nothing is, outside a notebook).
    """
    if not in_notebook():
        return False
    from IPython.display import Markdown, display

    display(Markdown(title) if figure is None else figure)
    for label, frame in frames:
        rows = f"{len(frame)} row{'s' if len(frame) != 1 else ''}"
        more = f", showing the first and last {MAX_SHOWN_ROWS // 2}" if len(frame) > MAX_SHOWN_ROWS else ""
        if label:
            display(Markdown(f"**{label}** ({rows}{more})"))
        display(for_display(frame))
    return True
