"""Workflow bundle import and export against the ``workflow_definitions`` tables."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .bundle_schema import bundle_errors
from .capabilities import missing_dependencies
from .errors import WorkflowApiError
from .payloads.registry import PayloadSchemaRegistry

BUNDLE_FORMAT = "alga-psa.workflow-bundle"


def check_bundle(bundle: Any, schemas: PayloadSchemaRegistry) -> None:
    """Refuse a bundle before any write, in AlgaPSA's order of checks."""
    if not isinstance(bundle, dict):
        raise WorkflowApiError(400, "Workflow bundle must be a JSON object.")
    if bundle.get("format") != BUNDLE_FORMAT:
        got = bundle.get("format")
        raise WorkflowApiError(400, f'Unsupported workflow bundle format "{got}" (expected "{BUNDLE_FORMAT}").',
                               {"expectedFormat": BUNDLE_FORMAT, "receivedFormat": got})
    version = bundle.get("formatVersion")
    if not (isinstance(version, int) and not isinstance(version, bool) and version == 1):
        raise WorkflowApiError(400, f"Unsupported workflow bundle formatVersion {json.dumps(version)} (expected 1).",
                               {"expectedFormatVersion": 1, "receivedFormatVersion": version})
    errors = bundle_errors(bundle)
    if errors:
        first = errors[0]
        where = first["instancePath"] or first["schemaPath"]
        raise WorkflowApiError(400, f"Workflow bundle failed schema validation ({where}: {first['message']}).",
                               {"errors": errors})
    by_workflow = []
    for wf in bundle["workflows"]:
        missing = missing_dependencies(wf, schemas)
        if any(missing.values()):
            by_workflow.append({"workflowKey": wf["key"], **missing})
    if by_workflow:
        details: dict[str, Any] = {"missingByWorkflow": by_workflow}
        for field in ("missingActions", "missingNodeTypes", "missingSchemaRefs"):
            seen: list[Any] = []
            for entry in by_workflow:
                seen += [item for item in entry[field] if item not in seen]
            details[field] = seen
        raise WorkflowApiError(400, "Workflow bundle has missing runtime dependencies.", details)


def _with_id(definition: dict[str, Any], workflow_id: str) -> dict[str, Any]:
    return {**definition, "id": workflow_id}


async def import_bundle(conn: AsyncConnection, bundle: dict[str, Any], *, tenant: str, user_id: str,
                        force: bool) -> dict[str, Any]:
    """Create or overwrite every bundle workflow in one transaction; return the import summary."""
    created, published = [], []
    now = datetime.now(timezone.utc)
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        for wf in bundle["workflows"]:
            key, meta = wf["key"], wf["metadata"]
            await cur.execute("SELECT workflow_id FROM workflow_definitions WHERE tenant = %s AND key = %s FOR UPDATE",
                              (tenant, key))
            existing = await cur.fetchone()
            if existing and not force:
                raise WorkflowApiError(409, f'Workflow with key "{key}" already exists. Re-run with force to overwrite.',
                                       {"workflowKey": key, "existingWorkflowId": str(existing["workflow_id"])})
            workflow_id = str(existing["workflow_id"]) if existing else str(uuid.uuid4())
            versions = sorted(wf["publishedVersions"], key=lambda v: v["version"])
            columns = {
                "name": meta["name"], "description": meta["description"],
                "payload_schema_ref": meta["payloadSchemaRef"], "payload_schema_mode": meta["payloadSchemaMode"],
                "pinned_payload_schema_ref": meta["pinnedPayloadSchemaRef"],
                "trigger": Jsonb(meta["trigger"]) if meta["trigger"] is not None else None,
                "draft_definition": Jsonb(_with_id(wf["draft"]["definition"], workflow_id)),
                "draft_version": wf["draft"]["draftVersion"],
                "status": "published" if versions else "draft",
                "is_system": meta["isSystem"], "is_visible": meta["isVisible"], "is_paused": meta["isPaused"],
                "concurrency_limit": meta["concurrencyLimit"], "auto_pause_on_failure": meta["autoPauseOnFailure"],
                "failure_rate_threshold": meta["failureRateThreshold"],
                "failure_rate_min_runs": meta["failureRateMinRuns"],
                "retention_policy_override": Jsonb(meta["retentionPolicyOverride"])
                if meta["retentionPolicyOverride"] is not None else None,
                "updated_by": user_id, "updated_at": now,
            }
            if existing:
                sets = ", ".join(f"{c} = %s" for c in columns)
                await cur.execute(f"UPDATE workflow_definitions SET {sets} WHERE workflow_id = %s",
                                  (*columns.values(), workflow_id))
                await cur.execute("DELETE FROM workflow_definition_versions WHERE workflow_id = %s", (workflow_id,))
            else:
                columns.update({"workflow_id": workflow_id, "tenant": tenant, "key": key, "created_by": user_id,
                                "created_at": now})
                names = ", ".join(columns)
                marks = ", ".join(["%s"] * len(columns))
                await cur.execute(f"INSERT INTO workflow_definitions ({names}) VALUES ({marks})",
                                  tuple(columns.values()))
            for version in versions:
                await cur.execute(
                    "INSERT INTO workflow_definition_versions (workflow_id, tenant, version, definition_json, "
                    "payload_schema_json, published_by, published_at) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                    (workflow_id, tenant, version["version"], Jsonb(_with_id(version["definition"], workflow_id)),
                     Jsonb(version["payloadSchemaJson"]) if version["payloadSchemaJson"] is not None else None,
                     user_id, now))
            created.append({"key": key, "workflowId": workflow_id})
            if versions:
                published.append({"key": key, "workflowId": workflow_id, "versions": [v["version"] for v in versions]})
    return {"createdWorkflows": created, "deletedWorkflows": [], "createdPublishedVersions": published}


