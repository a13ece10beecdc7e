"""fx.find.ticket gives the ticket's attributes as an object, also where they were stored as JSON text."""
from __future__ import annotations

import psycopg

from harness.fixture import Fixture


def test_attributes_stored_as_json_text_read_as_an_object(fx: Fixture, admin: psycopg.Connection) -> None:
    ticket = fx.create.ticket(attributes={"fixture_is_vip": True})
    assert fx.find.ticket(ticket.ticket_id).attributes == {"fixture_is_vip": True}
    admin.execute("UPDATE tickets SET attributes = to_jsonb(%s::text) WHERE ticket_id = %s",
                  ('{"fixture_is_vip": true, "n": 2}', ticket.ticket_id))
    assert fx.find.ticket(ticket.ticket_id).attributes == {"fixture_is_vip": True, "n": 2}
