"""Saving through a real Jupyter server, configured as ``harness lab`` configures it, never dirties a fixture."""
from __future__ import annotations

import copy
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import httpx
import nbformat
import pytest

from harness.authoring.hygiene import clean_notebook, notebook_problems
from harness.authoring.lab import is_committed_notebook, lab_launch

from ..processes import stop_group
from .conftest import REPO, clean_env
from .test_lab import TARGET, free_port

FIXTURE = "fixtures/ticket-created-hello/test.ipynb"
EXPLORATION = "notebooks/explore-runs.ipynb"


def ran_in_lab(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` as JupyterLab sends it after running every cell with another kernel's name."""
    nb = copy.deepcopy(nb)
    nb.metadata.kernelspec = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata.language_info = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                                 "mimetype": "text/x-python", "name": "python", "version": "3.11.7"}
    for count, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = count + 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
                        nbformat.v4.new_output("execute_result", {"text/plain": "1"}, execution_count=count + 1)]
        cell.metadata.update(execution={"iopub.status.busy": "2026-12-02T10:00:00.000Z"}, scrolled=True,
                             collapsed=False, jupyter={"outputs_hidden": False},
                             papermill={"duration": 0.1, "status": "completed"})
    return nb


def test_clean_notebook_restores_the_committed_form_and_the_hygiene_check_agrees():
    committed = nbformat.read(REPO / FIXTURE, as_version=4)
    dirty = ran_in_lab(committed)
    problems = notebook_problems(dirty)
    assert "metadata.kernelspec is" in problems[0] and "metadata.language_info is" in problems[1]
    assert {"cell 1 has metadata.execution", "cell 1 has metadata.scrolled", "cell 1 has metadata.papermill",
            "cell 1 has outputs", "cell 1 has execution count 1"} <= set(problems)
    assert nbformat.writes(clean_notebook(dirty)) == nbformat.writes(committed)
    assert notebook_problems(dirty) == []
    assert dirty.cells[1].metadata.tags == ["parameters"], "tags are kept"
    assert dirty.metadata.harness == committed.metadata.harness, "other notebook metadata is kept"


@pytest.mark.parametrize("path, committed", [
    (FIXTURE, True), ("templates/event/test.ipynb", True), ("tests/data/failing-fixture/test.ipynb", True),
    (EXPLORATION, True), ("/notebooks/mine.ipynb", True),
    ("scratch.ipynb", False), ("fixtures/ticket-created-hello/scratch.ipynb", False),
    ("fixtures/test.ipynb", False), ("fixtures/ticket-created-hello/.ipynb_checkpoints/test-checkpoint.ipynb", False),
    ("notebooks/.ipynb_checkpoints/explore-runs-checkpoint.ipynb", False), ("notebooks/data.csv", False),
])
def test_which_notebooks_are_saved_in_their_committed_form(path, committed):
    assert is_committed_notebook(REPO, path) is committed


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project holding one fixture and one exploration notebook, as committed."""
    root = tmp_path / "project"
    shutil.copytree(REPO / Path(FIXTURE).parent, root / Path(FIXTURE).parent)
    (root / "notebooks").mkdir()
    shutil.copyfile(REPO / EXPLORATION, root / EXPLORATION)
    (root / "pyproject.toml").write_text("[project]\nname = 'fixtures'\n")
    return root


@pytest.fixture
def lab_server(project: Path, tmp_path: Path) -> Iterator[httpx.Client]:
    """JupyterLab started from ``lab_launch`` for ``project``; a client of its REST API."""
    port, token = free_port(), secrets.token_hex(16)
    jupyter_dirs = {f"JUPYTER_{kind}_DIR": str(tmp_path / kind.lower()) for kind in ("CONFIG", "DATA", "RUNTIME")}
    extra = [f"--IdentityProvider.token={token}", *(["--allow-root"] if os.geteuid() == 0 else [])]
    launch = lab_launch(TARGET, port=port, open_browser=False, extra_args=extra, root=project,
                        base_env=clean_env(jupyter_dirs))
    log = open(tmp_path / "lab.log", "w")  # a file: a pipe could fill up
    process = subprocess.Popen(launch.argv, env=launch.env, cwd=launch.cwd, stdout=log, stderr=log,
                               start_new_session=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"token {token}"})
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if client.get("/api/contents", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        else:
            pytest.fail(f"JupyterLab did not serve its contents API (exit {process.poll()}); see {tmp_path / 'lab.log'}")
        yield client
    finally:
        client.close()
        stop_group(process)
        log.close()


def save(client: httpx.Client, path: str, nb: nbformat.NotebookNode) -> None:
    response = client.put(f"/api/contents/{path}", json={"type": "notebook", "format": "json", "content": nb},
                          timeout=30)
    assert response.status_code in (200, 201), response.text


def test_saving_through_jupyter_writes_committed_notebooks_byte_for_byte(lab_server, project):
    for path in (FIXTURE, EXPLORATION):
        committed = (REPO / path).read_bytes()
        save(lab_server, path, ran_in_lab(nbformat.reads(committed.decode(), as_version=4)))
        assert (project / path).read_bytes() == committed, f"{path} differs from the committed file"

    scratch = ran_in_lab(nbformat.read(REPO / FIXTURE, as_version=4))
    save(lab_server, "scratch.ipynb", scratch)
    kept = nbformat.read(project / "scratch.ipynb", as_version=4)
    assert kept.cells[1].outputs and kept.cells[1].execution_count == 1, "a scratch notebook keeps its outputs"
