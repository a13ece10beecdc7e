"""Helpers for the authoring tests: the CLI as a subprocess, with a chosen target environment."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parents[2]
TARGET_VARS = ("BASE_URL", "TENANT_ID", "DATABASE_URL", "PG_CONNECTION_STRING", "WORKFLOW_HARNESS_API_KEY",
               "ALGA_API_KEY", "HARNESS_SANDBOX", "COOKIE_FILE", "HARNESS_COOKIE", "TIMEOUT_MS", "ARTIFACTS_DIR")

Cli = Callable[..., subprocess.CompletedProcess]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any target settings, plus ``extra``."""
    base = {k: v for k, v in os.environ.items() if k not in TARGET_VARS}
    return {**base, **(extra or {})}


@pytest.fixture
def target_env(sandbox_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point this process, and the kernels it starts, at the session sandbox."""
    for name in TARGET_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in sandbox_env.items():
        monkeypatch.setenv(name, value)
    return sandbox_env


@pytest.fixture
def cli() -> Cli:
    """Run ``harness <args>`` in a subprocess; ``env`` adds target variables (none by default)."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO,
            timeout: int = 180) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "harness.cli", *args], env=clean_env(env), cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)

    return run


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def harness_main(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``harness <args>`` in this process (same entry point, no interpreter start-up)."""

    def run(*args: str, cwd: Path = REPO) -> Result:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run
