"""Project phases and tasks under ``/api/v1/projects`` against the session sandbox."""
from __future__ import annotations

import uuid

import pytest

from .test_tenancy import extra_key
from .v1_helpers import delete_project, new_project


@pytest.fixture()
def project(acme):
    """A project with its default phase and two task status mappings (To Do, Done); removed afterwards."""
    created = new_project(acme, "Phases")
    mappings = {}
    for order, name in enumerate(("To Do", "Done")):
        status = acme.one("SELECT status_id FROM statuses WHERE tenant = %s AND status_type = 'project_task' "
                          "AND name = %s", (acme.tenant_id, name))["status_id"]
        mappings[name] = str(acme.one(
            "INSERT INTO project_status_mappings (tenant, project_id, status_id, display_order) "
            "VALUES (%s, %s, %s, %s) RETURNING project_status_mapping_id",
            (acme.tenant_id, created["project_id"], status, order))["project_status_mapping_id"])
    phase = acme.one("SELECT phase_id, wbs_code FROM project_phases WHERE project_id = %s", (created["project_id"],))
    yield {**created, "phase_id": str(phase["phase_id"]), "phase_wbs": phase["wbs_code"], "mappings": mappings}
    delete_project(acme, created["project_id"])


def test_phases_list_create_update_delete(acme, project):
    base = f"/api/v1/projects/{project['project_id']}/phases"
    with acme.http() as http:
        created = http.post(base, json={"phase_name": "Rollout", "order_number": 7, "wbs_code": "ignored"})
        invalid = http.post(base, json={"phase_name": ""})
        listed = http.get(base)
        phase = created.json()["data"]
        updated = http.put(f"{base}/{phase['phase_id']}", json={"phase_name": "Go-live", "status": "active"})
        unknown_key = http.put(f"{base}/{phase['phase_id']}", json={"colour": "red"})
        deleted = http.delete(f"{base}/{phase['phase_id']}")
        gone = http.delete(f"{base}/{phase['phase_id']}")
        malformed = http.get("/api/v1/projects/not-a-uuid/phases")
        no_project = http.get(f"/api/v1/projects/{uuid.uuid4()}/phases")
    assert created.status_code == 201, created.text
    assert (phase["order_number"], phase["wbs_code"], phase["status"], phase["order_key"]) == (
        2, f"{project['wbs_code']}.2", "planning", "a0")
    assert invalid.status_code == 400 and invalid.json()["error"]["details"][0]["message"] == "Phase name is required"
    assert [p["phase_name"] for p in listed.json()["data"]] == ["Rollout", "Initial Phase"]  # keyed phases first
    assert updated.status_code == 200 and updated.json()["data"]["phase_name"] == "Go-live"
    assert unknown_key.status_code == 500 and unknown_key.json()["error"]["code"] == "INTERNAL_CONFIGURATION"
    assert deleted.status_code == 204 and gone.status_code == 404
    assert gone.json() == {"error": {"code": "NOT_FOUND", "message": "Project phase not found"}}
    assert malformed.status_code == 500
    assert malformed.json() == {"error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}}
    assert no_project.status_code == 404 and no_project.json()["error"]["message"] == "Project not found"


def test_tasks_create_read_update_delete(acme, project):
    phase_tasks = f"/api/v1/projects/{project['project_id']}/phases/{project['phase_id']}/tasks"
    body = {"task_name": "Cable the racks", "project_status_mapping_id": project["mappings"]["To Do"],
            "estimated_hours": 3, "due_date": "2026-03-01T12:00:00Z"}
    with acme.http() as http:
        first = http.post(phase_tasks, json=body)
        second = http.post(phase_tasks, json={**body, "task_name": "Label the cables"})
        task = first.json()["data"]
        listed = http.get(phase_tasks)
        by_project = http.get(f"/api/v1/projects/{project['project_id']}/tasks")
        updated = http.put(f"/api/v1/projects/tasks/{task['task_id']}", json={"description": "new text"})
        found = http.get(f"/api/v1/projects/tasks/{task['task_id']}")
        deleted = http.delete(f"/api/v1/projects/tasks/{task['task_id']}")
        gone = http.get(f"/api/v1/projects/tasks/{task['task_id']}")
    assert first.status_code == 201, first.text
    assert (task["wbs_code"], task["order_key"], task["task_type_key"], task["actual_hours"]) == (
        f"{project['phase_wbs']}.1", "a0", "general", 0)
    assert "description_rich_text" in task  # the create response is the raw row
    assert (second.json()["data"]["wbs_code"], second.json()["data"]["order_key"]) == (
        f"{project['phase_wbs']}.2", "a1")
    assert [t["task_name"] for t in listed.json()["data"]] == ["Cable the racks", "Label the cables"]
    assert [t["task_id"] for t in by_project.json()["data"]] == [t["task_id"] for t in listed.json()["data"]]
    assert all("description_rich_text" not in t for t in listed.json()["data"] + by_project.json()["data"])
    assert updated.status_code == 200 and updated.json()["data"]["description"] == "new text"
    assert found.json()["data"]["task_id"] == task["task_id"] and "description_rich_text" not in found.json()["data"]
    assert deleted.status_code == 204
    assert gone.status_code == 404 and gone.json()["error"]["message"] == "Task not found"


def test_task_rules_and_errors(acme, project):
    phase_tasks = f"/api/v1/projects/{project['project_id']}/phases/{project['phase_id']}/tasks"
    foreign_mapping = acme.one("SELECT project_status_mapping_id AS id FROM project_status_mappings "
                               "WHERE tenant = %s AND project_id <> %s LIMIT 1",
                               (acme.tenant_id, project["project_id"]))
    with acme.http() as http:
        no_mapping = http.post(phase_tasks, json={"task_name": ""})
        other_phase = http.post(f"/api/v1/projects/{project['project_id']}/phases/{uuid.uuid4()}/tasks",
                                json={"task_name": "x", "project_status_mapping_id": project["mappings"]["To Do"]})
        task = http.post(phase_tasks, json={"task_name": "Blocker",
                                            "project_status_mapping_id": project["mappings"]["To Do"]}).json()["data"]
        tags = http.post(phase_tasks, json={"task_name": "x", "tags": ["t"],
                                            "project_status_mapping_id": project["mappings"]["To Do"]})
        blocked_phase = http.delete(f"/api/v1/projects/{project['project_id']}/phases/{project['phase_id']}")
        blocked_project = http.delete(f"/api/v1/projects/{project['project_id']}")
        wrong_mapping = http.post(phase_tasks, json={"task_name": "x", "project_status_mapping_id": str(
            foreign_mapping["id"]) if foreign_mapping else str(uuid.uuid4())})
        malformed = http.get("/api/v1/projects/tasks/not-a-uuid")
    assert no_mapping.status_code == 400
    assert {(tuple(i["path"]), i["message"]) for i in no_mapping.json()["error"]["details"]} == {
        (("task_name",), "Task name is required"), (("project_status_mapping_id",), "Required")}
    assert other_phase.status_code == 404 and other_phase.json()["error"]["message"] == "Project phase not found"
    assert tags.status_code == 500 and tags.json()["error"]["code"] == "INTERNAL_CONFIGURATION"
    assert blocked_phase.status_code == 400 and blocked_phase.json()["error"]["details"] == (
        f"Key (tenant, phase_id)=({acme.tenant_id}, {project['phase_id']}) is still referenced "
        'from table "project_tasks".')
    assert blocked_project.status_code == 400 and blocked_project.json()["error"]["message"] == "Invalid reference"
    assert wrong_mapping.json() == {"error": {"code": "VALIDATION_ERROR",
                                              "message": "Task status does not belong to this project"}}
    assert malformed.status_code == 500
    assert acme.one("SELECT 1 AS x FROM project_tasks WHERE task_id = %s", (task["task_id"],)) == {"x": 1}


def test_permissions(acme, project):
    technician = acme.one("SELECT user_id FROM users WHERE tenant = %s AND username LIKE '%%tech%%' "
                          "ORDER BY created_at LIMIT 1", (acme.tenant_id,))["user_id"]
    base = f"/api/v1/projects/{project['project_id']}/phases"
    with extra_key(acme, str(technician)) as key, acme.http(**{"x-api-key": key}) as http:
        listed = http.get(base)
        refused = http.post(base, json={"phase_name": "Nope"})
        not_deleted = http.delete(f"{base}/{project['phase_id']}")
    with acme.http(**{"x-api-key": "wrong"}) as http:
        unauthenticated = http.get(base)
    assert listed.status_code == 200 and len(listed.json()["data"]) == 1
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "Permission denied: Cannot update project"
    assert not_deleted.json()["error"]["message"] == "Permission denied: Cannot delete project"
    assert unauthenticated.status_code == 401
