"""``/api/v1/projects`` and ``/api/v1/projects/{id}`` against the session sandbox: responses and rows."""
from __future__ import annotations

import uuid

import pytest

from .test_tenancy import extra_key
from .v1_helpers import TenantApi, ticket_refs


@pytest.fixture()
def created(acme):
    """Projects a test creates, removed afterwards (the schema cascades to their phases and tasks)."""
    ids: list[str] = []
    yield ids
    acme.sql("DELETE FROM projects WHERE tenant = %s AND project_id = ANY(%s::uuid[])", (acme.tenant_id, ids))


def create(t: TenantApi, created: list[str], **body):
    with t.http() as http:
        response = http.post("/api/v1/projects", json={"client_id": ticket_refs(t)["client_id"],
                                                       "project_name": f"Fixture project {uuid.uuid4()}", **body})
    if response.status_code == 201:
        created.append(response.json()["data"]["project_id"])
    return response


def project_status(t: TenantApi, name: str) -> str:
    return str(t.one("SELECT status_id FROM statuses WHERE tenant = %s AND status_type = 'project' AND name = %s",
                     (t.tenant_id, name))["status_id"])


def test_create_with_default_phase(acme, created):
    top = acme.one("SELECT max(wbs_code::int) AS n FROM projects WHERE tenant = %s AND wbs_code ~ '^[0-9]+$'",
                   (acme.tenant_id,))["n"]
    default_status = acme.one("SELECT status_id FROM statuses WHERE tenant = %s AND item_type = 'project' "
                              "AND is_default ORDER BY order_number LIMIT 1", (acme.tenant_id,))["status_id"]
    response = create(acme, created, create_default_phase=True, start_date="2026-02-01T00:00:00Z", tags=["x"])
    assert response.status_code == 201, response.text
    project = response.json()["data"]
    assert project["wbs_code"] == str(top + 1) and project["status"] == str(default_status)
    assert project["project_number"].startswith("PRJ-") and project["start_date"] == "2026-02-01T00:00:00.000Z"
    row = acme.one("SELECT * FROM projects WHERE tenant = %s AND project_id = %s",
                   (acme.tenant_id, project["project_id"]))
    assert row["project_name"] == project["project_name"] and row["is_inactive"] is False
    phases = acme.sql("SELECT * FROM project_phases WHERE tenant = %s AND project_id = %s",
                      (acme.tenant_id, project["project_id"]))
    assert [(p["phase_name"], p["description"], p["status"], p["order_number"], p["wbs_code"]) for p in phases] == [
        ("Initial Phase", "Default project phase", "active", 1, f"{top + 1}.1")]
    assert phases[0]["start_date"] == row["start_date"]

    second = create(acme, created).json()["data"]
    assert second["wbs_code"] == str(top + 2) and second["project_number"] != project["project_number"]
    assert acme.sql("SELECT 1 FROM project_phases WHERE tenant = %s AND project_id = %s",
                    (acme.tenant_id, second["project_id"])) == []


def test_status_by_name_or_any_status_id(acme, created):
    active = project_status(acme, "Active")
    ticket_status = ticket_refs(acme)["status_id"]
    assert create(acme, created, status="in_progress").json()["data"]["status"] == active
    assert create(acme, created, status=active.upper()).json()["data"]["status"] == active
    # AlgaPSA stores any status id it is given; only a missing one fails (its foreign key)
    assert create(acme, created, status=ticket_status).json()["data"]["status"] == ticket_status
    missing = create(acme, created, status=str(uuid.uuid4()))
    unknown_name = create(acme, created, status="cancelled")  # the seed has no 'Cancelled' project status
    assert missing.status_code == 400 and missing.json()["error"]["message"] == "Invalid reference"
    assert unknown_name.status_code == 400
    assert unknown_name.json() == {"error": {"code": "VALIDATION_ERROR", "message": "Invalid status: cancelled"}}


def test_create_validation_and_conflicts(acme, created):
    missing = create(acme, created, project_name="", client_id=None)
    bad = create(acme, created, budgeted_hours=-1, start_date="tomorrow", create_default_phase="yes",
                 project_number="x" * 51)
    assert missing.status_code == 400
    issues = {tuple(i["path"]): i["message"] for i in missing.json()["error"]["details"]}
    assert issues == {("project_name",): "Project name is required", ("client_id",): "Expected string, received null"}
    assert {tuple(i["path"]) for i in bad.json()["error"]["details"]} == {
        ("budgeted_hours",), ("start_date",), ("create_default_phase",), ("project_number",)}
    first = create(acme, created, project_number=f"FIX-{uuid.uuid4().hex[:8]}")
    duplicate = create(acme, created, project_number=first.json()["data"]["project_number"])
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "CONFLICT"


