"""Reading a failure folder written by ``harness run`` (for ``notebooks/triage-failure.ipynb``)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from ..errors import FixtureError
from ..execution.cells import FailingCell, failing_cell

CONTEXT_FILE = "failure.context.json"


@dataclass(frozen=True)
class Failure:
    """One failure folder: the context, the error text and the failing cell, as plain data."""

    folder: Path
    context: dict[str, Any]
    error_text: str
    failing_cell: FailingCell | None
    export: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One row: test, workflow, run id and status, failing cell, cleanup errors."""
        run = self.context.get("run") or {}
        return pd.DataFrame([{
            "testId": self.context.get("testId"), "workflowKey": self.context.get("workflowKey"),
            "runId": run.get("run_id"), "runStatus": run.get("status"),
            "triggerStartedAt": self.context.get("triggerStartedAt"),
            "failingCell": self.failing_cell.index if self.failing_cell else None,
            "error": self.failing_cell.reason if self.failing_cell else None,
            "cleanupErrors": len(self.context.get("cleanupErrors") or []),
        }])

    def run(self) -> pd.DataFrame:
        run = self.context.get("run")
        return pd.DataFrame([run] if run else [])

    def steps(self) -> pd.DataFrame:
        return pd.DataFrame(self.context.get("steps") or [])

    def logs(self) -> pd.DataFrame:
        return pd.DataFrame(self.context.get("logs") or [])

    def step_counts(self) -> pd.DataFrame:
        """Steps by status, from the context's step summary."""
        counts = (self.context.get("stepSummary") or {}).get("counts") or {}
        return pd.DataFrame([{"status": status, "steps": n} for status, n in counts.items()])


def failure_folder(path: str | Path) -> Path:
    """``path`` itself when it holds ``failure.context.json``, else the newest failure folder below it."""
    root = Path(path)
    if (root / CONTEXT_FILE).is_file():
        return root
    found = sorted(root.rglob(CONTEXT_FILE), key=lambda p: p.stat().st_mtime) if root.is_dir() else []
    if not found:
        raise FixtureError(f"{root}: no {CONTEXT_FILE} here or below (pass a harness run artifacts folder)")
    return found[-1].parent


def load_failure(path: str | Path) -> Failure:
    """Read the failure folder at (or newest below) ``path``."""
    folder = failure_folder(path)
    context = json.loads((folder / CONTEXT_FILE).read_text(encoding="utf-8"))
    error_file = folder / "failure.error.txt"
    notebook_file = folder / "failure.ipynb"
    export_file = folder / "failure.workflow-export.json"
    cell = failing_cell(nbformat.read(notebook_file, as_version=4)) if notebook_file.is_file() else None
    return Failure(folder, context, error_file.read_text(encoding="utf-8") if error_file.is_file() else "", cell,
                   json.loads(export_file.read_text(encoding="utf-8")) if export_file.is_file() else {})
