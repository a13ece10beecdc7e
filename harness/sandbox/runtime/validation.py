"""Publish validation (AlgaPSA's ``validateWorkflowDefinition``): ``{severity, stepPath, stepId, code, message}``
errors for a definition that must not be published."""
from __future__ import annotations

from typing import Any

from ..actions import ACTIONS
from ...contract.event_payloads import PayloadSchemaRegistry
from .expressions import ExpressionError, compile_expression
from .nodes import NODE_HANDLERS
from .paths import SCOPES
from .schema import CONFIG_SCHEMAS, config_issues, definition_issues

PublishError = dict[str, Any]
_ASSIGN_PREFIXES = ("/", *(f"{scope}." for scope in SCOPES))


def _error(step_path: str, code: str, message: str, step_id: Any = None) -> PublishError:
    error: PublishError = {"severity": "error", "stepPath": step_path, "code": code, "message": message}
    if step_id is not None:
        error["stepId"] = step_id
    return error


def _expr_problem(value: Any) -> str | None:
    source = value.get("$expr") if isinstance(value, dict) else None
    if not isinstance(source, str) or not source.strip():
        return "Expression is empty. Pick a source field or enter an expression."
    try:
        compile_expression(source)
    except ExpressionError as exc:
        return exc.message
    return None


def _exprs(value: Any) -> list[Any]:
    """Every Expr object inside a config value."""
    if isinstance(value, list):
        return [found for item in value for found in _exprs(item)]
    if isinstance(value, dict):
        return [value] if "$expr" in value else [found for item in value.values() for found in _exprs(item)]
    return []


class _Validator:
    def __init__(self) -> None:
        self.errors: list[PublishError] = []
        self._ids: set[Any] = set()

    def expr(self, value: Any, path: str, step_id: Any) -> None:
        problem = _expr_problem(value)
        if problem:
            self.errors.append(_error(path, "INVALID_EXPR", problem, step_id))

    def steps(self, steps: Any, prefix: str) -> None:
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            if isinstance(step, dict):
                self.step(step, f"{prefix}.steps[{index}]")

    def step(self, step: dict[str, Any], path: str) -> None:
        step_id, kind = step.get("id"), step.get("type")
        if step_id in self._ids:
            self.errors.append(_error(path, "DUPLICATE_STEP_ID", f"Duplicate step id {step_id}", step_id))
        elif isinstance(step_id, str):
            self._ids.add(step_id)
        if kind == "control.if":
            self.expr(step.get("condition"), path, step_id)
            self.steps(step.get("then"), f"{path}.then")
            self.steps(step.get("else"), f"{path}.else")
        elif kind == "control.forEach":
            self.expr(step.get("items"), path, step_id)
            self.steps(step.get("body"), f"{path}.body")
        elif kind == "control.tryCatch":
            self.steps(step.get("try"), f"{path}.try")
            self.steps(step.get("catch"), f"{path}.catch")
        elif kind == "control.callWorkflow":
            for mapping in (step.get("inputMapping"), step.get("outputMapping")):
                for value in (mapping or {}).values() if isinstance(mapping, dict) else ():
                    self.expr(value, path, step_id)
        elif kind != "control.return":
            self.node(step, path, step_id, kind)

    def node(self, step: dict[str, Any], path: str, step_id: Any, kind: Any) -> None:
        if not isinstance(kind, str) or kind not in NODE_HANDLERS:
            self.errors.append(_error(path, "UNKNOWN_NODE_TYPE", f"Unknown node type: {kind}", step_id))
            return
        config = step.get("config")
        if not config:  # like AlgaPSA, a node without config is only refused when it runs
            return
        issues = config_issues(kind, config) if kind in CONFIG_SCHEMAS else []
        if issues:
            self.errors.append(_error(path, "INVALID_CONFIG", "; ".join(i["message"] for i in issues), step_id))
        if not isinstance(config, dict):
            return
        for value in _exprs(config):
            self.expr(value, path, step_id)
        if kind == "action.call":
            self.action(config, path, step_id)
        assign = config.get("assign")
        for target in assign if kind in ("transform.assign", "event.wait") and isinstance(assign, dict) else ():
            if not target.startswith(_ASSIGN_PREFIXES):
                self.errors.append(_error(path, "INVALID_ASSIGN_PATH", "Assignment path must be scoped "
                                          f"(payload/vars/meta/error or JSON pointer): {target}", step_id))

    def action(self, config: dict[str, Any], path: str, step_id: Any) -> None:
        action_id, version = config.get("actionId"), config.get("version")
        if not action_id or not version:
            self.errors.append(_error(path, "INVALID_ACTION_CONFIG", "action.call requires actionId and version",
                                      step_id))
        elif (action_id, version) not in ACTIONS:
            versions = sorted(v for a, v in ACTIONS if a == action_id)
            hint = f" Action \"{action_id}\" exists at version{'s' if len(versions) > 1 else ''} " \
                   f"{', '.join(map(str, versions))}." if versions else ""
            self.errors.append(_error(path, "UNKNOWN_ACTION", f"Unknown action {action_id}@{version}.{hint}"
                                      if hint else f"Unknown action {action_id}@{version}", step_id))


def publish_errors(definition: Any, schemas: PayloadSchemaRegistry) -> list[PublishError]:
    """Everything that blocks publishing ``definition``; [] when it may be published."""
    errors = [_error("root", "INVALID_WORKFLOW_DEFINITION", issue["message"]) for issue in definition_issues(definition)]
    if not isinstance(definition, dict):
        return errors
    validator = _Validator()
    validator.steps(definition.get("steps"), "root")
    errors += validator.errors
    ref = definition.get("payloadSchemaRef")
    if isinstance(ref, str) and ref and not schemas.has(ref):
        lowered = ref.lower()
        close = [known for known in schemas.refs() if lowered in known.lower()][:5]
        errors.append(_error("root", "UNKNOWN_PAYLOAD_SCHEMA_REF", f'Unknown payload schema ref "{ref}". Did you mean: '
                             f'{", ".join(close)}?' if close else f'Unknown payload schema ref "{ref}".'))
    return errors
