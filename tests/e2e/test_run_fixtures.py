"""``harness run`` end to end: real sandbox, real kernels, real papermill."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
CATALOG = ["ticket-created-hello", "runtime-paused-no-run", "schema-invalid-event-payload",
           "schema-unknown-schema-ref"]


def harness(args: list[str], env: dict[str, str], cwd: Path = REPO, timeout: int = 180) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("BASE_URL", "TENANT_ID", "DATABASE_URL",
                                                             "WORKFLOW_HARNESS_API_KEY", "ALGA_API_KEY")}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], env={**base, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("name", CATALOG)
def test_catalog_fixture_passes(name, sandbox_env, tmp_path):
    result = harness(["run", "--test", f"fixtures/{name}", "--json", "--artifacts-dir", str(tmp_path)], sandbox_env)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines[0].startswith(f"PASS {name} ") and lines[0].split()[2].isdigit()
    payload = json.loads(lines[1])
    assert payload["status"] == "PASS" and payload["testId"] == name
    assert not list(tmp_path.iterdir()), "a passing fixture must not leave artifacts"


def test_failing_fixture_leaves_scrubbed_artifacts(sandbox_env, tmp_path):
    marker = tmp_path / "cleanup-ran"
    artifacts_root = tmp_path / "artifacts"
    nb_params_env = {**sandbox_env}
    result = harness(["run", "--test", str(DATA / "failing-fixture"), "--artifacts-dir", str(artifacts_root)],
                     {**nb_params_env, "HARNESS_TEST_MARKER": str(marker)})
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("FAIL failing-fixture ")
    assert "deliberately wrong expectation: expected 'FAILED', got 'SUCCEEDED'" in lines[0]

    folders = list((artifacts_root / "workflow-harness" / "failing-fixture").iterdir())
    assert len(folders) == 1
    folder = folders[0]
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["failure.context.json", "failure.error.txt", "failure.html", "failure.ipynb",
                     "failure.workflow-export.json"]

    context = json.loads((folder / "failure.context.json").read_text())
    assert context["run"]["status"] == "SUCCEEDED"
    assert folder.name.endswith(context["run"]["run_id"])
    assert [s["definition_step_id"] for s in context["steps"]] == ["mark-ready", "say-hello", "finish"]
    assert context["logs"], "logs belong in the context"

    notebook = json.loads((folder / "failure.ipynb").read_text())
    errors = [o for c in notebook["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and "deliberately wrong expectation" in errors[0]["evalue"]
    sources = ["".join(c["source"]) for c in notebook["cells"]]
    assert any("_harness_fixture.teardown()" in s for s in sources), "the teardown cell is kept for readers"

    export = json.loads((folder / "failure.workflow-export.json").read_text())
    assert export["workflows"][0]["key"] == "fixture.failing-fixture"
    assert "deliberately wrong expectation" in (folder / "failure.error.txt").read_text()

    secret = sandbox_env["WORKFLOW_HARNESS_API_KEY"]
    for path in folder.iterdir():
        assert secret not in path.read_text(), f"{path.name} leaks the API key"
    assert marker.read_text() == "cleaned", "cleanup hooks must run after a failing cell"


def test_hanging_fixture_is_interrupted_and_still_cleaned_up(sandbox_env, tmp_path):
    marker = tmp_path / "cleanup-ran"
    result = harness(["run", "--test", str(DATA / "hanging-fixture"), "--timeout-ms", "6000",
                      "--artifacts-dir", str(tmp_path / "a")], {**sandbox_env, "HARNESS_TEST_MARKER": str(marker)})
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("FAIL hanging-fixture ")
    assert "FixtureTimeout" in result.stdout
    assert marker.read_text() == "cleaned"
    assert list((tmp_path / "a" / "workflow-harness" / "hanging-fixture").iterdir())
