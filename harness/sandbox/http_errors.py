"""HTTP error types with AlgaPSA's two error envelopes."""
from __future__ import annotations

from typing import Any

_MISSING = object()


class WorkflowApiError(Exception):
    """Workflow routes: ``{"error": message[, "details": ...]}``."""

    def __init__(self, status: int, error: str, details: Any = _MISSING) -> None:
        super().__init__(error)
        self.status, self.error, self.details = status, error, details

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error}
        if self.details is not _MISSING:
            body["details"] = self.details
        return body


class V1ApiError(Exception):
    """``/api/v1`` routes: ``{"error": {"code", "message"[, "details"]}}``."""

    STATUS = {"VALIDATION_ERROR": 400, "UNAUTHORIZED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "CONFLICT": 409,
              "PRODUCT_ACCESS_DENIED": 403, "PAYLOAD_TOO_LARGE": 413}

    def __init__(self, code: str, message: str, details: Any = _MISSING, status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details
        self.status = status or self.STATUS.get(code, 500)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not _MISSING:
            error["details"] = self.details
        return {"error": error}
