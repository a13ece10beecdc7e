"""``/api/v1/tickets`` against the session sandbox: responses and the rows behind them."""
from __future__ import annotations

import re
import uuid

import pytest

from .v1_helpers import TenantApi, delete_ticket, new_ticket, ticket_refs

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture()
def ticket(acme):
    created = new_ticket(acme)
    yield created
    delete_ticket(acme, created["ticket_id"])


def closed_status(t: TenantApi, board_id: str) -> str:
    row = t.one("SELECT status_id FROM statuses WHERE tenant = %s AND board_id = %s AND status_type = 'ticket' "
                "AND is_closed ORDER BY order_number LIMIT 1", (t.tenant_id, board_id))
    return str(row["status_id"])


def test_create_writes_the_row_and_returns_it(acme):
    attributes = {"fixture_notify_user_ids": [acme.actor_user_id, None], "fixture_is_outage": True,
                  "fixture_priority": "high", "nested": {"n": 1.5, "list": [{"a": []}]}}
    before = acme.one("SELECT last_number FROM next_number WHERE tenant = %s AND entity_type = 'TICKET'",
                      (acme.tenant_id,))["last_number"]
    with acme.http() as http:
        response = http.post("/api/v1/tickets", json={"title": "Fixture REST ticket", **ticket_refs(acme),
                                                      "attributes": attributes, "tags": ["vip"], "unknown": 1})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    try:
        assert data["attributes"] == attributes
        assert data["tags"] == ["vip"] and "unknown" not in data
        assert data["ticket_number"] == f"TIC{before + 1:06d}"
        assert ISO_Z.match(data["entered_at"]) and data["entered_at"] == data["updated_at"]
        row = acme.one("SELECT * FROM tickets WHERE tenant = %s AND ticket_id = %s",
                       (acme.tenant_id, data["ticket_id"]))
        assert row["attributes"] == attributes
        assert str(row["entered_by"]) == acme.actor_user_id
        assert (row["source"], row["ticket_origin"], row["is_closed"]) == ("api", "api", False)
        assert row["title"] == "Fixture REST ticket" and row["ticket_number"] == data["ticket_number"]
        assert {k: str(row[k]) for k in ("client_id", "board_id", "status_id", "priority_id")} == ticket_refs(acme)
    finally:
        delete_ticket(acme, data["ticket_id"])


def test_empty_attributes_are_stored_as_null(acme):
    data = new_ticket(acme, attributes={})
    try:
        assert data["attributes"] is None
        assert acme.one("SELECT attributes FROM tickets WHERE tenant = %s AND ticket_id = %s",
                        (acme.tenant_id, data["ticket_id"]))["attributes"] is None
    finally:
        delete_ticket(acme, data["ticket_id"])


def test_create_validation_reports_zod_issues_and_writes_nothing(acme):
    count = "SELECT count(*) AS n FROM tickets WHERE tenant = %s"
    before = acme.one(count, (acme.tenant_id,))["n"]
    with acme.http() as http:
        missing = http.post("/api/v1/tickets", json={"title": ""})
        wrong = http.post("/api/v1/tickets", json={**ticket_refs(acme), "title": "x" * 256, "board_id": "nope",
                                                   "attributes": [1], "url": "not a url"})
    assert missing.status_code == 400
    error = missing.json()["error"]
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "Validation failed")
    paths = {tuple(issue["path"]): issue for issue in error["details"]}
    assert paths[("title",)]["code"] == "too_small"
    assert {("client_id",), ("board_id",), ("status_id",), ("priority_id",)} <= set(paths)
    assert paths[("client_id",)]["message"] == "Required"
    codes = {tuple(i["path"]): i["code"] for i in wrong.json()["error"]["details"]}
    assert codes == {("title",): "too_big", ("board_id",): "invalid_string", ("attributes",): "invalid_type",
                     ("url",): "invalid_string"}
    assert acme.one(count, (acme.tenant_id,))["n"] == before


