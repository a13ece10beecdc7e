"""Finding the failing cell of an executed notebook, numbered as in the fixture's own test.ipynb.

The executed notebook holds cells the fixture does not: papermill's injected-parameters cell (right
after the ``parameters`` cell), papermill's markdown markers pointing at the failing cell, and the
runner's teardown cell (last). Reports name cells by their index in the fixture's notebook, so a
reader finds the cell where they wrote it.
"""
from __future__ import annotations

from dataclasses import dataclass

import nbformat

from .. import artifacts

INJECTED_TAG = "injected-parameters"  # papermill's tag on the parameters cell it inserts
ERROR_MARKER_TAG = "papermill-error-cell-tag"  # papermill's markdown cells pointing at the failing cell
TEARDOWN_TAG = "harness-teardown"
ADDED_TAGS = frozenset({INJECTED_TAG, ERROR_MARKER_TAG, TEARDOWN_TAG})


@dataclass(frozen=True)
class FailingCell:
    """The first cell that failed: its index in the fixture's notebook (``None`` for a cell the runner
    or papermill added), how reports name it, its source, its error (traceback without colours) and a
    one-line reason."""

    index: int | None
    label: str
    source: str
    error: str
    reason: str


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _added(cell: nbformat.NotebookNode) -> bool:
    return not ADDED_TAGS.isdisjoint(_tags(cell))


def fixture_index(nb: nbformat.NotebookNode, executed_index: int) -> int | None:
    """The index in the fixture's own notebook of the executed notebook's cell ``executed_index``
    (``None`` for a cell the runner or papermill added)."""
    if _added(nb.cells[executed_index]):
        return None
    return sum(1 for cell in nb.cells[:executed_index] if not _added(cell))


def _label(nb: nbformat.NotebookNode, executed_index: int, index: int | None) -> str:
    if index is not None:
        return f"index {index}"
    if TEARDOWN_TAG in _tags(nb.cells[executed_index]):
        return "the runner's teardown cell"
    return "papermill's injected-parameters cell"


def failing_cell(nb: nbformat.NotebookNode) -> FailingCell | None:
    """The first cell with an error output, else the first papermill marked as failed (e.g. the cell
    running when the kernel died); ``None`` when no cell failed."""
    for executed, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                reason = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
                traceback = artifacts.strip_ansi("\n".join(output.get("traceback", [])))
                index = fixture_index(nb, executed)
                return FailingCell(index, _label(nb, executed, index), cell.source, traceback or reason, reason)
    for executed, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("papermill", {}).get("exception"):
            index = fixture_index(nb, executed)
            return FailingCell(index, _label(nb, executed, index), cell.source, "", "")
    return None
