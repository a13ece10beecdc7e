"""The sandbox's payload schema registry: Zod-style issues, and agreement with plain JSON Schema."""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from jsonschema import Draft202012Validator

from harness.contract.event_payloads import PayloadSchemaRegistry, default_registry

TICKET_CREATED = "payload.TicketCreated.v1"
UUID = "55f9a37d-2a9f-58f4-801a-d0c0a205e7fd"
NOW = "2026-03-02T15:04:05.000Z"


@pytest.fixture(scope="module")
def registry() -> PayloadSchemaRegistry:
    return default_registry()


def ticket(**fields: Any) -> dict[str, Any]:
    """A valid TicketCreated payload with ``fields`` overriding it (None removes a key)."""
    payload = {"tenantId": "tenant-1", "occurredAt": NOW, "ticketId": UUID, "updatedFields": [], "changes": {}}
    payload.update(fields)
    return {k: v for k, v in payload.items() if v is not None}


def one_issue(registry: PayloadSchemaRegistry, ref: str, payload: object) -> dict[str, Any]:
    issues = registry.validate(ref, payload)
    assert len(issues) == 1, issues
    return issues[0]


# --- lookups -----------------------------------------------------------------------------------


def test_lookups(registry: PayloadSchemaRegistry) -> None:
    assert registry.ref_for_event("TICKET_CREATED") == TICKET_CREATED
    assert registry.ref_for_event("NO_SUCH_EVENT") is None
    assert registry.has(TICKET_CREATED) and not registry.has("payload.DoesNotExist.v1")
    refs = registry.refs()
    assert refs == sorted(refs) and len(refs) == 187
    assert len(registry.events()) == 184
    assert set(registry.events().values()) <= set(refs)
    with pytest.raises(KeyError):
        registry.validate("payload.DoesNotExist.v1", {})


def test_json_schema_is_a_2020_12_schema_and_a_copy(registry: PayloadSchemaRegistry) -> None:
    schema = registry.json_schema(TICKET_CREATED)
    Draft202012Validator.check_schema(schema)
    assert schema["title"] == TICKET_CREATED
    assert schema["required"] == ["tenantId", "occurredAt", "ticketId"]
    assert schema["properties"]["actorType"] == {"type": "string", "enum": ["USER", "CONTACT", "SYSTEM"]}
    assert "additionalProperties" not in schema  # strip mode: unknown keys pass
    schema["required"].clear()
    assert registry.json_schema(TICKET_CREATED)["required"]


def test_strict_and_default_in_json_schema(registry: PayloadSchemaRegistry) -> None:
    assert registry.json_schema("payload.Empty.v1")["additionalProperties"] is False
    updated = registry.json_schema("payload.TicketUpdated.v1")
    assert updated["properties"]["suppressContactNotifications"] == {"type": "boolean", "default": False}
    assert "suppressContactNotifications" not in updated["required"]


# --- issue shapes ------------------------------------------------------------------------------


def test_valid_payload_with_unknown_keys(registry: PayloadSchemaRegistry) -> None:
    payload = ticket(actorType="USER", actorUserId=UUID, fixtureName="x", correlationKey="k")
    assert registry.validate(TICKET_CREATED, payload) == []


def test_missing_required_key(registry: PayloadSchemaRegistry) -> None:
    payload = {"updatedFields": [], "changes": {}, "tenantId": "tenant-1", "occurredAt": NOW}
    assert registry.validate(TICKET_CREATED, payload) == [
        {"code": "invalid_type", "expected": "string", "received": "undefined", "path": ["ticketId"],
         "message": "Required"}
    ]


def test_wrong_type(registry: PayloadSchemaRegistry) -> None:
    assert one_issue(registry, TICKET_CREATED, ticket(ticketId=42)) == {
        "code": "invalid_type", "expected": "string", "received": "number", "path": ["ticketId"],
        "message": "Expected string, received number",
    }
    issue = one_issue(registry, TICKET_CREATED, ticket(updatedFields={}))
    assert (issue["expected"], issue["received"]) == ("array", "object")
    assert issue["message"] == "Expected array, received object"


