"""``harness events``: the events a fixture can trigger, with their payload schema refs and required fields."""
from __future__ import annotations

import json

import click

from ...errors import FixtureError


@click.command()
@click.argument("text", default="")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array instead of a table.")
def events(text: str, as_json: bool) -> None:
    """List the events whose name or schema ref contains TEXT (any case; all without TEXT).

    REQUIRED are the payload fields a trigger must send; the server fills in tenantId, occurredAt and
    the actor fields. No match is an error that suggests close names (exit 2).
    """
    from ...authoring.events import close_event_names, did_you_mean, event_catalog

    found = event_catalog(text)
    if not found:
        hint = did_you_mean(close_event_names(text, words=True)) or " (`harness events` alone lists them all)"
        raise FixtureError(f"no event matches {text!r}{hint}")
    if as_json:
        click.echo(json.dumps([event.as_dict() for event in found]))
        return
    rows = [(e.name, e.schema_ref, ", ".join(e.required) or "-") for e in found]
    name_width = max(len("EVENT"), *(len(r[0]) for r in rows))
    ref_width = max(len("SCHEMA REF"), *(len(r[1]) for r in rows))
    for name, ref, required in [("EVENT", "SCHEMA REF", "REQUIRED"), *rows]:
        click.echo(f"{name:<{name_width}}  {ref:<{ref_width}}  {required}")


command = events
