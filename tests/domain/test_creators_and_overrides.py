"""fx.create and fx.override: what they create or change is there during the test and gone (or put
back) after cleanup, including when the process dies and `harness cleanup` replays the journal."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from harness.fixture import Fixture

from .conftest import GOLDEN, count

SETTINGS = "SELECT default_from_domain, email_provider, provider_configs::text, updated_at FROM tenant_email_settings " \
           "WHERE tenant = %s ORDER BY id"


def test_a_ticket_goes_through_the_api_and_is_deleted_at_cleanup(fx: Fixture, admin: psycopg.Connection) -> None:
    ticket = fx.create.ticket(title=f"{fx.marker()} printer on fire")
    assert ticket.title.endswith("printer on fire") and ticket.ticket_number
    defaults = fx.picks.ticket_defaults()
    assert (ticket.board_id, ticket.status_id) == (defaults.board_id, defaults.status_id)
    assert count(admin, "SELECT 1 FROM workflow_runtime_events WHERE tenant = %s AND event_name = 'TICKET_CREATED' "
                        "AND payload->>'ticketId' = %s", fx.tenant_id, str(ticket.ticket_id)) == 1
    assert fx.cleanup() == []
    assert count(admin, "SELECT 1 FROM tickets WHERE ticket_id = %s", ticket.ticket_id) == 0


def test_a_project_with_phases_and_tasks_is_removed_whole(fx: Fixture, admin: psycopg.Connection) -> None:
    project = fx.create.project(phases=["Plan", "Build"], tasks={"Build": ["Rack servers", "Cable"]})
    assert list(project.phases.phase_name) == ["Plan", "Build"]
    assert sorted(project.tasks.task_name) == ["Cable", "Rack servers"]
    assert set(project.tasks.phase_name) == {"Build"}
    assert fx.cleanup() == []
    for table in ("projects", "project_phases"):
        assert count(admin, f"SELECT 1 FROM {table} WHERE project_id = %s", project.project_id) == 0
    assert count(admin, "SELECT 1 FROM project_tasks WHERE task_id = ANY(%s::uuid[])", list(project.tasks.task_id)) == 0


def test_a_schedule_entry_and_a_contact_are_removed(fx: Fixture, admin: psycopg.Connection) -> None:
    technician = fx.picks.technician()
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    entry = fx.create.schedule_entry(start, start + timedelta(hours=1), user_ids=[technician.user_id])
    assert entry.user_id == technician.user_id and entry.scheduled_start == start
    contact = fx.create.contact()
    assert fx.marker() in contact.full_name and contact.client_id == fx.picks.client().client_id
    assert fx.cleanup() == []
    assert count(admin, "SELECT 1 FROM schedule_entries WHERE entry_id = %s", entry.entry_id) == 0
    assert count(admin, "SELECT 1 FROM contacts WHERE contact_name_id = %s", contact.contact_name_id) == 0


@pytest.mark.parametrize("had_settings", [True, False], ids=["restored", "removed"])
def test_email_settings_are_put_back_exactly(fx: Fixture, admin: psycopg.Connection, had_settings: bool) -> None:
    admin.execute("DELETE FROM tenant_email_settings WHERE tenant = %s", (fx.tenant_id,))
    if had_settings:
        admin.execute("INSERT INTO tenant_email_settings (tenant, default_from_domain, email_provider, provider_configs, "
                      "updated_at) VALUES (%s, 'acme.test', 'resend', '[{\"providerId\": \"mine\"}]', "
                      "'2026-01-02T03:04:05Z')", (fx.tenant_id,))
    before = admin.execute(SETTINGS, (fx.tenant_id,)).fetchall()
    settings = fx.override.email_settings(default_from_domain="fixture.test")
    assert settings.default_from_domain == "fixture.test" and settings.email_provider == "smtp"
    assert settings.provider_configs[0]["config"]["host"] == "imap-test-server"
    assert fx.cleanup() == []
    assert admin.execute(SETTINGS, (fx.tenant_id,)).fetchall() == before
    admin.execute("DELETE FROM tenant_email_settings WHERE tenant = %s", (fx.tenant_id,))


DIES = """
import json, os, signal, sys
from datetime import datetime, timedelta, timezone
import harness
fx = harness.open_fixture(sys.argv[1])
ticket = fx.create.ticket()
project = fx.create.project(phases=["Build"], tasks={"Build": ["Cable"]})
fx.override.email_settings(default_from_domain="dying.test")
print(json.dumps({"ticket": str(ticket.ticket_id), "project": str(project.project_id)}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_dead_process_leaves_everything_to_harness_cleanup(journal_dir: Path, sandbox_env: dict[str, str],
                                                              admin: psycopg.Connection) -> None:
    tenant = sandbox_env["TENANT_ID"]
    admin.execute("DELETE FROM tenant_email_settings WHERE tenant = %s", (tenant,))
    env = {**os.environ, **sandbox_env, "HARNESS_JOURNAL_DIR": str(journal_dir)}
    died = subprocess.run([sys.executable, "-c", DIES, str(GOLDEN)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert died.returncode == -signal.SIGKILL, died.stderr
    made = json.loads(died.stdout)
    assert count(admin, "SELECT 1 FROM tickets WHERE ticket_id = %s", made["ticket"]) == 1
    assert count(admin, "SELECT 1 FROM tenant_email_settings WHERE tenant = %s", tenant) == 1

    replay = subprocess.run([sys.executable, "-m", "harness.cli", "cleanup", "--dir", str(journal_dir)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert count(admin, "SELECT 1 FROM tickets WHERE ticket_id = %s", made["ticket"]) == 0
    assert count(admin, "SELECT 1 FROM project_phases WHERE project_id = %s", made["project"]) == 0
    assert count(admin, "SELECT 1 FROM projects WHERE project_id = %s", made["project"]) == 0
    assert count(admin, "SELECT 1 FROM tenant_email_settings WHERE tenant = %s", tenant) == 0
    assert list(journal_dir.glob("*.cleanup.jsonl")) == []
