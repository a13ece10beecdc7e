"""A workflow run drawn as HTML: its steps in execution order, indented by step path, on a time axis.

Each step is one row: a status dot and colour, the definition step id and node type, the attempt
when above 1, a bar from its start to its completion, its duration, and its error beside it.
Step path, status, attempt, times and error are also on hover (``title``).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from .html import MUTED, badge, clipped, esc, short_id

if TYPE_CHECKING:
    import pandas as pd

STATUS_COLOURS = {"SUCCEEDED": "#2e7d32", "FAILED": "#c62828", "RUNNING": "#f9a825", "WAITING": "#f9a825",
                  "STARTED": "#f9a825", "RETRY_SCHEDULED": "#ef6c00", "CANCELED": "#9e9e9e"}
OTHER_STATUS = "#607d8b"
TRACK_PX = 260
ERROR_CHARS = 160
INDENT_PX = 16


def _cell(tag: str, content: str, style: str = "", *, align: str = "left", wrap: bool = False) -> str:
    return (f'<{tag} style="padding: 1px 6px; border: none; vertical-align: middle; text-align: {align}; '
            f'white-space: {"normal" if wrap else "nowrap"}{"; " + style if style else ""}">{content}</{tag}>')


def status_colour(status: str) -> str:
    """The colour of a run or step status (green, red, amber, grey, ...)."""
    return STATUS_COLOURS.get(status, OTHER_STATUS)


def error_message(value: Any) -> str | None:
    """The message of an ``error_json`` value (a dict, its JSON text, or plain text), else ``None``."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value or None
    if isinstance(value, dict):
        message = value.get("message")
        return str(message) if message else json.dumps(value, default=str)
    return None


def _time(value: Any) -> datetime | None:
    import pandas as pd

    stamp = pd.Timestamp(value) if value is not None else pd.NaT  # NaN and NaT give NaT
    return None if pd.isna(stamp) else stamp.to_pydatetime()


def _number(value: Any) -> float | None:
    import pandas as pd

    return None if value is None or pd.isna(value) else float(value)


def _ms(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def definition_path(step_path: str) -> str:
    """The definition's path of a run's step path (AlgaPSA's FE repeats ``.body`` per forEach iteration)."""
    return re.sub(r"(\.body)+", ".body", step_path)


@dataclass(repr=False)
class RunPicture:
    """A run row and its step rows (``workflow_run_steps``, in execution order) as a picture.

    ``step_types`` maps definition step paths to node types (``harness.workflow.step_types``), for the labels.
    """

    run: Mapping[str, Any]
    steps: pd.DataFrame
    workflow_key: str | None = None
    step_types: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        key = self.workflow_key or self.run.get("workflow_id")
        return f"RunPicture({key} run {self.run.get('run_id')}: {self.run.get('status')}, {len(self.steps)} steps)"

    def _repr_html_(self) -> str:
        rows = self.steps.to_dict("records")
        starts = [t for t in [_time(self.run.get("started_at"))] + [_time(r.get("started_at")) for r in rows] if t]
        ends = starts + [t for t in [_time(self.run.get("completed_at"))] +
                         [_time(r.get("completed_at")) for r in rows] if t]
        origin, end = (min(starts), max(ends)) if starts else (None, None)
        span_ms = (end - origin).total_seconds() * 1000 if origin and end else 0.0
        body = "".join(self._row(row, origin, span_ms) for row in rows) or (
            f'<tr><td colspan="5" style="color: {MUTED}; border: none">no steps recorded</td></tr>')
        axis = (f'<div style="display: flex; justify-content: space-between; width: {TRACK_PX}px; color: {MUTED}">'
                f"<span>0</span><span>{_ms(span_ms)}</span></div>") if origin else ""
        head = "".join(_cell("th", text) for text in ("step", axis, "status", "took", "error"))
        return (f'<div class="harness-run-picture" style="font-size: 12px; text-align: left">{self._header(rows)}'
                f'<table style="border-collapse: collapse; margin: 4px 0">'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")

    def _header(self, rows: list[dict[str, Any]]) -> str:
        status = str(self.run.get("status") or "?")
        counts = Counter(str(row.get("status")) for row in rows)
        count_text = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no steps"
        key = self.workflow_key or self.run.get("workflow_id") or "workflow"
        run_id = self.run.get("run_id")
        parts = [f"<b>{esc(key)}</b>", f"run {short_id(run_id)}" if run_id else "",
                 badge(status, status_colour(status)), esc(self.run.get("event_type") or "no event"),
                 f"steps: {esc(count_text)}"]
        line = " · ".join(p for p in parts if p)
        error = error_message(self.run.get("error_json"))
        if error:
            line += f' <span style="color: {status_colour("FAILED")}">— {clipped(error, ERROR_CHARS)}</span>'
        return f'<div class="harness-run-header" style="margin-bottom: 2px">{line}</div>'

    def _row(self, row: dict[str, Any], origin: datetime | None, span_ms: float) -> str:
        path = str(row.get("step_path") or "")
        status = str(row.get("status") or "?")
        colour = status_colour(status)
        attempt = int(_number(row.get("attempt")) or 1)
        started, completed = _time(row.get("started_at")), _time(row.get("completed_at"))
        duration = _number(row.get("duration_ms"))
        if duration is None and started and completed:
            duration = (completed - started).total_seconds() * 1000
        took = _ms(duration) if duration is not None else ""
        error = error_message(row.get("error_json"))
        node_type = self.step_types.get(definition_path(path), "")
        depth = max(path.count(".steps[") - 1, 0)

        hover = [path, f"{status}, attempt {attempt}", f"started {started}" if started else "",
                 f"completed {completed}" if completed else "", took, error or ""]
        label = (f'<span style="color: {colour}">●</span> <b>{esc(row.get("definition_step_id") or "?")}</b>'
                 + (f' <span style="color: {MUTED}">{esc(node_type)}</span>' if node_type else "")
                 + (f" <span>attempt {attempt}</span>" if attempt > 1 else ""))
        error_colour = colour if status == "FAILED" else MUTED
        return (f'<tr class="harness-step" data-status="{esc(status)}" data-step-path="{esc(path)}" '
                f'title="{esc(chr(10).join(h for h in hover if h))}">'
                + _cell("td", label, f"padding-left: {6 + INDENT_PX * depth}px")
                + _cell("td", _bar(started, completed, origin, span_ms, colour))
                + _cell("td", esc(status), f"color: {colour}")
                + _cell("td", took, align="right")
                + _cell("td", clipped(error, ERROR_CHARS) if error else "", f"color: {error_colour}; max-width: 480px",
                        wrap=True)
                + "</tr>")


def _bar(started: datetime | None, completed: datetime | None, origin: datetime | None, span_ms: float,
         colour: str) -> str:
    """A track with the step's bar from its start to its completion (to the end while unfinished)."""
    track = (f'<div style="position: relative; width: {TRACK_PX}px; height: 10px; '
             f'background-color: rgba(128, 128, 128, 0.15); border-radius: 2px">')
    if started is None or origin is None:
        return track + "</div>"
    left = (started - origin).total_seconds() * 1000 / span_ms * 100 if span_ms else 0.0
    right = (completed - origin).total_seconds() * 1000 / span_ms * 100 if completed and span_ms else 100.0
    unfinished = "; opacity: 0.5" if completed is None else ""
    return (track + f'<div style="position: absolute; top: 0; bottom: 0; left: {left:.2f}%; '
            f"width: {max(right - left, 0):.2f}%; min-width: 2px; background-color: {colour}; "
            f'border-radius: 2px{unfinished}"></div></div>')
