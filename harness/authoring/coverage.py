"""``harness coverage``: what a catalog of fixtures covers, read from its bundles and notebook code.

Nothing runs. A fixture is credited only for what its notebook asserts, read from the literal arguments
of the kit's calls (``fx.expect_run``, ``fx.expect_step``, ``fx.find.*``, ``fx.post_event``, ...):

- an **event** when a workflow of the bundle is triggered by it and the notebook asserts a run;
- an action's **success** when a step calling it is asserted to succeed (listed in ``steps=[...]`` of
  ``fx.expect_run("SUCCEEDED")`` with every step succeeding, or ``fx.expect_step(id)``), and an
  **error code** when ``fx.expect_step(id, "FAILED", code=...)`` names it for such a step;
- a **node type** when a step of that type is asserted (listed in ``steps=[...]`` or ``fx.expect_step``);
- a **trigger kind**: the event API (``fx.post_event``), or ``/api/v1`` tickets, projects or schedules
  (``fx.create``/``fx.update`` calls on that resource, with a workflow triggered by an event it publishes);
- a **runtime behaviour** by the assertion that proves it (see :data:`BEHAVIOURS`);
- an **area** by the fixture's name prefix (see :data:`AREAS`).
"""
from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..contract.event_payloads import default_registry
from ..contract.runtime_catalog import ACTION_ERRORS, NODE_TYPES, REST_EVENTS, SUCCESS, UNASSERTABLE
from ..errors import FixtureError
from ..execution.checks import load_notebook
from ..workflow import load_bundle, walk

# area -> (minimum fixtures, name prefixes)
AREAS: dict[str, tuple[int, tuple[str, ...]]] = {
    "tickets": (120, ("ticket-",)),
    "projects": (45, ("project-", "task-")),
    "scheduling": (30, ("appointment-", "schedule-", "technician-", "capacity-")),
    "billing": (30, ("invoice-", "payment-", "contract-", "credit-", "recurring-", "billing-")),
    "CRM": (10, ("client-", "company-", "contact-", "crm-", "opportunity-", "interaction-", "note-")),
    "email": (6, ("email-",)),
    "integrations": (6, ("integration-", "webhook-", "external-")),
    "time": (4, ("time-",)),
    "schema validation": (8, ("schema-",)),
    "runtime": (25, ("runtime-",)),
}
OTHER_AREA = "other"
TRIGGER_KINDS = ("event API", "/api/v1 tickets", "/api/v1 projects", "/api/v1 schedules")
_REST_CALLS = {
    "tickets": {"create.ticket", "create.comment", "update.ticket", "update.ticket_status", "update.ticket_assignment"},
    "projects": {"create.project", "create.project_task", "update.project", "update.project_task"},
    "schedules": {"create.schedule_entry", "update.schedule_entry"},
}


@dataclass(frozen=True)
class Call:
    """One call in a notebook: its dotted name without the receiver (``expect_run``, ``find.runs``),
    its literal positional arguments (``None`` where not a literal) and literal keywords."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    arg_names: tuple[str, ...]  # dotted names of arguments that are references, e.g. ("post_event",)

    def arg(self, index: int, keyword: str, default: Any = None) -> Any:
        if keyword in self.kwargs:
            return self.kwargs[keyword]
        return self.args[index] if len(self.args) > index else default


@dataclass
class Step:
    type: str
    action: str | None
    retry: bool


@dataclass
class FixtureFacts:
    """Everything one fixture is credited with."""

    name: str
    area: str
    events: set[str] = field(default_factory=set)
    action_success: set[str] = field(default_factory=set)
    action_errors: set[tuple[str, str]] = field(default_factory=set)
    node_types: set[str] = field(default_factory=set)
    trigger_kinds: set[str] = field(default_factory=set)
    behaviours: set[str] = field(default_factory=set)


def area_of(name: str) -> str:
    """The catalog area a fixture belongs to, by its name prefix."""
    for area, (_, prefixes) in AREAS.items():
        if name.startswith(prefixes):
            return area
    return OTHER_AREA


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None


def notebook_calls(sources: Iterable[str]) -> list[Call]:
    """The calls in the notebook's code cells, in order (cells that are not Python, e.g. magics, are skipped)."""
    calls = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (dotted := _dotted(node.func)):
                name = dotted.split(".", 1)[1] if "." in dotted else dotted
                refs = tuple(d.rsplit(".", 1)[-1] for a in node.args if (d := _dotted(a)))
                calls.append(Call(name, tuple(_literal(a) for a in node.args),
                                  {k.arg: _literal(k.value) for k in node.keywords if k.arg}, refs))
    return calls


