"""Readable DataFrames: ids short in the display only, never wrapped, blanks for missing values."""
from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
from bs4 import BeautifulSoup
from IPython.core.interactiveshell import InteractiveShell

from harness.display import install_readable_frames
from harness.display.readable import readable_html

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