def test_get_and_list_with_meta(acme, created):
    project = create(acme, created, description="needle in the haystack").json()["data"]
    with acme.http() as http:
        found = http.get(f"/api/v1/projects/{project['project_id']}")
        listed = http.get("/api/v1/projects", params={"client_id": project["client_id"], "search": "needle",
                                                      "is_inactive": "false", "sort": "project_name", "order": "asc"})
        bad_order = http.get("/api/v1/projects", params={"order": "sideways"})
        bad_sort = http.get("/api/v1/projects", params={"sort": "no_such_column"})
        malformed = http.get("/api/v1/projects/not-a-uuid")
    assert found.status_code == 200
    assert found.json()["data"]["client_name"] and found.json()["data"]["assigned_user_name"] == " "
    body = listed.json()
    assert [p["project_id"] for p in body["data"]] == [project["project_id"]]
    assert "client_name" not in body["data"][0]
    assert body["pagination"] == {"page": 1, "limit": 25, "total": 1, "totalPages": 1, "hasNext": False,
                                  "hasPrev": False}
    assert body["meta"] == {"sort": "project_name", "order": "asc", "filters": {
        "client_id": project["client_id"], "search": "needle", "is_inactive": False}}
    assert bad_order.status_code == 400 and bad_order.json()["error"]["message"] == "Query validation failed"
    assert bad_sort.status_code == 500 and bad_sort.json()["error"]["code"] == "INTERNAL_CONFIGURATION"
    assert malformed.status_code == 400 and malformed.json()["error"]["message"] == "Invalid project ID format"


def test_update(acme, created):
    project = create(acme, created, budgeted_hours=10).json()["data"]
    path = f"/api/v1/projects/{project['project_id']}"
    on_hold = project_status(acme, "On Hold")
    with acme.http() as http:
        renamed = http.put(path, json={"project_name": "Renamed", "budgeted_hours": 12.5, "unknown": 1})
        by_name = http.put(path, json={"status": "on_hold"})
        invalid = http.put(path, json={"project_name": "", "start_date": "soon"})
        tags = http.put(path, json={"tags": ["a"]})
        missing = http.put(f"/api/v1/projects/{uuid.uuid4()}", json={"project_name": ""})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["data"]["project_name"], renamed.json()["data"]["budgeted_hours"]) == ("Renamed", "12.5")
    assert by_name.json()["data"]["status"] == "on_hold"  # AlgaPSA echoes the name, the row has the id
    assert acme.one("SELECT status FROM projects WHERE project_id = %s", (project["project_id"],))["status"] == \
        uuid.UUID(on_hold)
    assert invalid.status_code == 400 and {tuple(i["path"]) for i in invalid.json()["error"]["details"]} == {
        ("project_name",), ("start_date",)}
    assert tags.status_code == 500 and tags.json()["error"]["code"] == "INTERNAL_CONFIGURATION"
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Project not found"


def test_delete_refused_while_a_phase_remains(acme, created):
    project = create(acme, created, create_default_phase=True).json()["data"]
    path = f"/api/v1/projects/{project['project_id']}"
    with acme.http() as http:
        refused = http.delete(path)
        acme.sql("DELETE FROM project_phases WHERE tenant = %s AND project_id = %s",
                 (acme.tenant_id, project["project_id"]))
        deleted = http.delete(path)
        again = http.delete(path)
        malformed = http.delete("/api/v1/projects/not-a-uuid")
    assert refused.status_code == 400
    assert refused.json() == {"error": {"code": "BAD_REQUEST", "message": "Invalid reference", "details": (
        f"Key (tenant, project_id)=({acme.tenant_id}, {project['project_id']}) is still referenced "
        'from table "project_phases".')}}
    assert deleted.status_code == 204 and deleted.content == b""
    assert again.status_code == 404 and again.json()["error"]["message"] == "Project not found"
    assert malformed.status_code == 400 and malformed.json()["error"]["message"] == "Invalid project ID format"
    assert acme.sql("SELECT 1 FROM projects WHERE tenant = %s AND project_id = %s",
                    (acme.tenant_id, project["project_id"])) == []


def test_auth_and_permissions(acme):
    technician = acme.one("SELECT user_id FROM users WHERE tenant = %s AND username LIKE '%%tech%%' "
                          "ORDER BY created_at LIMIT 1", (acme.tenant_id,))["user_id"]
    path = f"/api/v1/projects/{uuid.uuid4()}"
    with acme.http(**{"x-api-key": ""}) as http:
        unauthenticated = http.put(path, json={})
    with extra_key(acme, str(technician)) as key, acme.http(**{"x-api-key": key}) as http:
        forbidden = http.put(path, json={})
        readable = http.get(path)
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"]["code"] == "UNAUTHORIZED"
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["message"] == "Permission denied: Cannot update project"
    assert readable.status_code == 404
