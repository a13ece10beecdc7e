"""Run small ``action.call`` workflows end to end on the session sandbox.

A flow imports a one-workflow bundle whose trigger is an event name of its own (so no other
workflow starts), posts that event through the HTTP API, waits for the run by polling
``workflow_runs`` and then reads steps, the final envelope, the invocation ledger and domain rows.
"""
from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

from harness.sandbox.db.seed import TenantSeed, describe

from .v1_helpers import TenantApi, import_workflow, tenant_api

REF = "payload.TicketCreated.v1"
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED")


def expr(source: str) -> dict[str, str]:
    return {"$expr": source}


def call(step_id: str, action_id: str, mapping: dict[str, Any], *, save_as: str | None = None,
         on_error: str | None = None, key: str | None = None) -> dict[str, Any]:
    """An ``action.call`` step (``on_error`` is the step-level policy, ``key`` an idempotency expression)."""
    config: dict[str, Any] = {"actionId": action_id, "version": 1, "inputMapping": mapping}
    if save_as:
        config["saveAs"] = save_as
    if key:
        config["idempotencyKey"] = expr(key)
    step: dict[str, Any] = {"id": step_id, "type": "action.call", "config": config}
    if on_error:
        step["onError"] = {"policy": on_error}
    return step


def _used(steps: list[dict[str, Any]], actions: list[dict[str, Any]], nodes: list[str]) -> None:
    for step in steps:
        if step["type"] == "action.call" and step.get("config", {}).get("actionId"):
            ref = {"actionId": step["config"]["actionId"], "version": 1}
            if ref not in actions:
                actions.append(ref)
        if step["type"] not in nodes:
            nodes.append(step["type"])
        for branch in ("then", "else", "try", "catch", "body"):
            _used(step.get(branch) or [], actions, nodes)


def bundle(key: str, event: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """A bundle with one published workflow triggered by ``event``."""
    trigger = {"type": "event", "eventName": event}
    definition = {"id": "00000000-0000-0000-0000-000000000000", "version": 1, "name": key, "payloadSchemaRef": REF,
                  "trigger": trigger, "steps": steps}
    actions: list[dict[str, Any]] = []
    nodes: list[str] = []
    _used(steps, actions, nodes)
    metadata = {"name": key, "description": None, "payloadSchemaRef": REF, "payloadSchemaMode": "pinned",
                "pinnedPayloadSchemaRef": REF, "trigger": trigger, "isSystem": False, "isVisible": True,
                "isPaused": False, "concurrencyLimit": None, "autoPauseOnFailure": False,
                "failureRateThreshold": None, "failureRateMinRuns": None, "retentionPolicyOverride": None}
    return {"format": "alga-psa.workflow-bundle", "formatVersion": 1, "exportedAt": "2026-01-01T00:00:00.000Z",
            "workflows": [{"key": key, "metadata": metadata,
                           "dependencies": {"actions": actions, "nodeTypes": nodes, "schemaRefs": [REF]},
                           "draft": {"draftVersion": 1, "definition": definition},
                           "publishedVersions": [{"version": 1, "definition": definition, "payloadSchemaJson": None}]}]}


@dataclass
class Run:
    """A finished run and what it recorded."""

    flows: "Flows"
    row: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.row["run_id"])

    @property
    def status(self) -> str:
        return self.row["status"]

    @property
    def error(self) -> dict[str, Any] | None:
        return self.row["error_json"]

    def steps(self) -> list[dict[str, Any]]:
        return self.flows.api.sql("SELECT * FROM workflow_run_steps WHERE run_id = %s ORDER BY started_at, step_path",
                                  (self.run_id,))

    def step(self, step_id: str) -> dict[str, Any]:
        return [s for s in self.steps() if s["definition_step_id"] == step_id][-1]

    def vars(self) -> dict[str, Any]:
        """``vars`` of the last envelope snapshot."""
        row = self.flows.api.one("SELECT envelope_json FROM workflow_run_snapshots WHERE run_id = %s "
                                 "ORDER BY created_at DESC LIMIT 1", (self.run_id,))
        return row["envelope_json"]["vars"]

    def invocations(self) -> list[dict[str, Any]]:
        return self.flows.api.sql("SELECT * FROM workflow_action_invocations WHERE run_id = %s ORDER BY created_at",
                                  (self.run_id,))

    def logs(self, message_prefix: str = "Action invocation") -> list[dict[str, Any]]:
        return self.flows.api.sql("SELECT * FROM workflow_run_logs WHERE run_id = %s AND message LIKE %s "
                                  "ORDER BY created_at", (self.run_id, message_prefix + "%"))


