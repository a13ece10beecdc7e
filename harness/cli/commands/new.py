"""``harness new``: scaffold a fixture folder from a template."""
from __future__ import annotations

import click

from ...authoring.templates import available


@click.command()
@click.argument("name")
@click.option("--template", "-t", "pattern", default="event", show_default=True, metavar="PATTERN",
              help=f"Fixture pattern: {', '.join(available())}.")
@click.option("--event", default=None, metavar="EVENT_NAME",
              help="Trigger event, e.g. TICKET_UPDATED (default: the template's, TICKET_CREATED; `harness events` "
                   "lists them).")
@click.option("--dir", "directory", default="fixtures", show_default=True, help="Folder that holds the fixtures.")
def new(name: str, pattern: str, event: str | None, directory: str) -> None:
    """Create DIR/NAME with bundle.json (workflow key fixture.NAME) and test.ipynb."""
    from ...authoring.scaffold import new_fixture

    folder = new_fixture(name, template=pattern, event=event, directory=directory)
    click.echo(f"created {folder} (template {pattern}); next: harness lab, then harness run --test {folder}")


command = new
