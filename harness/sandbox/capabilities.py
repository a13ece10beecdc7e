"""What this runtime supports: node types, actions and payload schema refs.

One registry per fact; the import dependency check, the runtime and the docs all read these.
"""
from __future__ import annotations

from typing import Any

from .actions import ACTIONS
from .payloads.registry import PayloadSchemaRegistry
from .runtime.engine import CONTROL_TYPES
from .runtime.nodes import NODE_HANDLERS


def node_types() -> list[str]:
    """Every node type a definition may use, control blocks included."""
    return sorted([*NODE_HANDLERS, *CONTROL_TYPES])


def missing_dependencies(workflow: dict[str, Any], schemas: PayloadSchemaRegistry) -> dict[str, list[Any]]:
    """The declared dependencies of one bundle workflow that this runtime lacks."""
    deps = workflow.get("dependencies") or {}
    actions = [a for a in deps.get("actions", []) if (a.get("actionId"), a.get("version")) not in ACTIONS]
    nodes = [n for n in deps.get("nodeTypes", []) if not n.startswith("control.") and n not in NODE_HANDLERS]
    refs = [r for r in deps.get("schemaRefs", []) if not schemas.has(r)]
    return {"missingActions": actions, "missingNodeTypes": nodes, "missingSchemaRefs": refs}
