"""``harness lab``: JupyterLab at the project root, its kernels pointed at the target.

Kernels inherit the server's environment, so the target travels as environment variables
(``Target.kernel_env()``), exactly as under ``harness run``; notebooks never hold credentials.
The exploration notebooks the kit ships are copied into the root's ``notebooks/`` folder when
missing, so they open (and can be edited) like any other notebook of the project.

Saving never dirties what the project commits: Jupyter's own pre-save hook
(:func:`clean_before_save`, set on the command line, so no user config is needed or touched)
writes fixture and exploration notebooks in their committed form (:mod:`.hygiene`).
"""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

import nbformat

from ..config import Target, kernel_environment
from ..execution.discovery import FIXTURE_FILES
from ..project import project_root
from ..resources import notebooks_dir
from .hygiene import clean_notebook

NOTEBOOKS_FOLDER = "notebooks"
SAVE_HOOK = f"{__name__}.clean_before_save"  # an import string: the server imports it itself


@dataclass(frozen=True)
class LabLaunch:
    """The JupyterLab process to start: argv, environment and working folder."""

    argv: list[str]
    env: dict[str, str] = field(repr=False)
    cwd: Path


def lab_launch(target: Target, *, port: int | None = None, open_browser: bool = True,
               extra_args: Sequence[str] = (), root: Path | None = None,
               base_env: Mapping[str, str] | None = None) -> LabLaunch:
    """What ``harness lab`` runs: ``jupyter lab`` rooted at ``root`` (default: the project root, see
    :func:`harness.project.project_root`) with the target in its environment.

    ``extra_args`` go to JupyterLab unchanged (e.g. ``--allow-root`` in a root container).
    """
    root = root or project_root()
    argv = [sys.executable, "-m", "jupyterlab", f"--ContentsManager.pre_save_hook={SAVE_HOOK}",
            f"--ServerApp.root_dir={root}"]
    if port is not None:
        argv.append(f"--port={port}")
    if not open_browser:
        argv.append("--no-browser")
    argv += extra_args
    env = kernel_environment(target, {}, base=base_env)
    return LabLaunch(argv, env, root)


def is_committed_notebook(root: Path, path: str) -> bool:
    """True for the notebooks saved in their committed form: a ``test.ipynb`` beside a ``bundle.json``
    (a fixture, or a template) and the notebooks of the root's ``notebooks/`` folder.

    ``path`` is Jupyter's, relative to ``root``. Any other notebook (a scratch one) keeps its outputs;
    so do Jupyter's ``.ipynb_checkpoints/`` copies, which are never committed."""
    relative = PurePosixPath(path.strip("/"))
    if relative.suffix != ".ipynb" or ".ipynb_checkpoints" in relative.parts:
        return False
    if relative.parent == PurePosixPath(NOTEBOOKS_FOLDER):
        return True
    bundle_name, notebook_name = FIXTURE_FILES
    return relative.name == notebook_name and (root / relative.parent / bundle_name).is_file()


def clean_before_save(model: dict[str, Any], path: str, contents_manager: Any, **_: Any) -> None:
    """Jupyter's pre-save hook (``ContentsManager.pre_save_hook``): a committed notebook's model is put
    in its committed form before the server writes it; anything else is saved as sent."""
    if model.get("type") == "notebook" and is_committed_notebook(Path(contents_manager.root_dir), path):
        model["content"] = clean_notebook(nbformat.from_dict(model["content"]))


def copy_notebooks(root: Path) -> list[Path]:
    """Copy each shipped exploration notebook missing from ``root/notebooks/`` there; return the copies.

    Existing files are never overwritten (they may hold the user's edits)."""
    folder = root / NOTEBOOKS_FOLDER
    copies = []
    for source in sorted(notebooks_dir().glob("*.ipynb")):
        copy = folder / source.name
        if not copy.exists():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
            copies.append(copy)
    return copies


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
