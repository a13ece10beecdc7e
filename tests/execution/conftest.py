"""Helpers for the batch-runner tests: the CLI and pytest as subprocesses against the session sandbox."""
from __future__ import annotations

import os
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
HELLO = REPO / "fixtures" / "ticket-created-hello"
TARGET_VARS = ("BASE_URL", "TENANT_ID", "DATABASE_URL", "WORKFLOW_HARNESS_API_KEY", "ALGA_API_KEY", "HARNESS_SANDBOX",
               "HARNESS_SANDBOX_DIR", "TIMEOUT_MS", "ARTIFACTS_DIR", "COOKIE", "HARNESS_COOKIE", "COOKIE_FILE")

Run = Callable[..., subprocess.CompletedProcess]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any target settings, plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if k not in TARGET_VARS}, **(extra or {})}


@pytest.fixture(scope="session")
def batch_env(sandbox_env: dict[str, str], sandbox_dir: Path) -> dict[str, str]:
    """The sandbox's first tenant, and its data folder so a batch can find the other tenants (lanes)."""
    return {**sandbox_env, "HARNESS_SANDBOX_DIR": str(sandbox_dir)}


@pytest.fixture
def run_all(tmp_path: Path) -> Run:
    """``harness run-all ARGS`` in a subprocess (cwd: a fresh folder), returning the completed process."""

    def run(args: list[str], env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "harness.cli", "run-all", *args], env=clean_env(env),
                              cwd=tmp_path, capture_output=True, text=True, timeout=timeout)

    return run


def copy_fixture(source: Path, folder: Path) -> Path:
    """A copy of the fixture ``source`` at ``folder`` (its name becomes the test id)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    bundle = json.loads((folder / "bundle.json").read_text())
    bundle["workflows"][0]["key"] = f"fixture.{folder.name}"  # a fixture's key follows its folder
    (folder / "bundle.json").write_text(json.dumps(bundle, indent=2))
    return folder
