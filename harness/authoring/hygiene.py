"""Notebook hygiene: committed notebooks carry no outputs and no execution counts."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import nbformat


def notebook_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What keeps ``nb`` from being committed as is: cells with outputs or execution counts."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {index} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {index} has execution count {cell['execution_count']}")
    return problems


def clean_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` with every code cell's outputs and execution count removed (in place; returned)."""
    for cell in nb.cells:
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
