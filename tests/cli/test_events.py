"""``harness events``: the event catalog as a table or JSON, filtered by text; close names for a typo
(here and in ``harness new --event``)."""
from __future__ import annotations

import json

from harness.contract.event_payloads import default_registry


def one_error_line(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_lists_every_event_with_its_ref_and_required_fields(harness_main):
    result = harness_main("events")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["EVENT", "SCHEMA", "REF", "REQUIRED"]
    assert len(lines) == 1 + len(default_registry().events())
    assert any(line.split() == ["TICKET_CREATED", "payload.TicketCreated.v1", "ticketId"] for line in lines)


def test_text_filters_names_and_refs_in_any_case(harness_main):
    by_name = harness_main("events", "ticket_c").stdout.splitlines()[1:]
    assert [line.split()[0] for line in by_name] == ["TICKET_CLOSED", "TICKET_COMMENT_ADDED", "TICKET_CREATED",
                                                     "TICKET_CUSTOMER_REPLIED"]
    assert "ticketId, messageId, contactId, channel" in by_name[-1], "required fields in schema order"
    by_ref = harness_main("events", "TicketCreated.v1").stdout.splitlines()[1:]
    assert [line.split()[0] for line in by_ref] == ["TICKET_CREATED"]


def test_json_for_machines(harness_main):
    result = harness_main("events", "--json", "project_created")
    assert json.loads(result.stdout) == [{"name": "PROJECT_CREATED", "schema_ref": "payload.ProjectCreated.v1",
                                          "required": ["projectId"]}]


def test_no_match_suggests_close_names(harness_main):
    assert one_error_line(harness_main("events", "TICKET_CREATD")) == (
        "error: no event matches 'TICKET_CREATD' (did you mean TICKET_CREATED, TICKET_CLOSED or TICKET_ESCALATED?)")
    assert "(did you mean TICKET?)" in one_error_line(harness_main("events", "tiket")), "a word of the names"
    assert "(`harness events` alone lists them all)" in one_error_line(harness_main("events", "xyzzy"))


def test_new_suggests_the_event_meant(harness_main, tmp_path):
    line = one_error_line(harness_main("new", "x", "--event", "TICKET_UPDATD", "--dir", str(tmp_path)))
    assert line.startswith("error: unknown event 'TICKET_UPDATD': ")
    assert "(did you mean TICKET_UPDATED" in line
    assert "(harness events lists them)" in one_error_line(harness_main("new", "x", "--event", "NOPE",
                                                                         "--dir", str(tmp_path)))
    assert list(tmp_path.iterdir()) == []
