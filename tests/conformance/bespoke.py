"""The corpus's bespoke tests (``helper: null``), one function each, doing exactly the steps their
catalog entries spell out: setup, trigger, run lookup, side-effect checks, cleanup registrations.

Generic expectations (``runStatus``, ``errorCheck``, ``stepChecks``, ``httpError``, ``noRunCheck``)
are checked by :class:`~.case.Case`; the functions here check the entry's ``sideEffects``.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from . import domain
from .case import Case
from .expectations import newest_limit
from .payloads import iso_timestamp

SYSTEM_USER = "00000000-0000-0000-0000-000000000000"
REQUESTER_EMAIL = "fixture.requester@example.com"


BESPOKE: dict[str, Callable[[Case], None]] = {}


def bespoke(fn: Callable[[Case], None]) -> Callable[[Case], None]:
    """Register ``fn`` as the test of the catalog entry named like it (underscores as hyphens)."""
    BESPOKE[fn.__name__.replace("_", "-")] = fn
    return fn


def _uuid() -> str:
    return str(uuid.uuid4())


def _now_plus(minutes: int) -> str:
    return iso_timestamp(datetime.now(timezone.utc) + timedelta(minutes=minutes))


def _rows(case: Case, table: str, read: Callable[[int], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Read the rows of the entry's next ``table`` side effect, with the row limit its match names."""
    return read(newest_limit(case.side_effect(table)))


def _ticket(case: Case, title: str, *, highest_priority: bool = False, attributes: dict[str, Any] | None = None,
            cleanup: Callable[[str], None] | None = None) -> tuple[domain.TicketRefs, str]:
    """Create the test's ticket through the API and register its cleanup (by default: API delete,
    falling back to the ticket's comments and the ticket row in the DB)."""
    refs = domain.ticket_refs(case.fx, highest_priority=highest_priority)
    ticket_id = domain.create_ticket(case.fx, f"{title} {_uuid()}", refs, attributes)
    remove = cleanup or (lambda tid: domain.delete_ticket(case.fx, tid))
    case.on_cleanup(f"delete ticket {ticket_id}", lambda: remove(ticket_id))
    return refs, ticket_id


def _project(case: Case, client_id: str, name: str, *, remove: Callable[[str], None] | None = None) -> str:
    project_id = domain.create_project(case.fx, client_id, f"{name} {_uuid()}")
    drop = remove or (lambda pid: domain.delete_project(case.fx, pid))
    case.on_cleanup(f"delete project {project_id}", lambda: drop(project_id))
    return project_id


def _notified(case: Case, user_id: str, *, title: list[str], message: list[str]) -> None:
    rows = _rows(case, "internal_notifications", lambda n: domain.notifications(case.fx, user_id, n))
    domain.expect_rows(rows, f"internal_notifications of user {user_id}", shown=("title", "message"),
                       title=title, message=message)


def _commented(case: Case, ticket_id: str, *, internal: bool, note: list[str]) -> None:
    rows = _rows(case, "comments", lambda n: domain.comments(case.fx, ticket_id, n))
    rows = [r for r in rows if r["is_internal"] is internal]
    domain.expect_rows(rows, f"comments of ticket {ticket_id} with is_internal={internal}", shown=("note",), note=note)


def _tasks(case: Case, project_id: str, *, name: list[str]) -> None:
    rows = _rows(case, "project_tasks", lambda n: domain.project_tasks(case.fx, project_id, n))
    domain.expect_rows(rows, f"project_tasks of project {project_id}", shown=("task_name",), task_name=name)


def _noted(case: Case, client_id: str, *, notes: list[str]) -> None:
    rows = _rows(case, "interactions", lambda n: domain.interactions(case.fx, client_id, n))
    domain.expect_rows(rows, f"interactions of client {client_id}", shown=("notes",), notes=notes)


def _ticket_field(case: Case, ticket_id: str, column: str, expected: Any) -> None:
    case.side_effect("tickets")
    actual = domain.ticket_row(case.fx, ticket_id)[column]
    if actual != expected:
        raise AssertionError(f"tickets.{column} of {ticket_id} must be {expected!r}, got {actual!r}")


def _forget_ticket_notifications(case: Case, user_id: str, ticket_id: str) -> None:
    case.on_cleanup(f"delete notifications of {user_id} about {ticket_id}",
                    lambda: domain.delete_notifications(case.fx, user_id, message_like=f"%{ticket_id}%"))


