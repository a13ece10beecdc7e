"""The exploration notebooks under notebooks/ run headless under papermill against the sandbox."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill

from harness.authoring.scaffold import new_fixture

from .conftest import REPO

NOTEBOOKS = REPO / "notebooks"


def execute(name: str, tmp_path: Path, **parameters: object) -> list[str]:
    """Run notebooks/<name> with papermill (cwd notebooks/); return each code cell's output text."""
    out = tmp_path / f"{name}.{len(list(tmp_path.glob(name + '.*')))}.out.ipynb"
    papermill.execute_notebook(str(NOTEBOOKS / name), str(out), parameters=parameters, cwd=str(NOTEBOOKS),
                               progress_bar=False, kernel_name="python3")
    texts = []
    for cell in nbformat.read(out, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"{name}: {output.get('ename')}: {output.get('evalue')}"
            parts.append(output.get("text", ""))
            parts += [v if isinstance(v, str) else json.dumps(v) for v in output.get("data", {}).values()]
        texts.append("\n".join(parts))
    return texts


def test_explore_runs(target_env, cli, tmp_path):
    folder = new_fixture("explore-me", template="control-flow", directory=tmp_path / "fixtures")
    for _ in range(2):
        assert cli("run", "--test", str(folder), env=target_env).returncode == 0
    shown = "\n".join(execute("explore-runs.ipynb", tmp_path, workflow_key="fixture.explore-me",
                              status="SUCCEEDED", limit=5))
    assert "2 run(s) with status SUCCEEDED" in shown
    assert "read-missing" in shown, "the failed (caught) try step is listed"
    assert "Step failed (caught)" in shown, "the ERROR log line is listed"

    none = "\n".join(execute("explore-runs.ipynb", tmp_path, workflow_key="fixture.explore-me", status="FAILED"))
    assert "0 run(s) with status FAILED" in none


def test_triage_failure(target_env, cli, tmp_path):
    artifacts = tmp_path / "artifacts"
    result = cli("run", "--test", str(REPO / "tests" / "data" / "failing-fixture"), "--artifacts-dir", str(artifacts),
                 env=target_env)
    assert result.returncode == 1, result.stdout + result.stderr
    shown = "\n".join(execute("triage-failure.ipynb", tmp_path, artifacts_folder=str(artifacts)))
    assert "failing-fixture" in shown and "fixture.failing-fixture" in shown
    assert "ExpectationFailed: deliberately wrong expectation" in shown
    assert 'expect.equal(run["status"], "FAILED", "deliberately wrong expectation")' in shown, "failing cell source"
    assert "say-hello" in shown, "steps from the context"
    assert "Run completed" in shown, "logs from the context"
    assert "root.steps[1]" in shown, "the exported workflow's steps"
    assert target_env["WORKFLOW_HARNESS_API_KEY"] not in shown


def test_bundle_inspector(tmp_path):
    shown = "\n".join(execute("bundle-inspector.ipynb", tmp_path))  # default: fixtures/ticket-created-hello
    assert "fixture.ticket-created-hello" in shown and "say-hello" in shown

    folder = new_fixture("inspect-me", template="api", directory=tmp_path / "fixtures")
    shown = "\n".join(execute("bundle-inspector.ipynb", tmp_path, bundle_path=str(folder / "bundle.json")))
    assert "tickets.find@1" in shown and "tickets.add_comment@1" in shown
    assert "saveAs vars.lookup" in shown
    assert "payload.TicketCreated.v1" in shown
