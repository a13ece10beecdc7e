"""Reading a failure back from its (scrubbed) artifacts folder, for reports."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from .. import artifacts
from .single import FixtureResult

NOTEBOOK = "failure.ipynb"
ERROR_TEXT = "failure.error.txt"


@dataclass(frozen=True)
class FailureDetails:
    """The failing cell's index and source, its error (traceback without colours) and the full error report."""

    cell_index: int | None = None
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
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                traceback = artifacts.strip_ansi("\n".join(output.get("traceback", [])))
                return FailureDetails(index, cell.source, traceback or f"{output.get('ename')}: {output.get('evalue')}",
                                      error_text)
    for index, cell in enumerate(nb.cells):  # no error output: e.g. the cell during which the kernel died
        if cell.get("metadata", {}).get("papermill", {}).get("exception"):
            return FailureDetails(index, cell.source, result.reason, error_text)
    return FailureDetails(error_text=error_text)