def _event_notify(case: Case, *, id_field: str, make_id: Callable[[], str], extra: dict[str, Any],
                  message: list[str] | None = None) -> None:
    """Post an event carrying a generated id as correlationKey, then expect a notification to the
    oldest user whose message contains that id (no cleanup is registered)."""
    user = domain.oldest_user(case.fx)
    entity_id = make_id()
    payload = {id_field: entity_id, **extra, "fixtureNotifyUserId": user}
    case.post_event(payload, correlation_key=entity_id)
    case.await_run()
    _notified(case, user, title=[case.marker], message=[entity_id, *(message or [])])


# -- scheduling ------------------------------------------------------------------------------------------
@bespoke
def appointment_created_assign_notify(case: Case) -> None:
    fx = case.fx
    tech = domain.technician(fx)
    _, ticket_id = _ticket(case, "Fixture appointment assign",
                           cleanup=lambda tid: domain.delete_ticket(fx, tid, fallback=()))
    appointment_id = _uuid()
    payload = {"appointmentId": appointment_id, "ticketId": ticket_id, "startAt": _now_plus(60),
               "endAt": _now_plus(120), "timezone": "UTC", "assigneeId": tech, "assigneeType": "user"}
    case.post_event(payload, correlation_key=appointment_id)
    case.await_run()
    entries = _rows(case, "schedule_entries", lambda n: domain.ticket_schedule_entries(fx, tech, ticket_id, n))
    found = domain.expect_rows(entries, f"schedule entries of technician {tech} on ticket {ticket_id}",
                               shown=("title",), title=[case.marker, appointment_id])
    entry_id = found[0]["entry_id"]
    case.on_cleanup(f"delete schedule entry {entry_id}", lambda: domain.delete_schedule_entry(fx, entry_id))
    title_like = f"%{case.marker}%appointmentId={appointment_id}%"
    case.on_cleanup("delete the technician's notifications",
                    lambda: domain.delete_notifications(fx, tech, title_like=title_like))
    _notified(case, tech, title=[case.marker], message=[ticket_id])


@bespoke
def schedule_block_created(case: Case) -> None:
    fx = case.fx
    client, user = domain.oldest_client(fx), domain.oldest_user(fx)
    project_id = _project(case, client, "Fixture schedule block")
    block_id = _uuid()
    case.on_cleanup("delete notifications", lambda: domain.delete_notifications(
        fx, user, either_like=f"%{case.marker}%{block_id}%"))
    payload = {"scheduleBlockId": block_id, "ownerId": user, "ownerType": "user", "startAt": _now_plus(30),
               "endAt": _now_plus(90), "timezone": "UTC", "fixtureProjectId": project_id, "fixtureNotifyUserId": user}
    case.post_event(payload, correlation_key=block_id)
    case.await_run()
    _tasks(case, project_id, name=[case.marker, block_id])
    _notified(case, user, title=[case.marker], message=[block_id])


# -- billing -----------------------------------------------------------------------------------------------
@bespoke
def contract_created_onboarding_task(case: Case) -> None:
    fx = case.fx
    client, user = domain.oldest_client(fx), domain.oldest_user(fx)
    domain.ensure_default_project_status(fx, user)
    project_id = _project(case, client, "Fixture contract onboarding")
    contract_id = _uuid()
    pattern = f"%{case.marker}%{contract_id}%"
    case.on_cleanup("delete interactions", lambda: domain.delete_interactions(fx, client, pattern))
    case.on_cleanup("delete notifications", lambda: domain.delete_notifications(fx, user, either_like=pattern))
    payload = {"contractId": contract_id, "clientId": client, "status": "Active", "fixtureProjectId": project_id,
               "fixtureNotifyUserId": user}
    case.post_event(payload, correlation_key=contract_id)
    case.await_run()
    _tasks(case, project_id, name=[case.marker, contract_id])
    _noted(case, client, notes=[case.marker, contract_id])
    _notified(case, user, title=[case.marker], message=[contract_id])


@bespoke
def invoice_generated_review_task(case: Case) -> None:
    fx = case.fx
    client, user = domain.oldest_client(fx), domain.oldest_user(fx)
    project_id = _project(case, client, "Fixture billing review")
    invoice_id = _uuid()
    case.on_cleanup("delete notifications", lambda: domain.delete_notifications(
        fx, user, either_like=f"%{case.marker}%{invoice_id}%"))
    payload = {"invoiceId": invoice_id, "clientId": client, "totalAmount": "100.00", "status": "Draft",
               "fixtureProjectId": project_id, "fixtureNotifyUserId": user}
    case.post_event(payload, correlation_key=invoice_id)
    case.await_run()
    _tasks(case, project_id, name=[case.marker, invoice_id])
    _notified(case, user, title=[case.marker], message=[invoice_id])


