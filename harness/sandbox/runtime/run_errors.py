"""The runtime error object (category, code, message, ...) that lands in ``error_json``."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def iso_now() -> str:
    """UTC now as ISO-8601 with milliseconds and ``Z`` (the format AlgaPSA writes)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class RuntimeFailure(Exception):
    """A step failure with AlgaPSA's error shape; ``to_json`` fills in nodePath and time."""

    def __init__(self, category: str, message: str, *, code: str | None = None, details: Any = None,
                 issues: list[Any] | None = None, path: str | None = None, has_details: bool = False) -> None:
        super().__init__(message)
        self.category = category
        self.message = message
        self.code = code
        self.details = details
        self.issues = issues
        self.path = path
        self.has_details = has_details or details is not None

    def to_json(self, node_path: str) -> dict[str, Any]:
        data: dict[str, Any] = {"category": self.category, "message": self.message}
        if self.code is not None:
            data["code"] = self.code
        if self.has_details:
            data["details"] = self.details
        if self.issues is not None:
            data["issues"] = self.issues
        if self.path is not None:
            data["path"] = self.path
        data["nodePath"] = node_path
        data["at"] = iso_now()
        return data


def validation_failed(issues: list[Any]) -> RuntimeFailure:
    """A schema failure of a node config or input: ``ValidationError`` / ``VALIDATION_ERROR``."""
    return RuntimeFailure("ValidationError", "Validation failed", code="VALIDATION_ERROR", issues=issues)


def action_error(code: str, message: str, details: Any = None) -> RuntimeFailure:
    """A structured business failure raised by an action handler (details default to null)."""
    return RuntimeFailure("ActionError", message, code=code, details=details, has_details=True)
