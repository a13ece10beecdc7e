"""Running one fixture notebook end to end and judging the outcome."""
from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import nbformat
import papermill
from nbclient.exceptions import DeadKernelError
from papermill.exceptions import PapermillExecutionError

from .. import artifacts
from ..cleanup import JOURNAL_ENV, Journal
from ..config import Target, kernel_environment
from ..errors import HarnessError
from ..fixture import CONTEXT_FILE_ENV, DEADLINE_ENV
from ..http import AlgaClient
from ..redaction import redact_text
from ..workflow import export_workflow
from . import recovery
from .cells import FailingCell, failing_cell
from .checks import FixtureFolder
from .papermill_engine import ENGINE_NAME, EngineOutcome
from .interrupts import StopRequest

KernelProvider = Callable[[dict[str, str], Path], Any]
"""Given the kernel variables of one fixture run and its folder, returns a started kernel manager that is
set up with them and used for that run only (batches pass pre-started kernels this way)."""
EXPORT_TIMEOUT_S = 10.0


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


def run_fixture(fixture: FixtureFolder, target: Target, *, force: bool = True, skip_import: bool = False,
                debug: bool = False, kernel_name: str = "python3", kernel: KernelProvider | None = None,
                stop: StopRequest | None = None) -> FixtureResult:
    """Execute the fixture's notebook with papermill and return the verdict (never raises on test failure).

    Without ``kernel`` a fresh kernel is started in the fixture folder. However the notebook ends (pass,
    fail, timeout, dead or killed kernel, ``stop`` requested), the cleanup the kernel journaled and did
    not finish is replayed from here before the verdict. A ``KeyboardInterrupt`` (a forced stop, pytest's
    Ctrl-C) propagates once the journal is replayed, or at once, journal kept, when ``stop.forced``.
    """
    started = time.monotonic()
    journal = recovery.open_journal(fixture.test_id, target)
    try:
        nb, context, outcome, engine_error = _execute(fixture, target, journal, force=force, skip_import=skip_import,
                                                      debug=debug, kernel_name=kernel_name, kernel=kernel, stop=stop)
        # after a forced stop (a second Ctrl-C) nothing more is replayed: the journal is for `harness cleanup`
        replay_errors = [] if stop is not None and stop.forced else recovery.replay_pending(journal, target)
    except BaseException:
        if stop is None or not stop.forced:
            try:
                recovery.replay_pending(journal, target)
            except Exception:  # what failed stays pending in the journal, for `harness cleanup`
                pass
        raise
    finally:
        journal.close()
    context = recovery.complete_context(context, target)
    duration_ms = int((time.monotonic() - started) * 1000)
    return _judge(fixture, target, nb, context, outcome, engine_error, replay_errors, stop, duration_ms)


