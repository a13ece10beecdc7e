"""Request-body schemas for ``/api/v1``, checked like AlgaPSA's zod schemas.

Field types use the payload catalog's notation and its Zod-compatible validator; string length caps
and URL checks, which that notation lacks, are added here. Unknown keys are stripped.
"""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

from ...http_errors import V1ApiError
from ....contract.event_payloads import PayloadSchemaRegistry


def _too_big(path: str, maximum: int) -> dict[str, Any]:
    return {"code": "too_big", "maximum": maximum, "type": "string", "inclusive": True, "exact": False,
            "path": [path], "message": f"String must contain at most {maximum} character(s)"}


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path))


class BodySchema:
    """One request body: ``fields`` maps each key to its type (``"uuid?"``, ``"string(min=1)"``, ...)."""

    def __init__(self, name: str, fields: Mapping[str, str], *, max_length: Mapping[str, int] | None = None,
                 urls: tuple[str, ...] = ()) -> None:
        self.name, self.fields = name, dict(fields)
        self.max_length, self.urls = dict(max_length or {}), urls
        self._registry = PayloadSchemaRegistry({"refs": {name: {"fields": self.fields}}})

    def issues(self, body: Any) -> list[dict[str, Any]]:
        """Zod issues for ``body``; [] when it is valid."""
        found = self._registry.validate(self.name, body)
        if isinstance(body, dict):
            for key, maximum in self.max_length.items():
                value = body.get(key)
                if isinstance(value, str) and len(value) > maximum:
                    found.append(_too_big(key, maximum))
            for key in self.urls:
                value = body.get(key)
                if isinstance(value, str) and not _is_url(value):
                    found.append({"code": "invalid_string", "validation": "url", "path": [key],
                                  "message": "Invalid url"})
        return found

    def parse(self, body: Any) -> dict[str, Any]:
        """The known keys of a valid body; 400 ``Validation failed`` with the issues otherwise."""
        return self.accept(body, self.issues(body))

    def accept(self, body: Any, found: list[dict[str, Any]], message: str = "Validation failed") -> dict[str, Any]:
        """The known keys of ``body`` when ``found`` (its issues, as the route words them) is empty;
        400 ``message`` with those issues otherwise."""
        if found:
            raise V1ApiError("VALIDATION_ERROR", message, found)
        return {key: body[key] for key in self.fields if key in body}
