"""Tenancy and authentication: nothing of one tenant is readable or writable with the other's
credentials, and requests without usable credentials get 401 on every route."""
from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from contextlib import contextmanager
from typing import Iterator

import httpx
import pytest

from .v1_helpers import (
    TenantApi,
    delete_ticket,
    drop_workflows,
    import_workflow,
    new_ticket,
    runs_of,
    tenant_api,
    ticket_refs,
    tiny_bundle,
)

PUBLIC_PATHS = re.compile(r"^(/healthz|/__sandbox/.*)$")


@pytest.fixture(scope="module")
def globex(sandbox_state) -> TenantApi:
    return tenant_api(sandbox_state, 1)


@contextmanager
def extra_key(t: TenantApi, user_id: str, **columns) -> Iterator[str]:
    """A further API key of the tenant (plaintext yielded), removed afterwards."""
    plaintext = "test_" + secrets.token_urlsafe(16)
    values = {"tenant": t.tenant_id, "user_id": user_id, "api_key": hashlib.sha256(plaintext.encode()).hexdigest(),
              **columns}
    t.sql(f"INSERT INTO api_keys ({', '.join(values)}) VALUES ({', '.join(['%s'] * len(values))})",
          tuple(values.values()))
    try:
        yield plaintext
    finally:
        t.sql("DELETE FROM api_keys WHERE api_key = %s", (values["api_key"],))


def user_where(t: TenantApi, condition: str) -> str:
    return str(t.one(f"SELECT user_id FROM users WHERE tenant = %s AND {condition} ORDER BY created_at LIMIT 1",
                     (t.tenant_id,))["user_id"])


def probe(t: TenantApi, key: str) -> tuple[int, int]:
    """Status of one v1 read and one workflow-route read with ``key`` (no session)."""
    with httpx.Client(base_url=t.base_url, headers={"x-api-key": key, "x-tenant-id": t.tenant_id}) as http:
        v1 = http.get("/api/v1/tickets", params={"limit": 1}).status_code
        workflow = http.get(f"/api/workflow-definitions/{uuid.uuid4()}/export").status_code
    return v1, workflow


# --- authentication ----------------------------------------------------------------------------
def test_every_route_refuses_requests_without_usable_credentials(acme):
    spec = httpx.get(f"{acme.base_url}/__sandbox/openapi.json").json()
    routes = [(method.upper(), path) for path, methods in spec["paths"].items() for method in methods
              if not PUBLIC_PATHS.match(path)]
    assert any(p.startswith("/api/v1/") for _, p in routes) and any(p.startswith("/api/workflow") for _, p in routes)
    attempts = {"nothing": {}, "tenant only": {"x-tenant-id": acme.tenant_id},
                "unknown key": {"x-api-key": "sbx_not-a-key", "x-tenant-id": acme.tenant_id},
                "unknown session": {"cookie": "authjs.session-token=forged", "x-tenant-id": acme.tenant_id}}
    with httpx.Client(base_url=acme.base_url) as http:
        for method, path in routes:
            url = re.sub(r"\{version\}", "1", re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path))
            for name, headers in attempts.items():
                response = http.request(method, url, headers=headers, json={})
                assert response.status_code == 401, (method, path, name, response.text)
                assert "error" in response.json()


def test_the_key_must_belong_to_the_named_tenant(acme, globex):
    for key, tenant in ((acme.api_key, globex.tenant_id), (globex.api_key, acme.tenant_id)):
        with httpx.Client(base_url=acme.base_url, headers={"x-api-key": key, "x-tenant-id": tenant}) as http:
            v1 = http.get("/api/v1/tickets")
            events = http.post("/api/workflow/events", json={"eventName": "TICKET_CREATED", "correlationKey": "k",
                                                              "payload": {"ticketId": str(uuid.uuid4())}})
        assert v1.status_code == 401 and v1.json() == {"error": {"code": "UNAUTHORIZED", "message": "Invalid API key"}}
        assert events.status_code == 401
    with httpx.Client(base_url=acme.base_url, headers={"cookie": globex.session_cookie,
                                                       "x-tenant-id": acme.tenant_id}) as http:
        assert http.get(f"/api/workflow-definitions/{uuid.uuid4()}/export").status_code == 401
    with httpx.Client(base_url=acme.base_url, headers={"x-api-key": acme.api_key}) as http:
        assert http.get("/api/v1/tickets").status_code == 200, "without x-tenant-id the key names its tenant"