@pytest.mark.parametrize(
    ("payload", "received"),
    [([], "array"), (None, "null"), ("x", "string"), (1, "number"), (1.5, "number"), (True, "boolean")],
)
def test_payload_that_is_not_an_object(registry: PayloadSchemaRegistry, payload: object, received: str) -> None:
    assert registry.validate(TICKET_CREATED, payload) == [
        {"code": "invalid_type", "expected": "object", "received": received, "path": [],
         "message": f"Expected object, received {received}"}
    ]


def test_bad_uuid(registry: PayloadSchemaRegistry) -> None:
    assert one_issue(registry, TICKET_CREATED, ticket(ticketId="not-a-uuid")) == {
        "code": "invalid_string", "validation": "uuid", "path": ["ticketId"], "message": "Invalid uuid"
    }
    assert registry.validate(TICKET_CREATED, ticket(ticketId=UUID.upper())) == []


@pytest.mark.parametrize(
    "value",
    ["2026-03-02T15:04Z", "2026-03-02T15:04:05Z", "2026-03-02T15:04:05.123456789Z", "2024-02-29T00:00:00Z",
     "2000-02-29T23:59Z"],
)
def test_datetime_accepted(registry: PayloadSchemaRegistry, value: str) -> None:
    assert registry.validate(TICKET_CREATED, ticket(occurredAt=value)) == []


@pytest.mark.parametrize(
    "value",
    ["2026-03-02T15:04:05+00:00", "2026-03-02T15:04:05", "2026-03-02", "2023-02-29T00:00Z", "1900-02-29T00:00Z",
     "2026-04-31T00:00Z", "2026-03-02T24:00Z", "2026-03-02T15:04:05.Z", "2026-03-02t15:04Z", f"{NOW}\n",
     "٢٠٢٦-03-02T15:04Z"],
)
def test_datetime_rejected(registry: PayloadSchemaRegistry, value: str) -> None:
    assert one_issue(registry, TICKET_CREATED, ticket(occurredAt=value)) == {
        "code": "invalid_string", "validation": "datetime", "path": ["occurredAt"], "message": "Invalid datetime"
    }


def test_trailing_newline_rejected_like_ecmascript(registry: PayloadSchemaRegistry) -> None:
    issue = one_issue(registry, TICKET_CREATED, ticket(ticketId=f"{UUID}\n"))
    assert issue["validation"] == "uuid"


def test_email(registry: PayloadSchemaRegistry) -> None:
    ref = "payload.EmailWorkflowPayload.v1"
    payload = {"providerId": "p", "tenantId": "t",
               "emailData": {"id": "1", "subject": "s", "body": {}, "from": {"email": "A.b+c@Example.COM"}}}
    assert registry.validate(ref, payload) == []
    payload["emailData"]["from"]["email"] = "a..b@example.com"
    assert one_issue(registry, ref, payload) == {
        "code": "invalid_string", "validation": "email", "path": ["emailData", "from", "email"],
        "message": "Invalid email",
    }


def test_enum(registry: PayloadSchemaRegistry) -> None:
    assert one_issue(registry, TICKET_CREATED, ticket(actorType="BOT")) == {
        "code": "invalid_enum_value", "received": "BOT", "options": ["USER", "CONTACT", "SYSTEM"],
        "path": ["actorType"],
        "message": "Invalid enum value. Expected 'USER' | 'CONTACT' | 'SYSTEM', received 'BOT'",
    }
    issue = one_issue(registry, TICKET_CREATED, ticket(actorType=1))
    assert (issue["code"], issue["expected"]) == ("invalid_type", "'USER' | 'CONTACT' | 'SYSTEM'")
    assert issue["message"] == "Expected 'USER' | 'CONTACT' | 'SYSTEM', received number"


