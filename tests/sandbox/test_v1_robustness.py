"""Malformed input to ``/api/v1`` gets AlgaPSA's answer in the v1 error envelope: the base controllers
read an unparseable body as ``{}`` (``req.json().catch(() => ({}))``), so creates refuse it and writes nothing,
while an update with nothing to change succeeds."""
from __future__ import annotations

import json
import uuid

import pytest

from .v1_helpers import TenantApi, delete_ticket, new_ticket

BAD_BODIES = {
    "not json": b"{title:",
    "truncated": b'{"title": "x"',
    "array": b"[1, 2]",
    "string": b'"ticket"',
    "number": b"42",
    "null": b"null",
    "nested too deeply": b"[" * 100_000 + b"]" * 100_000,
    "oversized": b'{"title": "' + b"x" * 1_100_000 + b'"}',
    "not utf-8": b'{"title": "\xff\xfe"}',
    "wrong types": json.dumps({"title": ["x"], "client_id": 1, "board_id": True, "status_id": {},
                               "priority_id": None, "attributes": "x", "tags": "x", "project_name": 3,
                               "create_default_phase": "true", "budgeted_hours": "1"}).encode(),
}


@pytest.fixture(scope="module")
def seeded_ticket(acme) -> str:
    return str(acme.one("SELECT ticket_id FROM tickets WHERE tenant = %s ORDER BY entered_at LIMIT 1",
                        (acme.tenant_id,))["ticket_id"])


def counts(t: TenantApi) -> dict:
    return t.one("SELECT (SELECT count(*) FROM tickets WHERE tenant = %(t)s) AS tickets, "
                 "(SELECT count(*) FROM projects WHERE tenant = %(t)s) AS projects, "
                 "(SELECT max(updated_at) FROM tickets WHERE tenant = %(t)s) AS touched", {"t": t.tenant_id})


def assert_v1_client_error(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    error = response.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)


# bodies the update route reads as {} (not JSON) or decodes with replacement characters, as Node does
READ_ANYWAY = {"not json": {}, "truncated": {}, "not utf-8": {"title": "\ufffd\ufffd"}}


REFUSED = [(method, path, name) for method, path in (("POST", "/api/v1/tickets"), ("PUT", "/api/v1/tickets/{ticket}"),
                                                     ("POST", "/api/v1/projects"))
           for name in BAD_BODIES if not (method == "PUT" and name in READ_ANYWAY)]


@pytest.mark.parametrize("method,path,name", REFUSED)
def test_malformed_bodies_are_rejected(acme, seeded_ticket, method, path, name):
    before = counts(acme)
    with acme.http(**{"content-type": "application/json"}) as http:
        response = http.request(method, path.format(ticket=seeded_ticket), content=BAD_BODIES[name])
    assert_v1_client_error(response)
    assert counts(acme) == before


@pytest.mark.parametrize("name", READ_ANYWAY)
def test_update_reads_unparseable_bodies_like_algapsa(acme, name):
    ticket = new_ticket(acme)
    try:
        with acme.http(**{"content-type": "application/json"}) as http:
            response = http.put(f"/api/v1/tickets/{ticket['ticket_id']}", content=BAD_BODIES[name])
        assert response.status_code == 200, response.text
        assert response.json()["data"]["title"] == READ_ANYWAY[name].get("title", ticket["title"])
    finally:
        delete_ticket(acme, ticket["ticket_id"])


def test_error_codes_for_the_body_family(acme):
    with acme.http(**{"content-type": "application/json"}) as http:
        oversized = http.post("/api/v1/tickets", content=BAD_BODIES["oversized"])
        broken = http.post("/api/v1/tickets", content=BAD_BODIES["not json"])
        empty = http.post("/api/v1/projects", content=b"")
    assert oversized.status_code == 413 and oversized.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert broken.status_code == 400 and broken.json()["error"]["message"] == "Validation failed"
    assert empty.status_code == 400 and empty.json()["error"]["message"] == "Validation failed"


@pytest.mark.parametrize("query", [{"limit": "abc"}, {"limit": "0"}, {"limit": "\u00b2"}, {"page": "-1"},
                                   {"client_id": "'; drop table tickets; --"}])
def test_malformed_queries_are_rejected(acme, query):
    with acme.http() as http:
        for path in ("/api/v1/tickets", "/api/v1/projects"):
            assert_v1_client_error(http.get(path, params=query))


def test_a_page_past_any_offset_is_a_server_error(acme):
    with acme.http() as http:
        response = http.get("/api/v1/tickets", params={"page": str(10 ** 20)})
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}}


def test_unknown_routes_and_methods_use_the_v1_envelope(acme):
    with acme.http() as http:
        newline_id = http.get(f"/api/v1/tickets/{uuid.uuid4()}%0A")
        unknown = http.get("/api/v1/widgets")
        method = http.patch("/api/v1/projects")
    assert newline_id.status_code == 400
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND"
    assert method.status_code == 405 and "error" in method.json()
