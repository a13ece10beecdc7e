"""Fixture templates: ``templates/<pattern>/`` (shipped as package data, see :mod:`harness.resources`)
holds ``bundle.json``, ``test.ipynb`` and ``template.json``.

Placeholders such as ``{{name}}`` appear only inside JSON strings (bundle) and cell sources
(notebook), so rendering edits parsed documents, never raw JSON text. A placeholder alone on a
line that renders empty drops the line; a multi-line value continues at the line's indentation.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import FixtureError
from ..resources import templates_dir
from .hygiene import clean_notebook

if TYPE_CHECKING:  # nbformat is imported on use: `harness --help` lists templates and should stay quick
    import nbformat

TEMPLATES_DIR = templates_dir()
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")


@dataclass(frozen=True)
class Template:
    """One fixture pattern: its folder and its manifest."""

    pattern: str
    path: Path
    description: str
    default_event: str
    events: tuple[str, ...] | None  # the only events it supports, or None for any

    def bundle_text(self) -> str:
        return (self.path / "bundle.json").read_text(encoding="utf-8")

    def notebook(self) -> nbformat.NotebookNode:
        import nbformat

        return nbformat.read(self.path / "test.ipynb", as_version=4)


def available(root: Path = TEMPLATES_DIR) -> list[str]:
    """The template patterns under ``root``, sorted."""
    return sorted(p.name for p in root.iterdir() if (p / "template.json").is_file()) if root.is_dir() else []


def load_template(pattern: str, root: Path = TEMPLATES_DIR) -> Template:
    """The template ``pattern``; :class:`FixtureError` naming the available ones when unknown."""
    if pattern not in available(root):
        raise FixtureError(f"unknown template {pattern!r} (available: {', '.join(available(root)) or 'none'})")
    path = root / pattern
    manifest = json.loads((path / "template.json").read_text(encoding="utf-8"))
    events = manifest.get("events")
    return Template(pattern, path, manifest["description"], manifest["event"], tuple(events) if events else None)


def render_text(text: str, values: Mapping[str, str]) -> str:
    """Replace every ``{{placeholder}}`` in ``text``; an unknown placeholder is an error."""
    lines = []
    for line in text.split("\n"):
        names = _PLACEHOLDER.findall(line)
        unknown = [n for n in names if n not in values]
        if unknown:
            raise FixtureError(f"template placeholder {{{{{unknown[0]}}}}} has no value")
        if names and line.strip() == f"{{{{{names[0]}}}}}" and not values[names[0]]:
            continue
        indent = line[:len(line) - len(line.lstrip())]
        lines.append(_PLACEHOLDER.sub(lambda m: values[m.group(1)].replace("\n", "\n" + indent), line))
    return "\n".join(lines)


def _render_json(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return render_text(value, values)
    if isinstance(value, list):
        return [_render_json(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _render_json(v, values) for k, v in value.items()}
    return value


def render_bundle(template: Template, values: Mapping[str, str]) -> str:
    """The rendered ``bundle.json`` text (2-space indent, trailing newline)."""
    return json.dumps(_render_json(json.loads(template.bundle_text()), values), indent=2) + "\n"


def render_notebook(template: Template, values: Mapping[str, str]) -> nbformat.NotebookNode:
    """The rendered notebook, output-free, recording its pattern in ``metadata.harness.template``."""
    nb = clean_notebook(template.notebook())
    for cell in nb.cells:
        cell.source = render_text(cell.source, values)
    nb.metadata.setdefault("harness", {})["template"] = template.pattern
    return nb