def bundle_steps(workflows: list[dict[str, Any]]) -> dict[str, list[Step]]:
    """Every step id of every workflow definition in the bundle (draft and published), with its type."""
    found: dict[str, list[Step]] = defaultdict(list)
    for workflow in workflows:
        definitions = [v.get("definition") or {} for v in workflow.get("publishedVersions") or []]
        definitions.append((workflow.get("draft") or {}).get("definition") or {})
        for definition in definitions:
            for _, _, step in walk(definition.get("steps") or []):
                action = (step.get("config") or {}).get("actionId") if step.get("type") == "action.call" else None
                entry = Step(str(step.get("type")), action, bool(step.get("retry")))
                if entry not in found[str(step.get("id"))]:
                    found[str(step.get("id"))].append(entry)
    return found


def _has(calls: list[Call], name: str) -> bool:
    return any(c.name == name for c in calls)


# Each runtime behaviour and how a fixture proves it: (bundle workflows, steps, calls) -> bool.
Recogniser = Callable[[list[dict[str, Any]], dict[str, list[Step]], list[Call]], bool]


def _metadata(workflows: list[dict[str, Any]], key: str) -> list[Any]:
    return [(w.get("metadata") or {}).get(key) for w in workflows]


def _step_asserted(steps: dict[str, list[Step]], calls: list[Call], test: Callable[[Step, Call], bool]) -> bool:
    return any(test(s, c) for c in calls if c.name == "expect_step" for s in steps.get(str(c.arg(0, "")), []))


BEHAVIOURS: dict[str, Recogniser] = {
    "retries": lambda wf, steps, calls: _step_asserted(
        steps, calls, lambda s, c: s.retry and isinstance(c.kwargs.get("attempts"), int) and c.kwargs["attempts"] >= 2),
    "idempotency ledger": lambda wf, steps, calls: _has(calls, "find.invocations"),
    "event.wait resume": lambda wf, steps, calls: "event.wait" in _succeeded_types(steps, calls),
    "event.wait timeout": lambda wf, steps, calls: _step_asserted(
        steps, calls, lambda s, c: s.type == "event.wait" and c.arg(1, "status") == "FAILED"
        and c.kwargs.get("category") == "TimeoutError"),
    "callWorkflow": lambda wf, steps, calls: "control.callWorkflow" in _asserted_types(steps, calls),
    "concurrency limit": lambda wf, steps, calls: any(v is not None for v in _metadata(wf, "concurrencyLimit"))
    and _has(calls, "find.runs"),
    "auto-pause": lambda wf, steps, calls: any(v is True for v in _metadata(wf, "autoPauseOnFailure"))
    and _has(calls, "find.workflow"),
    "paused workflows": lambda wf, steps, calls: any(v is True for v in _metadata(wf, "isPaused"))
    and _has(calls, "expect_no_run"),
    "publish and versions": lambda wf, steps, calls: _has(calls, "publish"),
    "payload schema refusals": lambda wf, steps, calls: any(
        c.name in ("raises", "expect.raises") and "post_event" in c.arg_names for c in calls),
}


def _succeeded_ids(calls: list[Call]) -> set[str]:
    """Step ids the notebook asserts succeeded."""
    ids: set[str] = set()
    for call in calls:
        if call.name == "expect_run" and call.arg(0, "status", "SUCCEEDED") == "SUCCEEDED" \
                and call.kwargs.get("step_status", "SUCCEEDED") == "SUCCEEDED":
            ids.update(s for s in (call.kwargs.get("steps") or []) if isinstance(s, str))
        if call.name == "expect_step" and call.arg(1, "status", "SUCCEEDED") == "SUCCEEDED":
            ids.add(str(call.arg(0, "")))
    return ids


