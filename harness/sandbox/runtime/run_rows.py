"""Creating run rows: event-triggered runs and ``control.callWorkflow`` child runs."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from .recorder import CLOCK, json_text

_INSERT_RUN = """
INSERT INTO workflow_runs (run_id, tenant, workflow_id, workflow_version, status, node_path, input_json, event_type,
                           source_payload_schema_ref, trigger_mapping_applied, trigger_type, trigger_metadata_json,
                           parent_run_id, root_run_id, started_at, updated_at)
VALUES (%s,%s,%s,%s,'RUNNING','root.steps[0]',%s::jsonb,%s,%s,%s,%s,%s::jsonb,%s,%s,%s,%s)
"""
_INSERT_LOG = ("INSERT INTO workflow_run_logs (log_id, tenant, run_id, level, message, context_json, event_name, "
               "source, created_at) VALUES (%s,%s,%s,'INFO','Run started',%s::jsonb,%s,'runtime',%s)")


@dataclass(frozen=True)
class StartedRun:
    """A run row just inserted; ``seed`` is what the executor would otherwise load for its first execution."""

    run_id: str
    workflow_id: str
    seed: dict[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Parent:
    """Where a child run was called from (recorded like AlgaPSA's HEAD does)."""

    run_id: str
    root_run_id: str
    step_path: str


async def insert_run(conn: AsyncConnection, *, tenant: str, workflow_id: str, version: int, payload: Any,
                     event_type: str | None, source_ref: str | None, mapping_applied: bool,
                     parent: Parent | None = None, definition: dict[str, Any] | None = None) -> StartedRun:
    """Insert a RUNNING run row and its ``Run started`` log (queued when ``conn`` is in pipeline mode).

    With ``definition`` (the version columns of the executor's load query) the result carries a seed.
    """
    run_id = str(uuid.uuid4())
    started_at = CLOCK.now()
    payload_text = json_text(payload)
    if parent is not None:
        trigger_type, metadata = None, {"parentRunId": parent.run_id, "rootRunId": parent.root_run_id,
                                        "parentStepPath": parent.step_path}
    elif event_type:
        trigger_type, metadata = "event", {"eventType": event_type, "sourcePayloadSchemaRef": source_ref,
                                           "triggerMappingApplied": mapping_applied}
    else:
        trigger_type, metadata = None, None
    context = {"workflowId": workflow_id, "workflowVersion": version,
               "payloadSizeBytes": len(payload_text or "null"), "triggerEventName": event_type,
               "eventType": event_type, "sourcePayloadSchemaRef": source_ref, "triggerMappingApplied": mapping_applied}
    await conn.execute(_INSERT_RUN, (run_id, tenant, workflow_id, version, payload_text, event_type, source_ref,
                                     mapping_applied, trigger_type, json_text(metadata),
                                     parent.run_id if parent else None, parent.root_run_id if parent else None,
                                     started_at, started_at))
    await conn.execute(_INSERT_LOG, (str(uuid.uuid4()), tenant, run_id, json.dumps(context), event_type, CLOCK.now()))
    if definition is None:
        return StartedRun(run_id, workflow_id)
    return StartedRun(run_id, workflow_id, {**definition, **_seed(run_id, tenant, workflow_id, version, payload,
                                                                  source_ref, mapping_applied, started_at)})


def _seed(run_id: str, tenant: str, workflow_id: str, version: int, payload: Any, source_ref: str | None,
          mapping_applied: bool, started_at: datetime) -> dict[str, Any]:
    """The run-row columns of the executor's load query, as inserted."""
    return {"run_id": run_id, "tenant": tenant, "workflow_id": workflow_id, "workflow_version": version,
            "status": "RUNNING", "node_path": "root.steps[0]", "input_json": payload,
            "source_payload_schema_ref": source_ref, "trigger_mapping_applied": mapping_applied,
            "started_at": started_at, "root_run_id": None, "resume_event_name": None, "resume_event_payload": None,
            "resume_error": None, "envelope": None, "attempts": None}