def test_status_must_belong_to_the_board(acme):
    refs = ticket_refs(acme)
    other_board = acme.one("SELECT board_id FROM boards WHERE tenant = %s AND board_id <> %s LIMIT 1",
                           (acme.tenant_id, refs["board_id"]))["board_id"]
    with acme.http() as http:
        response = http.post("/api/v1/tickets", json={**refs, "title": "wrong board", "board_id": str(other_board)})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"path": ["status_id"], "message": f"status_id {refs['status_id']} does not belong to board_id {other_board}"}]


def test_unknown_reference_is_a_bad_request(acme):
    with acme.http() as http:
        response = http.post("/api/v1/tickets", json={**ticket_refs(acme), "title": "x",
                                                      "client_id": str(uuid.uuid4())})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid reference"


def test_get_returns_the_ticket_with_names(acme, ticket):
    with acme.http() as http:
        found = http.get(f"/api/v1/tickets/{ticket['ticket_id'].upper()}")
        missing = http.get(f"/api/v1/tickets/{uuid.uuid4()}")
        malformed = http.get("/api/v1/tickets/123")
    assert found.status_code == 200
    data = found.json()["data"]
    assert data["ticket_id"] == ticket["ticket_id"] and data["description_html"] == "<p></p>"
    assert data["board_name"] and data["status_name"] and data["client_name"] and data["priority_name"]
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "NOT_FOUND", "message": "ticket not found"}}
    assert malformed.status_code == 400
    assert malformed.json()["error"]["message"] == "Invalid ticket ID format"


def test_description_html_renders_the_description_as_one_escaped_paragraph(acme):
    ticket_id = new_ticket(acme, attributes={"description": "Line <1> & 'two'\nLine 2"})["ticket_id"]
    try:
        with acme.http() as http:
            data = http.get(f"/api/v1/tickets/{ticket_id}").json()["data"]
        assert data["description_html"] == "<p>Line &lt;1&gt; &amp; &#39;two&#39;\nLine 2</p>"
    finally:
        delete_ticket(acme, ticket_id)


def test_list_paginates_newest_first(acme, ticket):
    with acme.http() as http:
        first = http.get("/api/v1/tickets", params={"limit": 1})
        filtered = http.get("/api/v1/tickets", params={"client_id": ticket["client_id"], "limit": 100})
        bad = http.get("/api/v1/tickets", params={"limit": 1000, "page": 0, "board_id": "x"})
    body = first.json()
    assert first.status_code == 200 and len(body["data"]) == 1
    total = acme.one("SELECT count(*) AS n FROM tickets WHERE tenant = %s", (acme.tenant_id,))["n"]
    assert body["pagination"] == {"page": 1, "limit": 1, "total": total, "totalPages": total,
                                  "hasNext": total > 1, "hasPrev": False}
    newest = acme.one("SELECT ticket_id FROM tickets WHERE tenant = %s ORDER BY entered_at DESC LIMIT 1",
                      (acme.tenant_id,))
    assert body["data"][0]["ticket_id"] == str(newest["ticket_id"])
    assert ticket["ticket_id"] in [t["ticket_id"] for t in filtered.json()["data"]]
    assert all(t["client_id"] == ticket["client_id"] for t in filtered.json()["data"])
    assert bad.status_code == 400
    assert {tuple(i["path"]) for i in bad.json()["error"]["details"]} == {("page",), ("limit",), ("board_id",)}


def test_update_writes_given_columns_and_who_updated(acme, ticket):
    high = acme.one("SELECT priority_id FROM priorities WHERE tenant = %s ORDER BY order_number DESC LIMIT 1",
                    (acme.tenant_id,))["priority_id"]
    with acme.http() as http:
        response = http.put(f"/api/v1/tickets/{ticket['ticket_id']}", json={"priority_id": str(high)})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["priority_id"] == str(high) and data["updated_by"] == acme.actor_user_id
    assert "description_html" in data and data["updated_at"] > ticket["updated_at"]
    row = acme.one("SELECT * FROM tickets WHERE tenant = %s AND ticket_id = %s", (acme.tenant_id, ticket["ticket_id"]))
    assert str(row["priority_id"]) == str(high) and row["title"] == ticket["title"]


