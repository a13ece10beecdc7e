"""``GET /api/v1/tickets`` filters, sort, fields and meta; ``/tickets/search``; ``/tickets/stats``."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from .v1_helpers import TenantApi, delete_ticket, new_ticket


@pytest.fixture(scope="module")
def marked(acme):
    """Three tickets whose titles share a marker: alpha (assigned, high priority), beta (closed), gamma
    (another client)."""
    marker = uuid.uuid4().hex
    high = str(acme.one("SELECT priority_id FROM priorities WHERE tenant = %s AND item_type = 'ticket' "
                        "ORDER BY order_number DESC LIMIT 1", (acme.tenant_id,))["priority_id"])
    other_client = str(acme.one("SELECT client_id FROM clients WHERE tenant = %s ORDER BY created_at DESC LIMIT 1",
                                (acme.tenant_id,))["client_id"])
    tickets = {"alpha": new_ticket(acme, title=f"{marker} alpha", assigned_to=acme.actor_user_id, priority_id=high),
               "beta": new_ticket(acme, title=f"{marker} beta"),
               "gamma": new_ticket(acme, title=f"{marker} gamma", client_id=other_client)}
    closed = acme.one("SELECT status_id FROM statuses WHERE tenant = %s AND board_id = %s AND is_closed "
                      "AND status_type = 'ticket' LIMIT 1", (acme.tenant_id, tickets["beta"]["board_id"]))
    with acme.http() as http:
        response = http.put(f"/api/v1/tickets/{tickets['beta']['ticket_id']}/status",
                            json={"status_id": str(closed["status_id"])})
    assert response.status_code == 200, response.text
    yield marker, tickets
    for ticket in tickets.values():
        delete_ticket(acme, ticket["ticket_id"])


def titles(acme: TenantApi, marker: str, **params) -> list[str]:
    with acme.http() as http:
        response = http.get("/api/v1/tickets", params={"title": marker, "limit": 100, **params})
    assert response.status_code == 200, response.text
    return [t["title"].split(" ")[1] for t in response.json()["data"]]


def names(ticket_ids: dict, rows: list[dict]) -> set[str]:
    return {name for name, t in ticket_ids.items() if t["ticket_id"] in {r["ticket_id"] for r in rows}}


def test_filters_select_what_algapsa_selects(acme, marked):
    marker, tickets = marked
    alpha = tickets["alpha"]
    board = acme.one("SELECT board_name FROM boards WHERE tenant = %s AND board_id = %s",
                     (acme.tenant_id, alpha["board_id"]))["board_name"]
    client = acme.one("SELECT client_name FROM clients WHERE tenant = %s AND client_id = %s",
                      (acme.tenant_id, tickets["gamma"]["client_id"]))["client_name"]
    closed = str(acme.one("SELECT status_id FROM tickets WHERE tenant = %s AND ticket_id = %s",
                          (acme.tenant_id, tickets["beta"]["ticket_id"]))["status_id"])
    now = datetime.now(timezone.utc)
    later = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    expectations = [
        ({}, {"alpha", "beta", "gamma"}),
        ({"title": marker.upper()}, {"alpha", "beta", "gamma"}),  # ILIKE
        ({"ticket_number": alpha["ticket_number"]}, {"alpha"}),
        ({"is_open": "true"}, {"alpha", "gamma"}), ({"is_open": "false"}, {"alpha", "beta", "gamma"}),
        ({"is_closed": "true"}, {"beta"}),
        ({"has_assignment": "true"}, {"alpha"}), ({"has_assignment": "false"}, {"beta", "gamma"}),
        ({"assigned_to": acme.actor_user_id}, {"alpha"}), ({"priority_id": alpha["priority_id"]}, {"alpha"}),
        ({"status_ids": f"{alpha['status_id']},{uuid.uuid4()}"}, {"alpha", "gamma"}),
        ({"status_ids": json.dumps([closed])}, {"beta"}),
        ({"client_id": tickets["gamma"]["client_id"]}, {"gamma"}), ({"client_name": client}, {"gamma"}),
        ({"client_name": client.lower()}, set()),  # name filters are exact
        ({"board_name": board}, {"alpha", "beta", "gamma"}), ({"entered_by": acme.actor_user_id},
                                                              {"alpha", "beta", "gamma"}),
        ({"search": f"{marker} GAM"}, {"gamma"}), ({"search": alpha["ticket_number"]}, {"alpha"}),
        ({"entered_from": earlier, "entered_to": later}, {"alpha", "beta", "gamma"}),
        ({"created_to": earlier}, set()), ({"updated_from": later}, set()),
        ({"closed_from": earlier}, {"beta"}),
        ({"category_name": "Hardware"}, set()), ({"tags": "vip"}, set()), ({"tags": " , "}, {"alpha", "beta", "gamma"}),
        ({"is_active": "false", "unknown_key": "x"}, {"alpha", "beta", "gamma"}),
    ]
    for params, expected in expectations:
        assert set(titles(acme, marker, **params)) == expected, params


def test_sort_order_and_meta(acme, marked):
    marker, _ = marked
    assert titles(acme, marker, sort="title", order="asc") == ["alpha", "beta", "gamma"]
    assert titles(acme, marker, sort="title", order="desc") == ["gamma", "beta", "alpha"]
    assert titles(acme, marker, order="asc") == ["alpha", "beta", "gamma"]  # created_at = entered_at
    assert titles(acme, marker, sort="client_name", order="asc")[0] == "gamma"  # Fabrikam before Northwind
    with acme.http() as http:
        body = http.get("/api/v1/tickets", params={"title": marker, "is_open": "true", "status_ids": "[]",
                                                   "tags": "A, b", "limit": 2, "page": 2, "sort": "title"}).json()
    assert body["meta"] == {"sort": "title", "order": "desc",
                            "filters": {"title": marker, "status_ids": [], "is_open": True, "tags": ["a", "b"]}}
    assert body["pagination"] == {"page": 2, "limit": 2, "total": 0, "totalPages": 0, "hasNext": False,
                                  "hasPrev": True}
    with acme.http() as http:
        page = http.get("/api/v1/tickets", params={"title": marker, "limit": 2, "page": 2, "sort": "title",
                                                   "order": "asc"}).json()
    assert [t["title"].split(" ")[1] for t in page["data"]] == ["gamma"]
    assert page["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2, "hasNext": False,
                                  "hasPrev": True}


def test_rows_carry_algapsa_list_columns(acme, marked):
    marker, tickets = marked
    with acme.http() as http:
        full = http.get("/api/v1/tickets", params={"ticket_number": tickets["alpha"]["ticket_number"]}).json()
        chosen = http.get("/api/v1/tickets", params={"title": marker, "fields": "title, status_name,title"}).json()
        mobile = http.get("/api/v1/tickets", params={"title": marker, "fields": "mobile_list"}).json()
    [row] = full["data"]
    assert row["assigned_to_name"] == "Alex Admin" and row["entered_by_name"] == "Alex Admin"
    assert row["category_name"] is None and row["status_is_closed"] is False
    assert {"client_name", "contact_name", "status_name", "priority_name", "board_name"} <= set(row)
    assert list(chosen["data"][0]) == ["title", "status_name", "ticket_id", "status_id", "entered_by",
                                       "assigned_to", "client_id", "board_id", "assigned_team_id"]
    assert mobile["data"][0]["tags"] == [] and "closed_at" in mobile["data"][0]


def test_bad_list_queries(acme):
    bad = {"board_id": "nope", "is_open": "yes", "entered_from": "2026-01-01", "order": "up", "page": "x",
           "limit": "101", "status_ids": f"{uuid.uuid4()},nope"}
    with acme.http() as http:
        refused = http.get("/api/v1/tickets", params=bad)
        unknown_field = http.get("/api/v1/tickets", params={"fields": "title,secret"})
        unknown_sort = http.get("/api/v1/tickets", params={"sort": "no_such_column"})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "Query validation failed")
    issues = {tuple(i["path"]): (i["code"], i["message"]) for i in error["details"]}
    assert issues == {
        ("page",): ("invalid_type", "Expected number, received nan"),
        ("limit",): ("too_big", "Number must be less than or equal to 100"),
        ("order",): ("invalid_enum_value", "Invalid enum value. Expected 'asc' | 'desc', received 'up'"),
        ("board_id",): ("invalid_string", "Invalid uuid"), ("status_ids", 1): ("invalid_string", "Invalid uuid"),
        ("is_open",): ("custom", "Invalid boolean value"), ("entered_from",): ("invalid_string", "Invalid datetime")}
    assert [tuple(i["path"]) for i in error["details"]][:3] == [("page",), ("limit",), ("order",)]  # zod key order
    assert unknown_field.status_code == 400
    assert unknown_field.json() == {"error": {"code": "VALIDATION_ERROR",
                                              "message": "Unknown fields requested: secret"}}
    assert unknown_sort.status_code == 500
    assert unknown_sort.json() == {"error": {"code": "INTERNAL_CONFIGURATION", "message": (
        "The server is misconfigured for this operation. Please contact support.")}}


def test_search(acme, marked):
    marker, tickets = marked
    client = acme.one("SELECT client_name FROM clients WHERE tenant = %s AND client_id = %s",
                      (acme.tenant_id, tickets["gamma"]["client_id"]))["client_name"]
    with acme.http() as http:
        def found(**params) -> set[str]:
            response = http.get("/api/v1/tickets/search", params=params)
            assert response.status_code == 200, response.text
            return names(tickets, response.json()["data"])

        assert found(query=marker) == {"alpha", "gamma"}  # closed tickets only on request
        assert found(query=marker, include_closed="true") == {"alpha", "beta", "gamma"}
        assert found(query=marker, include_closed="true", limit="1") == {"gamma"}  # newest first
        assert found(query=client, fields="client_name") == {"gamma"}
        assert found(query=marker, fields="client_name,contact_name") == set()
        assert found(query=marker, assigned_to_ids=acme.actor_user_id) == {"alpha"}
        assert found(query=marker, client_ids=json.dumps([tickets["gamma"]["client_id"]])) == {"gamma"}
        missing = http.get("/api/v1/tickets/search")
        bad = http.get("/api/v1/tickets/search", params={"query": "", "fields": "title,secret", "limit": "0",
                                                         "status_ids": "nope"})
    assert missing.status_code == 400 and missing.json()["error"]["details"] == [
        {"code": "invalid_type", "expected": "string", "received": "undefined", "path": ["query"],
         "message": "Required"}]
    issues = {tuple(i["path"]): i for i in bad.json()["error"]["details"]}
    assert issues[("query",)]["message"] == "Search query is required"
    assert issues[("fields",)]["code"] == "invalid_union" and issues[("fields",)]["message"] == "Invalid input"
    assert issues[("status_ids", 0)]["code"] == "invalid_string" and issues[("limit",)]["code"] == "too_small"
    row = [t for t in found_rows(acme, marker) if t["ticket_id"] == tickets["alpha"]["ticket_id"]][0]
    assert {"client_name", "contact_name", "status_name", "status_is_closed"} <= set(row)


def found_rows(acme: TenantApi, marker: str) -> list[dict]:
    with acme.http() as http:
        return http.get("/api/v1/tickets/search", params={"query": marker}).json()["data"]


def test_stats_count_every_ticket(acme, marked):
    _, tickets = marked
    with acme.http() as http:
        response = http.get("/api/v1/tickets/stats")
    assert response.status_code == 200
    stats = response.json()["data"]
    rows = acme.sql("SELECT t.status_id, t.assigned_to, s.is_closed, p.priority_name, b.board_name, t.entered_at "
                    "FROM tickets t LEFT JOIN statuses s ON s.tenant = t.tenant AND s.status_id = t.status_id "
                    "LEFT JOIN priorities p ON p.tenant = t.tenant AND p.priority_id = t.priority_id "
                    "LEFT JOIN boards b ON b.tenant = t.tenant AND b.board_id = t.board_id WHERE t.tenant = %s",
                    (acme.tenant_id,))
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    assert stats["total_tickets"] == len(rows) and stats["overdue_tickets"] == 0
    assert stats["closed_tickets"] == sum(1 for r in rows if r["is_closed"] is True)
    assert stats["open_tickets"] == sum(1 for r in rows if r["is_closed"] is False)
    assert stats["unassigned_tickets"] == sum(1 for r in rows if r["assigned_to"] is None)
    assert stats["tickets_by_status"][tickets["alpha"]["status_id"]] >= 2
    assert sum(stats["tickets_by_priority"].values()) == sum(stats["tickets_by_board"].values()) == len(rows)
    assert stats["tickets_by_category"] == {}
    assert stats["tickets_created_today"] == sum(1 for r in rows if r["entered_at"] >= today) >= 3
    assert stats["tickets_created_this_month"] >= stats["tickets_created_this_week"] >= stats["tickets_created_today"]
    assert list(stats) == ["total_tickets", "open_tickets", "closed_tickets", "unassigned_tickets", "overdue_tickets",
                           "tickets_by_status", "tickets_by_priority", "tickets_by_category", "tickets_by_board",
                           "tickets_created_today", "tickets_created_this_week", "tickets_created_this_month"]
