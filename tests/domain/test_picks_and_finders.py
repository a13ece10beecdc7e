"""fx.picks and fx.find against the session sandbox: the rows AlgaPSA's fixtures pick, and the rows a
workflow wrote for this fixture, found by id or by the fixture's marker."""
from __future__ import annotations

import uuid

import psycopg
import pytest

from harness.domain.finders import SandboxOnly
from harness.domain.record import Record
from harness.errors import FixtureError
from harness.fixture import Fixture

from .conftest import count


def test_ticket_defaults_are_one_row_of_the_tenant(fx: Fixture, admin: psycopg.Connection) -> None:
    pick = fx.picks.ticket_defaults()
    assert isinstance(pick, Record) and pick.client_id == pick["client_id"]
    oldest = admin.execute("SELECT client_id FROM clients WHERE tenant = %s ORDER BY created_at LIMIT 1",
                           (fx.tenant_id,)).fetchone()[0]
    assert str(pick.client_id) == str(oldest)
    status = admin.execute("SELECT board_id, status_type FROM statuses WHERE status_id = %s", (pick.status_id,)).fetchone()
    assert str(status[0]) == str(pick.board_id) and status[1] == "ticket"
    highest = fx.picks.ticket_defaults(priority="highest")
    assert fx.picks.priority(highest=True).priority_id == highest.priority_id
    assert fx.picks.priority().priority_id == pick.priority_id
    with pytest.raises(FixtureError, match="'lowest' or 'highest'"):
        fx.picks.ticket_defaults(priority="urgent")


def test_status_picks_follow_name_exclusion_and_openness(fx: Fixture) -> None:
    pick = fx.picks.ticket_defaults()
    other = fx.picks.status(pick.board_id, exclude=pick.status_id, open_only=True)
    assert other.status_id != pick.status_id and not other.is_closed
    closed_like = fx.picks.status(pick.board_id, name_like="closed")
    assert "closed" in closed_like.status_name.lower()
    with pytest.raises(AttributeError, match="no column 'nope'"):
        _ = other.nope


def test_users_by_role_and_the_technician(fx: Fixture, admin: psycopg.Connection) -> None:
    everyone = fx.picks.users()
    assert not everyone.empty and set(everyone.columns) >= {"user_id", "username", "roles"}
    technician = fx.picks.technician()
    assert "technician" in [role.lower() for role in technician.roles]
    assert set(fx.picks.users("Technician").user_id) <= set(everyone.user_id)
    assert fx.picks.user().user_id == everyone.user_id.iloc[0]


