"""The run picture: one row per step in execution order, indented by path, coloured by status."""
from __future__ import annotations

import pandas as pd
from bs4 import BeautifulSoup

from harness.display.run_picture import STATUS_COLOURS, RunPicture
from harness.display.run_view import RunView

from .steps_data import ERROR, RUN_ID, STEP_TYPES, run_row, steps_frame


def _picture(**kwargs) -> BeautifulSoup:
    picture = RunPicture(run_row(), steps_frame(), "fixture.demo", STEP_TYPES, **kwargs)
    return BeautifulSoup(picture._repr_html_(), "html.parser")


def test_one_row_per_step_in_execution_order_with_its_status_colour():
    soup = _picture()
    root = soup.select_one(".harness-run-picture")
    assert root is not None
    rows = root.select("tr.harness-step")
    assert [r["data-status"] for r in rows] == list(steps_frame()["status"])
    assert [r["data-step-path"] for r in rows] == list(steps_frame()["step_path"])
    for row in rows:
        colour = STATUS_COLOURS[row["data-status"]]
        assert f"background-color: {colour}" in str(row.select_one("td:nth-of-type(2)")), row["data-status"]
    assert {STATUS_COLOURS[s] for s in ("SUCCEEDED", "FAILED", "STARTED", "CANCELED")} == {
        "#2e7d32", "#c62828", "#f9a825", "#9e9e9e"}


def test_labels_indentation_attempts_and_node_types():
    rows = _picture().select("tr.harness-step")
    label = {r["data-step-path"]: r.select_one("td") for r in rows}
    assert "collect" in label["root.steps[1].body.steps[0]"].text
    assert "transform.assign" in label["root.steps[1].body.body.steps[0]"].text, "FE's repeated .body maps to the body"
    assert "attempt 2" in label["root.steps[1].body.body.steps[0]"].text
    assert "attempt" not in label["root.steps[1].body.steps[0]"].text, "attempt 1 is not shown"
    assert "action.call" in label["root.steps[2].try.steps[0]"].text
    assert "padding-left: 6px" in label["root.steps[0]"]["style"]
    assert "padding-left: 22px" in label["root.steps[2].try.steps[0]"]["style"]
    assert "padding-left: 22px" in label["root.steps[1].body.body.steps[0]"]["style"], "depth counts steps, not .body"


def test_error_beside_the_failed_step_and_on_hover():
    rows = {r["data-step-path"]: r for r in _picture().select("tr.harness-step")}
    failed = rows["root.steps[2].try.steps[0]"]
    assert failed.select("td")[-1].text == ERROR, "the error is written beside the step, escaped"
    assert ERROR in failed["title"] and "root.steps[2].try.steps[0]" in failed["title"]
    assert "FAILED, attempt 1" in failed["title"]
    assert rows["root.steps[0]"].select("td")[-1].text == ""


def test_time_axis_bars_from_start_to_completion():
    rows = {r["data-step-path"]: r for r in _picture().select("tr.harness-step")}
    bar = rows["root.steps[2].try.steps[0]"].select_one("td:nth-of-type(2) div div")["style"]
    assert "left: 31.00%" in bar and "width: 69.00%" in bar  # 31..100 ms of a 100 ms run
    running = rows["root.steps[3]"].select_one("td:nth-of-type(2) div div")["style"]
    assert "left: 90.00%" in running and "width: 10.00%" in running and "opacity: 0.5" in running
    assert rows["root.steps[2].try.steps[0]"].select("td")[3].text == "69 ms"


def test_header_names_workflow_run_status_event_and_counts():
    header = _picture().select_one(".harness-run-header")
    text = header.text
    assert "fixture.demo" in text and "TICKET_CREATED" in text and "FAILED" in text
    assert "1 CANCELED, 1 FAILED, 1 STARTED, 5 SUCCEEDED" in text
    assert header.find(title=RUN_ID).text == RUN_ID[:8] + "…"
    assert ERROR in text


def test_times_unknown_and_no_steps():
    steps = steps_frame().assign(started_at=pd.NaT, completed_at=pd.NaT, duration_ms=None)
    run = {**run_row("RUNNING"), "started_at": None, "completed_at": None, "error_json": None}
    soup = BeautifulSoup(RunPicture(run, steps)._repr_html_(), "html.parser")
    rows = soup.select("tr.harness-step")
    assert len(rows) == len(steps) and all(r.select_one("td:nth-of-type(2) div div") is None for r in rows)
    assert run["workflow_id"] in soup.select_one(".harness-run-header").text, "without a key, the workflow id"

    empty = BeautifulSoup(RunPicture(run_row(), steps.iloc[0:0])._repr_html_(), "html.parser")
    assert "no steps recorded" in empty.text


def test_run_view_keeps_the_frames_and_draws_the_picture():
    steps = steps_frame()
    view = RunView("**fixture.demo**", pd.DataFrame([run_row()]), steps, pd.DataFrame(),
                   workflow_key="fixture.demo", step_types=STEP_TYPES)
    assert view.steps is steps and "harness-run-picture" in view.picture._repr_html_()
    assert repr(view.picture) == f"RunPicture(fixture.demo run {RUN_ID}: FAILED, 8 steps)"
    assert RunView("no run", pd.DataFrame(), pd.DataFrame(), pd.DataFrame()).picture is None
