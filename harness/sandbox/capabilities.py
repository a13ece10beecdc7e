"""What this runtime supports: node types, actions and payload schema refs.

One registry per fact; the import dependency check, publish validation and the runtime all read these.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .actions import ACTIONS
from ..contract.event_payloads import PayloadSchemaRegistry
from .runtime.nodes import NODE_HANDLERS
from .runtime.schema import CONTROL_TYPES


def node_types() -> list[str]:
    """Every step type a definition may use, control blocks included."""
    return sorted([*NODE_HANDLERS, *CONTROL_TYPES])


@dataclass
class Usage:
    """What definitions use, in first-seen order: node types (control blocks included), action refs, schema refs."""

    node_types: list[str] = field(default_factory=list)
    actions: list[tuple[str, int]] = field(default_factory=list)
    schema_refs: list[str] = field(default_factory=list)


def missing_dependencies(workflow: dict[str, Any], used: Usage, schemas: PayloadSchemaRegistry
                         ) -> dict[str, list[Any]]:
    """What one bundle workflow needs and this runtime lacks: its declared dependencies (``control.*``
    entries always pass, as in AlgaPSA) followed by anything its definitions use without declaring."""
    deps = workflow.get("dependencies") or {}
    known_types = set(node_types())
    actions = [a for a in deps.get("actions", []) if (a.get("actionId"), a.get("version")) not in ACTIONS]
    for action_id, version in used.actions:
        ref = {"actionId": action_id, "version": version}
        if (action_id, version) not in ACTIONS and ref not in actions:
            actions.append(ref)
    nodes = [n for n in deps.get("nodeTypes", []) if not n.startswith("control.") and n not in NODE_HANDLERS]
    nodes += [n for n in used.node_types if n not in known_types and n not in nodes]
    refs = [r for r in deps.get("schemaRefs", []) if not schemas.has(r)]
    refs += [r for r in used.schema_refs if not schemas.has(r) and r not in refs]
    return {"missingActions": actions, "missingNodeTypes": nodes, "missingSchemaRefs": refs}
