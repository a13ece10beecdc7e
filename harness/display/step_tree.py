"""A workflow's step tree as HTML: nested steps under their branch (then/else, try/catch, body)."""
from __future__ import annotations

from dataclasses import dataclass

from .html import MUTED, badge, esc

TYPE_COLOURS = {"control": "#6a1b9a", "action": "#1565c0", "transform": "#00796b", "state": "#5d4037",
                "event": "#ef6c00", "human": "#ad1457"}
OTHER_TYPE = "#546e7a"
INDENT = "margin-left: 14px; padding-left: 10px; border-left: 2px solid #b0bec5"
EMPTY = f'<div style="color: {MUTED}">(empty)</div>'


@dataclass(frozen=True)
class TreeStep:
    """One step of a definition: ``detail`` is its action, condition or loop in a few words;
    ``branches`` its nested step lists as ``(branch name, steps)``."""

    path: str
    id: str
    type: str
    detail: str = ""
    branches: tuple[tuple[str, tuple[TreeStep, ...]], ...] = ()


@dataclass(frozen=True, repr=False)
class StepTree:
    """The step trees of a bundle's workflows, as ``(workflow key, top-level steps)``; renders as HTML."""

    workflows: tuple[tuple[str, tuple[TreeStep, ...]], ...]

    def __repr__(self) -> str:
        return f"StepTree({', '.join(f'{key}: {_count(steps)} steps' for key, steps in self.workflows)})"

    def _repr_html_(self) -> str:
        parts = [('<div class="harness-step-tree" style="font-family: monospace; font-size: 12px; '
                  'line-height: 1.7; text-align: left">')]
        for key, steps in self.workflows:
            parts.append(f'<div class="harness-workflow" style="font-weight: bold; margin-top: 6px">{esc(key)}</div>')
            parts.append(_steps(steps) if steps else f'<div style="color: {MUTED}">(no steps)</div>')
        parts.append("</div>")
        return "".join(parts)


def type_colour(node_type: str) -> str:
    """The colour of a node type's family (``control.*``, ``action.*``, ...)."""
    return TYPE_COLOURS.get(node_type.split(".", 1)[0], OTHER_TYPE)


def _count(steps: tuple[TreeStep, ...]) -> int:
    return sum(1 + sum(_count(children) for _, children in step.branches) for step in steps)


def _steps(steps: tuple[TreeStep, ...]) -> str:
    return "".join(_step(step) for step in steps)


def _step(step: TreeStep) -> str:
    detail = f' <span style="color: {MUTED}">{esc(step.detail)}</span>' if step.detail else ""
    head = (f'<div style="white-space: nowrap">{badge(step.type or "?", type_colour(step.type or ""))} '
            f"<b>{esc(step.id)}</b>{detail}</div>")
    branches = "".join(
        f'<div class="harness-branch" data-branch="{esc(name)}" style="{INDENT}">'
        f'<div style="color: {MUTED}; font-style: italic">{esc(name)}</div>{_steps(children) or EMPTY}</div>'
        for name, children in step.branches)
    return (f'<div class="harness-step" data-type="{esc(step.type)}" data-step-path="{esc(step.path)}" '
            f'title="{esc(step.path)}">{head}{branches}</div>')
