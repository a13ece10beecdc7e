"""Workflow definitions in Postgres: bundle import and export, draft updates and publishing."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from ..contract.bundle_format import bundle_errors
from .capabilities import Usage, missing_dependencies
from .http_errors import WorkflowApiError
from ..contract.event_payloads import PayloadSchemaRegistry
from .runtime.recorder import iso, json_text
from .runtime.schema import definition_issues, issue, trigger_issues
from .runtime.validation import publish_errors

BUNDLE_FORMAT = "alga-psa.workflow-bundle"
_NESTED = {"control.if": ("then", "else"), "control.forEach": ("body",), "control.tryCatch": ("try", "catch")}


# --- what definitions use ------------------------------------------------------------------------

def _action_ref(config: Any) -> tuple[str, int] | None:
    """``(actionId, version)`` of an ``action.call`` config, the version coerced to a positive integer."""
    if not isinstance(config, dict) or not isinstance(config.get("actionId"), str) or not config["actionId"]:
        return None
    version = config.get("version")
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version)
    if isinstance(version, float) and version.is_integer():
        version = int(version)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return None
    return config["actionId"], version


def _walk(steps: Any, usage: Usage) -> None:
    for step in steps if isinstance(steps, list) else []:
        kind = step.get("type") if isinstance(step, dict) else None
        if not isinstance(kind, str):
            continue
        if kind not in usage.node_types:
            usage.node_types.append(kind)
        ref = _action_ref(step.get("config")) if kind == "action.call" else None
        if ref and ref not in usage.actions:
            usage.actions.append(ref)
        for branch in _NESTED.get(kind, ()):
            _walk(step.get(branch), usage)


def definition_usage(definitions: list[Any], extra_refs: tuple[Any, ...] = ()) -> Usage:
    """Node types, actions and schema refs the definitions use (``payloadSchemaRef`` and the trigger's
    ``sourcePayloadSchemaRef`` of each), plus ``extra_refs``; nested lists as AlgaPSA walks them."""
    usage = Usage()
    for definition in definitions:
        if not isinstance(definition, dict):
            continue
        _walk(definition.get("steps"), usage)
        trigger = definition.get("trigger")
        extra_refs += (definition.get("payloadSchemaRef"),
                       trigger.get("sourcePayloadSchemaRef") if isinstance(trigger, dict) else None)
    for ref in extra_refs:
        if isinstance(ref, str) and ref and ref not in usage.schema_refs:
            usage.schema_refs.append(ref)
    return usage


# --- import --------------------------------------------------------------------------------------

def _workflow_definitions(wf: dict[str, Any]) -> list[tuple[str, Any]]:
    """``(JSON pointer suffix, definition)`` for the draft and each published version."""
    return [("/draft/definition", wf["draft"]["definition"])] + [
        (f"/publishedVersions/{i}/definition", v["definition"]) for i, v in enumerate(wf["publishedVersions"])]


def _trigger_errors(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Ajv-style errors for triggers (metadata and definitions) that AlgaPSA's trigger schema rejects."""
    errors = []
    for index, wf in enumerate(bundle["workflows"]):
        declared = wf["metadata"]["trigger"]  # null: no trigger
        places = [(f"/workflows/{index}/metadata/trigger", declared)] if declared is not None else []
        places += [(f"/workflows/{index}{where}/trigger", d["trigger"]) for where, d in _workflow_definitions(wf)
                   if "trigger" in d]  # in a definition the key is optional but never null
        for pointer, trigger in places:
            for found in trigger_issues(trigger):
                errors.append({"instancePath": pointer + "".join(f"/{p}" for p in found["path"]),
                               "schemaPath": "#/trigger", "keyword": found["code"], "params": {},
                               "message": found["message"]})
    return errors


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
    errors = bundle_errors(bundle) or _trigger_errors(bundle)
    if errors:
        first = errors[0]
        where = first["instancePath"] or first["schemaPath"]
        raise WorkflowApiError(400, f"Workflow bundle failed schema validation ({where}: {first['message']}).",
                               {"errors": errors})
    by_workflow = []
    for wf in bundle["workflows"]:
        meta = wf["metadata"]
        trigger = meta["trigger"] or {}
        used = definition_usage([d for _, d in _workflow_definitions(wf)],
                                (meta["payloadSchemaRef"], meta["pinnedPayloadSchemaRef"],
                                 trigger.get("sourcePayloadSchemaRef")))
        missing = missing_dependencies(wf, used, schemas)
        if any(missing.values()):
            by_workflow.append({"workflowKey": wf["key"], **missing})
    if by_workflow:
        details: dict[str, Any] = {"missingByWorkflow": by_workflow}
        for name in ("missingActions", "missingNodeTypes", "missingSchemaRefs"):
            seen: list[Any] = []
            for entry in by_workflow:
                seen += [item for item in entry[name] if item not in seen]
            details[name] = seen
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
                "trigger": json_text(meta["trigger"]),
                "draft_definition": json_text(_with_id(wf["draft"]["definition"], workflow_id)),
                "draft_version": wf["draft"]["draftVersion"],
                "status": "published" if versions else "draft",
                "is_system": meta["isSystem"], "is_visible": meta["isVisible"], "is_paused": meta["isPaused"],
                "concurrency_limit": meta["concurrencyLimit"], "auto_pause_on_failure": meta["autoPauseOnFailure"],
                "failure_rate_threshold": meta["failureRateThreshold"],
                "failure_rate_min_runs": meta["failureRateMinRuns"],
                "retention_policy_override": json_text(meta["retentionPolicyOverride"]),
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
                    "payload_schema_json, published_by, published_at) VALUES (%s,%s,%s,%s::json,%s::jsonb,%s,%s)",
                    (workflow_id, tenant, version["version"], json_text(_with_id(version["definition"], workflow_id)),
                     json_text(version["payloadSchemaJson"]), user_id, now))
            created.append({"key": key, "workflowId": workflow_id})
            if versions:
                published.append({"key": key, "workflowId": workflow_id, "versions": [v["version"] for v in versions]})
    return {"createdWorkflows": created, "deletedWorkflows": [], "createdPublishedVersions": published}