def _succeeded_types(steps: dict[str, list[Step]], calls: list[Call]) -> set[str]:
    return {s.type for step_id in _succeeded_ids(calls) for s in steps.get(step_id, [])}


def _asserted_types(steps: dict[str, list[Step]], calls: list[Call]) -> set[str]:
    ids = {s for c in calls if c.name == "expect_run" for s in (c.kwargs.get("steps") or []) if isinstance(s, str)}
    ids |= {str(c.arg(0, "")) for c in calls if c.name == "expect_step"}
    return {s.type for step_id in ids for s in steps.get(step_id, [])}


def _trigger_events(workflows: list[dict[str, Any]]) -> set[str]:
    events = set()
    for workflow in workflows:
        trigger = (workflow.get("metadata") or {}).get("trigger") or {}
        if isinstance(trigger, dict) and trigger.get("eventName"):
            events.add(trigger["eventName"])
    return events


def read_fixture(folder: Path) -> FixtureFacts:
    """What the fixture in ``folder`` is credited with (a malformed bundle or notebook raises FixtureError)."""
    workflows = load_bundle(folder / "bundle.json").data["workflows"]
    notebook = load_notebook(folder / "test.ipynb")
    calls = notebook_calls(cell.source for cell in notebook.cells if cell.cell_type == "code")
    steps = bundle_steps(workflows)
    facts = FixtureFacts(folder.name, area_of(folder.name))
    triggers = _trigger_events(workflows)
    names = {c.name for c in calls}
    asserts_run = "expect_run" in names
    if asserts_run:
        facts.events = triggers
    for step_id in _succeeded_ids(calls):
        facts.action_success |= {s.action for s in steps.get(step_id, []) if s.action}
    for call in calls:
        if call.name == "expect_step" and call.arg(1, "status") == "FAILED" and isinstance(call.kwargs.get("code"), str):
            facts.action_errors |= {(s.action, call.kwargs["code"]) for s in steps.get(str(call.arg(0, "")), [])
                                    if s.action}
    facts.node_types = _asserted_types(steps, calls)
    checks_outcome = asserts_run or "expect_no_run" in names
    if "post_event" in names and checks_outcome:
        facts.trigger_kinds.add("event API")
    for resource, published in REST_EVENTS.items():
        if names & _REST_CALLS[resource] and triggers & published and checks_outcome:
            facts.trigger_kinds.add(f"/api/v1 {resource}")
    facts.behaviours = {name for name, proves in BEHAVIOURS.items() if proves(workflows, steps, calls)}
    return facts


def fixture_folders(paths: Iterable[str | Path]) -> list[Path]:
    """The fixture folders named by ``paths``: each a fixture folder, or a folder of them."""
    folders: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            raise FixtureError(f"{path}: no such folder")
        if (path / "bundle.json").is_file():
            folders.append(path)
            continue
        found = [p for p in sorted(path.iterdir()) if (p / "bundle.json").is_file() and (p / "test.ipynb").is_file()]
        if not found:
            raise FixtureError(f"{path}: no fixture folders in it (a fixture holds bundle.json and test.ipynb)")
        folders += found
    return folders


@dataclass
class Coverage:
    """A catalog's coverage: for each item, the fixtures that cover it (empty: not covered yet)."""

    fixtures: list[FixtureFacts]
    events: dict[str, list[str]]
    actions: dict[str, list[str]]
    errors: dict[tuple[str, str], list[str]]
    node_types: dict[str, list[str]]
    trigger_kinds: dict[str, list[str]]
    behaviours: dict[str, list[str]]
    areas: dict[str, list[str]]

    def as_dict(self) -> dict[str, Any]:
        def section(items: dict[Any, list[str]], label: Callable[[Any], str] = str) -> dict[str, Any]:
            return {"covered": sum(1 for v in items.values() if v), "total": len(items),
                    "missing": [label(k) for k, v in items.items() if not v],
                    "by": {label(k): v for k, v in items.items()}}

        areas = {area: {"fixtures": len(names), "minimum": AREAS[area][0] if area in AREAS else 0}
                 for area, names in self.areas.items()}
        return {"fixtures": len(self.fixtures), "events": section(self.events), "actions": section(self.actions),
                "errorCodes": section(self.errors, lambda k: f"{k[0]} {k[1]}"),
                "cannotBeProduced": {f"{a} {c}": why for (a, c), why in UNASSERTABLE.items()},
                "nodeTypes": section(self.node_types), "triggerKinds": section(self.trigger_kinds),
                "behaviours": section(self.behaviours), "areas": areas}

    @property
    def complete(self) -> bool:
        """Whether every item is covered and every area has its minimum."""
        sections = (self.events, self.actions, self.errors, self.node_types, self.trigger_kinds, self.behaviours)
        return all(all(v.values()) for v in sections) and all(
            len(self.areas.get(area, [])) >= minimum for area, (minimum, _) in AREAS.items())