def test_too_small_string(registry: PayloadSchemaRegistry) -> None:
    assert one_issue(registry, TICKET_CREATED, ticket(tenantId="")) == {
        "code": "too_small", "minimum": 1, "type": "string", "inclusive": True, "exact": False,
        "path": ["tenantId"], "message": "String must contain at least 1 character(s)",
    }


def test_numbers(registry: PayloadSchemaRegistry) -> None:
    ref = "payload.WorkflowClockTrigger.v1"
    payload = {"triggerType": "schedule", "scheduleId": "s", "scheduledFor": NOW, "firedAt": NOW,
               "timezone": "UTC", "workflowId": "w", "workflowVersion": 1}
    assert registry.validate(ref, payload) == []
    assert registry.validate(ref, {**payload, "workflowVersion": 2.0}) == []
    assert registry.validate(ref, {**payload, "workflowVersion": -1.5}) == [
        {"code": "invalid_type", "expected": "integer", "received": "float", "path": ["workflowVersion"],
         "message": "Expected integer, received float"},
        {"code": "too_small", "minimum": 0, "type": "number", "inclusive": False, "exact": False,
         "path": ["workflowVersion"], "message": "Number must be greater than 0"},
    ]
    issue = one_issue(registry, ref, {**payload, "workflowVersion": True})
    assert (issue["expected"], issue["received"]) == ("number", "boolean")


def test_strict_object_rejects_unknown_keys(registry: PayloadSchemaRegistry) -> None:
    assert registry.validate("payload.Empty.v1", {}) == []
    assert registry.validate("payload.Empty.v1", {"x": 1, "y": 2}) == [
        {"code": "unrecognized_keys", "keys": ["x", "y"], "path": [],
         "message": "Unrecognized key(s) in object: 'x', 'y'"}
    ]


def test_one_issue_per_failing_key_in_declaration_order(registry: PayloadSchemaRegistry) -> None:
    issues = registry.validate(TICKET_CREATED, {"changes": [], "ticketId": 1, "occurredAt": "x"})
    assert [(i["path"], i["code"]) for i in issues] == [
        (["tenantId"], "invalid_type"), (["occurredAt"], "invalid_string"), (["ticketId"], "invalid_type"),
        (["changes"], "invalid_type"),
    ]


def test_nested_paths(registry: PayloadSchemaRegistry) -> None:
    issue = one_issue(registry, TICKET_CREATED, ticket(changes={"status": {"previous": 1, "new": 2}, "x": 5}))
    assert issue["path"] == ["changes", "x"] and issue["expected"] == "object"
    applications = [{"invoiceId": UUID, "amountApplied": "1"}, {"invoiceId": "nope", "amountApplied": "1"}]
    payload = {"tenantId": "t", "occurredAt": NOW, "paymentId": UUID, "applications": applications}
    assert one_issue(registry, "payload.PaymentApplied.v1", payload)["path"] == ["applications", 1, "invoiceId"]
    issue = one_issue(registry, "payload.PaymentApplied.v1", {**payload, "applications": []})
    assert issue == {"code": "too_small", "minimum": 1, "type": "array", "inclusive": True, "exact": False,
                     "path": ["applications"], "message": "Array must contain at least 1 element(s)"}


def webhook(**fields: Any) -> dict[str, Any]:
    payload = {"source": "s", "body": {"anything": 1}, "headers": {"a": "1", "b": ["2"]}, "verified": True,
               "delivery_id": UUID, "idempotency_key": None, "received_at": NOW}
    payload.update(fields)
    return payload


def test_literal_nullable_and_union(registry: PayloadSchemaRegistry) -> None:
    ref = "payload.InboundWebhookReceived.v1"
    assert registry.validate(ref, webhook()) == []
    assert one_issue(registry, ref, webhook(verified=False)) == {
        "code": "invalid_literal", "received": False, "expected": True, "path": ["verified"],
        "message": "Invalid literal value, expected true",
    }
    missing = webhook()
    del missing["idempotency_key"]
    assert one_issue(registry, ref, missing)["message"] == "Required"
    issue = one_issue(registry, ref, webhook(headers={"a": 5}))
    assert (issue["code"], issue["path"], issue["message"]) == ("invalid_union", ["headers", "a"], "Invalid input")
    assert [[i["expected"] for i in e["issues"]] for e in issue["unionErrors"]] == [["string"], ["array"]]


