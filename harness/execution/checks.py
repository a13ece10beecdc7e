"""Up-front checks of a fixture folder, so bad input fails fast with one clear line."""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..errors import FixtureError
from ..workflow import Bundle, json_problem, load_bundle


@dataclass(frozen=True)
class FixtureFolder:
    """A fixture folder whose bundle and notebook passed the checks."""

    path: Path
    bundle: Bundle
    notebook: nbformat.NotebookNode

    @property
    def test_id(self) -> str:
        return self.path.name


def has_parameters_cell(nb: nbformat.NotebookNode) -> bool:
    """True when a code cell carries papermill's ``parameters`` tag."""
    return any(c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells)


def load_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook, turning every parse problem into a :class:`FixtureError`."""
    if not path.is_file():
        raise FixtureError(f"{path}: test.ipynb not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. missing cell ids: papermill copes, the user needs no noise
            return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for bad files
        # nbformat's own JSON message quotes the file's start cut at 80 characters: say where it breaks instead
        cause = exc.__cause__
        reason = (json_problem(cause) if isinstance(cause, json.JSONDecodeError)
                  else (str(exc).strip().splitlines() or [type(exc).__name__])[0])
        raise FixtureError(f"{path}: not a readable notebook ({reason})") from None


def check_fixture(path: str | Path) -> FixtureFolder:
    """Validate ``fixtures/<name>/``: a folder with a well-formed bundle and a parameterized notebook."""
    folder = Path(path)
    if not folder.exists():
        raise FixtureError(f"{folder}: no such fixture folder")
    if not folder.is_dir():
        raise FixtureError(f"{folder}: a fixture must be a folder holding bundle.json and test.ipynb")
    folder = folder.resolve()
    nb = load_notebook(folder / "test.ipynb")
    bundle = load_bundle(folder / "bundle.json", expected_key=f"fixture.{folder.name}")
    if not has_parameters_cell(nb):
        raise FixtureError(f"{folder / 'test.ipynb'}: no cell tagged 'parameters' (papermill needs one)")
    return FixtureFolder(folder, bundle, nb)
