"""Helpers for the runtime, definition and event tests: bundles built from step lists, events posted
under a test's own event name (so no other workflow reacts to them), and run lookups."""
from __future__ import annotations

import uuid
from typing import Any

import httpx

from .v1_helpers import TenantApi, eventually

REF = "payload.TicketCreated.v1"
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED")
_NESTED = ("then", "else", "try", "catch", "body")


def _node_types(steps: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for step in steps:
        if step["type"] not in found:
            found.append(step["type"])
        for branch in _NESTED:
            found += [t for t in _node_types(step.get(branch) or []) if t not in found]
    return found


def definition(name: str, steps: list[dict[str, Any]], *, event: str | None, ref: str = REF,
               trigger: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": "00000000-0000-0000-0000-000000000000", "version": 1, "name": name,
                           "payloadSchemaRef": ref, "steps": steps}
    if trigger or event:
        out["trigger"] = trigger or {"type": "event", "eventName": event}
    return out


def workflow(key: str, steps: list[dict[str, Any]], *, event: str | None, published: bool = True,
             paused: bool = False, trigger: dict[str, Any] | None = None, ref: str = REF,
             **metadata: Any) -> dict[str, Any]:
    """One bundle workflow whose draft (and, when ``published``, version 1) runs ``steps``."""
    body = definition(key, steps, event=event, ref=ref, trigger=trigger)
    meta = {"name": key, "description": None, "payloadSchemaRef": ref, "payloadSchemaMode": "pinned",
            "pinnedPayloadSchemaRef": ref, "trigger": body.get("trigger"), "isSystem": False, "isVisible": True,
            "isPaused": paused, "concurrencyLimit": None, "autoPauseOnFailure": False, "failureRateThreshold": None,
            "failureRateMinRuns": None, "retentionPolicyOverride": None, **metadata}
    return {"key": key, "metadata": meta,
            "dependencies": {"actions": [], "nodeTypes": _node_types(steps), "schemaRefs": [ref]},
            "draft": {"draftVersion": 1, "definition": body},
            "publishedVersions": [{"version": 1, "definition": body, "payloadSchemaJson": None}] if published else []}


def bundle(*workflows: dict[str, Any]) -> dict[str, Any]:
    return {"format": "alga-psa.workflow-bundle", "formatVersion": 1, "exportedAt": "2026-01-01T00:00:00.000Z",
            "workflows": list(workflows)}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def event_name() -> str:
    """A fresh event name, so only the test's own workflows match it."""
    return f"RTEST_{uuid.uuid4().hex[:12].upper()}"


class Runtime:
    """One tenant of the session sandbox, driven through the real HTTP API and read from Postgres."""

    def __init__(self, tenant: TenantApi) -> None:
        self.t = tenant
        self.http = tenant.http()
        self.workflows: list[str] = []

    def close(self) -> None:
        if self.workflows:
            self.t.sql("DELETE FROM workflow_definitions WHERE tenant = %s AND workflow_id = ANY(%s::uuid[])",
                       (self.t.tenant_id, self.workflows))
        self.http.close()

    def import_bundle(self, data: dict[str, Any]) -> dict[str, str]:
        """Import (forced); workflow ids by key."""
        response = self.http.post("/api/workflow-definitions/import", params={"force": "true"}, json=data)
        assert response.status_code == 200, response.text
        ids = {c["key"]: c["workflowId"] for c in response.json()["createdWorkflows"]}
        self.workflows += ids.values()
        return ids

    def one_workflow(self, steps: list[dict[str, Any]], **options: Any) -> tuple[str, str]:
        """Import a single published workflow for a fresh event name; ``(workflow_id, event name)``."""
        name = options.pop("event", None) or event_name()
        key = unique("rtest.wf")
        return self.import_bundle(bundle(workflow(key, steps, event=name, **options)))[key], name

    def post_event(self, name: str, payload: dict[str, Any] | None = None, *, key: str | None = None,
                   ref: str | None = REF) -> httpx.Response:
        body: dict[str, Any] = {"eventName": name, "correlationKey": key or str(uuid.uuid4()),
                                "payload": {"ticketId": str(uuid.uuid4()), **(payload or {})}}
        if ref:
            body["payloadSchemaRef"] = ref
        return self.http.post("/api/workflow/events", json=body)

    def trigger(self, name: str, payload: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
        response = self.post_event(name, payload, **options)
        assert response.status_code == 200, response.text
        return response.json()

    def run(self, run_id: str) -> dict[str, Any]:
        row = self.t.one("SELECT * FROM workflow_runs WHERE run_id = %s", (run_id,))
        assert row is not None
        return row

    def finished(self, run_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
        """The run row once it is terminal."""
        return eventually(lambda: (lambda r: r if r["status"] in TERMINAL else None)(self.run(run_id)), timeout_s)

    def runs(self, workflow_id: str) -> list[dict[str, Any]]:
        return self.t.sql("SELECT * FROM workflow_runs WHERE workflow_id = %s ORDER BY started_at", (workflow_id,))

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        return self.t.sql("SELECT * FROM workflow_run_steps WHERE run_id = %s ORDER BY started_at, step_path",
                          (run_id,))

    def logs(self, run_id: str) -> list[dict[str, Any]]:
        return self.t.sql("SELECT * FROM workflow_run_logs WHERE run_id = %s ORDER BY created_at", (run_id,))

    def waits(self, run_id: str) -> list[dict[str, Any]]:
        return self.t.sql("SELECT * FROM workflow_run_waits WHERE run_id = %s ORDER BY created_at", (run_id,))

    def envelope(self, run_id: str) -> dict[str, Any]:
        """The newest snapshot of the run's envelope."""
        row = self.t.one("SELECT envelope_json FROM workflow_run_snapshots WHERE run_id = %s "
                         "ORDER BY created_at DESC LIMIT 1", (run_id,))
        assert row is not None
        return row["envelope_json"]


def messages(logs: list[dict[str, Any]]) -> list[str]:
    return [log["message"] for log in logs]


def step_rows(steps: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """``(definition_step_id, status, attempt)`` in execution order."""
    return [(s["definition_step_id"], s["status"], s["attempt"]) for s in steps]


def assign(**targets: str) -> dict[str, Any]:
    """A ``transform.assign`` config from ``vars_x="expr"`` keywords (``vars_x`` → ``vars.x``)."""
    return {"assign": {name.replace("_", ".", 1): {"$expr": expr} for name, expr in targets.items()}}