def test_closing_and_reopening_keep_the_close_columns_in_step(acme, ticket):
    closed = closed_status(acme, ticket["board_id"])
    query = "SELECT is_closed, closed_at, closed_by FROM tickets WHERE tenant = %s AND ticket_id = %s"
    with acme.http() as http:
        assert http.put(f"/api/v1/tickets/{ticket['ticket_id']}", json={"status_id": closed}).status_code == 200
        row = acme.one(query, (acme.tenant_id, ticket["ticket_id"]))
        assert row["is_closed"] and row["closed_at"] is not None and str(row["closed_by"]) == acme.actor_user_id
        reopened = http.put(f"/api/v1/tickets/{ticket['ticket_id']}", json={"status_id": ticket["status_id"]})
        assert reopened.status_code == 200
    assert acme.one(query, (acme.tenant_id, ticket["ticket_id"])) == {"is_closed": False, "closed_at": None,
                                                                      "closed_by": None}


def test_update_rules(acme, ticket):
    other_board = acme.one("SELECT board_id FROM boards WHERE tenant = %s AND board_id <> %s LIMIT 1",
                           (acme.tenant_id, ticket["board_id"]))["board_id"]
    path = f"/api/v1/tickets/{ticket['ticket_id']}"
    with acme.http() as http:
        board_only = http.put(path, json={"board_id": str(other_board)})
        foreign_status = http.put(path, json={"board_id": str(other_board),
                                              "status_id": closed_status(acme, ticket["board_id"])})
        suppression = http.put(path, json={"suppressInternalNotifications": True})
        wrong_type = http.put(path, json={"title": 5})
        missing = http.put(f"/api/v1/tickets/{uuid.uuid4()}", json={"title": "x"})
    assert board_only.status_code == 400
    assert "requires selecting a status" in board_only.json()["error"]["details"][0]["message"]
    assert foreign_status.status_code == 400
    assert foreign_status.json()["error"]["details"] == [
        {"path": ["status_id"], "message": "Invalid status: selected status does not belong to the selected board"}]
    assert suppression.status_code == 400 and wrong_type.status_code == 400
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    row = acme.one("SELECT board_id, title FROM tickets WHERE tenant = %s AND ticket_id = %s",
                   (acme.tenant_id, ticket["ticket_id"]))
    assert (str(row["board_id"]), row["title"]) == (ticket["board_id"], ticket["title"])


def test_delete_removes_the_ticket_and_what_it_owns(acme):
    ticket_id = new_ticket(acme)["ticket_id"]
    thread_id, comment_id, orphan_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    acme.sql("INSERT INTO comment_threads (tenant, thread_id, root_comment_id, ticket_id) VALUES (%s, %s, %s, %s)",
             (acme.tenant_id, thread_id, comment_id, ticket_id))
    for cid, thread in ((comment_id, thread_id), (orphan_id, None)):
        acme.sql("INSERT INTO comments (tenant, comment_id, ticket_id, thread_id, note, is_internal, is_resolution) "
                 "VALUES (%s, %s, %s, %s, 'note', true, false)", (acme.tenant_id, cid, ticket_id, thread))
    acme.sql("INSERT INTO ticket_entity_links (tenant, ticket_id, entity_type, entity_id, link_type) "
             "VALUES (%s, %s, 'project_task', %s, 'project_task')", (acme.tenant_id, ticket_id, uuid.uuid4()))
    with acme.http() as http:
        response = http.delete(f"/api/v1/tickets/{ticket_id}")
        again = http.delete(f"/api/v1/tickets/{ticket_id}")
    assert response.status_code == 204 and response.content == b""
    assert again.status_code == 404
    for table in ("tickets", "comments", "comment_threads", "ticket_entity_links"):
        assert acme.sql(f"SELECT 1 FROM {table} WHERE tenant = %s AND ticket_id = %s",
                        (acme.tenant_id, ticket_id)) == []