def _walk_steps(steps: Any, actions: set[tuple[str, int]], nodes: set[str]) -> None:
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        kind = step.get("type")
        if isinstance(kind, str) and not kind.startswith("control."):
            nodes.add(kind)
        if kind == "action.call":
            config = step.get("config") or {}
            try:
                actions.add((str(config.get("actionId")), max(1, int(config.get("version") or 1))))
            except (TypeError, ValueError):
                pass
        for branch in {"control.if": ("then", "else"), "control.forEach": ("body",),
                       "control.tryCatch": ("try", "catch")}.get(kind, ()):
            _walk_steps(step.get(branch), actions, nodes)


def _dependencies(row: dict[str, Any], definitions: list[dict[str, Any]]) -> dict[str, Any]:
    actions: set[tuple[str, int]] = set()
    nodes: set[str] = set()
    refs: set[str] = set()
    for definition in definitions:
        _walk_steps(definition.get("steps"), actions, nodes)
        if definition.get("payloadSchemaRef"):
            refs.add(definition["payloadSchemaRef"])
        source = (definition.get("trigger") or {}).get("sourcePayloadSchemaRef")
        if source:
            refs.add(source)
    if row["pinned_payload_schema_ref"]:
        refs.add(row["pinned_payload_schema_ref"])
    return {"actions": [{"actionId": a, "version": v} for a, v in sorted(actions)],
            "nodeTypes": sorted(nodes), "schemaRefs": sorted(refs)}


async def export_bundle(conn: AsyncConnection, workflow_id: str, *, tenant: str) -> dict[str, Any]:
    """One workflow as a v1 bundle, dependencies recomputed from its definitions."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT * FROM workflow_definitions WHERE workflow_id = %s AND tenant = %s",
                          (workflow_id, tenant))
        row = await cur.fetchone()
        if row is None:
            raise WorkflowApiError(404, "Not found")
        await cur.execute("SELECT version, definition_json, payload_schema_json FROM workflow_definition_versions "
                          "WHERE workflow_id = %s ORDER BY version", (workflow_id,))
        versions = await cur.fetchall()
    threshold = row["failure_rate_threshold"]
    draft = row["draft_definition"]
    return {
        "exportedAt": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "format": BUNDLE_FORMAT,
        "formatVersion": 1,
        "workflows": [{
            "dependencies": _dependencies(row, [draft, *(v["definition_json"] for v in versions)]),
            "draft": {"definition": draft, "draftVersion": row["draft_version"]},
            "key": row["key"],
            "metadata": {
                "autoPauseOnFailure": bool(row["auto_pause_on_failure"]),
                "concurrencyLimit": row["concurrency_limit"],
                "description": row["description"],
                "failureRateMinRuns": row["failure_rate_min_runs"],
                "failureRateThreshold": str(threshold) if threshold is not None else None,
                "isPaused": bool(row["is_paused"]),
                "isSystem": bool(row["is_system"]),
                "isVisible": row["is_visible"] if row["is_visible"] is not None else True,
                "name": row["name"],
                "payloadSchemaMode": row["payload_schema_mode"],
                "payloadSchemaRef": row["payload_schema_ref"],
                "pinnedPayloadSchemaRef": row["pinned_payload_schema_ref"],
                "retentionPolicyOverride": row["retention_policy_override"],
                "trigger": row["trigger"],
            },
            "publishedVersions": [{"definition": v["definition_json"], "payloadSchemaJson": v["payload_schema_json"],
                                   "version": v["version"]} for v in versions],
        }],
    }


def canonical_json(value: Any) -> str:
    """Sorted keys at every level, 2-space indentation, trailing newline."""
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