@bespoke
def payment_recorded_notify(case: Case) -> None:
    _event_notify(case, id_field="paymentId", make_id=_uuid, message=["42.00"],
                  extra={"amount": "42.00", "currency": "USD", "method": "wire"})


# -- email and integrations ---------------------------------------------------------------------------------
@bespoke
def email_inbound_received_ticket_comment(case: Case) -> None:
    fx = case.fx
    _, ticket_id = _ticket(case, "Fixture inbound email", cleanup=lambda tid: domain.delete_ticket(fx, tid, api=False))
    email_id, subject = _uuid(), f"Fixture inbound email subject {_uuid()}"
    payload = {"providerId": "fixture-provider", "fixtureTicketId": ticket_id,
               "emailData": {"id": email_id, "from": {"email": "sender@example.com", "name": "Fixture Sender"},
                             "subject": subject, "body": {"text": "Fixture email body"}}}
    case.post_event(payload, correlation_key=email_id)
    case.await_run()
    _commented(case, ticket_id, internal=True, note=[case.marker, email_id, subject])


@bespoke
def email_provider_connected_notify(case: Case) -> None:
    _event_notify(case, id_field="providerId", make_id=lambda: f"fixture-provider-{_uuid()}",
                  extra={"providerType": "google", "providerName": "Fixture Provider",
                         "mailbox": "fixture-mailbox@example.com", "connectedAt": _now_plus(0)})


@bespoke
def integration_sync_failed_notify(case: Case) -> None:
    _event_notify(case, id_field="syncId", make_id=lambda: f"fixture-sync-{_uuid()}",
                  extra={"integrationId": _uuid(), "provider": "fixture", "errorMessage": "fixture sync failed",
                         "retryable": True})


@bespoke
def integration_webhook_received_notify(case: Case) -> None:
    _event_notify(case, id_field="webhookId", make_id=lambda: f"fixture-webhook-{_uuid()}",
                  extra={"integrationId": _uuid(), "provider": "fixture", "eventName": "fixture.updated"})


# -- projects ----------------------------------------------------------------------------------------------
@bespoke
def project_created_kickoff_tasks(case: Case) -> None:
    fx = case.fx
    project_id = _project(case, domain.oldest_client(fx), "Fixture kickoff",
                          remove=lambda pid: domain.delete_project(fx, pid, api=False))
    key = _uuid()
    case.post_event({"projectId": project_id, "fixtureName": case.name, "correlationKey": key}, correlation_key=key)
    case.await_run()
    _tasks(case, project_id, name=[case.marker])


# -- runtime and schema --------------------------------------------------------------------------------------
def _bare_ticket_event(case: Case, **extra: Any) -> None:
    ticket_id = _uuid()
    case.post_event({"ticketId": ticket_id, **extra, "updatedFields": [], "changes": {}}, correlation_key=ticket_id)
    case.await_run()


@bespoke
def runtime_paused_no_run(case: Case) -> None:
    _bare_ticket_event(case)


@bespoke
def ticket_created_hello(case: Case) -> None:
    _bare_ticket_event(case)


@bespoke
def ticket_created_ignore_system(case: Case) -> None:
    _bare_ticket_event(case, createdByUserId=SYSTEM_USER)


@bespoke
def schema_invalid_event_payload(case: Case) -> None:
    case.post_event({"updatedFields": [], "changes": {}}, correlation_key=_uuid())


@bespoke
def schema_unknown_schema_ref(case: Case) -> None:
    case.post_event({"ticketId": _uuid(), "updatedFields": [], "changes": {}}, correlation_key=_uuid())


# -- tickets created through the API (the server's TICKET_CREATED starts the run) ----------------------------
@bespoke
def ticket_created_assign_invalid_fails(case: Case) -> None:
    _ticket(case, "Fixture negative assign", attributes={"fixture_bad_assignee_user_id": _uuid()})
    case.await_run()


@bespoke
def ticket_created_assign_trycatch(case: Case) -> None:
    user = domain.oldest_user(case.fx)
    _, ticket_id = _ticket(case, "Fixture assign trycatch",
                           attributes={"fixture_notify_user_id": user, "fixture_bad_assignee_user_id": _uuid()})
    case.await_run()
    _commented(case, ticket_id, internal=True, note=[case.marker, ticket_id])


