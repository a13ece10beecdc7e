"""The shared AlgaPSA helpers (``_lib/*.cjs``) as generic recipes, driven by a catalog entry.

``helper.function`` picks the recipe, ``helper.effectivePattern`` (or ``options.kind``) its
variant, and ``trigger.correlationKey`` / ``trigger.payload`` describe each posted event
(:mod:`.payloads`). The checks are the helper's: which table, which marker, how many rows.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from harness import Fixture
from harness.workflow import export_workflow, publish, update_draft

from . import domain
from .case import Case
from .expectations import UnknownWording, newest_limit
from .payloads import Scope, build_event

REPEATED_PATTERNS = ("idempotent", "multiBranch")


@dataclass(frozen=True)
class Event:
    correlation_key: str
    payload: dict[str, Any]

    @property
    def dedupe_key(self) -> str | None:
        return self.payload.get("fixtureDedupeKey")


def _events(case: Case, pattern: str | None, make_scope: Callable[[str | None], Scope]) -> list[Event]:
    """The events a pattern posts, in order: idempotent posts one event twice, multiBranch one per variant."""
    trigger = case.entry["trigger"]
    repeat = trigger.get("repeat")
    if (repeat is not None) != (pattern in REPEATED_PATTERNS) or (repeat and repeat.get("count") != 2):
        raise UnknownWording(f"trigger.repeat {repeat!r} does not fit helper pattern {pattern!r}")

    def event(variant: str | None) -> Event:
        return Event(*build_event(trigger, make_scope(variant)))

    if pattern == "multiBranch":
        return [event("A"), event("B")]
    first = event(None)
    return [first, first] if pattern == "idempotent" else [first]


def _post_and_await(case: Case, events: list[Event], *, user_id: str, biz: bool) -> None:
    """Post each event and await its run before the next one. The harness lookup of the first event
    uses the harness trigger time; every later lookup, and every biz lookup, a time taken just before
    its POST."""
    for index, event in enumerate(events):
        if biz or index:
            case.mark_trigger()
        case.post_event(event.payload, correlation_key=event.correlation_key)
        case.await_run({"fixtureNotifyUserId": user_id, "fixtureDedupeKey": event.dedupe_key} if biz else None)


# -- callWorkflow preparation (callworkflow-fixture / runCallWorkflowBizFixture) --------------------
def _next_version(fx: Fixture, workflow_id: str) -> int:
    top = fx.db.scalar("SELECT max(version) AS max_version FROM workflow_definition_versions "
                       "WHERE tenant = %s AND workflow_id = %s", (fx.tenant_id, workflow_id))
    return int(top or 0) + 1


def _publish_next(fx: Fixture, workflow_id: str) -> int:
    version = _next_version(fx, workflow_id)
    publish(fx.api, workflow_id, version)
    return version


def prepare_call_workflow(case: Case) -> None:
    """Publish the child, point the parent's call step at it (adding the id mapping the setup names),
    save the parent's draft and publish it."""
    fx = case.fx
    child_key = f"sub{fx.workflow_key}"
    child_id = fx.import_summary.workflow_ids.get(child_key) if fx.import_summary else None
    if not child_id:
        raise AssertionError(f"the import summary names no workflow {child_key!r}: {fx.import_summary}")
    child_version = _publish_next(fx, child_id)
    definition = export_workflow(fx.api, fx.workflow_id)["workflows"][0]["draft"]["definition"]
    call = next((s for s in definition.get("steps", []) if s.get("type") == "control.callWorkflow"), None)
    if call is None:
        raise AssertionError("the parent definition has no top-level control.callWorkflow step")
    call["workflowId"], call["workflowVersion"] = child_id, child_version
    for text in case.entry["setup"]:
        if found := re.search(r"add inputMapping (\w+) <- (payload\.\w+)", text):
            call.setdefault("inputMapping", {})[found.group(1)] = {"$expr": found.group(2)}
    update_draft(fx.api, fx.workflow_id, definition)
    _publish_next(fx, fx.workflow_id)


# -- notification-fixture ---------------------------------------------------------------------------
NOTIFICATION_PATTERNS = ("default", "idempotent", "forEach", "tryCatch", "multiBranch")


def _notifications(case: Case, pattern: str | None, *, call_workflow: bool) -> None:
    if not call_workflow and pattern not in NOTIFICATION_PATTERNS:
        raise UnknownWording(f"unknown notification pattern {pattern!r}")
    fx = case.fx
    user = domain.oldest_user(fx)
    if call_workflow:
        prepare_call_workflow(case)
    events = _events(case, pattern, lambda variant: Scope(user_id=user, variant=variant))
    markers = [case.marker, case.child_marker] if call_workflow else [case.marker]
    for event in {e.correlation_key: e for e in events}.values():
        for marker in markers:
            case.on_cleanup(f"delete notifications {marker} {event.correlation_key}",
                            lambda m=marker, k=event.correlation_key: domain.delete_notifications(
                                fx, user, title_like=f"%{m}%", message_like=f"%{k}%"))
    _post_and_await(case, events, user_id=user, biz=False)

    rows = domain.notifications(fx, user, newest_limit(case.side_effect("internal_notifications")))
    what, shown = f"internal_notifications of user {user}", ("title", "message")
    key = events[0].correlation_key
    if call_workflow:
        for marker in markers:
            domain.expect_rows(rows, what, shown=shown, title=[marker], message=[key])
    elif pattern == "default":
        domain.expect_rows(rows, what, shown=shown, title=[case.marker], message=[key])
    elif pattern == "forEach":
        domain.expect_rows(rows, what, at_least=2, shown=shown, title=[case.marker], message=[key])
    elif pattern == "idempotent":
        domain.expect_rows(rows, what, exactly=1, shown=shown, title=[case.marker], message=[key])
    elif pattern == "tryCatch":
        domain.expect_rows(rows, what, shown=shown, title=[case.marker, "Fallback"], message=[key])
    else:
        for event, variant in zip(events, "AB"):
            domain.expect_rows(rows, what, shown=shown, title=[case.marker, f"Branch {variant}"],
                               message=[event.correlation_key])


