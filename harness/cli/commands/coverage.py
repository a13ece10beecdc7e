"""``harness coverage``: what a catalog covers (events, actions and their error codes, node types, trigger
kinds, runtime behaviours, areas), read from its bundles and notebooks without running anything."""
from __future__ import annotations

import json
import sys

import click


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, with the fixtures covering each item.")
@click.option("--check", is_flag=True, help="Exit 1 unless everything is covered and every area has its minimum.")
def coverage(paths: tuple[str, ...], as_json: bool, check: bool) -> None:
    """Report what the fixtures under PATHS cover (default: fixtures/).

    Each PATH is a fixture folder or a folder of them. A fixture is credited only for what its notebook
    asserts; each line names what no fixture covers yet. Exit 0, or 1 with --check when something is
    missing; an unreadable path, bundle or notebook is an error (exit 2).
    """
    from ...authoring.coverage import measure, report_lines

    found = measure(paths or ("fixtures",))
    if as_json:
        click.echo(json.dumps(found.as_dict(), indent=2))
    else:
        for line in report_lines(found):
            click.echo(line)
    if check and not found.complete:
        sys.exit(1)


command = coverage
