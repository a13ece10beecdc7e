"""Failure artifacts: one folder per failed fixture execution, with every secret scrubbed.

Scrubbing is :func:`harness.redaction.redact_text`: the listed secrets, and any URL/DSN credential.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from .redaction import REDACTED, redact_text

__all__ = ["REDACTED", "failure_dir", "notebook_html", "one_line", "render_failure_notebook", "strip_ansi",
           "write_failure_artifacts"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
FAILURE_NOTEBOOK = "failure.ipynb"
RENDERED_NOTEBOOK = "failure.html"
# JupyterLab's HTML page without the scripts it loads from a CDN (require.js, MathJax, mermaid): the page
# then depends on nothing outside itself (its CSS is inline, and images are embedded).
_OFFLINE_TEMPLATE = ("{%- extends 'index.html.j2' -%}{% block html_head_js_requirejs %}{% endblock %}"
                     "{% block html_head_js_mathjax %}{% endblock %}{% block html_head_js_mermaidjs %}{% endblock %}")


def failure_dir(root: str | Path, test_id: str, run_id: str | None = None, now: datetime | None = None) -> Path:
    """``<root>/workflow-harness/<testId>/<timestamp>[-<runId>]/``, created fresh."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S.%fZ")
    name = f"{stamp}-{run_id}" if run_id else stamp
    path = Path(root) / "workflow-harness" / _SAFE.sub("_", test_id) / _SAFE.sub("_", name)
    path.mkdir(parents=True, exist_ok=False)
    return path


def write_failure_artifacts(folder: Path, *, notebook_text: str | None, context: dict[str, Any],
                            error_text: str, export: dict[str, Any], secrets: Iterable[str]) -> list[Path]:
    """Write the four failure files into ``folder`` and return their paths.

    Each file is scrubbed of ``secrets`` and of every URL/DSN credential it holds.
    """
    secrets = list(secrets)
    files = {
        FAILURE_NOTEBOOK: notebook_text if notebook_text is not None else json.dumps(
            {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
        "failure.context.json": json.dumps(context, indent=2, default=str),
        "failure.error.txt": error_text if error_text.endswith("\n") else error_text + "\n",
        "failure.workflow-export.json": json.dumps(export, indent=2, default=str),
    }
    written = []
    for name, text in files.items():
        path = folder / name
        path.write_text(redact_text(text, secrets), encoding="utf-8")
        written.append(path)
    return written


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """Remove terminal colour codes (IPython tracebacks are coloured)."""
    return _ANSI.sub("", text)


def one_line(text: str, limit: int = 300) -> str:
    """A reason fit for the summary line: one line, no control characters, bounded length."""
    flat = " ".join(strip_ansi(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def notebook_html(notebook: Path) -> str:
    """``notebook`` as one self-contained HTML page (nbconvert's lab look, images embedded, no external files)."""
    import jinja2  # nbconvert's template engine; both are slow to import, so only when a page is rendered
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", embed_images=True,
                            extra_loaders=[jinja2.DictLoader({"offline.html.j2": _OFFLINE_TEMPLATE})])
    exporter.template_file = "offline.html.j2"
    body, _ = exporter.from_filename(str(notebook))
    return body


def render_failure_notebook(folder: str | Path) -> Path | None:
    """Render the failure folder's ``failure.ipynb`` to ``failure.html`` beside it; ``None`` without one."""
    notebook = Path(folder) / FAILURE_NOTEBOOK
    if not notebook.is_file():
        return None
    rendered = notebook.with_name(RENDERED_NOTEBOOK)
    rendered.write_text(notebook_html(notebook), encoding="utf-8")
    return rendered
