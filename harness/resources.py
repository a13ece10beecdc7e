"""The data the kit ships: fixture templates and exploration notebooks.

In the repository they are the top-level ``templates/`` and ``notebooks/`` folders; an install maps
them to the ``harness.templates`` and ``harness.notebooks`` packages (``package-dir`` in
pyproject.toml), so they are found the same way in an editable and in a regular install.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _folder(package: str) -> Path:
    return Path(str(files(package)))  # installed as plain files (never zipped): a real folder


def templates_dir() -> Path:
    """The folder holding one ``<pattern>/`` folder per fixture template."""
    return _folder("harness.templates")


def notebooks_dir() -> Path:
    """The folder holding the exploration notebooks (``*.ipynb``)."""
    return _folder("harness.notebooks")
