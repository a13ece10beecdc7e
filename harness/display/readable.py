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
    direct = _flat(frame) and not (max_cols and columns > max_cols)
    gap = None
    if long:  # as pandas' own repr: a long frame shows its first and last min_rows / 2
        max_rows = pd.get_option("display.min_rows") or max_rows
        half = max_rows // 2
        # Only what can be shown is formatted. pandas' to_html truncates again; the direct table shows
        # exactly these rows, with pandas' "..." row between them (a limit of 1 shows the first row alone).
        if not direct:
            frame = pd.concat([frame.head(max_rows), frame.tail(max_rows)])
        elif half:
            frame, gap = pd.concat([frame.head(half), frame.tail(half)]), half
        else:
            frame = frame.head(max_rows)
    limit = pd.get_option("display.max_colwidth")
    if direct:
        html = _table(frame, limit, gap_after=gap)
    else:
        html = _pandas_table(frame, limit, max_rows, max_cols)
    dimensions = pd.get_option("display.show_dimensions")
    if dimensions is True or (dimensions == "truncate" and (long or (max_cols and columns > max_cols))):
        html = html.removesuffix("</div>") + f"<p>{rows} rows × {columns} columns</p>\n</div>"
    return html


def _flat(frame: pd.DataFrame) -> bool:
    """Whether :func:`_table` draws ``frame`` as pandas would: one header row (no index or column
    names), no MultiIndex, and row labels that are integers or shown as text."""
    import pandas as pd

    index = frame.index
    return (not isinstance(index, pd.MultiIndex) and not isinstance(frame.columns, pd.MultiIndex)
            and index.name is None and frame.columns.name is None
            and (not _is_plain(index.dtype) or index.dtype.kind in "iu"))


_NOTEBOOK_STYLE = """<div>
<style scoped>
    .dataframe tbody tr th:only-of-type {
        vertical-align: middle;
    }

    .dataframe tbody tr th {
        vertical-align: top;
    }

    .dataframe thead th {
        text-align: right;
    }
</style>
<table border="1" class="dataframe">
"""


def _table(frame: pd.DataFrame, limit: int | None, gap_after: int | None) -> str:
    """The table pandas' ``to_html(notebook=True)`` draws, written directly: formatting every column
    through pandas costs milliseconds per frame, and a fixture shows several frames per cell. Numbers
    and times keep pandas' own formatting (the column's ``to_string``); other cells are :func:`cell_html`."""
    import pandas as pd

    cell = partial(cell_html, limit=limit)
    label = str if _is_plain(frame.index.dtype) else cell
    body = [[label(value) for value in frame.index]]
    float_format = pd.get_option("display.float_format")
    for i, dtype in enumerate(frame.dtypes):
        column = frame.iloc[:, i]
        if _is_plain(dtype):
            text = column.to_string(index=False, header=False, na_rep="", float_format=float_format)
            body.append([line.strip() for line in text.split("\n")] if len(column) else [])
        else:
            body.append([cell(value) for value in column.to_numpy(object)])
    head = "".join(f"      <th>{cell(name)}</th>\n" for name in frame.columns)
    out = [_NOTEBOOK_STYLE, '  <thead>\n    <tr style="text-align: right;">\n      <th></th>\n', head,
           "    </tr>\n  </thead>\n  <tbody>\n"]
    for number, row in enumerate(zip(*body)):
        if number == gap_after:
            out.append("    <tr>\n      <th>...</th>\n" + "      <td>...</td>\n" * len(frame.columns) + "    </tr>\n")
        out.append(f"    <tr>\n      <th>{row[0]}</th>\n" + "".join(f"      <td>{value}</td>\n" for value in row[1:])
                   + "    </tr>\n")
    out.append("  </tbody>\n</table>\n</div>")
    return "".join(out)


def _pandas_table(frame: pd.DataFrame, limit: int | None, max_rows: int | None, max_cols: int | None) -> str:
    """What :func:`_table` does not draw (named or multi-level labels, too many columns), through
    pandas' ``to_html`` on a copy whose cells are already HTML."""
    import pandas as pd

    cell = partial(cell_html, limit=limit)
    columns_shown = {i: frame.iloc[:, i].to_numpy() if _is_plain(dtype) else frame.iloc[:, i].map(cell).to_numpy(object)
                     for i, dtype in enumerate(frame.dtypes)}  # by position: labels may repeat
    shown = pd.DataFrame(columns_shown, index=_labels(frame.index, limit))
    shown.columns = _labels(frame.columns, limit)
    with pd.option_context("display.max_colwidth", None):  # cell_html clipped the text; pandas would cut its HTML
        return shown.to_html(escape=False, na_rep="", notebook=True, max_rows=max_rows, max_cols=max_cols,
                             show_dimensions=False, float_format=pd.get_option("display.float_format"))


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