def measure(paths: Iterable[str | Path]) -> Coverage:
    """The coverage of the fixtures under ``paths``."""
    facts = [read_fixture(folder) for folder in fixture_folders(paths)]

    def covering(items: Iterable[Any], has: Callable[[FixtureFacts, Any], bool]) -> dict[Any, list[str]]:
        return {item: [f.name for f in facts if has(f, item)] for item in items}

    areas: dict[str, list[str]] = {area: [] for area in AREAS}
    for f in facts:
        areas.setdefault(f.area, []).append(f.name)
    error_items = [(action, code) for action, codes in ACTION_ERRORS.items() for code in codes
                   if (action, code) not in UNASSERTABLE]
    return Coverage(
        fixtures=facts,
        events=covering(sorted(default_registry().events()), lambda f, e: e in f.events),
        actions=covering([a for a in ACTION_ERRORS if (a, SUCCESS) not in UNASSERTABLE],
                         lambda f, a: a in f.action_success),
        errors=covering(error_items, lambda f, item: item in f.action_errors),
        node_types=covering(NODE_TYPES, lambda f, t: t in f.node_types),
        trigger_kinds=covering(TRIGGER_KINDS, lambda f, k: k in f.trigger_kinds),
        behaviours=covering(BEHAVIOURS, lambda f, b: b in f.behaviours),
        areas=areas,
    )


SHOWN = 12  # missing items named per line; --json lists them all


def _line(label: str, items: dict[Any, list[str]], noun: str, name: Callable[[Any], str] = str) -> str:
    missing = [name(k) for k, v in items.items() if not v]
    head = f"{label:<13}{sum(1 for v in items.values() if v)}/{len(items)} {noun}"
    if not missing:
        return head
    more = f" and {len(missing) - SHOWN} more (--json lists them)" if len(missing) > SHOWN else ""
    return f"{head}; not yet: {', '.join(missing[:SHOWN])}{more}"


def _cannot(which: Callable[[str], bool]) -> str:
    return "".join(f" ({action} {'succeeding' if code == SUCCESS else code} cannot be produced: {why})"
                   for (action, code), why in UNASSERTABLE.items() if which(code))


def report_lines(coverage: Coverage) -> list[str]:
    """The short text report: one line per dimension, each naming what no fixture covers yet."""
    areas = ", ".join(f"{area} {len(names)}" + (f"/{AREAS[area][0]}" if area in AREAS else "")
                      for area, names in coverage.areas.items())
    short = [area for area, (minimum, _) in AREAS.items() if len(coverage.areas.get(area, [])) < minimum]
    return [
        f"{len(coverage.fixtures)} fixtures",
        _line("events", coverage.events, "triggered"),
        _line("actions", coverage.actions, "with a success asserted") + _cannot(lambda code: code == SUCCESS),
        _line("error codes", coverage.errors, "asserted", lambda k: f"{k[0]} {k[1]}") + _cannot(lambda code: code != SUCCESS),
        _line("node types", coverage.node_types, "asserted"),
        _line("triggers", coverage.trigger_kinds, "kinds used"),
        _line("runtime", coverage.behaviours, "behaviours asserted"),
        f"{'areas':<13}{areas}" + (f"; below the minimum: {', '.join(short)}" if short else ""),
    ]
