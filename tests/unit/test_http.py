"""HTTP client behaviour, isolated from the network with httpx.MockTransport."""
from __future__ import annotations

import json

import httpx
import pytest

from harness.config import Target
from harness.errors import HttpError, TargetUnreachable
from harness.http import AlgaClient

TENANT = "11111111-1111-4111-8111-111111111111"


def _client(handler, **target_kw) -> AlgaClient:
    target = Target(base_url="http://alga.test", tenant_id=TENANT, database_url="postgresql://x/y", **target_kw)
    return AlgaClient(target, transport=httpx.MockTransport(handler))


def test_sends_tenant_api_key_and_cookie_headers():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(200, json={"ok": True})

    resp = _client(handler, api_key="k-123", cookie="authjs.session-token=abc").get("/api/x")
    assert resp.json == {"ok": True}
    assert seen["x-tenant-id"] == TENANT
    assert seen["x-api-key"] == "k-123"
    assert seen["cookie"] == "authjs.session-token=abc"


def test_no_api_key_header_without_a_key():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(204)

    resp = _client(handler, cookie="c=1").delete("/api/v1/tickets/1")
    assert "x-api-key" not in seen
    assert resp.status == 204 and resp.json is None


def test_non_2xx_raises_with_status_and_parsed_details():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "Unknown payload schema ref", "details": {"schemaRef": "p.X.v1"}})

    with pytest.raises(HttpError) as info:
        _client(handler, api_key="k").post_event("TICKET_CREATED", {}, correlation_key="c",
                                                   payload_schema_ref="p.X.v1")
    assert info.value.status == 400
    assert info.value.details["details"]["schemaRef"] == "p.X.v1"
    assert str(info.value) == "HTTP 400: Unknown payload schema ref"


def test_non_json_error_body_becomes_error_text():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="Bad gateway")

    with pytest.raises(HttpError) as info:
        _client(handler, api_key="k").get("/")
    assert info.value.details == {"error": "Bad gateway"}
    assert str(info.value) == "HTTP 502: Bad gateway"


def test_v1_error_envelope_message():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"code": "UNAUTHORIZED", "message": "API key required"}})

    with pytest.raises(HttpError, match="HTTP 401: API key required"):
        _client(handler, api_key="k").get("/api/v1/tickets")


def test_event_envelope_shape():
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"status": "no_wait"})

    _client(handler, api_key="k").post_event("TICKET_CREATED", {"ticketId": "t"}, correlation_key="t",
                                             payload_schema_ref="payload.TicketCreated.v1")
    assert bodies == [{"eventName": "TICKET_CREATED", "correlationKey": "t", "payload": {"ticketId": "t"},
                       "payloadSchemaRef": "payload.TicketCreated.v1"}]


def test_connection_failure_is_a_one_line_unreachable_error():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(TargetUnreachable, match="cannot reach http://alga.test"):
        _client(handler, api_key="k").get("/")


@pytest.mark.parametrize("base_url, secret", [
    ("http://u:web-secret@alga.test", "web-secret"),
    ("http://tok3n-secret@alga.test", "tok3n-secret"),
])
def test_unreachable_message_hides_credentials(base_url, secret):
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url} (proxy postgresql://p:proxy-secret@h/x)")

    target = Target(base_url=base_url, tenant_id=TENANT, database_url="postgresql://x/y", api_key="k")
    with pytest.raises(TargetUnreachable) as info:
        AlgaClient(target, transport=httpx.MockTransport(handler)).get("/")
    message = str(info.value)
    assert message.startswith("cannot reach http://") and "***@alga.test" in message
    assert secret not in message and "proxy-secret" not in message