@dataclass
class Workflow:
    """An imported test workflow; every ``run`` posts its event once."""

    flows: "Flows"
    workflow_id: str
    event: str

    def run(self, timeout_s: float = 30.0, **payload: Any) -> Run:
        body = {"ticketId": str(uuid.uuid4()), **payload}
        with self.flows.api.http() as http:
            response = http.post("/api/workflow/events", json={
                "eventName": self.event, "correlationKey": body["ticketId"], "payloadSchemaRef": REF, "payload": body})
        assert response.status_code == 200, response.text
        started = response.json()["startedRuns"]
        assert len(started) == 1, response.text
        deadline = time.monotonic() + timeout_s
        while True:
            row = self.flows.api.one("SELECT * FROM workflow_runs WHERE run_id = %s", (started[0],))
            if row["status"] in TERMINAL:
                return Run(self.flows, row)
            assert time.monotonic() < deadline, f"run {started[0]} still {row['status']} after {timeout_s}s"
            time.sleep(0.05)


@dataclass
class Flows:
    """The first sandbox tenant: its API, its seeded ids, and workflow runs."""

    api: TenantApi
    seed: TenantSeed

    def workflow(self, steps: list[dict[str, Any]]) -> Workflow:
        suffix = uuid.uuid4().hex[:12]
        event = f"ACTIONS_TEST_{suffix.upper()}"
        workflow_id = import_workflow(self.api, bundle(f"test.actions.{suffix}", event, steps))
        return Workflow(self, workflow_id, event)

    def run(self, steps: list[dict[str, Any]], **payload: Any) -> Run:
        return self.workflow(steps).run(**payload)

    def sql(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        return self.api.sql(query, params)

    def one(self, query: str, params: Any = None) -> dict[str, Any] | None:
        return self.api.one(query, params)

    def new_ticket(self, title: str = "action test ticket", **columns: Any) -> str:
        """A ticket inserted directly (default client, board, status and priority); its id."""
        ticket_id = str(uuid.uuid4())
        values = {"tenant": self.seed.tenant_id, "ticket_id": ticket_id, "title": title,
                  "ticket_number": f"T-{uuid.uuid4().hex[:10]}", "client_id": self.seed.client_id,
                  "board_id": self.seed.board_id, "status_id": self.seed.status_id,
                  "priority_id": self.seed.priority_ids["Medium"], **columns}
        names = ", ".join(values)
        self.sql(f"INSERT INTO tickets ({names}) VALUES ({', '.join(['%s'] * len(values))})", list(values.values()))
        return ticket_id


@pytest.fixture(scope="session")
def flows(sandbox_state: dict[str, Any]) -> Flows:
    api = tenant_api(sandbox_state, 0)
    keys = {t["slug"]: t["api_key"] for t in sandbox_state["tenants"]}
    seed = next(s for s in describe(keys) if s.tenant_id == api.tenant_id)
    return Flows(api, seed)


SMTP_PROVIDER = {"providerId": "fixture-smtp", "providerType": "smtp", "isEnabled": True,
                 "config": {"host": "imap-test-server", "port": 3025, "secure": False, "username": "imap_user",
                            "password": "imap_pass", "from": "no-reply@example.com", "rejectUnauthorized": False}}


@contextmanager
def tenant_email_settings(flows: Flows, providers: list[dict[str, Any]] | None) -> Iterator[None]:
    """The tenant's email settings replaced for a while: ``providers`` on domain example.com, or
    none at all when ``providers`` is None; whatever was there before comes back afterwards."""
    tenant = flows.seed.tenant_id
    saved = flows.sql("SELECT row_to_json(s)::text AS row FROM tenant_email_settings s WHERE tenant = %s", (tenant,))
    flows.sql("DELETE FROM tenant_email_settings WHERE tenant = %s", (tenant,))
    if providers is not None:
        flows.sql("INSERT INTO tenant_email_settings (tenant, default_from_domain, ticketing_from_email, "
                  "custom_domains, email_provider, provider_configs) "
                  "VALUES (%s, 'example.com', NULL, '[]', 'smtp', %s::json)", (tenant, json.dumps(providers)))
    try:
        yield
    finally:
        flows.sql("DELETE FROM tenant_email_settings WHERE tenant = %s", (tenant,))
        for row in saved:
            flows.sql("INSERT INTO tenant_email_settings "
                      "SELECT * FROM json_populate_record(NULL::tenant_email_settings, %s::json)", (row["row"],))


@pytest.fixture
def email_settings(flows: Flows) -> Iterator[None]:
    """The email settings the corpus fixtures configure: one enabled SMTP provider."""
    with tenant_email_settings(flows, [SMTP_PROVIDER]):
        yield
