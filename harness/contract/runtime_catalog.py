"""What Workflow Runtime V2 offers a workflow, as the contract documents it: the node types it executes,
the business actions with the error codes each documents, and the events AlgaPSA's REST routes publish.

These are facts of AlgaPSA (runtime.md §1 and §4, http-and-db.md §7), shared by the kit's coverage
report and checked against the sandbox by its tests.
"""
from __future__ import annotations

NODE_TYPES = ("action.call", "state.set", "transform.assign", "event.wait", "control.if", "control.forEach",
              "control.tryCatch", "control.callWorkflow", "control.return")

_REFUSED = "INTERNAL_ERROR"  # any action: input its schema refuses fails as "action.call failed" (runtime.md §3.7.1)

ACTION_ERRORS: dict[str, tuple[str, ...]] = {
    "notifications.send_in_app": ("VALIDATION_ERROR", "NOT_FOUND", _REFUSED),
    "projects.create_task": ("VALIDATION_ERROR", "NOT_FOUND", _REFUSED),
    "tickets.add_comment": ("NOT_FOUND", _REFUSED),
    "tickets.find": ("NOT_FOUND", _REFUSED),
    "tickets.assign": ("NOT_FOUND", _REFUSED),
    "email.send": ("VALIDATION_ERROR", "NOT_FOUND", "TRANSIENT_FAILURE", "RATE_LIMITED", _REFUSED),
    "tickets.update_fields": ("VALIDATION_ERROR", "NOT_FOUND", "CONFLICT", _REFUSED),
    "crm.create_activity_note": ("VALIDATION_ERROR", "NOT_FOUND", _REFUSED),
    "scheduling.assign_user": ("VALIDATION_ERROR", "NOT_FOUND", "PERMISSION_DENIED", "CONFLICT", _REFUSED),
    "tickets.create": ("VALIDATION_ERROR", _REFUSED),
    "tickets.close": ("VALIDATION_ERROR", "NOT_FOUND", "CONFLICT", _REFUSED),
    "tickets.link_entities": ("NOT_FOUND", "CONFLICT", _REFUSED),
    "tickets.add_attachment": ("VALIDATION_ERROR", "NOT_FOUND", "TRANSIENT_FAILURE", _REFUSED),
    "contacts.find": ("VALIDATION_ERROR", "NOT_FOUND", _REFUSED),
    "clients.find": ("NOT_FOUND", _REFUSED),
    "clients.search": ("VALIDATION_ERROR", _REFUSED),
    "contacts.search": ("VALIDATION_ERROR", _REFUSED),
    "time.create_entry": ("VALIDATION_ERROR", "NOT_FOUND", "PERMISSION_DENIED", _REFUSED),
}
"""Each business action (all version 1) and the error codes it can fail with: those its contract section
documents, and ``INTERNAL_ERROR`` for input its schema refuses."""

SUCCESS = "success"
UNASSERTABLE: dict[tuple[str, str], str] = {
    ("email.send", "RATE_LIMITED"): "documented, but no email provider AlgaPSA sends through raises a rate-limit "
                                    "error code, so no target can produce it",
    ("contacts.search", SUCCESS): "AlgaPSA's query reads a contacts column it has dropped, so every search fails",
}
"""Outcomes no fixture can make happen (an error code, or ``SUCCESS``), each with the reason."""

REST_EVENTS: dict[str, frozenset[str]] = {
    "tickets": frozenset({"TICKET_CREATED", "TICKET_UPDATED", "TICKET_CLOSED", "TICKET_COMMENT_ADDED"}),
    "projects": frozenset({"PROJECT_CREATED", "PROJECT_UPDATED", "PROJECT_STATUS_CHANGED", "PROJECT_ASSIGNED",
                           "PROJECT_TASK_CREATED", "PROJECT_TASK_ASSIGNED", "PROJECT_TASK_STATUS_CHANGED",
                           "PROJECT_TASK_COMPLETED"}),
    "schedules": frozenset({"SCHEDULE_ENTRY_CREATED", "SCHEDULE_ENTRY_UPDATED", "SCHEDULE_ENTRY_DELETED"}),
}
"""The events each ``/api/v1`` resource publishes when a person changes it."""
