"""Finding fixtures: folders that hold both ``bundle.json`` and ``test.ipynb``."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..errors import FixtureError
from .checks import check_fixture

FIXTURE_FILES = ("bundle.json", "test.ipynb")


def is_fixture_folder(path: Path) -> bool:
    """True for a folder holding both fixture files."""
    return path.is_dir() and all((path / name).is_file() for name in FIXTURE_FILES)


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """The fixture folders named by ``paths``, each a fixture folder or a folder of fixture folders.

    Returns resolved folders sorted by name (then path), without duplicates. A path that names no
    fixture raises :class:`FixtureError`; sub-folders missing one of the two files are not fixtures.
    """
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            raise FixtureError(f"{path}: no such folder" if not path.exists() else
                               f"{path}: not a folder (give a fixture folder or a folder of fixture folders)")
        if is_fixture_folder(path):
            found.add(path.resolve())
            continue
        if any((path / name).exists() for name in FIXTURE_FILES):
            check_fixture(path)  # half a fixture: raises the precise problem
        children = {child.resolve() for child in path.iterdir() if is_fixture_folder(child)}
        if not children:
            raise FixtureError(f"{path}: no fixture folders in it (a fixture folder holds bundle.json and test.ipynb)")
        found |= children
    return sorted(found, key=lambda p: (p.name, str(p)))
