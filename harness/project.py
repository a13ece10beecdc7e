"""Where the project lives on disk, and the kit's own folder inside it (``.harness/``)."""
from __future__ import annotations

import os
from pathlib import Path

MARKERS = ("pyproject.toml", ".git")


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the current folder) holding a
    ``pyproject.toml`` or ``.git``; ``start`` itself when there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in MARKERS):
            return folder
    return here


def state_dir(env_var: str, name: str) -> Path:
    """``$<env_var>`` when set, else ``<project root>/.harness/<name>``."""
    given = os.environ.get(env_var)
    return Path(given).resolve() if given else project_root() / ".harness" / name
