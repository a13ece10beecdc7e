"""Malformed requests to the workflow routes get 4xx JSON errors, never a 500 or a stuck run."""
from __future__ import annotations

import json

import pytest

from .runtime_helpers import REF, Runtime, event_name

EVENTS = "/api/workflow/events"


def post_raw(rt: Runtime, path: str, content: bytes | str) -> tuple[int, dict]:
    response = rt.http.post(path, content=content, headers={"content-type": "application/json"})
    return response.status_code, response.json()


def envelope(**fields) -> str:
    return json.dumps({"eventName": event_name(), "correlationKey": "k", "payloadSchemaRef": REF,
                       "payload": {"ticketId": "6f93e024-e8e6-4573-9d1c-b4ee73359442"}, **fields})


@pytest.mark.parametrize("content, status, error", [
    ("{not json", 400, "Invalid JSON body"),
    (b"\xff\xfe{}", 400, "Invalid JSON body"),
    ("[" * 50_000 + "]" * 50_000, 400, "Invalid JSON body"),
    ('{"eventName": "X", "correlationKey": "k", "payload": {"a": ' + "[" * 3000 + "]" * 3000 + "}}", 400,
     "Invalid JSON body: nested deeper"),
    ('{"eventName": "X", "correlationKey": "k", "payload": {"n": NaN}}', 400, "Invalid JSON body"),
    ('{"eventName": "X", "correlationKey": "k", "payload": {"s": "a\\u0000b"}}', 400, "Invalid JSON body"),
    ('{"eventName": "X", "correlationKey": "k", "payload": {"s": "\\ud800"}}', 400, "Invalid JSON body"),
    ("[]", 400, "Invalid request"),
    ('"text"', 400, "Invalid request"),
    ("", 400, "Invalid request"),
    (envelope(eventName=5), 400, "Invalid request"),
    (envelope(correlationKey=""), 400, "Invalid request"),
    (envelope(payload=[1]), 400, "Invalid request"),
    (envelope(payload=None), 400, "Invalid request"),
    (envelope(payloadSchemaRef=7), 400, "Invalid request"),
    (envelope(payloadSchemaRef="payload.Nope.v1"), 400, "Unknown payload schema ref"),
    (envelope(payload={"ticketId": 5}), 400, "Invalid event payload"),
    (json.dumps({"eventName": "X", "correlationKey": "k", "payloadSchemaRef": REF,
                 "payload": {"ticketId": "6f93e024-e8e6-4573-9d1c-b4ee73359442", "blob": "x" * 1_100_000}}),
     413, "Request body exceeds"),
])
def test_malformed_event_submissions(rt, content, status, error):
    code, body = post_raw(rt, EVENTS, content)
    assert code == status, body
    assert body["error"].startswith(error)


def test_literal_backslash_u0000_text_is_accepted(rt):
    code, body = post_raw(rt, EVENTS, envelope(payload={"ticketId": "6f93e024-e8e6-4573-9d1c-b4ee73359442",
                                                        "s": "\\u0000"}))
    assert code == 200 and body["status"] == "no_wait"


@pytest.mark.parametrize("content", ["{bad", "[1]", '{"format": 1}', "null"])
def test_malformed_imports(rt, content):
    code, body = post_raw(rt, "/api/workflow-definitions/import", content)
    assert code == 400 and "error" in body


def test_unknown_route_and_method_are_json(rt):
    response = rt.http.get("/api/workflow/nothing-here")
    assert response.status_code == 404 and "error" in response.json()
    response = rt.http.get(EVENTS)
    assert response.status_code == 405 and "error" in response.json()


def test_missing_credentials_are_401(rt):
    response = rt.http.post(EVENTS, content=envelope(), headers={"x-api-key": ""})
    assert response.status_code == 401 and "error" in response.json()


def test_unknown_event_name_without_schema_starts_nothing(rt):
    code, body = post_raw(rt, EVENTS, json.dumps({"eventName": event_name(), "correlationKey": "k",
                                                  "payload": {"anything": [1, {"deep": True}]}}))
    assert code == 200 and body["startedRuns"] == [] and body["eventId"]
