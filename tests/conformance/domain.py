"""Tenant-scoped reads, creations and deletions the corpus tests perform (http-and-db.md §7, §8.2).

Every query filters on the tenant first, like AlgaPSA's ``tenant-sql`` helpers. Reads go through
the read-only session, writes through ``db.writer()``, domain creations through ``/api/v1``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from harness import Fixture, HttpError


class MissingRow(AssertionError):
    """A row the test needs to pick does not exist."""


def _pick(fx: Fixture, label: str, sql: str, *params: Any) -> Any:
    row = fx.db.one(sql, (fx.tenant_id, *params))
    if row is None:
        raise MissingRow(f"Fixture requires {label} in DB")
    return next(iter(row.values()))


# -- picks (F1-F6, F9, F14-F17) -------------------------------------------------------------------
def oldest_users(fx: Fixture, count: int = 1) -> list[str]:
    rows = fx.db.records("SELECT user_id FROM users WHERE tenant = %s ORDER BY created_at ASC LIMIT %s",
                         (fx.tenant_id, count))
    if len(rows) < count:
        raise MissingRow(f"Fixture requires {count} users in DB, found {len(rows)}")
    return [r["user_id"] for r in rows]


def oldest_user(fx: Fixture) -> str:
    return oldest_users(fx)[0]


def oldest_client(fx: Fixture) -> str:
    return _pick(fx, "a client", "SELECT client_id FROM clients WHERE tenant = %s ORDER BY created_at ASC LIMIT 1")


@dataclass(frozen=True)
class TicketRefs:
    """What ``POST /api/v1/tickets`` needs: the oldest client, the default board, its status, a priority."""

    client_id: str
    board_id: str
    status_id: str
    priority_id: str


def priority(fx: Fixture, *, highest: bool) -> str:
    order = "DESC" if highest else "ASC"
    return _pick(fx, "a ticket priority", f"SELECT priority_id FROM priorities WHERE tenant = %s "
                                           f"ORDER BY order_number {order} LIMIT 1")


def ticket_refs(fx: Fixture, *, highest_priority: bool = False) -> TicketRefs:
    board = _pick(fx, "a ticket board", "SELECT board_id FROM boards WHERE tenant = %s "
                                        "ORDER BY is_default DESC, display_order ASC LIMIT 1")
    status = _pick(fx, "a ticket status", "SELECT status_id FROM statuses WHERE tenant = %s AND board_id = %s "
                   "AND status_type = 'ticket' ORDER BY is_default DESC, order_number ASC LIMIT 1", board)
    return TicketRefs(oldest_client(fx), board, status, priority(fx, highest=highest_priority))


def newest_ticket(fx: Fixture) -> str | None:
    row = fx.db.one("SELECT ticket_id FROM tickets WHERE tenant = %s ORDER BY entered_at DESC LIMIT 1", (fx.tenant_id,))
    return row["ticket_id"] if row else None


def any_project_with_phase(fx: Fixture) -> str | None:
    row = fx.db.one("SELECT project_id FROM project_phases WHERE tenant = %s LIMIT 1", (fx.tenant_id,))
    return row["project_id"] if row else None


def technician(fx: Fixture) -> str:
    """The oldest Technician; without one, grant the role to the oldest user (never revoked)."""
    row = fx.db.one("SELECT u.user_id FROM users u "
                    "JOIN user_roles ur ON ur.tenant = u.tenant AND ur.user_id = u.user_id "
                    "JOIN roles r ON r.tenant = ur.tenant AND r.role_id = ur.role_id "
                    "WHERE u.tenant = %s AND lower(r.role_name) = %s ORDER BY u.created_at LIMIT 1",
                    (fx.tenant_id, "technician"))
    if row:
        return row["user_id"]
    role = _pick(fx, "a Technician role", "SELECT role_id FROM roles WHERE tenant = %s AND lower(role_name) = %s "
                                          "ORDER BY created_at LIMIT 1", "technician")
    user = oldest_user(fx)
    fx.db.writer().execute("INSERT INTO user_roles (tenant, user_id, role_id) VALUES (%s, %s, %s) "
                           "ON CONFLICT (tenant, user_id, role_id) DO NOTHING", (fx.tenant_id, user, role))
    return user


def ensure_default_project_status(fx: Fixture, created_by: str) -> None:
    """F17: insert 'Fixture Project Default' when the tenant has no default project status (never removed)."""
    if fx.db.one("SELECT status_id FROM statuses WHERE tenant = %s AND item_type = 'project' AND is_default = true "
                 "ORDER BY order_number LIMIT 1", (fx.tenant_id,)):
        return
    top = fx.db.scalar("SELECT coalesce(max(order_number), 0) FROM statuses WHERE tenant = %s "
                       "AND status_type = 'project'", (fx.tenant_id,))
    fx.db.writer().execute(
        "INSERT INTO statuses (tenant, name, status_type, order_number, is_closed, item_type, is_default, created_by) "
        "VALUES (%s, 'Fixture Project Default', 'project', %s, false, 'project', true, %s) "
        "ON CONFLICT (tenant, name, status_type) DO NOTHING", (fx.tenant_id, int(top) + 1, created_by))


# -- creations through /api/v1 (§7.1, §7.4) -------------------------------------------------------
def _created_id(body: Any, field: str, what: str) -> str:
    value = (body or {}).get("data", {}).get(field) if isinstance(body, dict) else None
    if not value:
        raise AssertionError(f"{what} create response missing data.{field}: {body!r}")
    return value


def create_ticket(fx: Fixture, title: str, refs: TicketRefs, attributes: dict[str, Any] | None = None) -> str:
    body: dict[str, Any] = {"title": title, "client_id": refs.client_id, "board_id": refs.board_id,
                            "status_id": refs.status_id, "priority_id": refs.priority_id}
    if attributes is not None:
        body["attributes"] = attributes
    return _created_id(fx.api.post("/api/v1/tickets", body).json, "ticket_id", "Ticket")


def create_project(fx: Fixture, client_id: str, name: str) -> str:
    body = {"client_id": client_id, "project_name": name, "create_default_phase": True}
    return _created_id(fx.api.post("/api/v1/projects", body).json, "project_id", "Project")


# -- reads (F7, F8, F10-F13) ------------------------------------------------------------------------
def notifications(fx: Fixture, user_id: str, limit: int) -> list[dict[str, Any]]:
    return fx.db.records("SELECT internal_notification_id, title, message, template_name, is_read, created_at "
                         "FROM internal_notifications WHERE tenant = %s AND user_id = %s "
                         "ORDER BY created_at DESC LIMIT %s", (fx.tenant_id, user_id, limit))


def comments(fx: Fixture, ticket_id: str, limit: int) -> list[dict[str, Any]]:
    return fx.db.records("SELECT comment_id, note, is_internal, metadata, created_at FROM comments "
                         "WHERE tenant = %s AND ticket_id = %s ORDER BY created_at DESC LIMIT %s",
                         (fx.tenant_id, ticket_id, limit))


def project_tasks(fx: Fixture, project_id: str, limit: int) -> list[dict[str, Any]]:
    return fx.db.records("SELECT t.task_id, t.task_name, t.created_at FROM project_tasks t "
                         "JOIN project_phases p ON p.tenant = t.tenant AND p.phase_id = t.phase_id "
                         "WHERE p.tenant = %s AND p.project_id = %s ORDER BY t.created_at DESC LIMIT %s",
                         (fx.tenant_id, project_id, limit))


def interactions(fx: Fixture, client_id: str, limit: int) -> list[dict[str, Any]]:
    return fx.db.records("SELECT interaction_id, notes, visibility, title FROM interactions "
                         "WHERE tenant = %s AND client_id = %s ORDER BY interaction_date DESC LIMIT %s",
                         (fx.tenant_id, client_id, limit))


def ticket_schedule_entries(fx: Fixture, user_id: str, ticket_id: str, limit: int) -> list[dict[str, Any]]:
    return fx.db.records(
        "SELECT se.entry_id, se.title, se.work_item_type, se.work_item_id, sea.user_id, se.scheduled_start, "
        "se.scheduled_end FROM schedule_entries se JOIN schedule_entry_assignees sea "
        "ON sea.tenant = se.tenant AND sea.entry_id = se.entry_id "
        "WHERE se.tenant = %s AND sea.user_id = %s AND se.work_item_type = 'ticket' AND se.work_item_id = %s "
        "ORDER BY se.created_at DESC LIMIT %s", (fx.tenant_id, user_id, ticket_id, limit))


def ticket_row(fx: Fixture, ticket_id: str) -> dict[str, Any]:
    row = fx.db.one("SELECT assigned_to, attributes, status_id FROM tickets WHERE tenant = %s AND ticket_id = %s",
                    (fx.tenant_id, ticket_id))
    if row is None:
        raise AssertionError(f"ticket {ticket_id} not found")
    if isinstance(row["attributes"], str):  # accepted as JSON text too (F7)
        row["attributes"] = json.loads(row["attributes"])
    return row


def contains_all(row: dict[str, Any], **needles: Sequence[str]) -> bool:
    """Whether each named text column of ``row`` contains every given substring."""
    return all(isinstance(row.get(col), str) and all(n in row[col] for n in subs) for col, subs in needles.items())


def expect_rows(rows: list[dict[str, Any]], what: str, *, at_least: int = 1, exactly: int | None = None,
                shown: Iterable[str] = (), **needles: Sequence[str]) -> list[dict[str, Any]]:
    """The rows matching ``needles``; fail with what was looked for and what was there."""
    found = [r for r in rows if contains_all(r, **needles)]
    ok = len(found) == exactly if exactly is not None else len(found) >= at_least
    if not ok:
        wanted = f"exactly {exactly}" if exactly is not None else f"at least {at_least}"
        looked = " and ".join(f"{col} containing {list(subs)}" for col, subs in needles.items())
        seen = [{c: r.get(c) for c in shown} for r in rows[:5]]
        raise AssertionError(f"{what}: expected {wanted} row(s) with {looked}; found {len(found)} "
                             f"among the {len(rows)} newest rows {seen}")
    return found


# -- deletions (cleanup, §8.2) ---------------------------------------------------------------------
def _delete(fx: Fixture, table: str, where: str, *params: Any) -> int:
    return fx.db.writer().execute(f"DELETE FROM {table} WHERE tenant = %s AND {where}", (fx.tenant_id, *params))


def _api_delete(fx: Fixture, path: str) -> bool:
    try:
        fx.api.delete(path)
        return True
    except HttpError:
        return False


def delete_ticket(fx: Fixture, ticket_id: str, *, api: bool = True,
                  fallback: tuple[str, ...] | None = ("comments",)) -> None:
    """DELETE /api/v1/tickets/<id>; if that fails (or ``api`` is false), delete ``fallback`` tables' rows
    of the ticket, then the ticket row. ``fallback=None``: the API delete must succeed."""
    if api:
        if fallback is None:
            fx.api.delete(f"/api/v1/tickets/{ticket_id}")
            return
        if _api_delete(fx, f"/api/v1/tickets/{ticket_id}"):
            return
    for table in fallback or ():
        _delete(fx, table, "ticket_id = %s", ticket_id)
    _delete(fx, "tickets", "ticket_id = %s", ticket_id)


def _delete_tasks(fx: Fixture, task_ids: list[str]) -> None:
    if task_ids:
        _delete(fx, "task_checklist_items", "task_id = ANY(%s::uuid[])", task_ids)
        _delete(fx, "project_tasks", "task_id = ANY(%s::uuid[])", task_ids)


def _project_task_ids(fx: Fixture, project_id: str, name_like: str | None = None) -> list[str]:
    sql = ("SELECT t.task_id FROM project_tasks t JOIN project_phases p ON p.tenant = t.tenant "
           "AND p.phase_id = t.phase_id WHERE p.tenant = %s AND p.project_id = %s")
    params: tuple[Any, ...] = (fx.tenant_id, project_id)
    if name_like is not None:
        sql += " AND t.task_name LIKE %s"
        params += (name_like,)
    return [r["task_id"] for r in fx.db.records(sql, params)]


def delete_project(fx: Fixture, project_id: str, *, api: bool = True) -> None:
    """DELETE /api/v1/projects/<id>; if that fails (or ``api`` is false): checklist items and tasks of
    its phases, the phases, its ticket links and status mappings, then the project row."""
    if api and _api_delete(fx, f"/api/v1/projects/{project_id}"):
        return
    phase_ids = [r["phase_id"] for r in fx.db.records(
        "SELECT phase_id FROM project_phases WHERE tenant = %s AND project_id = %s", (fx.tenant_id, project_id))]
    _delete_tasks(fx, _project_task_ids(fx, project_id))
    if phase_ids:
        _delete(fx, "project_phases", "phase_id = ANY(%s::uuid[])", phase_ids)
    for table in ("project_ticket_links", "project_status_mappings", "projects"):
        _delete(fx, table, "project_id = %s", project_id)


def delete_project_with_dependencies(fx: Fixture, project_id: str) -> None:
    """DELETE /api/v1/projects/<id>; if that fails: its ticket links, the dependencies touching its
    tasks, the tasks under its phases, its materials and phases, then the project row."""
    if _api_delete(fx, f"/api/v1/projects/{project_id}"):
        return
    writer, tenant = fx.db.writer(), fx.tenant_id
    _delete(fx, "project_ticket_links", "project_id = %s", project_id)
    writer.execute("WITH tasks AS (SELECT t.task_id FROM project_tasks t JOIN project_phases p ON p.tenant = t.tenant "
                   "AND p.phase_id = t.phase_id WHERE p.tenant = %s AND p.project_id = %s) "
                   "DELETE FROM project_task_dependencies d USING tasks WHERE d.tenant = %s "
                   "AND (d.predecessor_task_id = tasks.task_id OR d.successor_task_id = tasks.task_id)",
                   (tenant, project_id, tenant))
    writer.execute("DELETE FROM project_tasks t USING project_phases p WHERE t.tenant = %s AND p.tenant = t.tenant "
                   "AND p.phase_id = t.phase_id AND p.project_id = %s", (tenant, project_id))
    for table in ("project_materials", "project_phases", "projects"):
        _delete(fx, table, "project_id = %s", project_id)


def delete_marked_tasks(fx: Fixture, project_id: str, marker: str) -> None:
    """Tasks (and their checklist items) in the project's phases whose name contains ``marker``."""
    _delete_tasks(fx, _project_task_ids(fx, project_id, f"%{marker}%"))