@bespoke
def ticket_created_auto_assign_by_priority(case: Case) -> None:
    user = domain.oldest_user(case.fx)
    _, ticket_id = _ticket(case, "Fixture auto-assign", highest_priority=True,
                           attributes={"fixture_priority": "high", "fixture_assignee_user_id": user})
    case.await_run()
    _ticket_field(case, ticket_id, "assigned_to", user)
    _commented(case, ticket_id, internal=True, note=[case.marker])


@bespoke
def ticket_created_create_project_task(case: Case) -> None:
    fx = case.fx
    project_id = _project(case, domain.oldest_client(fx), "Fixture onboarding project",
                          remove=lambda pid: domain.delete_project_with_dependencies(fx, pid))
    _, ticket_id = _ticket(case, "Fixture onboarding ticket", attributes={"fixture_project_id": project_id},
                           cleanup=lambda tid: domain.delete_ticket(fx, tid,
                                                                    fallback=("project_ticket_links", "comments")))
    case.await_run()
    _tasks(case, project_id, name=[case.marker, ticket_id])


@bespoke
def ticket_created_notify_multiple(case: Case) -> None:
    fx = case.fx
    users = domain.oldest_users(fx, 2)
    _, ticket_id = _ticket(case, "Fixture notify multiple", attributes={"fixture_notify_user_ids": users})
    for user in users:
        _forget_ticket_notifications(case, user, ticket_id)
    case.await_run()
    limit = newest_limit(case.side_effect("internal_notifications"))
    for user in users:
        domain.expect_rows(domain.notifications(fx, user, limit), f"internal_notifications of user {user}",
                           shown=("title", "message"), title=[case.marker], message=[ticket_id])


@bespoke
def ticket_created_outage_escalate(case: Case) -> None:
    user = domain.oldest_user(case.fx)
    _, ticket_id = _ticket(case, "Fixture outage",
                           attributes={"fixture_is_outage": True, "fixture_notify_user_id": user})
    _forget_ticket_notifications(case, user, ticket_id)
    case.await_run()
    case.side_effect("tickets")
    attributes = domain.ticket_row(case.fx, ticket_id)["attributes"]
    if not isinstance(attributes, dict) or attributes.get("fixture_escalated") is not True:
        raise AssertionError(f"tickets.attributes of {ticket_id} must have fixture_escalated === true: {attributes!r}")
    _notified(case, user, title=[case.marker], message=[ticket_id])


@bespoke
def ticket_created_triage_comment(case: Case) -> None:
    _, ticket_id = _ticket(case, "Fixture triage comment")
    case.await_run()
    _commented(case, ticket_id, internal=True, note=[case.marker])


@bespoke
def ticket_created_vip_notify(case: Case) -> None:
    user = domain.oldest_user(case.fx)
    _, ticket_id = _ticket(case, "Fixture VIP notify",
                           attributes={"fixture_is_vip": True, "fixture_notify_user_id": user})
    _forget_ticket_notifications(case, user, ticket_id)
    case.await_run()
    _notified(case, user, title=[case.marker], message=[ticket_id])


# -- ticket events posted for a ticket created in setup ----------------------------------------------------
@bespoke
def ticket_assigned_acknowledge(case: Case) -> None:
    domain.ensure_email_settings(case.fx)
    _, ticket_id = _ticket(case, "Fixture assigned acknowledge", highest_priority=True)
    payload = {"ticketId": ticket_id, "updatedFields": [], "changes": {}, "fixtureRequesterEmail": REQUESTER_EMAIL}
    case.post_event(payload, correlation_key=ticket_id)
    case.await_run()
    _commented(case, ticket_id, internal=False, note=[case.marker])


@bespoke
def ticket_escalated_crm_note(case: Case) -> None:
    fx = case.fx
    refs, ticket_id = _ticket(case, "Fixture escalated crm note", highest_priority=True)
    user = domain.oldest_user(fx)
    case.on_cleanup("delete interactions", lambda: domain.delete_interactions(fx, refs.client_id, f"%{ticket_id}%"))
    _forget_ticket_notifications(case, user, ticket_id)
    payload = {"ticketId": ticket_id, "fromQueueId": _uuid(), "toQueueId": _uuid(), "fixtureClientId": refs.client_id,
               "fixtureNotifyUserId": user}
    case.post_event(payload, correlation_key=ticket_id)
    case.await_run()
    _noted(case, refs.client_id, notes=[case.marker, ticket_id])
    _notified(case, user, title=[case.marker], message=[ticket_id])


