"""``harness list``: the fixtures in a folder with their trigger event and template pattern."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import FixtureError
from ..workflow import json_problem, load_bundle

CUSTOM = "custom"  # a notebook that does not record the template it came from


@dataclass(frozen=True)
class FixtureInfo:
    """One fixture folder as ``harness list`` shows it; ``problem`` is set when it cannot be read."""

    name: str
    path: str
    workflow_key: str | None
    event: str | None
    template: str | None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe_fixture(folder: Path) -> FixtureInfo:
    """What ``folder`` holds; a malformed bundle or notebook becomes ``problem``, not an exception."""
    key = event = template = None
    try:
        bundle = load_bundle(folder / "bundle.json")
        key, event = bundle.workflow_key, bundle.trigger_event
        template = notebook_template(folder / "test.ipynb")
    except FixtureError as exc:
        return FixtureInfo(folder.name, str(folder), key, event, template, str(exc))
    return FixtureInfo(folder.name, str(folder), key, event, template)


def notebook_template(path: Path) -> str:
    """The template pattern a notebook records (``custom`` when none). Only its JSON is read: a listing
    stays quick over hundreds of fixtures, and running a fixture checks its notebook in full."""
    if not path.is_file():
        raise FixtureError(f"{path}: test.ipynb not found")
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}: not a readable notebook ({json_problem(exc)})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{path}: not a readable notebook ({exc})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise FixtureError(f"{path}: not a readable notebook (no list of cells)")
    metadata = notebook.get("metadata")
    harness = metadata.get("harness") if isinstance(metadata, dict) else None
    return (harness.get("template") if isinstance(harness, dict) else None) or CUSTOM


def list_fixtures(directory: str | Path) -> list[FixtureInfo]:
    """Every fixture folder (one holding ``bundle.json`` or ``test.ipynb``) in ``directory``, by name."""
    root = Path(directory)
    if not root.is_dir():
        raise FixtureError(f"{root}: no such fixtures folder")
    folders = [p for p in sorted(root.iterdir())
               if p.is_dir() and ((p / "bundle.json").exists() or (p / "test.ipynb").exists())]
    return [describe_fixture(p) for p in folders]
