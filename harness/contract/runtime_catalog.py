"""What Workflow Runtime V2 offers a workflow, as the contract documents it: the node types it executes,
the business actions with the error codes each documents, and the events AlgaPSA's REST routes publish.

These are facts of AlgaPSA (runtime.md §1 and §4, http-and-db.md §7), shared by the kit's coverage
report and checked against the sandbox by its tests.
"""
from __future__ import annotations

NODE_TYPES = ("action.call", "state.set", "transform.assign", "event.wait", "control.if", "control.forEach",
              "control.tryCatch", "control.callWorkflow", "control.return")

_INPUT = "VALIDATION_ERROR"  # every action validates its input (runtime.md §4.1)

ACTION_ERRORS: dict[str, tuple[str, ...]] = {
    "notifications.send_in_app": (_INPUT, "NOT_FOUND"),
    "projects.create_task": (_INPUT, "NOT_FOUND"),
    "tickets.add_comment": (_INPUT, "NOT_FOUND"),
    "tickets.find": (_INPUT, "NOT_FOUND"),
    "tickets.assign": (_INPUT, "NOT_FOUND"),
    "email.send": (_INPUT, "NOT_FOUND", "TRANSIENT_FAILURE", "RATE_LIMITED", "INTERNAL_ERROR"),
    "tickets.update_fields": (_INPUT, "NOT_FOUND", "CONFLICT"),
    "crm.create_activity_note": (_INPUT, "NOT_FOUND", "INTERNAL_ERROR"),
    "scheduling.assign_user": (_INPUT, "NOT_FOUND", "PERMISSION_DENIED", "CONFLICT"),
    "tickets.create": (_INPUT,),
    "tickets.close": (_INPUT, "NOT_FOUND", "CONFLICT", "INTERNAL_ERROR"),
    "tickets.link_entities": (_INPUT, "NOT_FOUND", "CONFLICT"),
    "tickets.add_attachment": (_INPUT, "NOT_FOUND", "TRANSIENT_FAILURE"),
    "contacts.find": (_INPUT, "NOT_FOUND"),
    "clients.find": (_INPUT, "NOT_FOUND"),
    "clients.search": (_INPUT,),
    "contacts.search": (_INPUT,),
    "time.create_entry": (_INPUT, "NOT_FOUND", "PERMISSION_DENIED"),
}
"""Each business action (all version 1) and the error codes its contract section documents."""

REST_EVENTS: dict[str, frozenset[str]] = {
    "tickets": frozenset({"TICKET_CREATED", "TICKET_UPDATED", "TICKET_CLOSED", "TICKET_COMMENT_ADDED"}),
    "projects": frozenset({"PROJECT_CREATED", "PROJECT_UPDATED", "PROJECT_STATUS_CHANGED", "PROJECT_ASSIGNED",
                           "PROJECT_TASK_CREATED", "PROJECT_TASK_ASSIGNED", "PROJECT_TASK_STATUS_CHANGED",
                           "PROJECT_TASK_COMPLETED"}),
    "schedules": frozenset({"SCHEDULE_ENTRY_CREATED", "SCHEDULE_ENTRY_UPDATED", "SCHEDULE_ENTRY_DELETED"}),
}
"""The events each ``/api/v1`` resource publishes when a person changes it."""
