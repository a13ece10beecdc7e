"""``/api/v1/schedules/{id}`` against the session sandbox."""
from __future__ import annotations

import uuid

import pytest

from .v1_helpers import TenantApi, tenant_api


@pytest.fixture(scope="module")
def acme(sandbox_state) -> TenantApi:
    return tenant_api(sandbox_state, 0)


def add_entry(t: TenantApi, assignees: list[str], *, private: bool = False) -> str:
    """A ticket-linked schedule entry with its assignees, written like ``scheduling.assign_user``."""
    entry_id = str(uuid.uuid4())
    t.sql("INSERT INTO schedule_entries (tenant, entry_id, title, status, work_item_type, work_item_id, "
          "scheduled_start, scheduled_end, is_private) VALUES (%s, %s, 'Fixture visit', 'scheduled', 'ticket', %s, "
          "now(), now() + interval '1 hour', %s)", (t.tenant_id, entry_id, uuid.uuid4(), private))
    for user_id in assignees:
        t.sql("INSERT INTO schedule_entry_assignees (tenant, entry_id, user_id) VALUES (%s, %s, %s)",
              (t.tenant_id, entry_id, user_id))
    return entry_id


def other_user(t: TenantApi) -> str:
    row = t.one("SELECT user_id FROM users WHERE tenant = %s AND user_id <> %s AND user_type = 'internal' "
                "ORDER BY created_at LIMIT 1", (t.tenant_id, t.actor_user_id))
    return str(row["user_id"])


def test_get_and_delete_with_cascades(acme):
    technician = other_user(acme)
    entry_id = add_entry(acme, [technician])
    twin_id = add_entry(acme, [technician])
    acme.sql("INSERT INTO schedule_conflicts (tenant, entry_id_1, entry_id_2, conflict_type) "
             "VALUES (%s, %s, %s, 'overlap')", (acme.tenant_id, entry_id, twin_id))
    try:
        with acme.http() as http:
            found = http.get(f"/api/v1/schedules/{entry_id}")
            deleted = http.delete(f"/api/v1/schedules/{entry_id}")
            again = http.delete(f"/api/v1/schedules/{entry_id}")
        assert found.status_code == 200
        assert found.json()["data"]["assigned_user_ids"] == [technician]
        assert found.json()["data"]["title"] == "Fixture visit"
        assert deleted.status_code == 204 and deleted.content == b""
        assert again.status_code == 404
        assert again.json() == {"error": {"code": "NOT_FOUND", "message": "Schedule entry not found"}}
        for table in ("schedule_entries", "schedule_entry_assignees"):
            assert acme.sql(f"SELECT 1 FROM {table} WHERE tenant = %s AND entry_id = %s",
                            (acme.tenant_id, entry_id)) == []
        assert acme.sql("SELECT 1 FROM schedule_conflicts WHERE tenant = %s AND entry_id_1 = %s",
                        (acme.tenant_id, entry_id)) == []
    finally:
        acme.sql("DELETE FROM schedule_entries WHERE tenant = %s AND entry_id IN (%s, %s)",
                 (acme.tenant_id, entry_id, twin_id))


def test_private_entries_belong_to_their_owner(acme):
    someone_elses = add_entry(acme, [other_user(acme)], private=True)
    own = add_entry(acme, [acme.actor_user_id], private=True)
    try:
        with acme.http() as http:
            refused = http.delete(f"/api/v1/schedules/{someone_elses}")
            allowed = http.delete(f"/api/v1/schedules/{own}")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
        assert acme.one("SELECT 1 AS x FROM schedule_entries WHERE tenant = %s AND entry_id = %s",
                        (acme.tenant_id, someone_elses)) == {"x": 1}
        assert allowed.status_code == 204
    finally:
        acme.sql("DELETE FROM schedule_entries WHERE tenant = %s AND entry_id IN (%s, %s)",
                 (acme.tenant_id, someone_elses, own))


def test_malformed_id(acme):
    with acme.http() as http:
        response = http.delete("/api/v1/schedules/1234")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid schedule entry ID format"