def test_v1_refuses_session_cookies(acme):
    with httpx.Client(base_url=acme.base_url, headers={"cookie": acme.session_cookie,
                                                       "x-tenant-id": acme.tenant_id}) as http:
        response = http.get("/api/v1/tickets")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "UNAUTHORIZED", "message": "API key required"}}


def test_keys_of_inactive_or_client_users_and_dead_keys_are_refused(acme):
    cases = [
        (user_where(acme, "is_inactive"), {}),
        (user_where(acme, "user_type = 'client'"), {}),
        (acme.actor_user_id, {"expires_at": "2020-01-01T00:00:00Z"}),
        (acme.actor_user_id, {"active": False}),
    ]
    for user_id, columns in cases:
        with extra_key(acme, user_id, **columns) as key:
            assert probe(acme, key) == (401, 401), (user_id, columns)
    with extra_key(acme, acme.actor_user_id, expires_at="2999-01-01T00:00:00Z") as key:
        assert probe(acme, key) == (200, 404)
        used = acme.one("SELECT last_used_at, usage_count FROM api_keys WHERE api_key = %s",
                        (hashlib.sha256(key.encode()).hexdigest(),))
        assert used["last_used_at"] is not None and used["usage_count"] == 2


def test_usage_limit_deactivates_the_key(acme):
    with extra_key(acme, acme.actor_user_id, usage_limit=3) as key:
        assert probe(acme, key) == (200, 404)
        with httpx.Client(base_url=acme.base_url, headers={"x-api-key": key}) as http:
            assert http.get("/api/v1/tickets").status_code == 200
            assert http.get("/api/v1/tickets").status_code == 401
        row = acme.one("SELECT active, usage_count FROM api_keys WHERE api_key = %s",
                       (hashlib.sha256(key.encode()).hexdigest(),))
        assert row == {"active": False, "usage_count": 3}


def test_suspended_tenant_keys_are_refused(globex):
    globex.sql("UPDATE tenants SET suspended_at = now() WHERE tenant = %s", (globex.tenant_id,))
    try:
        assert probe(globex, globex.api_key) == (401, 401)
    finally:
        globex.sql("UPDATE tenants SET suspended_at = NULL WHERE tenant = %s", (globex.tenant_id,))
    assert probe(globex, globex.api_key) == (200, 404)


def test_permissions_come_from_the_key_users_roles(acme):
    technician = user_where(acme, "username LIKE '%%tech%%' AND NOT is_inactive")
    with extra_key(acme, technician) as key, \
            httpx.Client(base_url=acme.base_url, headers={"x-api-key": key}) as http:
        assert http.get("/api/v1/tickets").status_code == 200
        refused = http.post("/api/v1/tickets", json={"title": "not allowed", **ticket_refs(acme)})
        assert http.delete(f"/api/v1/projects/{uuid.uuid4()}").status_code == 403
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"


# --- /api/v1 isolation ----------------------------------------------------------------------
def test_v1_records_of_one_tenant_are_invisible_to_the_other(acme, globex):
    ticket = new_ticket(acme)
    with acme.http() as http:
        project = http.post("/api/v1/projects", json={"client_id": ticket["client_id"], "project_name": "Acme only",
                                                      "create_default_phase": True}).json()["data"]
    entry_id = str(uuid.uuid4())
    acme.sql("INSERT INTO schedule_entries (tenant, entry_id, title, status, work_item_type) "
             "VALUES (%s, %s, 'Acme only', 'scheduled', 'ad_hoc')", (acme.tenant_id, entry_id))
    try:
        with globex.http() as http:
            for path in (f"/api/v1/tickets/{ticket['ticket_id']}", f"/api/v1/projects/{project['project_id']}",
                         f"/api/v1/schedules/{entry_id}"):
                assert http.get(path).status_code == 404, path
                assert http.delete(path).status_code == 404, path
            assert http.put(f"/api/v1/tickets/{ticket['ticket_id']}", json={"title": "hijacked"}).status_code == 404
            listed = http.get("/api/v1/tickets", params={"limit": 100}).json()["data"]
            projects = http.get("/api/v1/projects", params={"limit": 100}).json()["data"]
        assert all(t["tenant"] == globex.tenant_id for t in listed + projects)
        assert ticket["ticket_id"] not in [t["ticket_id"] for t in listed]
        row = acme.one("SELECT title, tenant FROM tickets WHERE ticket_id = %s", (ticket["ticket_id"],))
        assert (row["title"], str(row["tenant"])) == (ticket["title"], acme.tenant_id)
        assert acme.one("SELECT 1 AS x FROM projects WHERE project_id = %s", (project["project_id"],)) == {"x": 1}
        assert acme.one("SELECT 1 AS x FROM schedule_entries WHERE entry_id = %s", (entry_id,)) == {"x": 1}
    finally:
        delete_ticket(acme, ticket["ticket_id"])
        acme.sql("DELETE FROM projects WHERE project_id = %s", (project["project_id"],))
        acme.sql("DELETE FROM schedule_entries WHERE entry_id = %s", (entry_id,))


