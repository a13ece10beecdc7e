"""Schema creation and deterministic seed data for the sandbox database.

Two tenants ("acme", "globex") get everything the fixtures assume (http-and-db.md §9.5) plus a
little more for realistic notebooks. Ids are ``uuid5(SEED_NAMESPACE, "<slug>/<kind>/<name>")``
(``"system/..."`` for the tenant-less tables) and timestamps are fixed, so every reset yields the
same rows. Within a kind, rows are created one minute apart in the order they are listed here.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any, Callable, Mapping

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

SEED_NAMESPACE = uuid.UUID("d112c910-8ba9-42d9-b4d3-9a79a0197417")
EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)
NO_LOGIN = "!sandbox-no-login"  # users.hashed_password: nobody logs in to the sandbox with a password


@dataclass(frozen=True)
class _Person:
    username: str
    first_name: str
    last_name: str
    roles: tuple[str, ...] = ()
    is_inactive: bool = False


@dataclass(frozen=True)
class _TenantSpec:
    name: str
    domain: str
    people: tuple[_Person, ...]  # internal users, oldest first; the first is the actor
    clients: tuple[tuple[str, tuple[str, ...]], ...]  # (client name, contact names), oldest first
    project: str
    ticket: str


# --- The data --------------------------------------------------------------------------------
TENANTS: dict[str, _TenantSpec] = {
    "acme": _TenantSpec(
        name="Acme IT Services",
        domain="acme.test",
        people=(
            _Person("alex.admin", "Alex", "Admin", ("Admin",)),
            _Person("tara.tech", "Tara", "Tech", ("Technician",)),
            _Person("theo.tech", "Theo", "Tech", ("Technician",)),
            _Person("dana.dispatch", "Dana", "Dispatch", ("Dispatcher",)),
            _Person("ivy.inactive", "Ivy", "Inactive", is_inactive=True),
        ),
        clients=(
            ("Northwind Traders", ("Nora North", "Ned North")),
            ("Contoso Ltd", ("Carl Contoso",)),
            ("Fabrikam Inc", ("Fay Fabrikam",)),
        ),
        project="Office Relocation",
        ticket="Printer offline on the third floor",
    ),
    "globex": _TenantSpec(
        name="Globex Support",
        domain="globex.test",
        people=(
            _Person("gina.admin", "Gina", "Admin", ("Admin",)),
            _Person("hank.tech", "Hank", "Tech", ("Technician",)),
            _Person("hope.tech", "Hope", "Tech", ("Technician",)),
            _Person("otto.dispatch", "Otto", "Dispatch", ("Dispatcher",)),
            _Person("iris.inactive", "Iris", "Inactive", is_inactive=True),
        ),
        clients=(
            ("Initech", ("Ingrid Initech", "Ian Initech")),
            ("Umbrella Corp", ("Uma Umbrella",)),
            ("Hooli", ("Hugo Hooli",)),
        ),
        project="Network Refresh",
        ticket="VPN drops every hour",
    ),
}

_ALL_PERMISSIONS = (
    "ticket:create", "ticket:read", "ticket:update", "ticket:delete",
    "project:create", "project:read", "project:update", "project:delete",
    "project_task:create", "project_task:read", "project_task:update",
    "client:read", "client:update", "contact:read", "contact:update",
    "email:process", "document:create",
    "user_schedule:create", "user_schedule:read", "user_schedule:update", "user_schedule:delete",
    "timeentry:create", "timeentry:read", "timeentry:update", "timesheet:approve", "timesheet:read_all",
    "workflow:read", "workflow:manage", "workflow:publish", "workflow:admin",
)
ROLES: dict[str, tuple[str, ...]] = {  # role name -> granted "resource:action"; all are MSP roles
    "Admin": _ALL_PERMISSIONS,
    "Technician": (
        "ticket:read", "ticket:update", "project:read", "project_task:create", "project_task:read",
        "project_task:update", "client:read", "contact:read", "user_schedule:create", "user_schedule:read",
        "timeentry:create", "timeentry:read",
    ),
    "Dispatcher": (
        "ticket:create", "ticket:read", "ticket:update", "client:read", "contact:read",
        "user_schedule:create", "user_schedule:read", "user_schedule:update", "user_schedule:delete",
    ),
}
TEAM = "Service Desk"  # managed by the first Dispatcher; members are the Technicians

# (board, ticket statuses as (name, is_closed)): the first board and each board's first status are
# the defaults. Names are unique per tenant because of the plain (tenant, name, status_type) key.
BOARDS: tuple[tuple[str, tuple[tuple[str, bool], ...]], ...] = (
    ("General Support", (("New", False), ("In Progress", False), ("Waiting on Customer", False), ("Closed", True))),
    ("Field Service", (("Dispatch Pending", False), ("On Site", False), ("Awaiting Parts", False), ("Completed", True))),
)
PROJECT_STATUSES = (("Planning", False), ("Active", False), ("On Hold", False), ("Completed", True))  # first = default
TASK_STATUSES = (("To Do", False), ("In Progress", False), ("Done", True))  # first = default
# (name, item_type, order_number): the lowest and the highest order are ticket priorities (F5).
PRIORITIES = (
    ("Low", "ticket", 10), ("Normal", "project_task", 15), ("Medium", "ticket", 20),
    ("High", "ticket", 30), ("Urgent", "project_task", 35), ("Critical", "ticket", 40),
)
TICKET_PRIORITY = "Medium"
PHASES = ("Discovery", "Rollout")
SYSTEM_INTERACTION_TYPES = ("Note", "Call", "Email", "Meeting")
TENANT_INTERACTION_TYPES = ("Site Visit",)
SERVICE = "Remote Support"  # service_catalog: what time entries are billed as
TIME_PERIOD = ("2025-01-01", "2031-01-01")  # one open period [start, end) so time entries find a time sheet
# entity_type -> (prefix, padding, first number); the seed issues the first number of each.
SEQUENCES = {"TICKET": ("TIC", 6, 1000), "PROJECT": ("PRJ-", 4, 1)}


@dataclass(frozen=True)
class TenantSeed:
    """What a test or notebook may need to know about one seeded tenant (ids as strings)."""

    slug: str
    tenant_id: str
    name: str
    api_key: str  # plaintext; api_keys.api_key holds its SHA-256 hex
    actor_user_id: str  # API-key owner and workflow actor; the oldest user (F1)
    user_ids: tuple[str, ...]  # active internal users, oldest first (user_ids[0] is the actor)
    technician_user_ids: tuple[str, ...]  # oldest first (F14)
    inactive_user_id: str
    client_user_id: str  # user_type 'client', linked to contact_ids[0]
    role_ids: Mapping[str, str]  # role name -> role_id
    client_id: str  # the oldest client (F2)
    client_ids: tuple[str, ...]
    contact_ids: tuple[str, ...]
    board_id: str  # the default board (F3)
    second_board_id: str
    status_id: str  # the default ticket status of the default board (F4)
    ticket_status_ids: Mapping[str, str]  # default board: status name -> status_id
    priority_ids: Mapping[str, str]  # ticket priorities: name -> priority_id
    project_status_id: str  # the default project status (F17)
    task_status_id: str  # the default project_task status
    project_id: str
    phase_ids: tuple[str, ...]  # wbs 1.1, 1.2
    ticket_id: str
    ticket_number: str
    team_id: str
    note_type_id: str  # system_interaction_types 'Note'


# --- Building rows ---------------------------------------------------------------------------
Add = Callable[[str, dict[str, Any]], None]


def _id(*parts: str) -> str:
    return str(uuid.uuid5(SEED_NAMESPACE, "/".join(parts)))


def _at(index: int) -> datetime:
    return EPOCH + timedelta(minutes=index)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", ".", text.lower()).strip(".")


def _number(entity_type: str) -> str:
    prefix, padding, first = SEQUENCES[entity_type]
    return f"{prefix}{first:0{padding}d}"


def _add_system(add: Add, event_catalog: Mapping[str, str]) -> None:
    for i, name in enumerate(SYSTEM_INTERACTION_TYPES):
        add("system_interaction_types", {"type_id": _id("system", "interaction_type", name), "type_name": name,
                                         "display_order": i, "created_at": _at(i)})
    for event_type, ref in event_catalog.items():
        add("system_event_catalog", {"event_id": _id("system", "event", event_type), "event_type": event_type,
                                     "name": event_type.replace("_", " ").title(), "payload_schema_ref": ref,
                                     "category": event_type.split("_", 1)[0].lower(), "created_at": EPOCH})


def _add_people(add: Add, slug: str, tenant: str, spec: _TenantSpec) -> list[str]:
    """Internal users, roles and permissions. Returns the user ids, oldest first."""
    user_ids = [_id(slug, "user", p.username) for p in spec.people]
    for i, (person, user_id) in enumerate(zip(spec.people, user_ids)):
        add("users", {"tenant": tenant, "user_id": user_id, "username": person.username,
                      "first_name": person.first_name, "last_name": person.last_name,
                      "email": f"{person.username}@{spec.domain}", "hashed_password": NO_LOGIN,
                      "user_type": "internal", "contact_id": None, "is_inactive": person.is_inactive,
                      "created_at": _at(i)})
    for grant in _ALL_PERMISSIONS:
        resource, action = grant.split(":")
        add("permissions", {"tenant": tenant, "permission_id": _id(slug, "permission", grant),
                            "resource": resource, "action": action, "msp": True})
    for i, (role, grants) in enumerate(ROLES.items()):
        add("roles", {"tenant": tenant, "role_id": _id(slug, "role", role), "role_name": role, "msp": True,
                      "client": False, "created_at": _at(i)})
        for grant in grants:
            add("role_permissions", {"tenant": tenant, "role_id": _id(slug, "role", role),
                                     "permission_id": _id(slug, "permission", grant)})
    for person, user_id in zip(spec.people, user_ids):
        for role in person.roles:
            add("user_roles", {"tenant": tenant, "user_id": user_id, "role_id": _id(slug, "role", role)})
    return user_ids


def _add_clients(add: Add, slug: str, tenant: str, spec: _TenantSpec) -> tuple[list[str], list[str], str]:
    """Clients, their contacts, and a client-portal user for the first contact.

    Returns (client ids, contact ids, client user id), oldest first.
    """
    client_ids, contact_ids = [], []
    for i, (client_name, contact_names) in enumerate(spec.clients):
        client_ids.append(_id(slug, "client", client_name))
        add("clients", {"tenant": tenant, "client_id": client_ids[-1], "client_name": client_name,
                        "email": f"info@{_slug(client_name)}.example", "created_at": _at(i)})
        for full_name in contact_names:
            contact_ids.append(_id(slug, "contact", full_name))
            add("contacts", {"tenant": tenant, "contact_name_id": contact_ids[-1], "full_name": full_name,
                             "email": f"{_slug(full_name)}@{_slug(client_name)}.example",
                             "client_id": client_ids[-1], "created_at": _at(len(contact_ids))})
    (client_name, (contact_name, *_)) = spec.clients[0]
    client_user_id = _id(slug, "user", _slug(contact_name))
    add("users", {"tenant": tenant, "user_id": client_user_id, "username": _slug(contact_name),
                  "first_name": contact_name.split()[0], "last_name": contact_name.split()[-1],
                  "email": f"{_slug(contact_name)}@{_slug(client_name)}.example", "hashed_password": NO_LOGIN,
                  "user_type": "client", "contact_id": contact_ids[0], "is_inactive": False,
                  "created_at": _at(len(spec.people))})
    return client_ids, contact_ids, client_user_id


def _add_boards(add: Add, slug: str, tenant: str, actor: str) -> tuple[list[str], dict[str, str]]:
    """Boards with their ticket statuses. Returns (board ids, default board's status name -> id)."""
    board_ids: list[str] = []
    status_ids: list[dict[str, str]] = []
    for b, (board_name, statuses) in enumerate(BOARDS):
        board_ids.append(_id(slug, "board", board_name))
        add("boards", {"tenant": tenant, "board_id": board_ids[-1], "board_name": board_name, "display_order": b,
                       "is_default": b == 0, "created_at": _at(b)})
        status_ids.append(_add_statuses(add, slug, tenant, actor, "ticket", statuses, board_ids[-1]))
    return board_ids, status_ids[0]


def _add_statuses(add: Add, slug: str, tenant: str, actor: str, status_type: str,
                  statuses: tuple[tuple[str, bool], ...], board_id: str | None = None) -> dict[str, str]:
    """Status rows in the given order, the first being the default. Returns name -> status_id."""
    ids: dict[str, str] = {}
    for index, (name, is_closed) in enumerate(statuses):
        ids[name] = _id(slug, "status", status_type, name)
        add("statuses", {"tenant": tenant, "status_id": ids[name], "name": name, "status_type": status_type,
                         "item_type": status_type, "order_number": index + 1, "is_closed": is_closed,
                         "is_default": index == 0, "board_id": board_id, "created_by": actor,
                         "created_at": _at(index)})
    return ids


def _add_tenant(add: Add, slug: str, spec: _TenantSpec, api_key: str) -> TenantSeed:
    tenant = _id(slug, "tenant")
    add("tenants", {"tenant": tenant, "client_name": spec.name, "email": f"admin@{spec.domain}",
                    "product_code": "psa", "created_at": EPOCH})
    user_ids = _add_people(add, slug, tenant, spec)
    holders = {role: [u for p, u in zip(spec.people, user_ids) if role in p.roles] for role in ROLES}
    actor = user_ids[0]
    add("api_keys", {"api_key_id": _id(slug, "api_key", "harness"), "tenant": tenant, "user_id": actor,
                     "api_key": hashlib.sha256(api_key.encode()).hexdigest(), "description": "Workflow harness",
                     "created_at": EPOCH})
    team_id = _id(slug, "team", TEAM)
    add("teams", {"tenant": tenant, "team_id": team_id, "team_name": TEAM,
                  "manager_id": holders["Dispatcher"][0], "created_at": EPOCH})
    for user_id in holders["Technician"]:
        add("team_members", {"tenant": tenant, "team_id": team_id, "user_id": user_id, "created_at": EPOCH})
    client_ids, contact_ids, client_user_id = _add_clients(add, slug, tenant, spec)

    board_ids, ticket_status_ids = _add_boards(add, slug, tenant, actor)
    default_status_id = next(iter(ticket_status_ids.values()))
    project_status_id = next(iter(_add_statuses(add, slug, tenant, actor, "project", PROJECT_STATUSES).values()))
    task_status_id = next(iter(_add_statuses(add, slug, tenant, actor, "project_task", TASK_STATUSES).values()))
    priority_ids: dict[str, str] = {}
    for i, (name, item_type, order) in enumerate(PRIORITIES):
        priority_id = _id(slug, "priority", item_type, name)
        add("priorities", {"tenant": tenant, "priority_id": priority_id, "priority_name": name,
                           "item_type": item_type, "order_number": order, "created_by": actor, "created_at": _at(i)})
        if item_type == "ticket":
            priority_ids[name] = priority_id
    add("service_catalog", {"tenant": tenant, "service_id": _id(slug, "service", SERVICE), "service_name": SERVICE,
                             "unit_of_measure": "hour"})
    add("time_periods", {"tenant": tenant, "period_id": _id(slug, "time_period", TIME_PERIOD[0]),
                         "start_date": TIME_PERIOD[0], "end_date": TIME_PERIOD[1], "created_at": EPOCH})
    for name in TENANT_INTERACTION_TYPES:
        add("interaction_types", {"tenant": tenant, "type_id": _id(slug, "interaction_type", name),
                                  "type_name": name, "created_at": EPOCH})

    for entity_type, (prefix, padding, first) in SEQUENCES.items():
        add("next_number", {"tenant": tenant, "entity_type": entity_type, "last_number": first,
                            "initial_value": first, "prefix": prefix, "padding_length": padding})
    project_id = _id(slug, "project", spec.project)
    add("projects", {"tenant": tenant, "project_id": project_id, "client_id": client_ids[0],
                     "project_name": spec.project, "status": project_status_id, "wbs_code": "1",
                     "project_number": _number("PROJECT"), "assigned_to": actor, "contact_name_id": contact_ids[0],
                     "start_date": EPOCH, "created_at": EPOCH})
    phase_ids = [_id(slug, "phase", spec.project, phase) for phase in PHASES]
    for i, (phase, phase_id) in enumerate(zip(PHASES, phase_ids)):
        add("project_phases", {"tenant": tenant, "phase_id": phase_id, "project_id": project_id,
                               "phase_name": phase, "status": "active", "order_number": i + 1,
                               "wbs_code": f"1.{i + 1}", "created_at": _at(i)})
    ticket_id = _id(slug, "ticket", spec.ticket)
    add("tickets", {"tenant": tenant, "ticket_id": ticket_id, "ticket_number": _number("TICKET"),
                    "title": spec.ticket, "client_id": client_ids[0], "contact_name_id": contact_ids[0],
                    "board_id": board_ids[0], "status_id": default_status_id,
                    "priority_id": priority_ids[TICKET_PRIORITY], "assigned_to": holders["Technician"][0],
                    "entered_by": actor, "entered_at": EPOCH, "updated_at": EPOCH, "source": "manual"})

    return TenantSeed(
        slug=slug, tenant_id=tenant, name=spec.name, api_key=api_key, actor_user_id=actor,
        user_ids=tuple(u for p, u in zip(spec.people, user_ids) if not p.is_inactive),
        technician_user_ids=tuple(holders["Technician"]),
        inactive_user_id=next(u for p, u in zip(spec.people, user_ids) if p.is_inactive),
        client_user_id=client_user_id, role_ids={role: _id(slug, "role", role) for role in ROLES},
        client_id=client_ids[0], client_ids=tuple(client_ids), contact_ids=tuple(contact_ids),
        board_id=board_ids[0], second_board_id=board_ids[1], status_id=default_status_id,
        ticket_status_ids=ticket_status_ids, priority_ids=priority_ids, project_status_id=project_status_id,
        task_status_id=task_status_id, project_id=project_id, phase_ids=tuple(phase_ids), ticket_id=ticket_id,
        ticket_number=_number("TICKET"), team_id=team_id, note_type_id=_id("system", "interaction_type", "Note"),
    )


def _insert(cur: psycopg.Cursor[Any], table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    cur.executemany(query, [[row[c] for c in columns] for row in rows])


# --- Public API ------------------------------------------------------------------------------
def apply_schema(conn: psycopg.Connection[Any]) -> None:
    """Create every sandbox table, type, function and trigger (a no-op for what already exists)."""
    ddl = resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")
    with conn.transaction():
        psycopg.Cursor(conn).execute(ddl)


def seed(conn: psycopg.Connection[Any], api_keys: Mapping[str, str],
         event_catalog: Mapping[str, str]) -> list[TenantSeed]:
    """Insert both tenants into an empty schema, in one transaction.

    ``api_keys`` maps tenant slug to the plaintext key to store; ``event_catalog`` maps event name
    to payload schema ref (``system_event_catalog``).
    """
    missing = sorted(set(TENANTS) - set(api_keys))
    if missing:
        raise ValueError(f"no API key given for tenant(s): {', '.join(missing)}")
    rows: dict[str, list[dict[str, Any]]] = {}  # tables in order of first use, which is FK order

    def add(table: str, row: dict[str, Any]) -> None:
        rows.setdefault(table, []).append(row)

    _add_system(add, event_catalog)
    seeds = [_add_tenant(add, slug, spec, api_keys[slug]) for slug, spec in TENANTS.items()]
    with conn.transaction():
        cur = psycopg.Cursor(conn)
        for table, table_rows in rows.items():
            _insert(cur, table, table_rows)
    return seeds


def describe(api_keys: Mapping[str, str]) -> list[TenantSeed]:
    """The seeded tenants' facts without touching the database (the seed is deterministic)."""
    return [_add_tenant(lambda _table, _row: None, slug, spec, api_keys[slug]) for slug, spec in TENANTS.items()]


def reset(conn: psycopg.Connection[Any], api_keys: Mapping[str, str],
          event_catalog: Mapping[str, str]) -> list[TenantSeed]:
    """Empty every table of the current schema (but the sandbox's marker) and seed again, in one transaction."""
    with conn.transaction():
        cur = psycopg.Cursor(conn, row_factory=tuple_row)
        tables = [name for (name,) in cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'sandbox_meta'")]
        cur.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
            sql.SQL(", ").join(map(sql.Identifier, tables))))
        return seed(conn, api_keys, event_catalog)
