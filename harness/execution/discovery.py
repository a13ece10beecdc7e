"""Finding fixtures: folders that hold both ``bundle.json`` and ``test.ipynb``."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from ..errors import FixtureError

if TYPE_CHECKING:
    from .checks import FixtureFolder

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
            from .checks import check_fixture

            check_fixture(path)  # half a fixture: raises the precise problem
        children = {child.resolve() for child in path.iterdir() if is_fixture_folder(child)}
        if not children:
            raise FixtureError(f"{path}: no fixture folders in it (a fixture folder holds bundle.json and test.ipynb)")
        found |= children
    return sorted(found, key=lambda p: (p.name, str(p)))


def check_batch(folders: Iterable[Path]) -> list[FixtureFolder]:
    """Check every fixture of a batch before any runs: each must be well formed, and no workflow key
    may belong to two fixtures (importing one would overwrite the other). One error lists every problem."""
    from .checks import check_fixture  # nbformat and jsonschema load only when fixtures are checked

    checked: list[FixtureFolder] = []
    problems: list[str] = []
    owners: dict[str, Path] = {}
    for folder in folders:
        try:
            fixture = check_fixture(folder)
        except FixtureError as exc:
            problems.append(str(exc))
            continue
        checked.append(fixture)
        for workflow in fixture.bundle.data["workflows"]:
            key = workflow["key"]
            if key in owners:
                problems.append(f"workflow key {key!r} is in both {owners[key]} and {fixture.path}")
            else:
                owners[key] = fixture.path
    if problems:
        raise FixtureError(problems[0] if len(problems) == 1 else
                           f"{len(problems)} problems in this batch: " + " | ".join(problems))
    return checked
