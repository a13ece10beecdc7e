"""Readable DataFrames in a notebook: ids shortened, blanks instead of NaN, pandas' look otherwise.

:func:`install_readable_frames` registers :func:`readable_html` as IPython's HTML formatter for
DataFrames. Only the display changes: the frame, and its ``text/plain`` form, keep every value.
"""
from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any

from .html import clipped, esc, is_uuid, short_id

if TYPE_CHECKING:
    import pandas as pd


def cell_html(value: Any, limit: int | None = None) -> str:
    """One cell as HTML: blank when missing, a UUID shortened (full value on hover), JSON compact,
    text longer than ``limit`` clipped (full text on hover)."""
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if is_uuid(value):
        return short_id(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value, default=str, separators=(",", ":"))
    return clipped(str(value), limit) if limit else esc(value)


def _is_plain(dtype: Any) -> bool:
    """NumPy numbers, booleans and times: pandas formats them itself (missing ones as ``na_rep``)."""
    import numpy as np

    return isinstance(dtype, np.dtype) and dtype.kind in "biufcmM"


def _labels(index: pd.Index, limit: int | None) -> pd.Index:
    """Row or column labels as HTML, level by level."""
    import pandas as pd

    names = [None if name is None else esc(name) for name in index.names]
    if isinstance(index, pd.MultiIndex):
        levels = [_labels(index.get_level_values(i), limit) for i in range(index.nlevels)]
        return pd.MultiIndex.from_arrays(levels, names=names)
    if _is_plain(index.dtype):
        return index.set_names(names)
    return pd.Index(index.map(partial(cell_html, limit=limit)), dtype=object, name=names[0])


def readable_html(frame: pd.DataFrame) -> str:
    """``frame`` as pandas' notebook HTML, with UUID-shaped values shortened (first characters and
    "…", the full value in ``title``, never wrapped) and missing values blank."""
    import pandas as pd

    rows, columns = frame.shape
    max_rows, max_cols = pd.get_option("display.max_rows"), pd.get_option("display.max_columns") or None
    long = bool(max_rows) and rows > max_rows
    if long:  # as pandas' own repr: a long frame shows its first and last min_rows / 2
        max_rows = pd.get_option("display.min_rows") or max_rows
        frame = pd.concat([frame.head(max_rows), frame.tail(max_rows)])  # only what can be shown is formatted
    limit = pd.get_option("display.max_colwidth")
    cell = partial(cell_html, limit=limit)
    columns_shown = {i: frame.iloc[:, i].to_numpy() if _is_plain(dtype) else frame.iloc[:, i].map(cell).to_numpy(object)
                     for i, dtype in enumerate(frame.dtypes)}  # by position: labels may repeat
    shown = pd.DataFrame(columns_shown, index=_labels(frame.index, limit))
    shown.columns = _labels(frame.columns, limit)
    with pd.option_context("display.max_colwidth", None):  # cell_html clipped the text; pandas would cut its HTML
        html = shown.to_html(escape=False, na_rep="", notebook=True, max_rows=max_rows, max_cols=max_cols,
                             show_dimensions=False, float_format=pd.get_option("display.float_format"))
    dimensions = pd.get_option("display.show_dimensions")
    if dimensions is True or (dimensions == "truncate" and (long or (max_cols and columns > max_cols))):
        html = html.removesuffix("</div>") + f"<p>{rows} rows × {columns} columns</p>\n</div>"
    return html


def install_readable_frames() -> bool:
    """Make IPython show every DataFrame through :func:`readable_html` (idempotent).

    Returns whether it is installed: only inside IPython, else nothing happens.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    import pandas as pd

    shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, readable_html)
    return True
