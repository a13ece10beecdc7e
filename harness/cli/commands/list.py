"""``harness list``: fixtures with their trigger event and template pattern."""
from __future__ import annotations

import json

import click


@click.command("list")
@click.option("--dir", "directory", default="fixtures", show_default=True, help="Folder that holds the fixtures.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array instead of a table.")
def list_command(directory: str, as_json: bool) -> None:
    """List the fixtures in DIR: name, trigger event, template pattern (custom when unrecorded)."""
    from ...authoring.listing import list_fixtures

    fixtures = list_fixtures(directory)
    if as_json:
        click.echo(json.dumps([f.as_dict() for f in fixtures]))
        return
    rows = [(f.name, f.event or "-", f.template or "-", f"(unreadable: {f.problem})" if f.problem else "")
            for f in fixtures]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(("NAME", "EVENT", "TEMPLATE"))]
    for name, event, template, problem in [("NAME", "EVENT", "TEMPLATE", ""), *rows]:
        line = f"{name:<{widths[0]}}  {event:<{widths[1]}}  {template:<{widths[2]}}  {problem}"
        click.echo(line.rstrip())


command = list_command
