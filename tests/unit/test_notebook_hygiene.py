"""Committed notebooks carry no outputs and no execution counts, so their diffs show only sources."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from harness.authoring.hygiene import clean_notebook, find_notebooks, notebook_problems

REPO = Path(__file__).resolve().parents[2]
ROOTS = [REPO / "fixtures", REPO / "templates", REPO / "notebooks", REPO / "tests" / "data"]
NOTEBOOKS = find_notebooks(ROOTS)


def test_the_roots_hold_notebooks():
    for root in ROOTS:
        assert any(root in path.parents for path in NOTEBOOKS), f"no notebook under {root}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_is_output_free(path):
    nb = nbformat.read(path, as_version=4)
    assert notebook_problems(nb) == [], f"{path.relative_to(REPO)}: clear outputs before committing"


def test_problems_are_found_and_cleaned():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title"), nbformat.v4.new_code_cell("1 + 1")]
    nb.cells[1].execution_count = 3
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)]
    assert notebook_problems(nb) == ["cell 1 has outputs", "cell 1 has execution count 3"]
    assert notebook_problems(clean_notebook(nb)) == []
    assert nb.cells[1].source == "1 + 1"


def test_checkpoint_copies_are_ignored(tmp_path):
    (tmp_path / ".ipynb_checkpoints").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), str(tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb"))
    nbformat.write(nbformat.v4.new_notebook(), str(tmp_path / "a.ipynb"))
    assert find_notebooks([tmp_path]) == [tmp_path / "a.ipynb"]
