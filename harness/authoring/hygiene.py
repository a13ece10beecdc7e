"""Notebook hygiene: the form a notebook is committed in, so its diffs show only sources.

Committed: code cells without outputs or execution counts; cell metadata without what running or
viewing a notebook leaves behind (timings, scroll and collapse state, papermill's bookkeeping), tags
and anything else kept; ``kernelspec`` and ``language_info``, where present, in the one form the
repository commits, so a save from a differently named kernel changes nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import nbformat

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
CANONICAL_METADATA = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
# JupyterLab's `execution` timings and `jupyter` view state (outputs/source hidden), the classic
# `ExecuteTime`, `collapsed` and `scrolled`, and what papermill records per cell.
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "jupyter", "collapsed", "scrolled", "papermill")


def notebook_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What keeps ``nb`` from being committed as is (empty exactly when :func:`clean_notebook` changes nothing)."""
    problems = []
    for key, canonical in CANONICAL_METADATA.items():
        if key in nb.metadata and nb.metadata[key] != canonical:
            problems.append(f"metadata.{key} is {dict(nb.metadata[key])}, not {canonical}")
    for index, cell in enumerate(nb.cells):
        problems += [f"cell {index} has metadata.{key}" for key in VOLATILE_CELL_METADATA if key in cell.metadata]
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {index} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {index} has execution count {cell['execution_count']}")
    return problems


def clean_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` in its committed form (in place; returned): see the module docstring."""
    for key, canonical in CANONICAL_METADATA.items():
        if key in nb.metadata:
            nb.metadata[key] = type(nb.metadata)(canonical)  # a NotebookNode stays one
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def find_notebooks(roots: Iterable[Path]) -> list[Path]:
    """Every ``.ipynb`` under ``roots``, skipping Jupyter's checkpoint copies."""
    found = []
    for root in roots:
        if root.is_dir():
            found += [p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
    return sorted(found)
