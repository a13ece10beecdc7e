"""Helpers shared by the ``/api/v1``, domain-event and tenancy tests: per-tenant HTTP and SQL access
to the session sandbox, the rows fixtures pick, and tiny workflow bundles."""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

import httpx
import psycopg
from psycopg.rows import dict_row

T = TypeVar("T")


@dataclass(frozen=True)
class TenantApi:
    """One seeded tenant of the running sandbox."""

    base_url: str
    write_url: str
    """The sandbox's writer role: rows only, no DDL."""
    tenant_id: str
    api_key: str
    actor_user_id: str
    session_cookie: str

    def http(self, **headers: str) -> httpx.Client:
        """A client sending this tenant's ``x-api-key`` and ``x-tenant-id`` (overridable)."""
        base = {"x-api-key": self.api_key, "x-tenant-id": self.tenant_id}
        return httpx.Client(base_url=self.base_url, headers={**base, **headers}, timeout=30)

    def sql(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        """Run one statement (writes commit); rows as dicts, [] when it returns none."""
        with psycopg.connect(self.write_url, autocommit=True, row_factory=dict_row) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def one(self, query: str, params: Any = None) -> dict[str, Any] | None:
        rows = self.sql(query, params)
        return rows[0] if rows else None


def tenant_api(state: dict[str, Any], index: int) -> TenantApi:
    tenant = state["tenants"][index]
    return TenantApi(state["base_url"], state["database_write_url"], tenant["tenant_id"], tenant["api_key"],
                     tenant["actor_user_id"], tenant["session_cookie"])


def ticket_refs(t: TenantApi) -> dict[str, str]:
    """What the fixtures pick for a new ticket: oldest client, default board, its first ticket
    status and the lowest-order priority (http-and-db.md F2–F5)."""
    client = t.one("SELECT client_id FROM clients WHERE tenant = %s ORDER BY created_at LIMIT 1", (t.tenant_id,))
    board = t.one("SELECT board_id FROM boards WHERE tenant = %s ORDER BY is_default DESC, display_order LIMIT 1",
                  (t.tenant_id,))
    status = t.one("SELECT status_id FROM statuses WHERE tenant = %s AND board_id = %s AND status_type = 'ticket' "
                   "ORDER BY is_default DESC, order_number LIMIT 1", (t.tenant_id, board["board_id"]))
    priority = t.one("SELECT priority_id FROM priorities WHERE tenant = %s ORDER BY order_number LIMIT 1",
                     (t.tenant_id,))
    return {k: str(v) for k, v in {**client, **board, **status, **priority}.items()}


def post_created(t: TenantApi, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST path`` with ``body``, which must answer 201; the response's ``data``."""
    with t.http() as http:
        response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def new_ticket(t: TenantApi, **fields: Any) -> dict[str, Any]:
    """Create a ticket through ``POST /api/v1/tickets``; the response's ``data``."""
    return post_created(t, "/api/v1/tickets", {"title": f"v1 test ticket {uuid.uuid4()}", **ticket_refs(t), **fields})


def delete_ticket(t: TenantApi, ticket_id: str) -> None:
    t.sql("DELETE FROM comments WHERE tenant = %s AND ticket_id = %s", (t.tenant_id, ticket_id))
    t.sql("DELETE FROM tickets WHERE tenant = %s AND ticket_id = %s", (t.tenant_id, ticket_id))


def new_project(t: TenantApi, name: str) -> dict[str, Any]:
    """Create a project with its default phase through ``POST /api/v1/projects``; the response's ``data``."""
    return post_created(t, "/api/v1/projects", {"client_id": ticket_refs(t)["client_id"],
                                           "project_name": f"{name} {uuid.uuid4()}", "create_default_phase": True})


def delete_project(t: TenantApi, project_id: str) -> None:
    t.sql("DELETE FROM projects WHERE tenant = %s AND project_id = %s", (t.tenant_id, project_id))


def tiny_bundle(key: str, *, event: str = "TICKET_CREATED", ref: str = "payload.TicketCreated.v1",
                paused: bool = False) -> dict[str, Any]:
    """A one-step published workflow triggered by ``event`` and pinned to ``ref``."""
    definition = {"id": "00000000-0000-0000-0000-000000000000", "version": 1, "name": key,
                  "payloadSchemaRef": ref, "trigger": {"type": "event", "eventName": event},
                  "steps": [{"id": "mark", "type": "state.set", "config": {"state": "SEEN"}},
                            {"id": "finish", "type": "control.return"}]}
    metadata = {"name": key, "description": None, "payloadSchemaRef": ref, "payloadSchemaMode": "pinned",
                "pinnedPayloadSchemaRef": ref, "trigger": {"type": "event", "eventName": event}, "isSystem": False,
                "isVisible": True, "isPaused": paused, "concurrencyLimit": None, "autoPauseOnFailure": False,
                "failureRateThreshold": None, "failureRateMinRuns": None, "retentionPolicyOverride": None}
    return {"format": "alga-psa.workflow-bundle", "formatVersion": 1, "exportedAt": "2026-01-01T00:00:00.000Z",
            "workflows": [{"key": key, "metadata": metadata,
                           "dependencies": {"actions": [], "nodeTypes": ["state.set"], "schemaRefs": [ref]},
                           "draft": {"draftVersion": 1, "definition": definition},
                           "publishedVersions": [{"version": 1, "definition": definition,
                                                  "payloadSchemaJson": None}]}]}


def import_workflow(t: TenantApi, bundle: dict[str, Any]) -> str:
    """Import through the workflow API (forced); the first workflow's id."""
    with t.http() as http:
        response = http.post("/api/workflow-definitions/import", params={"force": "true"}, json=bundle)
    assert response.status_code == 200, response.text
    return response.json()["createdWorkflows"][0]["workflowId"]


def drop_workflows(t: TenantApi, workflow_ids: list[str]) -> None:
    """Remove test workflows (their runs cascade) so later tests' events cannot start them."""
    t.sql("DELETE FROM workflow_definitions WHERE tenant = %s AND workflow_id = ANY(%s::uuid[])",
          (t.tenant_id, workflow_ids))


@contextmanager
def event_workflows(t: TenantApi, prefix: str, specs: dict[str, tuple]) -> Iterator[dict[str, str]]:
    """One tiny published workflow per name, triggered by ``(event, payload ref[, paused])``; their ids by
    name, dropped afterwards."""
    run = uuid.uuid4().hex[:8]
    ids = {name: import_workflow(t, tiny_bundle(f"{prefix}.{name}.{run}", event=spec[0], ref=spec[1],
                                                paused=bool(spec[2]) if len(spec) > 2 else False))
           for name, spec in specs.items()}
    try:
        yield ids
    finally:
        drop_workflows(t, list(ids.values()))


def runs_of(t: TenantApi, workflow_id: str) -> list[dict[str, Any]]:
    return t.sql("SELECT * FROM workflow_runs WHERE tenant = %s AND workflow_id = %s ORDER BY started_at",
                 (t.tenant_id, workflow_id))


def eventually(probe: Callable[[], T], timeout_s: float = 15.0) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            assert value, f"condition not met within {timeout_s}s"
            return value
        time.sleep(0.1)
