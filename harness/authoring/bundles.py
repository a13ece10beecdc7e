"""A bundle's steps as a flat table and as a tree, and the runtime features it depends on
(for ``notebooks/bundle-inspector.ipynb``)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from ..display.step_tree import StepTree, TreeStep
from ..workflow import BRANCHES, Bundle, definition_of, walk

def _detail(step: dict[str, Any]) -> str:
    config = step.get("config") or {}
    kind = step.get("type", "")
    if kind == "control.if":
        return f"if {(step.get('condition') or {}).get('$expr')}"
    if kind == "control.forEach":
        return f"for {step.get('itemVar')} in {(step.get('items') or {}).get('$expr')}"
    if kind == "control.tryCatch":
        return f"catch as vars.{step['captureErrorAs']}" if step.get("captureErrorAs") else "catch"
    if kind == "transform.assign":
        return ", ".join(config.get("assign") or {})
    if kind == "state.set":
        return f"state = {config.get('state')}"
    if kind == "action.call":
        return f"saveAs {config['saveAs']}" if config.get("saveAs") else ""
    return ""


def _action(step: dict[str, Any]) -> str | None:
    config = step.get("config") or {}
    return f"{config.get('actionId')}@{config.get('version')}" if step.get("type") == "action.call" else None


def steps_table(bundle: Bundle) -> pd.DataFrame:
    """One row per step of every workflow: key, path, depth, id, type, action, short detail."""
    rows = []
    for workflow in bundle.data["workflows"]:
        for path, depth, step in walk(definition_of(workflow).get("steps") or []):
            rows.append({"workflow_key": workflow.get("key"), "step_path": path, "depth": depth,
                         "id": step.get("id"), "type": step.get("type"), "action": _action(step),
                         "detail": _detail(step)})
    return pd.DataFrame(rows, columns=["workflow_key", "step_path", "depth", "id", "type", "action", "detail"])


def _tree(steps: list[dict[str, Any]], prefix: str) -> tuple[TreeStep, ...]:
    nodes = []
    for index, step in enumerate(steps):
        path = f"{prefix}.steps[{index}]"
        branches = tuple((branch, _tree(step[branch], f"{path}.{branch}"))
                         for branch in BRANCHES if isinstance(step.get(branch), list))
        nodes.append(TreeStep(path, str(step.get("id", "")), str(step.get("type", "")),
                              " ".join(filter(None, (_action(step), _detail(step)))), branches))
    return tuple(nodes)


def step_tree(bundle: Bundle) -> StepTree:
    """Every workflow's steps as a tree (shown as HTML in a notebook), from the definition
    :func:`definition_of` picks."""
    return StepTree(tuple((str(workflow.get("key")), _tree(definition_of(workflow).get("steps") or [], "root"))
                          for workflow in bundle.data["workflows"]))


def _used(workflow: dict[str, Any]) -> dict[str, set[str]]:
    definitions = [(workflow.get("draft") or {}).get("definition") or {}]
    definitions += [v.get("definition") or {} for v in workflow.get("publishedVersions") or []]
    used: dict[str, set[str]] = {"nodeType": set(), "action": set(), "schemaRef": set()}
    metadata = workflow.get("metadata") or {}
    used["schemaRef"] |= {r for r in (metadata.get("payloadSchemaRef"), metadata.get("pinnedPayloadSchemaRef")) if r}
    for definition in definitions:
        trigger = definition.get("trigger") or {}
        refs = (definition.get("payloadSchemaRef"), trigger.get("sourcePayloadSchemaRef"))
        used["schemaRef"] |= {r for r in refs if r}
        for _, _, step in walk(definition.get("steps") or []):
            used["nodeType"].add(step.get("type", ""))
            config = step.get("config") or {}
            if step.get("type") == "action.call":
                used["action"].add(f"{config.get('actionId')}@{config.get('version')}")
    return used


def dependencies_table(bundle: Bundle) -> pd.DataFrame:
    """Node types, actions and schema refs per workflow: used by the steps, declared, or both.

    Import checks only the declared list; a used-but-undeclared item surfaces at run time instead.
    ``control.*`` types are always accepted, so they need no declaration.
    """
    rows = []
    for workflow in bundle.data["workflows"]:
        deps = workflow.get("dependencies") or {}
        declared = {"nodeType": set(deps.get("nodeTypes") or []),
                    "action": {f"{a.get('actionId')}@{a.get('version')}" for a in deps.get("actions") or []},
                    "schemaRef": set(deps.get("schemaRefs") or [])}
        used = _used(workflow)
        for kind in ("nodeType", "action", "schemaRef"):
            for name in sorted(used[kind] | declared[kind]):
                rows.append({"workflow_key": workflow.get("key"), "kind": kind, "name": name,
                             "used": name in used[kind], "declared": name in declared[kind],
                             "needs_declaring": name in used[kind] and name not in declared[kind]
                             and not name.startswith("control.")})
    return pd.DataFrame(rows, columns=["workflow_key", "kind", "name", "used", "declared", "needs_declaring"])
