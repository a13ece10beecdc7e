"""``fx.show_run()``, ``fx.retrigger()`` and failure displays, in a real kernel and without IPython."""
from __future__ import annotations

import json
import uuid

import nbformat
import papermill
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import harness
from harness import fixture as fixture_module
from harness.authoring.scaffold import new_fixture

OPEN_AND_RUN = '''import uuid
from pathlib import Path

import pandas as pd

import harness
from harness import expect

fx = harness.open_fixture(fixture_dir)
key = str(uuid.uuid4())
fx.post_event({"ticketId": key}, correlation_key=key)
run = fx.wait_for_run()
view = fx.show_run()  # not the last line: it still displays, once
assert list(view.steps["definition_step_id"]) == ["mark-received", "remember-marker", "finish"], view.steps
first_run, first_trigger = run["run_id"], fx.trigger_started_at
print("after show_run")'''

RETRIGGER = '''fx.on_cleanup(lambda: Path(marker_file).write_text("cleaned"), "marker")
new_trigger = fx.retrigger()
assert Path(marker_file).read_text() == "cleaned", "retrigger runs the cleanup hooks first"
assert fx.run is None and new_trigger > first_trigger
assert fx.show_run().steps.empty, "the previous run is forgotten"
fx.post_event({"ticketId": key}, correlation_key=key)
second = fx.wait_for_run()
assert second["run_id"] != first_run'''

WIDE_FAILURE = '''wide = pd.DataFrame([{"n": i, "blob": {"text": "x" * 200, "i": i}} for i in range(50)])
try:
    expect.rows(wide, {"n": -1})
except expect.ExpectationFailed as exc:
    caught = exc
assert len(caught.frame) == 50 and isinstance(caught.frame.iloc[0]["blob"], dict), "the full frame is kept"'''


def _texts(cell) -> list[str]:
    out = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            out.append(output["text"])
        for value in output.get("data", {}).values():
            out.append(value if isinstance(value, str) else json.dumps(value))
    return out


def test_show_run_and_retrigger_in_a_real_kernel(target_env, tmp_path):
    folder = new_fixture("live-kernel", template="event", directory=tmp_path)
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [new_code_cell('fixture_dir = "."\nmarker_file = ""', metadata={"tags": ["parameters"]}),
                new_code_cell(OPEN_AND_RUN), new_code_cell("fx.show_run()"), new_code_cell(RETRIGGER),
                new_code_cell(WIDE_FAILURE)]
    source, executed = tmp_path / "live.ipynb", tmp_path / "live.out.ipynb"
    nbformat.write(nb, str(source))
    papermill.execute_notebook(str(source), str(executed), cwd=str(tmp_path), progress_bar=False, kernel_name="python3",
                               parameters={"fixture_dir": str(folder), "marker_file": str(tmp_path / "marker")})
    cells = nbformat.read(executed, as_version=4).cells[1:]  # after papermill's injected parameters

    def headers(cell) -> list[str]:
        """The run's heading: the picture's (which carries it), or the Markdown one when there is no run."""
        return [t for t in _texts(cell) if "**fixture.live-kernel**" in t or "<b>fixture.live-kernel</b>" in t]

    mid_cell, last_line, retriggered, failure = cells[1], cells[2], cells[3], cells[4]
    assert len(headers(mid_cell)) == 1 and 'class="harness-run-picture"' in headers(mid_cell)[0]
    assert ">SUCCEEDED<" in headers(mid_cell)[0] and "steps: 3 SUCCEEDED" in headers(mid_cell)[0]
    assert any("**steps** (3 rows)" in t for t in _texts(mid_cell))
    assert any("after show_run" in t for t in _texts(mid_cell))
    assert len(headers(last_line)) == 1, "a show_run() that ends the cell displays once, not twice"
    assert not any(t.startswith("RunView(") for t in _texts(last_line))
    assert any("no run since" in t for t in headers(retriggered))

    shown = "\n".join(_texts(failure))
    assert "**Expectation failed:** expected at least 1 row(s) where n == -1, found 0 of 50" in shown
    assert "**rows looked at** (50 rows, showing the first and last 10)" in shown
    assert "x" * 100 not in shown, "wide JSON cells are shortened for display"
    assert '{"text":"xxx' in shown and "…" in shown
    assert (tmp_path / "marker").read_text() == "cleaned"


def test_show_run_without_ipython_returns_the_frames(target_env, tmp_path):
    folder = new_fixture("live-plain", template="event", directory=tmp_path)
    fx = harness.open_fixture(folder)
    try:
        before = fx.show_run()
        assert before.run.empty and before.steps.empty and "no run since" in before.header
        key = str(uuid.uuid4())
        fx.post_event({"ticketId": key}, correlation_key=key)
        run = fx.wait_for_run()
        view = fx.show_run()
        assert view.run.iloc[0]["run_id"] == run["run_id"]
        assert list(view.steps["status"]) == ["SUCCEEDED"] * 3
        assert {"Run started", "Run completed"} <= set(view.logs["message"])
        assert "**SUCCEEDED**" in view.header and "TICKET_CREATED" in view.header
        assert fx.show_run(run_id=run["run_id"]).run.iloc[0]["status"] == "SUCCEEDED"
        with pytest.raises(harness.FixtureError, match="no run"):
            fx.show_run(run_id=str(uuid.uuid4()))
    finally:
        fixture_module.teardown()
