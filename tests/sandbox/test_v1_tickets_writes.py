"""``/api/v1/tickets/{id}/status``, ``/assignment``, ``/comments`` and delete: rows, responses, errors,
the domain events they publish and the workflow runs those start."""
from __future__ import annotations

import hashlib
import secrets
import uuid

import httpx
import pytest

from .v1_helpers import (
    TenantApi,
    delete_ticket,
    event_workflows,
    new_ticket,
    runs_of,
)

WORKFLOWS = {"updated": ("TICKET_UPDATED", "payload.TicketUpdated.v1"),
             "closed": ("TICKET_CLOSED", "payload.TicketClosed.v1"),
             "comment": ("TICKET_COMMENT_ADDED", "payload.TicketCommentAdded.v1")}
ROUTES = [("GET", "/api/v1/tickets", "read"), ("GET", "/api/v1/tickets/search?query=x", "read"),
          ("GET", "/api/v1/tickets/stats", "read"), ("GET", "/api/v1/tickets/{id}/comments", "read"),
          ("POST", "/api/v1/tickets/{id}/comments", "update"), ("PUT", "/api/v1/tickets/{id}/status", "update"),
          ("PUT", "/api/v1/tickets/{id}/assignment", "update")]


@pytest.fixture(scope="module")
def workflows(acme):
    with event_workflows(acme, "test.v1-ticket-writes", WORKFLOWS) as ids:
        yield ids


@pytest.fixture()
def ticket(acme):
    created = new_ticket(acme)
    yield created
    delete_ticket(acme, created["ticket_id"])


@pytest.fixture(scope="module")
def roleless_key(acme):
    """An API key of an internal user without any role."""
    user_id, plaintext = str(uuid.uuid4()), "test_" + secrets.token_urlsafe(16)
    acme.sql("INSERT INTO users (tenant, user_id, username, email, hashed_password) VALUES (%s, %s, %s, %s, 'x')",
             (acme.tenant_id, user_id, f"norole-{user_id}", f"{user_id}@acme.test"))
    acme.sql("INSERT INTO api_keys (tenant, user_id, api_key) VALUES (%s, %s, %s)",
             (acme.tenant_id, user_id, hashlib.sha256(plaintext.encode()).hexdigest()))
    yield plaintext
    acme.sql("DELETE FROM users WHERE tenant = %s AND user_id = %s", (acme.tenant_id, user_id))


def payloads(acme: TenantApi, workflow_id: str, ticket_id: str) -> list[dict]:
    return [r["input_json"] for r in runs_of(acme, workflow_id) if r["input_json"]["ticketId"] == ticket_id]


def status_of(acme: TenantApi, board_id: str, *, closed: bool) -> str:
    return str(acme.one("SELECT status_id FROM statuses WHERE tenant = %s AND board_id = %s AND is_closed = %s "
                        "AND status_type = 'ticket' ORDER BY order_number LIMIT 1",
                        (acme.tenant_id, board_id, closed))["status_id"])


@pytest.mark.parametrize("method,path,action", ROUTES)
def test_routes_need_a_key_and_the_permission(acme, roleless_key, method, path, action):
    path = path.format(id=uuid.uuid4())
    with httpx.Client(base_url=acme.base_url) as http:
        anonymous = http.request(method, path, json={})
        refused = http.request(method, path, json={}, headers={"x-api-key": roleless_key})
    assert anonymous.status_code == 401
    assert anonymous.json() == {"error": {"code": "UNAUTHORIZED", "message": "API key required"}}
    assert refused.status_code == 403
    assert refused.json() == {"error": {"code": "FORBIDDEN", "message": f"Permission denied: Cannot {action} ticket"}}


@pytest.mark.parametrize("method,path", [("GET", "/api/v1/tickets/{id}/comments"),
                                         ("POST", "/api/v1/tickets/{id}/comments"),
                                         ("PUT", "/api/v1/tickets/{id}/status"),
                                         ("PUT", "/api/v1/tickets/{id}/assignment")])
def test_unknown_and_malformed_ticket_ids(acme, ticket, method, path):
    body = {"comment_text": "x"} if "comments" in path else {"status_id": ticket["status_id"]}
    with acme.http() as http:
        missing = http.request(method, path.format(id=uuid.uuid4()), json=body)
        malformed = http.request(method, path.format(id="123"), json=body)
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "NOT_FOUND", "message": "ticket not found"}}
    assert malformed.status_code == 400
    assert malformed.json() == {"error": {"code": "VALIDATION_ERROR", "message": "Invalid ticket ID format"}}