def delete_marked_comments(fx: Fixture, ticket_id: str, marker: str) -> None:
    _delete(fx, "comments", "ticket_id = %s AND note LIKE %s", ticket_id, f"%{marker}%")


def delete_notifications(fx: Fixture, user_id: str, *, title_like: str | None = None,
                         message_like: str | None = None, either_like: str | None = None) -> None:
    """The user's notifications matching every given LIKE pattern (``either_like``: title or message)."""
    where, params = ["user_id = %s"], [user_id]
    for column, pattern in (("title", title_like), ("message", message_like)):
        if pattern is not None:
            where.append(f"{column} LIKE %s")
            params.append(pattern)
    if either_like is not None:
        where.append("(title LIKE %s OR message LIKE %s)")
        params += [either_like, either_like]
    _delete(fx, "internal_notifications", " AND ".join(where), *params)


def delete_interactions(fx: Fixture, client_id: str, notes_like: str) -> None:
    _delete(fx, "interactions", "client_id = %s AND notes LIKE %s", client_id, notes_like)


def delete_schedule_entry(fx: Fixture, entry_id: str) -> None:
    """DELETE /api/v1/schedules/<id>; if that fails, its conflicts, assignees and the entry in the DB."""
    if _api_delete(fx, f"/api/v1/schedules/{entry_id}"):
        return
    _delete(fx, "schedule_conflicts", "(entry_id_1 = %s OR entry_id_2 = %s)", entry_id, entry_id)
    _delete(fx, "schedule_entry_assignees", "entry_id = %s", entry_id)
    _delete(fx, "schedule_entries", "entry_id = %s", entry_id)


