"""Reading a failure back from its (scrubbed) artifacts folder, for reports."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from .cells import failing_cell
from .single import FixtureResult

NOTEBOOK = "failure.ipynb"
ERROR_TEXT = "failure.error.txt"


@dataclass(frozen=True)
class FailureDetails:
    """The failing cell (its index in the fixture's own notebook, ``None`` for a cell the runner added,
    and how to name it), its source, its error (traceback without colours) and the full error report."""

    cell_index: int | None = None
    cell_label: str = ""
    cell_source: str = ""
    cell_error: str = ""
    error_text: str = ""


def failure_details(result: FixtureResult) -> FailureDetails:
    """What the artifacts say about a failed fixture (empty when it left none, e.g. a malformed folder)."""
    if not result.artifacts_dir:
        return FailureDetails()
    folder = Path(result.artifacts_dir)
    error_path = folder / ERROR_TEXT
    error_text = error_path.read_text(encoding="utf-8") if error_path.is_file() else ""
    try:
        nb = nbformat.read(folder / NOTEBOOK, as_version=4)
    except (OSError, ValueError):
        return FailureDetails(error_text=error_text)
    cell = failing_cell(nb)
    if cell is None:
        return FailureDetails(error_text=error_text)
    return FailureDetails(cell.index, cell.label, cell.source, cell.error or result.reason, error_text)