def test_status_closes_the_ticket_and_starts_runs(acme, workflows, ticket):
    closed = status_of(acme, ticket["board_id"], closed=True)
    with acme.http() as http:
        response = http.put(f"/api/v1/tickets/{ticket['ticket_id']}/status",
                            json={"status_id": closed.upper(), "suppressContactNotifications": True})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["status_id"], data["is_closed"], data["closed_by"]) == (closed, True, acme.actor_user_id)
    assert data["description_html"] == "<p></p>" and data["updated_by"] == acme.actor_user_id
    [update] = payloads(acme, workflows["updated"], ticket["ticket_id"])
    assert update["changes"] == {"status_id": {"old": ticket["status_id"], "new": closed}}
    assert update["suppressContactNotifications"] is True and update["suppressInternalNotifications"] is False
    [close] = payloads(acme, workflows["closed"], ticket["ticket_id"])
    assert close["closedByUserId"] == acme.actor_user_id and close["closedAt"] == data["closed_at"]


def test_status_validation(acme, ticket):
    other_board_status = acme.one("SELECT status_id FROM statuses WHERE tenant = %s AND board_id <> %s "
                                  "AND status_type = 'ticket' LIMIT 1", (acme.tenant_id, ticket["board_id"]))
    path = f"/api/v1/tickets/{ticket['ticket_id']}/status"
    with acme.http() as http:
        missing = http.put(path, json={"closed_at": "yesterday"})
        foreign = http.put(path, json={"status_id": str(other_board_status["status_id"])})
        suppression = http.put(path, json={"status_id": ticket["status_id"], "suppressInternalNotifications": True})
        broken = http.put(path, content=b"{status_id:", headers={"content-type": "application/json"})
        empty = http.put(path)
    issues = {tuple(i["path"]): i["code"] for i in missing.json()["error"]["details"]}
    assert missing.status_code == 400 and issues == {("status_id",): "invalid_type", ("closed_at",): "invalid_string"}
    assert foreign.status_code == 400 and foreign.json()["error"]["details"] == [
        {"path": ["status_id"], "message": "Invalid status: selected status does not belong to the selected board"}]
    assert suppression.status_code == 400 and suppression.json()["error"]["details"] == [
        {"code": "custom", "path": ["suppressInternalNotifications"],
         "message": "suppressInternalNotifications requires suppressContactNotifications"}]
    for response in (broken, empty):  # a bare req.json() throws, and handleApiError hides why
        assert response.status_code == 500
        assert response.json() == {"error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}}
    row = acme.one("SELECT status_id FROM tickets WHERE tenant = %s AND ticket_id = %s",
                   (acme.tenant_id, ticket["ticket_id"]))
    assert str(row["status_id"]) == ticket["status_id"]


def test_assignment_assigns_and_unassigns(acme, workflows, ticket):
    other = str(acme.one("SELECT user_id FROM users WHERE tenant = %s AND user_id <> %s AND NOT is_inactive "
                         "ORDER BY created_at LIMIT 1", (acme.tenant_id, acme.actor_user_id))["user_id"])
    path = f"/api/v1/tickets/{ticket['ticket_id']}/assignment"
    with acme.http() as http:
        assigned = http.put(path, json={"assigned_to": acme.actor_user_id})
        acme.sql("INSERT INTO ticket_resources (tenant, ticket_id, assigned_to, additional_user_id) "
                 "VALUES (%s, %s, %s, %s)", (acme.tenant_id, ticket["ticket_id"], acme.actor_user_id, other))
        unassigned = http.put(path, json={"assigned_to": None})
        nothing = http.put(path, json={})
        wrong = http.put(path, json={"assigned_to": "me"})
    assert assigned.status_code == 200 and assigned.json()["data"]["assigned_to"] == acme.actor_user_id
    assert unassigned.status_code == 200 and unassigned.json()["data"]["assigned_to"] is None
    assert acme.sql("SELECT 1 FROM ticket_resources WHERE tenant = %s AND ticket_id = %s",
                    (acme.tenant_id, ticket["ticket_id"])) == []
    assert nothing.status_code == 200
    assert wrong.status_code == 400 and wrong.json()["error"]["details"][0]["path"] == ["assigned_to"]
    assert [p["changes"] for p in payloads(acme, workflows["updated"], ticket["ticket_id"])] == [
        {"assigned_to": {"old": None, "new": acme.actor_user_id}},
        {"assigned_to": {"old": acme.actor_user_id, "new": None}}, {}]


def test_add_comment_writes_thread_and_starts_runs(acme, workflows, ticket):
    path = f"/api/v1/tickets/{ticket['ticket_id']}/comments"
    with acme.http() as http:
        created = http.post(path, json={"comment_text": "Checked <cable> & power", "is_internal": True,
                                        "metadata": {"source": "test"}, "unknown": 1})
        comment = created.json()["data"]
        reply = http.post(path, json={"comment_text": "Reply", "parent_comment_id": comment["comment_id"]})
    assert created.status_code == 201, created.text
    assert comment["comment_text"] == "Checked <cable> & power" and comment["note"] == comment["comment_text"]
    assert comment["comment_html"] == "<p>Checked &lt;cable&gt; &amp; power</p>"
    assert (comment["created_by"], comment["is_internal"], comment["is_resolution"]) == (acme.actor_user_id, True,
                                                                                          False)
    assert comment["author_contact_id"] is None and comment["metadata"] == {"source": "test"}
    thread = acme.one("SELECT * FROM comment_threads WHERE tenant = %s AND thread_id = %s",
                      (acme.tenant_id, comment["thread_id"]))
    assert str(thread["root_comment_id"]) == comment["comment_id"] and thread["is_internal"] is True
    assert thread["reply_count"] == 1
    answer = reply.json()["data"]
    assert reply.status_code == 201
    assert (answer["thread_id"], answer["parent_comment_id"], answer["is_internal"]) == (
        comment["thread_id"], comment["comment_id"], True)  # a reply takes its thread's visibility
    row = acme.one("SELECT updated_by FROM tickets WHERE tenant = %s AND ticket_id = %s",
                   (acme.tenant_id, ticket["ticket_id"]))
    assert str(row["updated_by"]) == acme.actor_user_id
    first = payloads(acme, workflows["comment"], ticket["ticket_id"])[0]
    assert first["comment"] == {"id": comment["comment_id"], "content": "Checked <cable> & power",
                                "author": "Alex Admin", "isInternal": True}
    assert first["userId"] == first["actorUserId"] == acme.actor_user_id and first["occurredAt"].endswith("Z")


def test_comment_validation(acme, ticket):
    other = new_ticket(acme)
    try:
        with acme.http() as http:
            foreign_parent = http.post(f"/api/v1/tickets/{other['ticket_id']}/comments",
                                       json={"comment_text": "on the other ticket"}).json()["data"]
            path = f"/api/v1/tickets/{ticket['ticket_id']}/comments"
            empty = http.post(path, json={"comment_text": "", "time_spent": -1})
            long = http.post(path, json={"comment_text": "x" * 5001})
            wrong_parent = http.post(path, json={"comment_text": "x",
                                                 "parent_comment_id": foreign_parent["comment_id"]})
            no_parent = http.post(path, json={"comment_text": "x", "parent_comment_id": str(uuid.uuid4())})
            broken = http.post(path, content=b"not json", headers={"content-type": "application/json"})
    finally:
        delete_ticket(acme, other["ticket_id"])
    assert [(i["path"], i["code"], i["message"]) for i in empty.json()["error"]["details"]] == [
        (["comment_text"], "too_small", "Comment text is required"),
        (["comment_text"], "custom", "Comment text is required"),
        (["time_spent"], "too_small", "Number must be greater than or equal to 0")]
    assert long.json()["error"]["details"][0]["message"] == "Comment text is too long (max 5000 characters)"
    assert wrong_parent.status_code == 400
    assert wrong_parent.json() == {"error": {"code": "VALIDATION_ERROR",
                                             "message": "Parent comment must belong to the same ticket"}}
    assert no_parent.status_code == 404 and no_parent.json()["error"]["message"] == "Parent comment not found"
    assert broken.status_code == 500 and broken.json()["error"]["code"] == "INTERNAL_ERROR"
    assert acme.sql("SELECT 1 FROM comments WHERE tenant = %s AND ticket_id = %s",
                    (acme.tenant_id, ticket["ticket_id"])) == []


def test_list_comments(acme, ticket):
    path = f"/api/v1/tickets/{ticket['ticket_id']}/comments"
    with acme.http() as http:
        ids = [http.post(path, json={"comment_text": f"note {n}"}).json()["data"]["comment_id"] for n in range(3)]
        oldest_first = http.get(path).json()["data"]
        window = http.get(path, params={"order": "desc", "limit": "1", "offset": "1"}).json()["data"]
        markdown = http.get(path, params={"content_format": "markdown", "limit": "1e0"}).json()["data"]
        refused = {name: http.get(path, params={name: value}) for name, value in
                   (("limit", "0"), ("limit", "201"), ("offset", "-1"), ("order", "up"), ("content_format", "html"))}
    assert [c["comment_id"] for c in oldest_first] == ids
    first = oldest_first[0]
    assert first["comment_text"] == "note 0" and first["comment_html"] == "<p>note 0</p>"
    assert (first["created_by_name"], first["reactions"], first["markdown_content"]) == ("Alex Admin", [], None)
    assert [c["comment_id"] for c in window] == [ids[1]]
    assert list(markdown[0]) == ["comment_id", "ticket_id", "markdown_content", "author_type", "is_internal",
                                 "is_resolution", "created_at", "updated_at", "created_by", "created_by_name",
                                 "author_contact_id", "author_contact_name", "thread_id", "parent_comment_id",
                                 "deleted_at"]
    for name, response in refused.items():
        assert response.status_code == 400 and response.json()["error"]["details"][0]["path"] == [name]


def test_delete_cascades_comments_but_not_blocking_records(acme):
    ticket_id = new_ticket(acme)["ticket_id"]
    path = f"/api/v1/tickets/{ticket_id}"
    type_id = acme.one("SELECT type_id FROM system_interaction_types ORDER BY display_order LIMIT 1")["type_id"]
    with acme.http() as http:
        assert http.post(f"{path}/comments", json={"comment_text": "kept until the ticket goes"}).status_code == 201
        acme.sql("INSERT INTO interactions (tenant, type_id, user_id, ticket_id, title) VALUES (%s, %s, %s, %s, 'x')",
                 (acme.tenant_id, type_id, acme.actor_user_id, ticket_id))
        blocked = http.delete(path)
        acme.sql("DELETE FROM interactions WHERE tenant = %s AND ticket_id = %s", (acme.tenant_id, ticket_id))
        deleted = http.delete(path)
        again = http.delete(path)
    assert blocked.status_code == 409
    assert blocked.json()["error"] == {
        "code": "CONFLICT",
        "message": "This ticket has associated records that must be removed or reassigned first: 1 interaction.",
        "details": {"code": "DEPENDENCIES_EXIST",
                    "dependencies": [{"type": "interaction", "count": 1, "label": "interaction"}],
                    "alternatives": [{"action": "archive", "label": "Archive",
                                      "description": "Moves the record out of active use while preserving history.",
                                      "warning": "Archived records are hidden from default views."}]}}
    assert deleted.status_code == 204 and again.status_code == 404
    for table in ("tickets", "comments", "comment_threads"):
        assert acme.sql(f"SELECT 1 FROM {table} WHERE tenant = %s AND ticket_id = %s",
                        (acme.tenant_id, ticket_id)) == []
    event = acme.one("SELECT * FROM workflow_runtime_events WHERE tenant = %s AND event_name = 'TICKET_DELETED' "
                     "AND correlation_key = %s", (acme.tenant_id, ticket_id))
    assert event["payload"]["userId"] == acme.actor_user_id and event["payload_schema_ref"] is None


def test_update_writes_every_body_key_as_a_column(acme, ticket):
    """AlgaPSA writes ``tags`` as a column tickets lack, so the update fails whole; a board move that
    keeps the status is not checked (only a status change is)."""
    other_board = acme.one("SELECT board_id FROM boards WHERE tenant = %s AND board_id <> %s LIMIT 1",
                           (acme.tenant_id, ticket["board_id"]))["board_id"]
    path = f"/api/v1/tickets/{ticket['ticket_id']}"
    with acme.http() as http:
        tagged = http.put(path, json={"title": "retitled", "tags": ["vip"]})
        moved = http.put(path, json={"board_id": str(other_board), "status_id": ticket["status_id"]})
    assert tagged.status_code == 500 and tagged.json()["error"]["code"] == "INTERNAL_CONFIGURATION"
    assert moved.status_code == 200 and moved.json()["data"]["board_id"] == str(other_board)
    row = acme.one("SELECT title FROM tickets WHERE tenant = %s AND ticket_id = %s",
                   (acme.tenant_id, ticket["ticket_id"]))
    assert row["title"] == ticket["title"]
