"""``/api/v1/projects`` against the session sandbox: responses and the rows behind them."""
from __future__ import annotations

import uuid

import pytest

from .v1_helpers import TenantApi, tenant_api, ticket_refs


@pytest.fixture(scope="module")
def acme(sandbox_state) -> TenantApi:
    return tenant_api(sandbox_state, 0)


@pytest.fixture()
def created(acme):
    """Projects a test creates, removed afterwards (phases cascade)."""
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


def test_status_by_name_id_or_rejected(acme, created):
    active = acme.one("SELECT status_id FROM statuses WHERE tenant = %s AND status_type = 'project' "
                      "AND name = 'Active'", (acme.tenant_id,))["status_id"]
    ticket_status = ticket_refs(acme)["status_id"]
    assert create(acme, created, status="in_progress").json()["data"]["status"] == str(active)
    assert create(acme, created, status=str(active).upper()).json()["data"]["status"] == str(active)
    unknown_name = create(acme, created, status="cancelled")  # the seed has no 'Cancelled' project status
    not_a_project_status = create(acme, created, status=ticket_status)
    assert unknown_name.status_code == 400 and not_a_project_status.status_code == 400
    assert unknown_name.json()["error"]["message"] == "Invalid status: cancelled"


def test_create_validation_and_conflicts(acme, created):
    missing = create(acme, created, project_name="", client_id=None)
    bad = create(acme, created, budgeted_hours=-1, start_date="tomorrow", create_default_phase="yes",
                 project_number="x" * 51)
    assert missing.status_code == 400
    assert {tuple(i["path"]) for i in missing.json()["error"]["details"]} == {("project_name",), ("client_id",)}
    assert {tuple(i["path"]) for i in bad.json()["error"]["details"]} == {
        ("budgeted_hours",), ("start_date",), ("create_default_phase",), ("project_number",)}
    first = create(acme, created, project_number=f"FIX-{uuid.uuid4().hex[:8]}")
    duplicate = create(acme, created, project_number=first.json()["data"]["project_number"])
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "CONFLICT"


def test_get_list_and_delete(acme, created):
    project = create(acme, created, create_default_phase=True).json()["data"]
    path = f"/api/v1/projects/{project['project_id']}"
    with acme.http() as http:
        found = http.get(path)
        listed = http.get("/api/v1/projects", params={"client_id": project["client_id"], "limit": 100})
        deleted = http.delete(path)
        again = http.delete(path)
        malformed = http.delete("/api/v1/projects/not-a-uuid")
    assert found.status_code == 200 and found.json()["data"]["client_name"]
    assert project["project_id"] in [p["project_id"] for p in listed.json()["data"]]
    assert deleted.status_code == 204 and deleted.content == b""
    assert again.status_code == 404 and again.json()["error"]["message"] == "Project not found"
    assert malformed.status_code == 400 and malformed.json()["error"]["message"] == "Invalid project ID format"
    for table in ("projects", "project_phases"):
        assert acme.sql(f"SELECT 1 FROM {table} WHERE tenant = %s AND project_id = %s",
                        (acme.tenant_id, project["project_id"])) == []