def _execute(fixture: FixtureFolder, target: Target, journal: Journal, *, force: bool, skip_import: bool,
             debug: bool, kernel_name: str, kernel: KernelProvider | None, stop: StopRequest | None
             ) -> tuple[nbformat.NotebookNode | None, dict[str, Any], EngineOutcome, str]:
    """Run the notebook; return the executed notebook, the context the kernel wrote, the engine's
    outcome and the error that ended execution early (if any)."""
    with tempfile.TemporaryDirectory(prefix="harness-") as tmp:
        context_path = Path(tmp) / "context.json"
        deadline = time.monotonic() + target.timeout_ms / 1000
        run_env = {**target.kernel_env(), CONTEXT_FILE_ENV: str(context_path), JOURNAL_ENV: str(journal.path),
                   DEADLINE_ENV: str(time.time() + target.timeout_ms / 1000)}
        env = kernel_environment(target, {**run_env, "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
        parameters = {"fixture_dir": str(fixture.path),
                      "options": {"timeout_ms": target.timeout_ms, "force": force, "skip_import": skip_import}}
        km = _handed_over(kernel, run_env, fixture.path)
        while True:
            outcome, engine_error = EngineOutcome(), ""
            try:
                # papermill's cwd= changes the whole process's folder: only for a kernel started here
                placement = {"cwd": str(fixture.path), "kernel_env": env} if km is None else {"km": km}
                # No output file: the executed notebook stays in memory (outcome.notebook), and papermill does
                # not rewrite it, outputs and all, as each cell starts and ends.
                papermill.execute_notebook(
                    str(fixture.path / "test.ipynb"), None, parameters=parameters, engine_name=ENGINE_NAME,
                    request_save_on_cell_execute=False, kernel_name=kernel_name, progress_bar=False,
                    log_output=debug, deadline=deadline, outcome=outcome, stop=stop, start_timeout=60, **placement)
            except PapermillExecutionError:
                pass  # the failing cell is read from the executed notebook below
            except DeadKernelError as exc:
                if km is not None and not outcome.kernel_died and not _any_cell_ran(outcome):
                    km = None  # the warm kernel died before the notebook's first cell: once more, on a fresh one
                    continue
                if not outcome.kernel_died:  # else the engine's own way to end: the outcome says it all
                    engine_error = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # kernel start failures and the like: still a verdict, not a crash
                engine_error = f"{type(exc).__name__}: {exc}"
            break
        nb = outcome.notebook
        context = json.loads(context_path.read_text()) if context_path.exists() else {}
    return nb, context, outcome, engine_error


def _handed_over(kernel: KernelProvider | None, env: dict[str, str], cwd: Path) -> Any:
    """The pre-started kernel, prepared for this fixture; ``None`` (start a fresh one) without one, or when
    it died while it waited: no fixture code has run in it, so nothing is lost by starting over."""
    if kernel is None:
        return None
    try:
        return kernel(env, cwd)
    except Exception:
        return None


def _any_cell_ran(outcome: EngineOutcome) -> bool:
    cells = outcome.notebook.cells if outcome.notebook is not None else []
    return any(cell.get("execution_count") for cell in cells if cell.cell_type == "code")


def _judge(fixture: FixtureFolder, target: Target, nb: nbformat.NotebookNode | None, context: dict[str, Any],
           outcome: EngineOutcome, engine_error: str, replay_errors: list[str], stop: StopRequest | None,
           duration_ms: int) -> FixtureResult:
    failing = failing_cell(nb) if nb is not None else None
    reason = failing.reason if failing is not None else ""
    if outcome.timed_out:
        reason = f"FixtureTimeout: the fixture did not finish within {target.timeout_ms} ms"
    if outcome.stopped:
        reason = f"Interrupted: {stop.describe() if stop else 'a stop request'} stopped the fixture"
    if outcome.kernel_killed:
        reason += "; its cell ignored the interrupt, so the kernel was killed"
    if not reason:
        reason = engine_error or outcome.execution_error or ""
    cleanup_errors = list(context.get("cleanupErrors") or [])
    if outcome.teardown_error:
        cleanup_errors.append(outcome.teardown_error)
    cleanup_errors += replay_errors
    if not reason and cleanup_errors:
        reason = cleanup_errors[0]
    secrets = target.secrets()
    context = {**context, "cleanupErrors": cleanup_errors}
    run = context.get("run") or {}
    result = FixtureResult(fixture.test_id, passed=not reason, duration_ms=duration_ms,
                           reason=artifacts.one_line(redact_text(reason, secrets)),
                           run_id=run.get("run_id"), workflow_id=context.get("workflowId"), context=context)
    if not result.passed:
        error_text = _error_report(fixture, result, failing, cleanup_errors, engine_error or outcome.execution_error)
        result.artifacts_dir = str(_write_artifacts(fixture, target, result, nb, error_text))
    return result


def _error_report(fixture: FixtureFolder, result: FixtureResult, failing: FailingCell | None,
                  cleanup_errors: list[str], engine_error: str | None) -> str:
    lines = [f"FAIL {fixture.test_id}: {result.reason}", ""]
    if failing is not None:
        lines += [f"Failing cell: {failing.label}", "", failing.error, ""]
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
            with AlgaClient(target, timeout_s=EXPORT_TIMEOUT_S) as client:
                export = export_workflow(client, result.workflow_id)
        except HarnessError as exc:
            export = {"error": f"export failed: {exc}"}
    else:
        export = {"error": "no workflow id: the fixture never reported an imported bundle"}
    notebook_text = nbformat.writes(nb) if nb is not None else None
    artifacts.write_failure_artifacts(folder, notebook_text=notebook_text, context=result.context,
                                      error_text=error_text, export=export, secrets=target.secrets())
    return folder