# --- export --------------------------------------------------------------------------------------

def _dependencies(row: dict[str, Any], definitions: list[dict[str, Any]]) -> dict[str, Any]:
    used = definition_usage(definitions, (row["pinned_payload_schema_ref"],))
    return {"actions": [{"actionId": a, "version": v} for a, v in sorted(used.actions)],
            "nodeTypes": sorted(t for t in used.node_types if not t.startswith("control.")),
            "schemaRefs": sorted(used.schema_refs)}


async def _definition_row(cur: psycopg.AsyncCursor[Any], workflow_id: str, tenant: str, *, lock: bool = False
                          ) -> dict[str, Any]:
    await cur.execute("SELECT * FROM workflow_definitions WHERE workflow_id = %s AND tenant = %s"
                      + (" FOR UPDATE" if lock else ""), (workflow_id, tenant))
    row = await cur.fetchone()
    if row is None:
        raise WorkflowApiError(404, "Not found")
    return row


async def export_bundle(conn: AsyncConnection, workflow_id: str, *, tenant: str) -> dict[str, Any]:
    """One workflow as a v1 bundle, dependencies recomputed from its definitions."""
    async with conn.cursor(row_factory=dict_row) as cur:
        row = await _definition_row(cur, workflow_id, tenant)
        await cur.execute("SELECT version, definition_json, payload_schema_json FROM workflow_definition_versions "
                          "WHERE workflow_id = %s ORDER BY version", (workflow_id,))
        versions = await cur.fetchall()
    threshold = row["failure_rate_threshold"]
    draft = row["draft_definition"]
    return {
        "exportedAt": iso(datetime.now(timezone.utc)),
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


# --- draft update and publish --------------------------------------------------------------------

def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON the way AlgaPSA's database layer renders it (uuids and numerics as strings)."""
    def value(item: Any) -> Any:
        if isinstance(item, uuid.UUID):
            return str(item)
        if isinstance(item, datetime):
            return iso(item)
        return str(item) if isinstance(item, Decimal) else item
    return {key: value(item) for key, item in row.items()}


def _validation_columns(errors: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    return {"validation_status": "error" if errors else "valid", "validation_errors": json_text(errors),
            "validation_warnings": json_text([]), "validated_at": now}


async def update_draft(conn: AsyncConnection, workflow_id: str, body: Any, *, tenant: str, user_id: str,
                       schemas: PayloadSchemaRegistry) -> dict[str, Any]:
    """``PUT /api/workflow-definitions/{id}/{version}``: replace the draft; return the updated row."""
    wrapped = isinstance(body, dict) and "definition" in body
    definition = body["definition"] if wrapped else body
    issues = definition_issues(definition, ["definition"] if wrapped else [])
    if issues:
        raise WorkflowApiError(400, "Invalid request", issues)
    definition = {**definition, "id": workflow_id}
    now = datetime.now(timezone.utc)
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        row = await _definition_row(cur, workflow_id, tenant, lock=True)
        mode = body.get("payloadSchemaMode", row["payload_schema_mode"]) if wrapped else row["payload_schema_mode"]
        pinned = body.get("pinnedPayloadSchemaRef", row["pinned_payload_schema_ref"]) if wrapped \
            else row["pinned_payload_schema_ref"]
        if mode not in ("pinned", "inferred"):
            raise WorkflowApiError(400, "Invalid request", [issue("invalid_enum_value", ["payloadSchemaMode"],
                                                                  "Invalid enum value. Expected 'pinned' | 'inferred'",
                                                                  options=["pinned", "inferred"], received=mode)])
        columns = {"draft_definition": json_text(definition), "draft_version": definition["version"],
                   "name": definition["name"], "description": definition.get("description"),
                   "payload_schema_ref": definition["payloadSchemaRef"], "trigger": json_text(definition.get("trigger")),
                   "payload_schema_mode": mode, "pinned_payload_schema_ref": pinned,
                   "payload_schema_provenance": mode,
                   **_validation_columns(publish_errors(definition, schemas), now),
                   "updated_by": user_id, "updated_at": now}
        sets = ", ".join(f"{c} = %s" for c in columns)
        await cur.execute(f"UPDATE workflow_definitions SET {sets} WHERE workflow_id = %s RETURNING *",
                          (*columns.values(), workflow_id))
        return _plain(await cur.fetchone())


def _inferred_ref(definition: dict[str, Any], schemas: PayloadSchemaRegistry) -> str | None:
    trigger = definition.get("trigger")
    if not isinstance(trigger, dict) or trigger.get("type") != "event":
        return None
    return trigger.get("sourcePayloadSchemaRef") or schemas.ref_for_event(str(trigger.get("eventName")))


async def publish(conn: AsyncConnection, workflow_id: str, requested: int, body: Any, *, tenant: str, user_id: str,
                  schemas: PayloadSchemaRegistry) -> dict[str, Any]:
    """``POST /api/workflow-definitions/{id}/{version}/publish``: validate the draft (or the body's
    definition) and store it as version ``max(requested, latest + 1)``; ``{ok: false, errors}`` when invalid."""
    now = datetime.now(timezone.utc)
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        row = await _definition_row(cur, workflow_id, tenant, lock=True)
        definition = body["definition"] if isinstance(body, dict) and "definition" in body else row["draft_definition"]
        await cur.execute("SELECT coalesce(max(version), 0) AS latest FROM workflow_definition_versions "
                          "WHERE workflow_id = %s", (workflow_id,))
        version = max(requested, (await cur.fetchone())["latest"] + 1)
        if isinstance(definition, dict):
            definition = {**definition, "id": workflow_id, "version": version}
            if row["payload_schema_mode"] == "inferred":
                ref = _inferred_ref(definition, schemas)
                if ref is None:
                    return {"ok": False, "warnings": [], "errors": [{
                        "severity": "error", "stepPath": "trigger", "code": "PAYLOAD_SCHEMA_INFERENCE_UNSUPPORTED_TRIGGER",
                        "message": "Inferred payload schemas need an event trigger with a known payload schema."}]}
                definition["payloadSchemaRef"] = ref
        errors = publish_errors(definition, schemas)
        if errors:
            return {"ok": False, "errors": errors, "warnings": []}
        ref = definition["payloadSchemaRef"]
        validation = _validation_columns([], now)
        try:
            await cur.execute(
                "INSERT INTO workflow_definition_versions (workflow_id, tenant, version, definition_json, "
                "payload_schema_json, validation_status, validation_errors, validation_warnings, validated_at, "
                "published_by, published_at) VALUES (%s,%s,%s,%s::json,%s::jsonb,%s,%s::jsonb,%s::jsonb,%s,%s,%s)",
                (workflow_id, tenant, version, json_text(definition), json_text(schemas.json_schema(ref)),
                 *validation.values(), user_id, now))
        except psycopg.errors.UniqueViolation:
            raise WorkflowApiError(409, f"Workflow version {version} already exists. Refresh and retry.") from None
        columns = {"status": "published", "draft_version": version + 1,
                   "draft_definition": json_text({**definition, "version": version + 1}),
                   "name": definition["name"], "description": definition.get("description"),
                   "trigger": json_text(definition.get("trigger")), "payload_schema_ref": ref,
                   "payload_schema_provenance": row["payload_schema_mode"], **validation,
                   "updated_by": user_id, "updated_at": now}
        sets = ", ".join(f"{c} = %s" for c in columns)
        await cur.execute(f"UPDATE workflow_definitions SET {sets} WHERE workflow_id = %s",
                          (*columns.values(), workflow_id))
    return {"ok": True, "publishedVersion": version, "errors": [], "warnings": []}
