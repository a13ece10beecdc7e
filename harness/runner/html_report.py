"""A self-contained HTML report of a batch; each failure links its executed notebook, rendered to HTML.

The rendered notebook (``failure.html``) is written next to ``failure.ipynb`` in the failure's
artifacts folder and linked relatively, so the report and the artifacts can be moved together.
"""
from __future__ import annotations

import html
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from .batch import BatchItem, BatchOutcome
from .failures import NOTEBOOK
from .reports import failure_text, not_run_reason

RENDERED_NOTEBOOK = "failure.html"

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #ddd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.PASS { color: #17803d; font-weight: 600; } .FAIL { color: #c0262d; font-weight: 600; } .NOT_RUN { color: #777; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; white-space: pre-wrap; }
section.failure { border-left: 4px solid #c0262d; padding-left: 12px; margin-bottom: 1.5em; }
"""


def render_notebook(notebook: Path) -> Path:
    """Render ``notebook`` to HTML next to it (nbconvert's HTMLExporter) and return the HTML file."""
    from nbconvert import HTMLExporter  # slow to import: only when a report is asked for

    body, _ = HTMLExporter().from_filename(str(notebook))
    target = notebook.with_name(RENDERED_NOTEBOOK)
    target.write_text(body, encoding="utf-8")
    return target


def _link(target: Path, report_dir: Path, label: str) -> str:
    href = Path(os.path.relpath(target.resolve(), report_dir)).as_posix()
    return f'<a href="{html.escape(href)}">{html.escape(label)}</a>'


def _row(item: BatchItem) -> str:
    name = html.escape(item.result.test_id)
    status = "PASS" if item.result.passed else "FAIL"
    cell = name if item.result.passed else f'<a href="#{name}">{name}</a>'
    return (f'<tr><td>{cell}</td><td class="{status}">{status}</td><td class="num">{item.result.duration_ms}</td>'
            f"<td>{html.escape(item.result.reason)}</td></tr>")


def _failure_section(item: BatchItem, report_dir: Path) -> str:
    e = html.escape
    links = []
    if item.result.artifacts_dir:
        folder = Path(item.result.artifacts_dir)
        if (folder / NOTEBOOK).is_file():
            links.append(_link(render_notebook(folder / NOTEBOOK), report_dir, "executed notebook"))
        links.append(_link(folder, report_dir, "artifacts folder"))
    return (f'<section class="failure" id="{e(item.result.test_id)}"><h3>{e(item.result.test_id)}</h3>'
            f"<p>{e(item.result.reason)}</p><p>{' · '.join(links)}</p>"
            f"<details><summary>error report</summary><pre>{e(failure_text(item))}</pre></details></section>")


def write_html(outcome: BatchOutcome, path: Path, title: str = "harness run-all") -> None:
    """Write the report to ``path`` (rendering each failure's notebook into its artifacts folder)."""
    e = html.escape
    path.parent.mkdir(parents=True, exist_ok=True)
    report_dir = path.parent.resolve()
    items = sorted(outcome.items, key=lambda i: (i.folder.name, str(i.folder)))
    rows = [_row(item) for item in items]
    rows += [f'<tr><td>{e(f.name)}</td><td class="NOT_RUN">NOT RUN</td><td></td><td>{e(not_run_reason(outcome))}</td></tr>'
             for f in outcome.not_run]
    failures = "".join(_failure_section(item, report_dir) for item in items if not item.result.passed)
    passed = len(outcome.items) - len(outcome.failed)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title><style>{_STYLE}</style></head>
<body><h1>{e(title)}</h1>
<p><span class="PASS">{passed} passed</span>, <span class="FAIL">{len(outcome.failed)} failed</span>,
{len(outcome.not_run)} not run in {outcome.wall_s:.1f} s with {outcome.jobs} job(s) · {e(socket.gethostname())} · {e(stamp)}</p>
<table><thead><tr><th>fixture</th><th>status</th><th>ms</th><th>reason</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
{'<h2>Failures</h2>' + failures if failures else ''}
</body></html>
"""
    path.write_text(document, encoding="utf-8")