def test_v1_writes_cannot_reference_the_other_tenants_rows(acme, globex):
    count = "SELECT count(*) AS n FROM tickets"
    before = acme.one(count)["n"]
    with globex.http() as http:
        ticket = http.post("/api/v1/tickets", json={"title": "cross", **ticket_refs(acme)})
        project = http.post("/api/v1/projects", json={"client_id": ticket_refs(acme)["client_id"],
                                                      "project_name": "cross"})
    assert ticket.status_code == 400 and project.status_code == 400
    assert project.json()["error"]["message"] == "Invalid reference"
    assert acme.one(count)["n"] == before
    assert globex.sql("SELECT 1 FROM projects WHERE tenant = %s AND project_name = 'cross'", (globex.tenant_id,)) == []


# --- workflows: import/export and events ---------------------------------------------------
@pytest.fixture()
def shared_key_workflows(acme, globex):
    """The same bundle key imported in both tenants; both workflows removed afterwards."""
    key = f"test.tenancy.{uuid.uuid4().hex[:8]}"
    ids = {"acme": import_workflow(acme, tiny_bundle(key)), "key": key}
    yield ids
    drop_workflows(acme, [ids["acme"]])
    if "globex" in ids:
        drop_workflows(globex, [ids["globex"]])


def test_export_and_import_stay_within_the_tenant(acme, globex, shared_key_workflows):
    acme_id = shared_key_workflows["acme"]
    stamp = "SELECT tenant, updated_at, key FROM workflow_definitions WHERE workflow_id = %s"
    before = acme.one(stamp, (acme_id,))
    with globex.http() as http:
        assert http.get(f"/api/workflow-definitions/{acme_id}/export").status_code == 404
    with httpx.Client(base_url=globex.base_url, headers={"cookie": globex.session_cookie}) as http:
        assert http.get(f"/api/workflow-definitions/{acme_id}/export").status_code == 404
    globex_id = shared_key_workflows["globex"] = import_workflow(globex, tiny_bundle(shared_key_workflows["key"]))
    assert globex_id != acme_id
    assert str(globex.one(stamp, (globex_id,))["tenant"]) == globex.tenant_id
    assert acme.one(stamp, (acme_id,)) == before
    with acme.http() as http:
        assert http.get(f"/api/workflow-definitions/{acme_id}/export").status_code == 200
        assert http.get(f"/api/workflow-definitions/{globex_id}/export").status_code == 404


def test_events_of_one_tenant_never_start_or_resume_the_others_runs(acme, globex, shared_key_workflows):
    acme_id = shared_key_workflows["acme"]
    waiting_run, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    acme.sql("INSERT INTO workflow_runs (run_id, tenant, workflow_id, workflow_version, status, node_path) "
             "VALUES (%s, %s, %s, 1, 'WAITING', 'root.steps[0]')", (waiting_run, acme.tenant_id, acme_id))
    acme.sql("INSERT INTO workflow_run_waits (tenant, run_id, step_path, wait_type, key, event_name, status) "
             "VALUES (%s, %s, 'root.steps[0]', 'event', %s, 'TICKET_CREATED', 'WAITING')",
             (acme.tenant_id, waiting_run, correlation))
    with globex.http() as http:
        response = http.post("/api/workflow/events", json={
            "eventName": "TICKET_CREATED", "correlationKey": correlation,
            "payloadSchemaRef": "payload.TicketCreated.v1", "payload": {"ticketId": correlation}})
    globex_ticket = new_ticket(globex)
    delete_ticket(globex, globex_ticket["ticket_id"])
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "no_wait" and response.json()["runId"] is None
    assert [r["run_id"] for r in runs_of(acme, acme_id)] == [uuid.UUID(waiting_run)]
    assert runs_of(acme, acme_id)[0]["status"] == "WAITING"
    assert acme.one("SELECT status FROM workflow_run_waits WHERE run_id = %s", (waiting_run,)) == {"status": "WAITING"}
    event = globex.one("SELECT tenant FROM workflow_runtime_events WHERE event_id = %s", (response.json()["eventId"],))
    assert str(event["tenant"]) == globex.tenant_id
