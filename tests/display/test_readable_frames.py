"""Readable DataFrames: ids short in the display only, never wrapped, blanks for missing values."""
from __future__ import annotations

import contextlib
import uuid

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from IPython.core.interactiveshell import InteractiveShell

from harness.display import install_readable_frames
from harness.display.frames import for_display
from harness.display.readable import _pandas_table, readable_html

RUN_ID = "5b32becd-11ec-4959-9353-779a5653b732"


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"run_id": [RUN_ID, None], "step_id": [uuid.UUID(RUN_ID), np.nan],
                         "duration_ms": [12.5, np.nan], "error_json": [{"message": "<b>bad</b>"}, None],
                         "completed_at": [pd.Timestamp("2026-01-01", tz="UTC"), pd.NaT],
                         "attempt": pd.array([2, None], dtype="Int64"), "note": ["x" * 80, "ok"]})


def _cells(html: str) -> list[list]:
    return [row.find_all("td") for row in BeautifulSoup(html, "html.parser").select("tbody tr")]


def test_ids_short_in_display_full_in_title_and_in_the_frame():
    frame = _frame()
    before = frame.copy()
    first, _ = _cells(readable_html(frame))
    for cell in first[:2]:
        span = cell.find("span")
        assert span.text == "5b32becd…" and span["title"] == RUN_ID
        assert "white-space: nowrap" in span["style"]
    pd.testing.assert_frame_equal(frame, before)
    assert frame.loc[0, "run_id"] == RUN_ID


def test_missing_values_are_blank():
    _, second = _cells(readable_html(_frame()))
    assert [c.text for c in second] == ["", "", "", "", "", "", "ok"]
    assert "NaN" not in readable_html(_frame()) and "None" not in readable_html(_frame())


def test_pandas_look_escaping_and_long_text():
    html = readable_html(_frame())
    assert 'class="dataframe"' in html
    first, _ = _cells(html)
    assert first[2].text == "12.5"
    assert first[3].text == '{"message":"<b>bad</b>"}' and first[3].find("b") is None, "text is escaped"
    assert first[6].find("span")["title"] == "x" * 80 and first[6].text == "x" * 49 + "…"


def test_long_frames_show_first_and_last_rows_like_pandas():
    frame = pd.DataFrame({"run_id": [str(uuid.uuid4()) for _ in range(100)]})
    html = readable_html(frame)
    labels = [row.find("th").text for row in BeautifulSoup(html, "html.parser").select("tbody tr")]
    assert labels == ["0", "1", "2", "3", "4", "...", "95", "96", "97", "98", "99"]
    assert "<p>100 rows × 1 columns</p>" in html


def test_ids_in_the_index_are_short_too():
    frame = pd.DataFrame({"run_id": [RUN_ID, RUN_ID], "status": ["A", "B"]})
    pivot = frame.pivot_table(index="run_id", columns="status", aggfunc="size", fill_value=0)
    head = BeautifulSoup(readable_html(pivot), "html.parser").select_one("tbody th span")
    assert head.text == "5b32becd…" and head["title"] == RUN_ID


def test_install_registers_once_and_only_inside_ipython():
    assert install_readable_frames() is False, "no IPython shell in plain pytest"
    shell = InteractiveShell.instance()
    try:
        assert install_readable_frames() and install_readable_frames()
        formatter = shell.display_formatter.formatters["text/html"]
        assert formatter.lookup_by_type(pd.DataFrame) is readable_html
        data, _ = shell.display_formatter.format(_frame())
        assert "5b32becd…" in data["text/html"] and RUN_ID in data["text/plain"]
    finally:
        InteractiveShell.clear_instance()


def _pandas_drawn(frame: pd.DataFrame) -> str:
    """readable_html of a short frame as pandas' own to_html draws it (the path for other frames)."""
    html = _pandas_table(frame, pd.get_option("display.max_colwidth"), None, None)
    if pd.get_option("display.show_dimensions") is True:
        html = html.removesuffix("</div>") + f"<p>{frame.shape[0]} rows × {frame.shape[1]} columns</p>\n</div>"
    return html


FLAT_FRAMES = {
    "mixed": _frame(),
    "numbers and times": pd.DataFrame({
        "f": [1.5, 2.25, 1e10, np.nan], "b": [True, False, True, False], "i": [1, 2, 3, 4],
        "u": np.array([1, 2, 3, 4], dtype=np.uint8), "c": [1 + 2j, 0, 3j, 1],
        "t": pd.to_datetime(["2026-01-01 00:00:00", "2026-01-02 03:04:05", None, "2026-03-01 00:00:00"]),
        "d": pd.to_timedelta([1, 2, None, 4], unit="s"), "<x>": ["<a>", "&", "", None]}),
    "filtered rows": pd.DataFrame({"a": range(10), "s": list("abcdefghij")}).iloc[[2, 5, 7]],
    "text labels": pd.DataFrame({"v": [1, 2]}, index=["x", RUN_ID]),
    "repeated labels": pd.DataFrame([[1, "a"], [2, "b"]], columns=["x", "x"]),
    "empty": pd.DataFrame({"a": [], "b": []}),
}


@pytest.mark.parametrize("option", [(), ("display.float_format", "{:.2f}".format), ("display.show_dimensions", True)],
                         ids=["defaults", "float format", "dimensions"])
@pytest.mark.parametrize("name", FLAT_FRAMES)
def test_the_direct_table_is_pandas_own_html(name, option):
    """Frames with flat labels are written directly (pandas' formatting costs milliseconds a frame):
    the result is exactly what pandas' to_html draws for them."""
    with pd.option_context(*option) if option else contextlib.nullcontext():
        assert readable_html(FLAT_FRAMES[name]) == _pandas_drawn(FLAT_FRAMES[name])


@pytest.mark.parametrize("max_rows, min_rows", [(60, 10), (7, 5), (9, 9), (3, 1)])
def test_long_frames_match_pandas_truncation(max_rows, min_rows):
    frame = pd.DataFrame({"n": range(70), "id": [str(uuid.UUID(int=i)) for i in range(70)]})
    with pd.option_context("display.max_rows", max_rows, "display.min_rows", min_rows):
        shown = pd.concat([frame.head(min_rows), frame.tail(min_rows)])
        expected = _pandas_table(shown, pd.get_option("display.max_colwidth"), min_rows, None)
        assert readable_html(frame) == expected.removesuffix("</div>") + "<p>70 rows × 2 columns</p>\n</div>"


def test_for_display_shortens_text_and_json_only():
    frame = pd.DataFrame({"data": [{"a": "x" * 100}, None, [1, 2]], "note": ["y" * 60, "ok", None],
                          "attempt": pd.array([2, None, 1], dtype="Int64"), "ms": [1.5, np.nan, 3.0]})
    before = frame.copy()
    shown = for_display(frame, max_chars=10)
    assert shown["data"].tolist()[0] == '{"a":"xxx…' and shown["data"].tolist()[2] == "[1,2]"
    assert shown["note"].tolist()[:2] == ["y" * 9 + "…", "ok"]
    assert shown["attempt"].dtype == "Int64" and shown["ms"].dtype == "float64"
    pd.testing.assert_frame_equal(frame, before)


def test_for_display_keeps_first_and_last_rows():
    shown = for_display(pd.DataFrame({"n": range(50)}), max_rows=6)
    assert shown["n"].tolist() == [0, 1, 2, 47, 48, 49]
