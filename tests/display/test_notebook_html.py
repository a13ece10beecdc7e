"""In a real kernel, and in nbconvert's HTML of the executed notebook (a failure notebook's report)."""
from __future__ import annotations

from bs4 import BeautifulSoup
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_notebook

from harness.authoring.scaffold import new_fixture

from .steps_data import ERROR, RUN_ID

SHOW_RUN = '''import pandas as pd

import harness.display
from harness.display.run_view import RunView
from tests.display.steps_data import STEP_TYPES, run_row, steps_frame

harness.display.install_readable_frames()
harness.display.install_readable_frames()  # twice: still one formatter
view = RunView("**fixture.demo** run", pd.DataFrame([run_row()]), steps_frame(), pd.DataFrame(),
               workflow_key="fixture.demo", step_types=STEP_TYPES)
view'''

TREE = '''from harness.authoring.bundles import step_tree
from harness.workflow import load_bundle

step_tree(load_bundle(bundle_path))'''


def test_pictures_and_short_ids_survive_in_the_html(tmp_path):
    folder = new_fixture("drawn", template="control-flow", directory=tmp_path)
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [new_code_cell(SHOW_RUN), new_code_cell(f"bundle_path = {str(folder / 'bundle.json')!r}\n{TREE}")]
    repo = __file__.rsplit("/tests/", 1)[0]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": repo}}).execute()

    run_cell = nb.cells[0]
    assert not [o for o in run_cell.outputs if o.output_type == "error"], run_cell.outputs
    pictures = [o for o in run_cell.outputs if "harness-run-picture" in o.get("data", {}).get("text/html", "")]
    assert len(pictures) == 1, "the picture is displayed once, between the header and the frames"

    body, _ = HTMLExporter().from_notebook_node(nb)
    soup = BeautifulSoup(body, "html.parser")
    picture = soup.select_one(".harness-run-picture")
    assert picture is not None
    failed = picture.select_one('tr[data-status="FAILED"]')
    assert failed.select("td")[-1].text == ERROR
    assert len(picture.select('tr[data-status="SUCCEEDED"]')) == 5

    frames = soup.select("table.dataframe")
    assert len(frames) == 3, "the run, steps and logs frames follow the picture"
    short = [s for s in soup.select("table.dataframe span[title]") if s["title"] == RUN_ID]
    assert short and all(s.text == RUN_ID[:8] + "…" for s in short)
    assert RUN_ID not in "".join(t.text for t in soup.select("table.dataframe")), "the full id is only on hover"

    tree = soup.select_one(".harness-step-tree")
    assert tree is not None
    assert [b["data-branch"] for b in tree.select(".harness-branch")] == ["then", "else", "body", "try", "catch"]
