"""Running one fixture notebook end to end and judging the outcome."""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from .. import artifacts
from ..config import Target
from ..errors import HarnessError
from ..fixture import CONTEXT_FILE_ENV, DEADLINE_ENV
from ..http import AlgaClient
from ..workflow import export_workflow
from .checks import FixtureFolder
from .engine import ENGINE_NAME, EngineOutcome

KernelProvider = Callable[[dict[str, str], Path], Any]
"""Given the kernel variables of one fixture run and its folder, returns a started kernel manager that is
set up with them and used for that run only (batches pass pre-started kernels this way)."""


@dataclass
class FixtureResult:
    """The verdict on one fixture execution."""

    test_id: str
    passed: bool
    duration_ms: int
    reason: str = ""
    run_id: str | None = None
    workflow_id: str | None = None
    artifacts_dir: str | None = None
    context: dict[str, Any] = field(default_factory=dict, repr=False)

    def summary_line(self) -> str:
        """``PASS <testId> <ms>`` or ``FAIL <testId> <ms> <reason>``."""
        if self.passed:
            return f"PASS {self.test_id} {self.duration_ms}"
        return f"FAIL {self.test_id} {self.duration_ms} {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        """The verdict as plain JSON-ready data (the fields of :meth:`json_line`)."""
        data = asdict(self)
        data.pop("context")
        data["status"] = "PASS" if self.passed else "FAIL"
        return {"testId": data["test_id"], "status": data["status"], "durationMs": data["duration_ms"],
                "reason": data["reason"] or None, "runId": data["run_id"],
                "workflowId": data["workflow_id"], "artifactsDir": data["artifacts_dir"]}

    def json_line(self) -> str:
        return json.dumps(self.as_dict())


def _first_error(nb: nbformat.NotebookNode) -> tuple[int | None, str, str]:
    """(cell index, one-line reason, full traceback text) of the first failing cell."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                reason = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
                tb = "\n".join(output.get("traceback", []))
                return index, reason, tb
    return None, "", ""


def run_fixture(fixture: FixtureFolder, target: Target, *, force: bool = True, skip_import: bool = False,
                debug: bool = False, kernel_name: str = "python3", kernel: KernelProvider | None = None) -> FixtureResult:
    """Execute the fixture's notebook with papermill and return the verdict (never raises on test failure).

    Without ``kernel`` a fresh kernel is started in the fixture folder.
    """
    started = time.monotonic()
    secrets = target.secrets()
    with tempfile.TemporaryDirectory(prefix="harness-") as tmp:
        out_path = Path(tmp) / "executed.ipynb"
        context_path = Path(tmp) / "context.json"
        deadline = time.monotonic() + target.timeout_ms / 1000
        run_env = {**target.kernel_env(), CONTEXT_FILE_ENV: str(context_path),
                   DEADLINE_ENV: str(time.time() + target.timeout_ms / 1000)}
        env = {**os.environ, **run_env, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        outcome = EngineOutcome()
        parameters = {"fixture_dir": str(fixture.path), "timeout_ms": target.timeout_ms, "force": force,
                      "skip_import": skip_import}
        engine_error = ""
        try:
            # papermill's cwd= changes the whole process's folder: only for a kernel started here
            placement = ({"cwd": str(fixture.path), "kernel_env": env} if kernel is None
                         else {"km": kernel(run_env, fixture.path)})
            papermill.execute_notebook(
                str(fixture.path / "test.ipynb"), str(out_path), parameters=parameters, engine_name=ENGINE_NAME,
                kernel_name=kernel_name, progress_bar=False, log_output=debug,
                deadline=deadline, outcome=outcome, start_timeout=60, **placement)
        except PapermillExecutionError:
            pass  # the failing cell is read back from the executed notebook below
        except Exception as exc:  # kernel start failures and the like: still a verdict, not a crash
            engine_error = f"{type(exc).__name__}: {exc}"
        nb = nbformat.read(out_path, as_version=4) if out_path.exists() else None
        context = json.loads(context_path.read_text()) if context_path.exists() else {}
    duration_ms = int((time.monotonic() - started) * 1000)

    cell_index, reason, tb = _first_error(nb) if nb is not None else (None, "", "")
    cleanup_errors = list(context.get("cleanupErrors") or [])
    if outcome.timed_out:
        reason = f"FixtureTimeout: the fixture did not finish within {target.timeout_ms} ms"
    if engine_error and not reason:
        reason = engine_error
    if outcome.teardown_error:
        cleanup_errors.append(outcome.teardown_error)
    if not reason and cleanup_errors:
        reason = cleanup_errors[0]
    run = context.get("run") or {}
    result = FixtureResult(fixture.test_id, passed=not reason, duration_ms=duration_ms,
                           reason=artifacts.one_line(artifacts.redact(reason, secrets)),
                           run_id=run.get("run_id"), workflow_id=context.get("workflowId"), context=context)
    if not result.passed:
        error_text = _error_report(fixture, result, cell_index, tb, cleanup_errors, engine_error)
        result.artifacts_dir = str(_write_artifacts(fixture, target, result, nb, error_text))
    return result


def _error_report(fixture: FixtureFolder, result: FixtureResult, cell_index: int | None, tb: str,
                  cleanup_errors: list[str], engine_error: str) -> str:
    lines = [f"FAIL {fixture.test_id}: {result.reason}", ""]
    if cell_index is not None:
        lines += [f"Failing cell: index {cell_index}", "", artifacts.strip_ansi(tb), ""]
    if engine_error:
        lines += ["Runner error:", engine_error, ""]
    if cleanup_errors:
        lines += ["Cleanup errors:", *cleanup_errors, ""]
    return "\n".join(lines)


def _write_artifacts(fixture: FixtureFolder, target: Target, result: FixtureResult,
                     nb: nbformat.NotebookNode | None, error_text: str) -> Path:
    folder = artifacts.failure_dir(target.artifacts_dir, fixture.test_id, result.run_id)
    export: dict[str, Any]
    if result.workflow_id:
        try:
            with AlgaClient(target) as client:
                export = export_workflow(client, result.workflow_id)
        except HarnessError as exc:
            export = {"error": f"export failed: {exc}"}
    else:
        export = {"error": "no workflow id: the bundle was not imported"}
    notebook_text = nbformat.writes(nb) if nb is not None else None
    artifacts.write_failure_artifacts(folder, notebook_text=notebook_text, context=result.context,
                                      error_text=error_text, export=export, secrets=target.secrets())
    return folder
