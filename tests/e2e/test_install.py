"""A regular install, used from an empty folder: the wheel carries the code, the templates and the
exploration notebooks, and its dependencies are declared (a fresh virtualenv gets nothing else).

Slow by nature: the wheel's dependencies come from the package index (pip's cache makes a repeat
quick). Every command runs with a minimal environment, so nothing leaks in from the development
install or this repository.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from ..processes import stop_group

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("harness", "templates", "notebooks", "pyproject.toml", "setup.py", "README.md")
INSTALL_TIMEOUT_S = 900
RUN_TIMEOUT_S = 300
LAB_START_S = 120


@dataclass(frozen=True)
class Installed:
    """A fresh virtualenv holding the kit installed from its wheel, and an empty folder to work in."""

    venv: Path
    work: Path
    base_env: dict[str, str]

    def harness(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.venv / "bin" / "harness"), *args], cwd=self.work, env={**self.base_env, **(env or {})},
                              capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def _build_wheel(root: Path) -> Path:
    """Build the wheel from a copy of the sources (the build writes build/ and egg-info next to them)."""
    source = root / "src"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(root / "dist"),
                    str(source)], check=True, capture_output=True, timeout=INSTALL_TIMEOUT_S)
    return next((root / "dist").glob("alga_workflow_harness-*.whl"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("install")
    wheel = _build_wheel(root)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=INSTALL_TIMEOUT_S)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                         capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    work = root / "work"
    work.mkdir()
    base_env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(root)),
                "LANG": "C.UTF-8", "JUPYTER_RUNTIME_DIR": str(root / "jupyter-runtime"),
                "JUPYTER_CONFIG_DIR": str(root / "jupyter-config")}
    return Installed(venv, work, base_env)


def test_the_installed_package_is_the_one_that_runs(installed):
    probe = subprocess.run([str(installed.venv / "bin" / "python"), "-c",
                            "import harness, harness.resources as r; print(harness.__file__); print(r.templates_dir())"],
                           cwd=installed.work, env=installed.base_env, capture_output=True, text=True, check=True)
    module, templates = probe.stdout.split()
    assert Path(module).is_relative_to(installed.venv) and Path(templates).is_relative_to(installed.venv)
    assert sorted(p.name for p in Path(templates).iterdir() if (p / "template.json").is_file()) == sorted(
        p.name for p in (REPO / "templates").iterdir() if (p / "template.json").is_file())


def test_new_then_run_then_run_all_from_an_empty_folder(installed, sandbox_env, sandbox_dir):
    assert not any(installed.work.iterdir()), "starts from an empty folder"
    created = installed.harness("new", "my-fixture")
    assert created.returncode == 0, created.stdout + created.stderr
    assert created.stdout.startswith("created fixtures/my-fixture (template event)")
    assert sorted(p.name for p in (installed.work / "fixtures" / "my-fixture").iterdir()) == ["bundle.json", "test.ipynb"]

    env = {**sandbox_env, "HARNESS_SANDBOX_DIR": str(sandbox_dir)}
    single = installed.harness("run", "--test", "fixtures/my-fixture", env=env)
    assert single.returncode == 0, single.stdout + single.stderr
    assert single.stdout.startswith("PASS my-fixture "), single.stdout

    batch = installed.harness("run-all", "fixtures/my-fixture", env=env)
    assert batch.returncode == 0, batch.stdout + batch.stderr
    assert any(line.startswith("PASS my-fixture ") for line in batch.stdout.splitlines()), batch.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def lab(installed: Installed, sandbox_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, int]]:
    """``harness lab --no-browser`` started in the work folder; terminated (SIGTERM) afterwards."""
    port = _free_port()
    extra = ["--", "--allow-root"] if os.geteuid() == 0 else []  # JupyterLab refuses root unless told
    log = open(installed.work.parent / "lab.log", "w")  # a file: a pipe could fill up
    process = subprocess.Popen([str(installed.venv / "bin" / "harness"), "lab", "--no-browser", "--port", str(port),
                                *extra], cwd=installed.work, env={**installed.base_env, **sandbox_env},
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process, port
    finally:
        stop_group(process, grace_s=60, whole_group=False)  # harness lab passes SIGTERM on to JupyterLab
        log.close()


def test_lab_serves_the_folder_with_the_exploration_notebooks(installed, lab):
    process, port = lab
    deadline, answer = time.monotonic() + LAB_START_S, None
    while time.monotonic() < deadline and process.poll() is None and answer is None:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/api", timeout=2)
            answer = response.json().get("version") if response.status_code == 200 else None
        except httpx.TransportError:
            time.sleep(0.25)
    log = (installed.work.parent / "lab.log").read_text()
    assert answer, f"JupyterLab did not answer (exit {process.poll()}):\n{log}"
    assert "harness lab: copied 3 exploration notebooks" in log
    shipped = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert sorted(p.name for p in (installed.work / "notebooks").iterdir()) == shipped
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) in (0, -signal.SIGTERM, 128 + signal.SIGTERM)
