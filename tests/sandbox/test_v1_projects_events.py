"""Project and task writes → workflow events → runs: payloads valid for their catalog schemas."""
from __future__ import annotations


import pytest

from harness.contract.event_payloads import default_registry

from .v1_helpers import (
    TenantApi,
    delete_project,
    event_workflows,
    new_project,
    runs_of,
)

WORKFLOWS = {  # name -> (trigger event, pinned ref)
    "updated": ("PROJECT_UPDATED", "payload.ProjectUpdated.v1"),
    "status": ("PROJECT_STATUS_CHANGED", "payload.ProjectStatusChanged.v1"),
    "task-created": ("PROJECT_TASK_CREATED", "payload.ProjectTaskCreated.v1"),
    "task-assigned": ("PROJECT_TASK_ASSIGNED", "payload.ProjectTaskAssigned.v1"),
    "task-status": ("PROJECT_TASK_STATUS_CHANGED", "payload.ProjectTaskStatusChanged.v1"),
    "task-completed": ("PROJECT_TASK_COMPLETED", "payload.ProjectTaskCompleted.v1"),
}


@pytest.fixture(scope="module")
def workflows(acme):
    with event_workflows(acme, "test.v1-project-events", WORKFLOWS) as ids:
        yield ids


@pytest.fixture()
def project(acme):
    created = new_project(acme, "Events")
    yield created
    delete_project(acme, created["project_id"])


def inputs(acme: TenantApi, workflows: dict[str, str], name: str, project_id: str) -> list[dict]:
    """Inputs of the runs workflow ``name`` started for this project, each valid for its pinned schema."""
    found = [run["input_json"] for run in runs_of(acme, workflows[name])
             if run["input_json"]["projectId"] == project_id]
    for payload in found:
        assert default_registry().validate(WORKFLOWS[name][1], payload) == []
    return found


def status_id(acme: TenantApi, kind: str, name: str) -> str:
    return str(acme.one("SELECT status_id FROM statuses WHERE tenant = %s AND status_type = %s AND name = %s",
                        (acme.tenant_id, kind, name))["status_id"])


def test_project_update_publishes_updated_and_status_changed(acme, workflows, project):
    path = f"/api/v1/projects/{project['project_id']}"
    on_hold = status_id(acme, "project", "On Hold")
    with acme.http() as http:
        renamed = http.put(path, json={"project_name": "Renamed", "is_inactive": False}).json()
        moved = http.put(path, json={"status": on_hold}).json()["data"]
        http.put(path, json={"status": on_hold})  # unchanged: PROJECT_UPDATED only
    [first, second, third] = inputs(acme, workflows, "updated", project["project_id"])
    assert first["updatedFields"] == ["projectName"]
    assert first["changes"] == {"projectName": {"previous": project["project_name"], "new": "Renamed"}}
    assert first["updatedAt"] == first["occurredAt"] == renamed["data"]["updated_at"]
    assert (first["actorType"], first["actorUserId"], first["tenantId"]) == ("USER", acme.actor_user_id,
                                                                              acme.tenant_id)
    assert second["changes"] == {"status": {"previous": project["status"], "new": on_hold}}
    assert "changes" not in third and "updatedFields" not in third
    [changed] = inputs(acme, workflows, "status", project["project_id"])
    assert (changed["previousStatus"], changed["newStatus"], changed["changedAt"]) == (
        project["status"], on_hold, moved["updated_at"])
    event = acme.one("SELECT correlation_key, payload_schema_ref FROM workflow_runtime_events "
                     "WHERE tenant = %s AND event_name = 'PROJECT_STATUS_CHANGED' AND payload->>'projectId' = %s",
                     (acme.tenant_id, project["project_id"]))
    assert event == {"correlation_key": project["project_id"], "payload_schema_ref": "payload.ProjectStatusChanged.v1"}


def test_task_writes_publish_task_events(acme, workflows, project):
    phase = acme.one("SELECT phase_id FROM project_phases WHERE project_id = %s", (project["project_id"],))
    mappings = {name: str(acme.one(
        "INSERT INTO project_status_mappings (tenant, project_id, status_id, display_order) VALUES (%s, %s, %s, %s) "
        "RETURNING project_status_mapping_id", (acme.tenant_id, project["project_id"],
                                                status_id(acme, "project_task", name), order))
        ["project_status_mapping_id"]) for order, name in enumerate(("To Do", "Done"))}
    technician = str(acme.one("SELECT user_id FROM users WHERE tenant = %s AND username LIKE '%%tech%%' "
                              "ORDER BY created_at LIMIT 1", (acme.tenant_id,))["user_id"])
    with acme.http() as http:
        task = http.post(f"/api/v1/projects/{project['project_id']}/phases/{phase['phase_id']}/tasks",
                         json={"task_name": "Kickoff", "project_status_mapping_id": mappings["To Do"],
                               "due_date": "2026-04-01T09:00:00Z"}).json()["data"]
        http.put(f"/api/v1/projects/tasks/{task['task_id']}",
                 json={"assigned_to": technician, "project_status_mapping_id": mappings["Done"]})
    [created] = inputs(acme, workflows, "task-created", project["project_id"])
    assert (created["taskId"], created["title"], created["status"], created["dueDate"]) == (
        task["task_id"], "Kickoff", "To Do", "2026-04-01T09:00:00.000Z")
    assert created["createdByUserId"] == acme.actor_user_id and created["createdAt"] == task["created_at"]
    [assigned] = inputs(acme, workflows, "task-assigned", project["project_id"])
    assert (assigned["assignedToId"], assigned["assignedToType"], assigned["assignedByUserId"]) == (
        technician, "user", acme.actor_user_id)
    assert assigned["assignedByName"]
    [status] = inputs(acme, workflows, "task-status", project["project_id"])
    assert (status["previousStatus"], status["newStatus"]) == ("To Do", "Done")
    [completed] = inputs(acme, workflows, "task-completed", project["project_id"])
    assert completed["taskId"] == task["task_id"] and completed["completedByUserId"] == acme.actor_user_id
