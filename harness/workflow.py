"""Workflow bundles: load and check ``bundle.json``, import, export, draft and publish."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .errors import FixtureError

if TYPE_CHECKING:  # the client is only passed in: loading a bundle (harness list) needs no httpx
    from .http import AlgaClient

BUNDLE_FORMAT = "alga-psa.workflow-bundle"


@dataclass(frozen=True)
class Bundle:
    """A parsed bundle plus the facts the harness needs from its first workflow."""

    path: Path
    data: dict[str, Any]

    @property
    def workflow_key(self) -> str:
        return self.data["workflows"][0]["key"]

    @property
    def is_paused(self) -> bool:
        paused = self.data["workflows"][0].get("metadata", {}).get("isPaused")
        return paused if isinstance(paused, bool) else False

    @property
    def trigger_event(self) -> str | None:
        trigger = self.data["workflows"][0].get("metadata", {}).get("trigger") or {}
        return trigger.get("eventName")

    @property
    def payload_schema_ref(self) -> str | None:
        return self.data["workflows"][0].get("metadata", {}).get("payloadSchemaRef")

    def workflow(self, key: str) -> dict[str, Any]:
        """The bundle workflow with this key."""
        for wf in self.data["workflows"]:
            if wf.get("key") == key:
                return wf
        raise KeyError(key)


def bundle_problems(data: Any, expected_key: str | None = None) -> list[str]:
    """Every structural problem of a bundle (format, version, required fields, types), one per item.

    With ``expected_key``, the first workflow's key must be exactly that (``fixture.<folder name>``).
    """
    from .contract.bundle_format import bundle_errors  # jsonschema is imported only when a bundle is checked

    problems = [f"{e['instancePath'] or '/'} {e['message']}{_detail(e['params'])}" for e in bundle_errors(data)]
    if expected_key is not None and isinstance(data, dict):
        workflows = data.get("workflows")
        key = workflows[0].get("key") if isinstance(workflows, list) and workflows and isinstance(
            workflows[0], dict) else None
        if isinstance(key, str) and key != expected_key:
            problems.append(f"/workflows/0/key must be {expected_key!r} (fixture.<folder name>), got {key!r}")
    return problems


def _detail(params: dict[str, Any]) -> str:
    if params.get("additionalProperty"):
        return f" ({params['additionalProperty']!r})"
    if "allowedValue" in params:
        return f" {json.dumps(params['allowedValue'])}"
    return ""


def json_problem(exc: json.JSONDecodeError) -> str:
    """Where a JSON text breaks and why, as a whole phrase (``malformed JSON at line 3 column 7: ...``)."""
    return f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"


def load_bundle(path: str | Path, expected_key: str | None = None) -> Bundle:
    """Read and check a bundle; raise :class:`FixtureError` with one line listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise FixtureError(f"{path}: bundle.json not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise FixtureError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}: {json_problem(exc)}") from None
    if not isinstance(data, dict):
        raise FixtureError(f"{path}: a bundle must be a JSON object")
    if data.get("format") != BUNDLE_FORMAT:
        raise FixtureError(f"{path}: format must be {BUNDLE_FORMAT!r}, got {data.get('format')!r}")
    problems = bundle_problems(data, expected_key)
    if problems:
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        raise FixtureError(f"{path}: not a valid {BUNDLE_FORMAT} v1 ({count}): {'; '.join(problems)}")
    return Bundle(path, data)


@dataclass(frozen=True)
class ImportSummary:
    """What the import endpoint returned, and the id of the workflow under test."""

    workflow_id: str
    workflow_ids: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def import_bundle(client: AlgaClient, bundle: Bundle, *, force: bool = True) -> ImportSummary:
    """``POST /api/workflow-definitions/import`` and pick out the workflow id by key."""
    params = {"force": "true"} if force else None
    resp = client.post("/api/workflow-definitions/import", bundle.data, params=params)
    if not isinstance(resp.json, dict):
        raise FixtureError("workflow import returned a non-JSON body")
    created = [c for c in resp.json.get("createdWorkflows") or [] if isinstance(c, dict)]
    ids = {c.get("key"): c.get("workflowId") for c in created if c.get("workflowId")}
    workflow_id = ids.get(bundle.workflow_key) or (created[0].get("workflowId") if created else None)
    if not workflow_id:
        raise FixtureError("Workflow import did not return a workflowId")
    return ImportSummary(workflow_id, ids, resp.json)


def export_workflow(client: AlgaClient, workflow_id: str) -> dict[str, Any]:
    """``GET /api/workflow-definitions/{id}/export`` as a dict."""
    resp = client.get(f"/api/workflow-definitions/{workflow_id}/export")
    if not isinstance(resp.json, dict):
        raise FixtureError("workflow export returned a non-JSON body")
    return resp.json


def update_draft(client: AlgaClient, workflow_id: str, definition: dict[str, Any]) -> dict[str, Any]:
    """``PUT /api/workflow-definitions/{id}/1`` with a new draft definition."""
    return client.put(f"/api/workflow-definitions/{workflow_id}/1", {"definition": definition}).json


def publish(client: AlgaClient, workflow_id: str, version: int) -> dict[str, Any]:
    """``POST /api/workflow-definitions/{id}/{version}/publish``; fail unless the server says ok."""
    body = client.post(f"/api/workflow-definitions/{workflow_id}/{version}/publish", {}).json or {}
    if not body.get("ok"):
        raise FixtureError(f"publish of {workflow_id} v{version} was refused: {json.dumps(body.get('errors'))}")
    return body


BRANCHES = ("then", "else", "try", "catch", "body")  # nested step lists, in the step-path grammar


def definition_of(workflow: dict[str, Any]) -> dict[str, Any]:
    """The newest published definition of a bundle workflow, else its draft."""
    published = sorted(workflow.get("publishedVersions") or [], key=lambda v: v.get("version", 0))
    if published:
        return published[-1]["definition"]
    return (workflow.get("draft") or {}).get("definition") or {}


def walk(steps: list[dict[str, Any]], prefix: str = "root") -> Iterator[tuple[str, int, dict[str, Any]]]:
    """``(step_path, depth, step)`` for every step, depth first, with AlgaPSA's step paths."""
    depth = prefix.count(".steps[")
    for index, step in enumerate(steps):
        path = f"{prefix}.steps[{index}]"
        yield path, depth, step
        for branch in BRANCHES:
            if isinstance(step.get(branch), list):
                yield from walk(step[branch], f"{path}.{branch}")


def step_types(definition: dict[str, Any]) -> dict[str, str]:
    """``{step_path: node type}`` for every step of a definition, for the run picture's labels."""
    return {path: str(step.get("type", "")) for path, _, step in walk(definition.get("steps") or [])}


def workflow_step_types(workflows: Iterable[dict[str, Any]], key: str | None) -> dict[str, str]:
    """:func:`step_types` of the workflow with ``key`` among a bundle's (or an export's) ``workflows``,
    from the definition :func:`definition_of` picks; empty when none has that key."""
    found = next((workflow for workflow in workflows if workflow.get("key") == key), None)
    return step_types(definition_of(found)) if found is not None else {}