def test_default_is_not_applied(registry: PayloadSchemaRegistry) -> None:
    payload = {"tenantId": "t", "occurredAt": NOW, "ticketId": UUID}
    assert registry.validate("payload.TicketUpdated.v1", payload) == []
    assert "suppressContactNotifications" not in payload


# --- the notation, on small catalogs -----------------------------------------------------------


def test_union_prefers_an_option_that_failed_only_refinements() -> None:
    registry = PayloadSchemaRegistry({"refs": {"r": {"fields": {"v": "string(min=2)|array<string>"}}}})
    assert [i["code"] for i in registry.validate("r", {"v": "a"})] == ["too_small"]
    assert [i["code"] for i in registry.validate("r", {"v": 1})] == ["invalid_union"]


def test_nullable_fragment_and_extends_override() -> None:
    catalog = {
        "fragments": {"Base": {"fields": {"a": "string", "b": "int"}},
                      "Inner": {"unknownKeys": "strict", "fields": {"x": "uuid"}}},
        "refs": {"r": {"events": ["E"], "extends": "Base", "fields": {"a": "uuid?", "c": "#Inner|null"}}},
    }
    registry = PayloadSchemaRegistry(catalog)
    schema = registry.json_schema("r")
    assert list(schema["properties"]) == ["a", "b", "c"] and schema["required"] == ["b", "c"]
    assert schema["properties"]["c"]["type"] == ["object", "null"]
    assert registry.validate("r", {"b": 1, "c": None}) == []
    assert [i["code"] for i in registry.validate("r", {"b": 1, "c": {"x": UUID, "y": 1}})] == ["unrecognized_keys"]
    assert registry.ref_for_event("E") == "r"


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"a": "strin"}, "unknown type"), ({"a": "#Nope"}, "unknown fragment"), ({"a": "string(max=3)"}, "max=3"),
     ({"a": "uuid<string>"}, "type argument")],
)
def test_bad_catalog_is_reported(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PayloadSchemaRegistry({"refs": {"payload.X.v1": {"fields": fields}}})


def test_an_event_maps_to_one_ref() -> None:
    refs = {"a": {"events": ["E"]}, "b": {"events": ["E"]}}
    with pytest.raises(ValueError, match="already mapped"):
        PayloadSchemaRegistry({"refs": refs})


# --- agreement with JSON Schema over mutated payloads -----------------------------------------

_FORMAT_SAMPLES = {"uuid": UUID, "date-time": NOW, "email": "someone@example.com"}
# Invalid strings, and edge cases that Zod and the patterns both accept.
_FORMAT_EDGES = {
    "uuid": ["not-a-uuid", UUID.upper(), UUID[:-1]],
    "date-time": ["not-a-date", "2026-03-02T15:04:05+00:00", "2026-02-30T00:00Z", "2026-03-02T15:04Z",
                  "2024-02-29T00:00:00.5Z"],
    "email": ["not-an-email", ".a@example.com", "A.B+c@Example.COM"],
}


def _sample(schema: dict[str, Any]) -> Any:
    """A value valid for ``schema`` (the subset the catalog produces)."""
    if "anyOf" in schema:
        return _sample(schema["anyOf"][0])
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "string":
        return _FORMAT_SAMPLES.get(schema.get("format"), "x" * max(1, schema.get("minLength", 0)))
    if kind in ("integer", "number"):
        return schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
    if kind == "boolean":
        return True
    if kind == "array":
        return [_sample(schema["items"])] * max(1, schema.get("minItems", 0))
    if kind == "object":
        if "properties" in schema:
            return {k: _sample(v) for k, v in schema["properties"].items()}
        return {"key": _sample(schema["additionalProperties"])}
    return "anything"


_DELETE = object()


def _replace(payload: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of ``payload`` with ``path`` set to ``value`` (deleted when ``value`` is _DELETE)."""
    copied = copy.deepcopy(payload)
    parent = copied
    for key in path[:-1]:
        parent = parent[key]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copied


def _child_schema(schema: dict[str, Any], key: str | int) -> dict[str, Any]:
    if "anyOf" in schema:  # the catalog's unions are string | array<string>: follow the array
        schema = schema["anyOf"][-1]
    if isinstance(key, int):
        return schema.get("items", {})
    extra = schema.get("additionalProperties", {})
    return schema.get("properties", {}).get(key, extra if isinstance(extra, dict) else {})


def _values_for(schema: dict[str, Any], value: Any) -> Iterator[Any]:
    """Null, a wrong type, and bad or edge values that fit the schema's keywords."""
    yield None
    yield 12345 if isinstance(value, str) else "wrong"
    yield [value]
    if "format" in schema:
        yield from _FORMAT_EDGES[schema["format"]]
    if "minLength" in schema:
        yield ""
    if "enum" in schema:
        yield "NOT_AN_OPTION"
    if "minimum" in schema or "exclusiveMinimum" in schema:
        yield from (-1, 0, 1.5, 2.0, True)
    if "minItems" in schema:
        yield []
    if "const" in schema:
        yield not schema["const"]


def mutations(payload: Any, schema: dict[str, Any], path: tuple[str | int, ...] = ()) -> Iterator[Any]:
    """Variants of ``payload``: each key deleted or replaced, items replaced, an unknown key added."""
    node = payload
    for key in path:
        node = node[key]
    if isinstance(node, dict):
        yield _replace(payload, (*path, "unknownKeyForTest"), 1)
        keys: list[str | int] = list(node)
    elif isinstance(node, list):
        keys = list(range(min(len(node), 1)))
    else:
        return
    for key in keys:
        child = _child_schema(schema, key)
        if isinstance(key, str):
            yield _replace(payload, (*path, key), _DELETE)
        for value in _values_for(child, node[key]):
            yield _replace(payload, (*path, key), value)
        yield from mutations(payload, child, (*path, key))


def assert_same_verdicts(registry: PayloadSchemaRegistry, ref: str, schema: dict[str, Any], sample: Any) -> int:
    """Check every mutation of ``sample`` gets the same verdict from ``registry`` and from ``schema``."""
    reference = Draft202012Validator(schema)  # format is an annotation; patterns are enforced
    assert registry.validate(ref, sample) == [], ref
    count = 0
    for variant in mutations(sample, schema):
        issues = registry.validate(ref, variant)
        assert (not issues) == reference.is_valid(variant), (ref, json.dumps(variant), issues)
        for issue in issues:
            assert {"code", "path", "message"} <= issue.keys()
        count += 1
    return count


def test_verdicts_match_jsonschema_on_own_schemas(registry: PayloadSchemaRegistry) -> None:
    """fastjsonschema (the registry's verdict) and the issue walker agree with jsonschema everywhere."""
    total = 0
    for ref in registry.refs():
        schema = registry.json_schema(ref)
        total += assert_same_verdicts(registry, ref, schema, _sample(schema))
    assert total > 5000


def test_equivalent_to_the_contract_schemas(registry: PayloadSchemaRegistry) -> None:
    contract_dir = os.environ.get("ALGA_CONTRACT_DIR")
    if not contract_dir:
        pytest.skip("ALGA_CONTRACT_DIR not set: point it at the folder holding payload-schemas.json")
    contract = json.loads((Path(contract_dir) / "payload-schemas.json").read_text(encoding="utf-8"))
    assert registry.refs() == sorted(contract["schemas"])
    assert registry.events() == contract["events"]
    total = sum(
        assert_same_verdicts(registry, ref, schema, contract["samples"][ref])
        for ref, schema in contract["schemas"].items()
    )
    assert total > 5000