@bespoke
def ticket_priority_changed_audit_comment(case: Case) -> None:
    fx = case.fx
    low, high = domain.priority(fx, highest=False), domain.priority(fx, highest=True)
    _, ticket_id = _ticket(case, "Fixture priority audit")  # ticket_refs picks the lowest priority
    fx.api.put(f"/api/v1/tickets/{ticket_id}", {"priority_id": high})
    payload = {"ticketId": ticket_id, "previousPriorityId": low, "newPriorityId": high}
    case.post_event(payload, correlation_key=ticket_id)
    case.await_run()
    _commented(case, ticket_id, internal=True, note=[case.marker])


@bespoke
def ticket_queue_after_hours_email(case: Case) -> None:
    fx = case.fx
    domain.ensure_email_settings(fx)
    refs, ticket_id = _ticket(case, "Fixture after-hours queue", highest_priority=True,
                              cleanup=lambda tid: domain.delete_ticket(fx, tid, fallback=None))
    payload = {"ticketId": ticket_id, "previousBoardId": _uuid(), "newBoardId": refs.board_id,
               "fixtureAfterHoursBoardId": refs.board_id, "fixtureOnCallEmail": "oncall@example.com"}
    case.post_event(payload, correlation_key=ticket_id)
    case.await_run()


@bespoke
def ticket_reopened_notify_tech(case: Case) -> None:
    refs, ticket_id = _ticket(case, "Fixture reopened notify", highest_priority=True)
    user = domain.oldest_user(case.fx)
    _forget_ticket_notifications(case, user, ticket_id)
    payload = {"ticketId": ticket_id, "previousStatusId": _uuid(), "newStatusId": refs.status_id,
               "fixtureNotifyUserId": user}
    case.post_event(payload, correlation_key=ticket_id)
    case.await_run()
    _commented(case, ticket_id, internal=True, note=[case.marker])
    _notified(case, user, title=[case.marker], message=[ticket_id])


@bespoke
def ticket_status_waiting_on_customer_reminder(case: Case) -> None:
    domain.ensure_email_settings(case.fx)
    refs, ticket_id = _ticket(case, "Fixture waiting reminder", highest_priority=True)
    payload = {"ticketId": ticket_id, "previousStatusId": _uuid(), "newStatusId": refs.status_id,
               "fixtureWaitingStatusId": refs.status_id, "fixtureRequesterEmail": REQUESTER_EMAIL}
    case.post_event(payload, correlation_key=ticket_id)
    (follow_up,) = case.entry["trigger"]["followUpEvents"]
    case.post_event({"ticketId": ticket_id, "timeEntryId": _uuid(), "minutes": 1, "billable": False},
                    correlation_key=ticket_id, event_name=follow_up["eventName"],
                    schema_ref=follow_up["payloadSchemaRef"])
    case.await_run()


@bespoke
def ticket_tags_billing_route(case: Case) -> None:
    refs, ticket_id = _ticket(case, "Fixture billing tag route", highest_priority=True)
    user = domain.oldest_user(case.fx)
    _forget_ticket_notifications(case, user, ticket_id)
    tag = _uuid()
    payload = {"ticketId": ticket_id, "addedTagIds": [tag], "removedTagIds": [], "fixtureBillingTagId": tag,
               "fixtureBillingStatusId": refs.status_id, "fixtureNotifyUserId": user}
    case.post_event(payload, correlation_key=ticket_id)
    case.await_run()
    _ticket_field(case, ticket_id, "status_id", refs.status_id)
    _notified(case, user, title=[case.marker], message=[ticket_id])


@bespoke
def ticket_unassigned_return_to_triage(case: Case) -> None:
    refs, ticket_id = _ticket(case, "Fixture unassigned triage", highest_priority=True)
    user = domain.oldest_user(case.fx)
    _forget_ticket_notifications(case, user, ticket_id)
    payload = {"ticketId": ticket_id, "previousAssigneeId": user, "previousAssigneeType": "user",
               "fixtureTriageStatusId": refs.status_id, "fixtureNotifyUserId": user}
    case.post_event(payload, correlation_key=ticket_id)
    case.await_run()
    _ticket_field(case, ticket_id, "status_id", refs.status_id)
    _notified(case, user, title=[case.marker], message=[ticket_id])