# -- tenant email settings (email-settings-fixture) ------------------------------------------------
_SMTP_CONFIGS = [{"providerId": "fixture-smtp", "providerType": "smtp", "isEnabled": True,
                  "config": {"host": "imap-test-server", "port": 3025, "secure": False, "username": "imap_user",
                             "password": "imap_pass", "from": "no-reply@example.com", "rejectUnauthorized": False}}]
_EMAIL_COLUMNS = ("id, default_from_domain, ticketing_from_email, custom_domains, email_provider, provider_configs, "
                  "fallback_enabled, tracking_enabled, max_daily_emails, updated_at")
_EMAIL_SET = ("default_from_domain = %s, ticketing_from_email = %s, custom_domains = %s::json, email_provider = %s, "
              "provider_configs = %s::json, fallback_enabled = %s, tracking_enabled = %s, max_daily_emails = %s")


def ensure_email_settings(fx: Fixture) -> None:
    """Point the tenant's first email settings row (or a new one) at the SMTP test server; the
    registered cleanup restores the previous values or deletes the inserted row."""
    values = ("example.com", None, "[]", "smtp", json.dumps(_SMTP_CONFIGS), True, False, None)
    writer = fx.db.writer()
    row = fx.db.one(f"SELECT {_EMAIL_COLUMNS} FROM tenant_email_settings WHERE tenant = %s ORDER BY id ASC LIMIT 1",
                    (fx.tenant_id,))
    if row is None:
        inserted = writer.records(
            "INSERT INTO tenant_email_settings (tenant, default_from_domain, ticketing_from_email, custom_domains, "
            "email_provider, provider_configs, fallback_enabled, tracking_enabled, max_daily_emails, created_at, "
            "updated_at) VALUES (%s, %s, %s, %s::json, %s, %s::json, %s, %s, %s, now(), now()) RETURNING id",
            (fx.tenant_id, *values))
        fx.on_cleanup(lambda: _delete(fx, "tenant_email_settings", "id = %s", inserted[0]["id"]),
                      "delete the inserted tenant_email_settings row")
        return
    writer.execute(f"UPDATE tenant_email_settings SET {_EMAIL_SET}, updated_at = now() WHERE tenant = %s AND id = %s",
                   (*values, fx.tenant_id, row["id"]))
    previous = (row["default_from_domain"], row["ticketing_from_email"], json.dumps(row["custom_domains"] or []),
                row["email_provider"], json.dumps(row["provider_configs"] or []), row["fallback_enabled"],
                row["tracking_enabled"], row["max_daily_emails"], row["updated_at"])
    fx.on_cleanup(lambda: writer.execute(f"UPDATE tenant_email_settings SET {_EMAIL_SET}, updated_at = %s "
                                         "WHERE tenant = %s AND id = %s", (*previous, fx.tenant_id, row["id"])),
                  "restore tenant_email_settings")