def run_notification_fixture(case: Case) -> None:
    _notifications(case, case.entry["helper"].get("effectivePattern"), call_workflow=False)


def run_call_workflow_fixture(case: Case) -> None:
    _notifications(case, None, call_workflow=True)


# -- biz-fixture --------------------------------------------------------------------------------------
def target_ticket(fx: Fixture) -> str:
    """The tenant's most recently entered ticket, else a new one (never cleaned up)."""
    existing = domain.newest_ticket(fx)
    return existing or domain.create_ticket(fx, f"Fixture ticket {uuid.uuid4()}", domain.ticket_refs(fx))


def target_project(fx: Fixture) -> str:
    """The project of any phase of the tenant, else a new project (never cleaned up)."""
    existing = domain.any_project_with_phase(fx)
    return existing or domain.create_project(fx, domain.oldest_client(fx), f"Fixture project {uuid.uuid4()}")


@dataclass(frozen=True)
class Sink:
    """Where a business workflow writes its marker: ticket comments or project tasks."""

    table: str
    column: str
    scope_field: str
    patterns: tuple[str, ...]
    target: Callable[[Fixture], str]
    read: Callable[[Fixture, str, int], list[dict[str, Any]]]
    delete_marked: Callable[[Fixture, str, str], None]


COMMENTS = Sink("comments", "note", "ticket_id", ("default", "idempotent", "forEach", "multiBranch"),
                target_ticket, domain.comments, domain.delete_marked_comments)
TASKS = Sink("project_tasks", "task_name", "project_id", ("default", "idempotent", "tryCatch"),
             target_project, domain.project_tasks, domain.delete_marked_tasks)
KIND_SINKS = {"ticket_comment": COMMENTS, "project_task": TASKS}


def _business(case: Case, sink: Sink, pattern: str | None, *, call_workflow: bool) -> None:
    if not call_workflow and pattern not in sink.patterns:
        raise UnknownWording(f"pattern {pattern!r} is not a {sink.table} pattern of the biz helper")
    fx = case.fx
    if call_workflow:
        prepare_call_workflow(case)
    user = domain.oldest_user(fx)
    target = sink.target(fx)
    markers = [case.marker, case.child_marker] if call_workflow else [case.marker]
    for marker in markers:
        sink.delete_marked(fx, target, marker)
    for marker in markers:
        case.on_cleanup(f"delete {sink.table} marked {marker}", lambda m=marker: sink.delete_marked(fx, target, m))
    events = _events(case, pattern, lambda variant: Scope(user_id=user, variant=variant, **{sink.scope_field: target}))
    _post_and_await(case, events, user_id=user, biz=True)

    rows = sink.read(fx, target, newest_limit(case.side_effect(sink.table)))
    what, col = f"{sink.table} of {sink.scope_field} {target}", sink.column
    if call_workflow:
        for marker in markers:
            domain.expect_rows(rows, what, shown=[col], **{col: [marker]})
    elif pattern == "forEach":
        marked = [r for r in rows if domain.contains_all(r, **{col: [case.marker]})]
        keyed = [r for r in marked if domain.contains_all(r, **{col: [events[0].dedupe_key or ""]})]
        domain.expect_rows(keyed or marked, what, at_least=2, shown=[col], **{col: [case.marker]})
    elif pattern == "multiBranch":
        for event in events:
            domain.expect_rows(rows, what, shown=[col], **{col: [case.marker, event.dedupe_key or ""]})
    else:
        domain.expect_rows(rows, what, shown=[col], **{col: [case.marker]})


def run_ticket_comment_fixture(case: Case) -> None:
    _business(case, COMMENTS, case.entry["helper"].get("effectivePattern"), call_workflow=False)


def run_project_task_fixture(case: Case) -> None:
    _business(case, TASKS, case.entry["helper"].get("effectivePattern"), call_workflow=False)


def run_call_workflow_biz_fixture(case: Case) -> None:
    kind = case.entry["helper"]["options"].get("kind")
    if kind not in KIND_SINKS:
        raise UnknownWording(f"unknown runCallWorkflowBizFixture kind {kind!r}")
    _business(case, KIND_SINKS[kind], None, call_workflow=True)


RECIPES: dict[str, Callable[[Case], None]] = {
    "runNotificationFixture": run_notification_fixture,
    "runCallWorkflowFixture": run_call_workflow_fixture,
    "runTicketCommentFixture": run_ticket_comment_fixture,
    "runProjectTaskFixture": run_project_task_fixture,
    "runCallWorkflowBizFixture": run_call_workflow_biz_fixture,
}
