"""REST writes → domain events → workflow runs (http-and-db.md §7.1, §7.2, §7.7).

Event ingestion inserts the event row and every run it starts in one transaction before the REST
response is sent, so right after a response, workflows without a run were never started.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from .v1_helpers import (
    TenantApi,
    delete_ticket,
    event_workflows,
    eventually,
    new_ticket,
    runs_of,
)

WORKFLOWS = {  # name -> (trigger event, pinned ref, paused)
    "created": ("TICKET_CREATED", "payload.TicketCreated.v1", False),
    "paused": ("TICKET_CREATED", "payload.TicketCreated.v1", True),
    "other-ref": ("TICKET_CREATED", "payload.TicketUpdated.v1", False),
    "updated": ("TICKET_UPDATED", "payload.TicketUpdated.v1", False),
    "closed": ("TICKET_CLOSED", "payload.TicketClosed.v1", False),
    "project": ("PROJECT_CREATED", "payload.ProjectCreated.v1", False),
}


@pytest.fixture(scope="module")
def workflows(acme):
    with event_workflows(acme, "test.v1-events", WORKFLOWS) as ids:
        yield ids


@pytest.fixture()
def ticket(acme):
    created = new_ticket(acme, attributes={"fixture_is_vip": True})
    yield created
    delete_ticket(acme, created["ticket_id"])


def inputs(acme: TenantApi, workflow_id: str) -> list[dict]:
    return [run["input_json"] for run in runs_of(acme, workflow_id)]


def test_rest_ticket_creation_starts_matching_published_workflows(acme, workflows):
    before = datetime.now(timezone.utc)
    ticket = new_ticket(acme)
    try:
        [run] = runs_of(acme, workflows["created"])
        assert run["started_at"] >= before
        assert (run["event_type"], run["source_payload_schema_ref"]) == ("TICKET_CREATED", "payload.TicketCreated.v1")
        payload = run["input_json"]
        assert payload["ticketId"] == ticket["ticket_id"]
        assert payload["createdByUserId"] == payload["actorUserId"] == payload["userId"] == acme.actor_user_id
        assert (payload["tenantId"], payload["actorType"], payload["source"]) == (acme.tenant_id, "USER", "api")
        assert payload["createdAt"] == ticket["entered_at"] and payload["occurredAt"].endswith("Z")
        assert {k: payload[k] for k in ("board_id", "priority_id", "client_id")} == {
            k: ticket[k] for k in ("board_id", "priority_id", "client_id")}
        assert runs_of(acme, workflows["paused"]) == [], "a paused workflow must not start"
        assert runs_of(acme, workflows["other-ref"]) == [], "the workflow's ref must equal the catalog ref"
        assert runs_of(acme, workflows["updated"]) == []

        event = acme.one("SELECT * FROM workflow_runtime_events WHERE tenant = %s AND event_name = 'TICKET_CREATED' "
                         "AND payload->>'ticketId' = %s", (acme.tenant_id, ticket["ticket_id"]))
        assert event["payload_schema_ref"] == "payload.TicketCreated.v1"
        assert event["correlation_key"] == ticket["ticket_id"] and event["processed_at"] is not None
        assert event["error_message"] is None and event["payload"] == payload
        done = eventually(lambda: [r for r in runs_of(acme, workflows["created"]) if r["status"] == "SUCCEEDED"])
        assert done[0]["run_id"] == run["run_id"]
    finally:
        delete_ticket(acme, ticket["ticket_id"])


def test_unpausing_lets_the_next_ticket_start_the_workflow(acme, workflows):
    acme.sql("UPDATE workflow_definitions SET is_paused = false WHERE workflow_id = %s", (workflows["paused"],))
    try:
        ticket = new_ticket(acme)
        delete_ticket(acme, ticket["ticket_id"])
        assert [p["ticketId"] for p in inputs(acme, workflows["paused"])] == [ticket["ticket_id"]]
    finally:
        acme.sql("UPDATE workflow_definitions SET is_paused = true WHERE workflow_id = %s", (workflows["paused"],))


def test_rest_update_publishes_ticket_updated_and_closed(acme, workflows, ticket):
    high = str(acme.one("SELECT priority_id FROM priorities WHERE tenant = %s ORDER BY order_number DESC LIMIT 1",
                        (acme.tenant_id,))["priority_id"])
    closed = str(acme.one("SELECT status_id FROM statuses WHERE tenant = %s AND board_id = %s AND is_closed "
                          "AND status_type = 'ticket' LIMIT 1", (acme.tenant_id, ticket["board_id"]))["status_id"])
    path = f"/api/v1/tickets/{ticket['ticket_id']}"
    with acme.http() as http:
        assert http.put(path, json={"priority_id": high}).status_code == 200
        [updated] = [p for p in inputs(acme, workflows["updated"]) if p["ticketId"] == ticket["ticket_id"]]
        assert updated["changes"] == {"priority_id": {"old": ticket["priority_id"], "new": high}}
        assert updated["updatedByUserId"] == acme.actor_user_id and updated["tenantId"] == acme.tenant_id
        assert updated["suppressContactNotifications"] is False
        assert inputs(acme, workflows["closed"]) == []

        closing = http.put(path, json={"status_id": closed, "suppressContactNotifications": True}).json()["data"]
    [closed_payload] = inputs(acme, workflows["closed"])
    assert closed_payload["ticketId"] == ticket["ticket_id"] and closed_payload["closedByUserId"] == acme.actor_user_id
    assert closed_payload["closedAt"] == closing["closed_at"]
    assert closed_payload["suppressContactNotifications"] is True
    changes = [p["changes"] for p in inputs(acme, workflows["updated"]) if p["ticketId"] == ticket["ticket_id"]]
    assert changes[-1] == {"status_id": {"old": ticket["status_id"], "new": closed}}


def test_rest_project_creation_starts_no_run(acme, workflows):
    client_id = acme.one("SELECT client_id FROM clients WHERE tenant = %s ORDER BY created_at LIMIT 1",
                         (acme.tenant_id,))["client_id"]
    with acme.http() as http:
        response = http.post("/api/v1/projects", json={"client_id": str(client_id), "project_name": "No run",
                                                       "create_default_phase": True})
    project_id = response.json()["data"]["project_id"]
    try:
        assert response.status_code == 201
        assert runs_of(acme, workflows["project"]) == []
        assert acme.sql("SELECT 1 FROM workflow_runtime_events WHERE tenant = %s AND payload->>'projectId' = %s",
                        (acme.tenant_id, project_id)) == []
    finally:
        acme.sql("DELETE FROM projects WHERE tenant = %s AND project_id = %s", (acme.tenant_id, project_id))
