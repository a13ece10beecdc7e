"""A failure, shared: ``harness run`` renders ``failure.html`` beside ``failure.ipynb`` (as run-all does),
``harness triage`` executes the triage notebook on the newest failure into one self-contained page, and the
triage notebook finds the artifacts from the project root as well as from ``notebooks/``."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from ..authoring.conftest import REPO, clean_env

from .test_events import one_error_line

FAILING = REPO / "tests" / "data" / "failing-fixture"
# every src/href of the page: only in-page anchors and embedded data may remain
LINKS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*)""")


@pytest.fixture(scope="module")
def failed_run(sandbox_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder where `harness run` of the failing fixture left its artifacts in ./artifacts."""
    project = tmp_path_factory.mktemp("project")
    (project / "pyproject.toml").write_text("")
    result = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--test", str(FAILING)],
                            env=clean_env(sandbox_env), cwd=project, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    return project


def failure_of(project: Path) -> Path:
    (folder,) = (project / "artifacts" / "workflow-harness" / "failing-fixture").iterdir()
    return folder


def assert_self_contained(page: str) -> None:
    assert [link for link in LINKS.findall(page) if not link.startswith(("#", "data:"))] == []
    assert "cdnjs" not in page


def test_harness_run_renders_the_failure_notebook(failed_run, sandbox_env):
    folder = failure_of(failed_run)
    page = (folder / "failure.html").read_text()
    assert "deliberately wrong expectation" in page, "the failing cell's error is on the page"
    assert_self_contained(page)
    assert sandbox_env["WORKFLOW_HARNESS_API_KEY"] not in page


def test_triage_writes_one_page_for_the_newest_failure(failed_run, cli, sandbox_env):
    result = cli("triage", cwd=failed_run)  # default: ./artifacts
    assert result.returncode == 0, result.stderr
    folder = failure_of(failed_run)
    assert result.stdout.strip() == str(folder / "triage.html")
    executed = nbformat.read(folder / "triage.ipynb", as_version=4)
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    page = (folder / "triage.html").read_text()
    assert "ExpectationFailed: deliberately wrong expectation" in page
    assert "say-hello" in page and "root.steps[1]" in page, "steps from the context and from the export"
    assert 'class="harness-run-picture"' in page and "transform.assign" in page, "the run drawn, with node types"
    assert_self_contained(page)
    assert sandbox_env["WORKFLOW_HARNESS_API_KEY"] not in page

    again = cli("triage", str(folder / "triage.html"), cwd=failed_run)  # a file is no failure folder
    assert "no failure.context.json here or below" in one_error_line(again)


def test_triage_without_a_failure(cli, tmp_path):
    line = one_error_line(cli("triage", cwd=tmp_path))
    assert line == (f"error: {tmp_path / 'artifacts'}: no failure.context.json here or below "
                    "(pass a harness run artifacts folder)")


@pytest.mark.parametrize("working_folder", [".", "notebooks"])
def test_the_notebook_default_works_from_the_root_and_from_notebooks(failed_run, tmp_path, monkeypatch,
                                                                      working_folder):
    monkeypatch.delenv("ARTIFACTS_DIR", raising=False)
    project = tmp_path / "project"
    shutil.copytree(failed_run, project)
    (project / "notebooks").mkdir()
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(REPO / "notebooks" / "triage-failure.ipynb"), str(out),
                               cwd=str(project / working_folder), progress_bar=False, kernel_name="python3")
    shown = nbformat.read(out, as_version=4).cells[2].outputs[0].text  # print(failure.folder)
    assert shown.strip() == str(failure_of(project))


def test_a_notebook_cell_that_fails_still_leaves_the_page(cli, tmp_path):
    failure = tmp_path / "failure"
    failure.mkdir()
    (failure / "failure.context.json").write_text('{"testId": "odd", "steps": [{"step": 1}]}')  # steps lack a status
    line = one_error_line(cli("triage", str(failure)))
    assert line == (f"error: the triage notebook stopped at a cell (KeyError: 'status'); what it showed up to "
                    f"there is in {failure / 'triage.html'}")
    assert "odd" in (failure / "triage.html").read_text(), "the summary the notebook showed before"
