"""``harness triage``: the triage notebook executed on a failure, as one HTML page to share."""
from __future__ import annotations

import click


@click.command()
@click.argument("folder", required=False, metavar="[FOLDER]")
def triage(folder: str | None) -> None:
    """Execute the triage notebook on the failure in FOLDER, or the newest below it (default: the artifacts
    folder, ARTIFACTS_DIR or ./artifacts), and print the path of the page it writes there, triage.html.

    The page needs no other file (styles and images are inside it); the executed notebook is kept beside
    it as triage.ipynb. No failure found is an error (exit 2).
    """
    from ...authoring.triage import triage_page

    click.echo(triage_page(folder))


command = triage
