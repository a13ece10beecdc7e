"""Sample payloads built from each event's schema: valid once the server fills in its fields."""
from __future__ import annotations

import types
import uuid
from datetime import datetime, timezone

import pytest

from harness.contract.sample_payloads import KEY_VAR, SERVER_FILLED, sample_payload
from harness.errors import FixtureError
from harness.contract.event_payloads import default_registry

REGISTRY = default_registry()
TENANT = "00000000-0000-4000-8000-000000000001"


def build(source: str, prelude: str) -> tuple[dict, str]:
    """Run the generated source the way the trigger cell does; return (payload, key)."""
    namespace: dict = {"uuid": uuid, "fx": types.SimpleNamespace(tenant_id=TENANT)}
    exec(prelude, namespace)
    exec(f"{KEY_VAR} = str(uuid.uuid4())\npayload = {source}", namespace)
    return namespace["payload"], namespace[KEY_VAR]


def enriched(payload: dict) -> dict:
    """What the event route validates: the payload plus the server-filled base fields."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {**payload, "tenantId": TENANT, "occurredAt": now}


@pytest.mark.parametrize("event", sorted(REGISTRY.events()))
def test_every_event_gets_a_valid_minimal_payload(event):
    ref = REGISTRY.ref_for_event(event)
    sample = sample_payload(REGISTRY.json_schema(ref))
    payload, key = build(sample.source, sample.prelude)
    assert REGISTRY.validate(ref, enriched(payload)) == []
    assert not SERVER_FILLED & payload.keys(), "server-filled fields are left to the server"
    assert sample.required_field in payload
    if sample.key_field is not None:
        assert payload[sample.key_field] == key, "the first uuid field carries the correlation key"


def test_ticket_created_payload_is_just_the_ticket_id():
    sample = sample_payload(REGISTRY.json_schema("payload.TicketCreated.v1"))
    assert sample.source == '{\n    "ticketId": key,\n}'
    assert sample.prelude == ""
    assert (sample.key_field, sample.required_field) == ("ticketId", "ticketId")


def test_fresh_values_per_run_and_readable_text():
    sample = sample_payload(REGISTRY.json_schema("payload.AppointmentCreated.v1"))
    assert "now = datetime.now(timezone.utc)" in sample.prelude
    first, _ = build(sample.source, sample.prelude)
    second, _ = build(sample.source, sample.prelude)
    assert first["appointmentId"] != second["appointmentId"]
    assert first["startAt"].endswith("Z")
    email = sample_payload(REGISTRY.json_schema("payload.InboundEmailReceived.v1"))
    payload, _ = build(email.source, email.prelude)
    assert payload["emailData"]["from"] == {"email": "fixture@example.com"}
    assert payload["emailData"]["subject"] == "fixture-subject"


def test_tenant_fields_carry_the_fixture_tenant():
    sample = sample_payload(REGISTRY.json_schema("payload.InventoryStockLow.v1"))
    payload, _ = build(sample.source, sample.prelude)
    assert payload["tenant"] == TENANT


def test_a_schema_without_own_required_fields_is_refused():
    with pytest.raises(FixtureError, match="no required payload field"):
        sample_payload({"title": "payload.Empty.v1", "type": "object", "properties": {},
                        "required": ["tenantId"]})
