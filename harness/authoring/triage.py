"""Reading a failure folder written by ``harness run`` (for ``notebooks/triage-failure.ipynb``), and that
notebook executed on it as one HTML page to share (``harness triage``)."""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from ..artifacts import notebook_html
from ..config import DEFAULT_ARTIFACTS_DIR
from ..errors import FixtureError
from ..execution.cells import FailingCell, failing_cell
from ..project import project_root
from ..resources import notebooks_dir
from ..display.run_picture import RunPicture
from ..workflow import json_problem, workflow_step_types

CONTEXT_FILE = "failure.context.json"
TRIAGE_NOTEBOOK = "triage-failure.ipynb"
TRIAGE_OUTPUT = "triage.ipynb"
TRIAGE_PAGE = "triage.html"


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

    def picture(self) -> RunPicture | None:
        """The run drawn as ``fx.show_run()`` draws it (node types from the exported workflow); ``None``
        when no run was found."""
        run = self.context.get("run")
        if not run:
            return None
        key = self.context.get("workflowKey")
        return RunPicture(run, self.steps(), key, workflow_step_types(self.export.get("workflows") or [], key))

    def step_counts(self) -> pd.DataFrame:
        """Steps by status, from the context's step summary."""
        counts = (self.context.get("stepSummary") or {}).get("counts") or {}
        return pd.DataFrame([{"status": status, "steps": n} for status, n in counts.items()])


def default_artifacts_folder() -> Path:
    """Where runs leave their failures: ``$ARTIFACTS_DIR``, else ``artifacts``. A relative folder missing
    from the current one is taken from the project root, so a notebook running in ``notebooks/`` finds it."""
    folder = Path(os.environ.get("ARTIFACTS_DIR") or DEFAULT_ARTIFACTS_DIR)
    return folder.absolute() if folder.is_absolute() or folder.is_dir() else project_root() / folder


def failure_folder(path: str | Path | None = None) -> Path:
    """``path`` itself when it holds ``failure.context.json``, else the newest failure folder below it
    (default: :func:`default_artifacts_folder`)."""
    root = Path(path) if path is not None else default_artifacts_folder()
    if (root / CONTEXT_FILE).is_file():
        return root
    found = sorted(root.rglob(CONTEXT_FILE), key=lambda p: p.stat().st_mtime) if root.is_dir() else []
    if not found:
        raise FixtureError(f"{root}: no {CONTEXT_FILE} here or below (pass a harness run artifacts folder)")
    return found[-1].parent


def load_failure(path: str | Path | None = None) -> Failure:
    """Read the failure folder at (or newest below) ``path`` (default: :func:`default_artifacts_folder`)."""
    folder = failure_folder(path)
    error_file = folder / "failure.error.txt"
    notebook_file = folder / "failure.ipynb"
    export_file = folder / "failure.workflow-export.json"
    cell = failing_cell(nbformat.read(notebook_file, as_version=4)) if notebook_file.is_file() else None
    error_text = error_file.read_text(encoding="utf-8") if error_file.is_file() else ""
    export = _read_json(export_file) if export_file.is_file() else {}
    return Failure(folder, _read_json(folder / CONTEXT_FILE), error_text, cell, export)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}: {json_problem(exc)}") from None


def triage_page(path: str | Path | None = None) -> Path:
    """Execute the triage notebook on the failure at (or newest below) ``path`` into ``triage.ipynb`` in
    that failure folder, and render it to ``triage.html`` beside it, a page that needs no other file."""
    import papermill
    from jupyter_client.manager import KernelManager
    from papermill.exceptions import PapermillExecutionError

    folder = failure_folder(path)
    _read_json(folder / CONTEXT_FILE)  # a broken context is the user's one-line error, not a failed cell
    executed, page = folder / TRIAGE_OUTPUT, folder / TRIAGE_PAGE
    kernel = KernelManager(kernel_name="python3")
    kernel.start_kernel(stderr=subprocess.DEVNULL)  # the kernel's start-up warnings are no news to the user
    failed: PapermillExecutionError | None = None
    try:
        papermill.execute_notebook(str(notebooks_dir() / TRIAGE_NOTEBOOK), str(executed), km=kernel,
                                   parameters={"artifacts_folder": str(folder)}, progress_bar=False)
    except PapermillExecutionError as exc:
        failed = exc
    finally:
        kernel.shutdown_kernel(now=True)
    page.write_text(notebook_html(executed), encoding="utf-8")
    if failed is not None:
        raise FixtureError(f"the triage notebook stopped at a cell ({failed.ename}: {failed.evalue}); "
                           f"what it showed up to there is in {page}")
    return page
