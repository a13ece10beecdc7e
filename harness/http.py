"""HTTP client for AlgaPSA's API, built on httpx.

Adds ``Cookie``, ``x-tenant-id`` and ``x-api-key`` to every request, like AlgaPSA's own harness.
Pass ``transport=`` (e.g. ``httpx.MockTransport``) to test without a network.
"""
from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from functools import cache
from typing import Any, Mapping

import httpx

from .config import Target
from .errors import HttpError, TargetUnreachable
from .redaction import redact_url


@dataclass(frozen=True)
class Response:
    """A successful (2xx) response. ``json`` is ``None`` when the body is not JSON."""

    status: int
    headers: Mapping[str, str]
    text: str
    json: Any


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


@cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings every client of this process shares (httpx's defaults: its CA bundle, or
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``). Loading the CA bundle costs about 30 ms, once, not per client."""
    return httpx.create_ssl_context()


class AlgaClient:
    """A small, synchronous client for the workflow and ``/api/v1`` endpoints."""

    def __init__(self, target: Target, *, transport: httpx.BaseTransport | None = None,
                 timeout_s: float = 30.0) -> None:
        self.target = target
        headers = {"x-tenant-id": target.tenant_id}
        if target.cookie:
            headers["Cookie"] = target.cookie
        if target.api_key:
            headers["x-api-key"] = target.api_key
        self._http = httpx.Client(base_url=target.base_url, headers=headers, transport=transport,
                                  timeout=timeout_s, verify=tls_context())

    def request(self, method: str, path: str, *, json_body: Any = None,
                params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> Response:
        """Send one request; raise :class:`HttpError` on a non-2xx status."""
        try:
            resp = self._http.request(method, path, json=json_body, params=params, headers=headers)
        except httpx.TransportError as exc:
            raise TargetUnreachable(f"cannot reach {redact_url(self.target.base_url)}: "
                                    f"{redact_url(str(exc) or type(exc).__name__)}") from None
        body = _parse_json(resp.text)
        if not 200 <= resp.status_code < 300:
            details = body if body is not None else {"error": resp.text}
            raise HttpError(resp.status_code, details, method, path)
        return Response(resp.status_code, resp.headers, resp.text, body)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, json_body=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("PUT", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    def post_event(self, event_name: str, payload: Mapping[str, Any], *, correlation_key: str,
                   payload_schema_ref: str | None = None) -> Response:
        """``POST /api/workflow/events`` with the envelope AlgaPSA expects."""
        body: dict[str, Any] = {"eventName": event_name, "correlationKey": correlation_key,
                                "payload": dict(payload)}
        if payload_schema_ref:
            body["payloadSchemaRef"] = payload_schema_ref
        return self.post("/api/workflow/events", body)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "AlgaClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