def test_the_technician_role_is_granted_for_the_fixture_only_when_nobody_holds_it(
        fx: Fixture, admin: psycopg.Connection) -> None:
    holders = admin.execute(
        "SELECT ur.user_id, ur.role_id FROM user_roles ur JOIN roles r ON r.tenant = ur.tenant AND r.role_id = ur.role_id "
        "WHERE ur.tenant = %s AND lower(r.role_name) = 'technician'", (fx.tenant_id,)).fetchall()
    admin.execute("DELETE FROM user_roles WHERE tenant = %s AND (user_id, role_id) IN "
                  "(SELECT * FROM unnest(%s::uuid[], %s::uuid[]))",
                  (fx.tenant_id, [h[0] for h in holders], [h[1] for h in holders]))
    try:
        granted = fx.picks.technician()
        assert granted.user_id == fx.picks.user().user_id
        assert "technician" in [role.lower() for role in granted.roles]
        assert fx.cleanup() == []
        assert fx.picks.users("technician").empty, "the grant was revoked at cleanup"
    finally:
        for user_id, role_id in holders:
            admin.execute("INSERT INTO user_roles (tenant, user_id, role_id) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                          (fx.tenant_id, user_id, role_id))


def test_finders_return_this_fixtures_rows_only(fx: Fixture, admin: psycopg.Connection) -> None:
    ticket = fx.create.ticket()
    user = fx.picks.user()
    mine, theirs = f"{fx.marker()} for you", "[fixture someone-else] not for you"
    for title in (mine, theirs):
        admin.execute("INSERT INTO internal_notifications (tenant, user_id, template_name, language_code, title, message) "
                      "VALUES (%s, %s, 'fixture', 'en', %s, 'hello')", (fx.tenant_id, user.user_id, title))
    fx.api.post(f"/api/v1/tickets/{ticket.ticket_id}/comments", {"comment_text": f"{fx.marker()} a note",
                                                                  "is_internal": True})
    try:
        notifications = fx.find.notifications(user.user_id)
        assert list(notifications.title) == [mine]
        comments = fx.find.comments(ticket.ticket_id)
        assert [note for note in comments.note if fx.marker() in note], comments
        assert fx.find.ticket(ticket.ticket_id).title == ticket.title
        with pytest.raises(FixtureError, match="no ticket"):
            fx.find.ticket("00000000-0000-0000-0000-000000000000")
    finally:
        admin.execute("DELETE FROM internal_notifications WHERE tenant = %s AND title = %s", (fx.tenant_id, theirs))


def test_sent_mail_is_a_sandbox_only_fact_and_says_so(fx: Fixture, admin: psycopg.Connection,
                                                      sandbox_state: dict) -> None:
    """On a target whose database has no email_outbox (here: a blank database on the same server), the
    finder refuses loudly rather than letting a fixture assert less."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from harness.db import Database

    name = f"blank_{uuid.uuid4().hex[:8]}"
    admin.execute(f"CREATE DATABASE {name}")
    real_db = fx.db
    try:
        fx.db = Database(make_conninfo(**{**conninfo_to_dict(sandbox_state["admin_database_url"]), "dbname": name}))
        fx.__dict__.pop("keeps_sent_mail", None)  # asked again of this other database (cached per target)
        with pytest.raises(SandboxOnly, match="only be read on the sandbox"):
            fx.find.emails("00000000-0000-0000-0000-000000000000")
        fx.db.close()
    finally:
        fx.db = real_db
        fx.__dict__.pop("keeps_sent_mail", None)
        admin.execute(f"DROP DATABASE {name}")
    assert fx.find.emails("00000000-0000-0000-0000-000000000000").empty  # on the sandbox: a real, empty answer


def test_the_marker_sweep_removes_marked_rows_written_since_the_fixture_opened(
        fx: Fixture, admin: psycopg.Connection) -> None:
    user = fx.picks.user()
    client = fx.picks.client()
    older = f"{fx.marker()} written before the fixture opened"
    admin.execute("INSERT INTO internal_notifications (tenant, user_id, template_name, language_code, title, message, "
                  "created_at) VALUES (%s, %s, 'fixture', 'en', %s, 'old', now() - interval '1 day')",
                  (fx.tenant_id, user.user_id, older))
    admin.execute("INSERT INTO internal_notifications (tenant, user_id, template_name, language_code, title, message) "
                  "VALUES (%s, %s, 'fixture', 'en', %s, 'new')", (fx.tenant_id, user.user_id, fx.marker()))
    admin.execute("INSERT INTO interactions (tenant, type_id, user_id, client_id, title, notes) "
                  "VALUES (%s, (SELECT type_id FROM system_interaction_types LIMIT 1), %s, %s, 'note', %s)",
                  (fx.tenant_id, user.user_id, client.client_id, f"{fx.marker()} noted"))
    entry = admin.execute("INSERT INTO schedule_entries (tenant, title, scheduled_start, scheduled_end, status, "
                          "work_item_type) VALUES (%s, %s, now(), now() + interval '1 hour', 'scheduled', 'ad_hoc') "
                          "RETURNING entry_id", (fx.tenant_id, f"{fx.marker()} visit")).fetchone()[0]
    admin.execute("INSERT INTO schedule_entry_assignees (tenant, entry_id, user_id) VALUES (%s, %s, %s)",
                  (fx.tenant_id, entry, user.user_id))
    try:
        assert fx.cleanup() == []
        marked = f"%{fx.marker()}%"
        assert count(admin, "SELECT 1 FROM internal_notifications WHERE tenant = %s AND title LIKE %s",
                     fx.tenant_id, marked) == 1, "only the row older than the fixture is left"
        assert count(admin, "SELECT 1 FROM interactions WHERE tenant = %s AND notes LIKE %s", fx.tenant_id, marked) == 0
        assert count(admin, "SELECT 1 FROM schedule_entries WHERE entry_id = %s", entry) == 0
        assert count(admin, "SELECT 1 FROM schedule_entry_assignees WHERE entry_id = %s", entry) == 0
    finally:
        admin.execute("DELETE FROM internal_notifications WHERE tenant = %s AND title = %s", (fx.tenant_id, older))
