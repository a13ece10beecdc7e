"""``harness lab``: JupyterLab in the repository, its kernels pointed at the target.

Kernels inherit the server's environment, so the target travels as environment variables
(``Target.kernel_env()``), exactly as under ``harness run``; notebooks never hold credentials.
"""
from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..config import Target, kernel_environment

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LabLaunch:
    """The JupyterLab process to start: argv, environment and working folder."""

    argv: list[str]
    env: dict[str, str] = field(repr=False)
    cwd: Path


def lab_launch(target: Target, *, port: int | None = None, open_browser: bool = True,
               extra_args: Sequence[str] = (), root: Path = REPO_ROOT,
               base_env: Mapping[str, str] | None = None) -> LabLaunch:
    """What ``harness lab`` runs: ``jupyter lab`` rooted at ``root`` with the target in its environment.

    ``extra_args`` go to JupyterLab unchanged (e.g. ``--allow-root`` in a root container).
    """
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}"]
    if port is not None:
        argv.append(f"--port={port}")
    if not open_browser:
        argv.append("--no-browser")
    argv += extra_args
    env = kernel_environment(target, {}, base=base_env)
    return LabLaunch(argv, env, root)


def run_lab(launch: LabLaunch) -> int:
    """Run JupyterLab in the foreground until it exits; return its exit code.

    Ctrl-C reaches JupyterLab too (same process group) and it runs its own shutdown, so we keep
    waiting; a SIGTERM sent to us is passed on, so JupyterLab never outlives ``harness lab``.
    """
    process = subprocess.Popen(launch.argv, env=launch.env, cwd=launch.cwd)
    previous = signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)
