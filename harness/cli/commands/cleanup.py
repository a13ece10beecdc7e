"""``harness cleanup``: replay the cleanup that runs which died left in their journals."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..target_options import target_options


@click.command("cleanup")
@click.option("--dry-run", is_flag=True, help="List the leftover journals and their actions; run nothing.")
@click.option("--dir", "directory", default=None, metavar="D",
              help="Journal folder (default HARNESS_JOURNAL_DIR, else .harness/cleanup in the project).")
@target_options
def cleanup(dry_run: bool, directory: str | None, target_flags: dict[str, str | None]) -> None:
    """Replay the cleanup left by runs that died (killed runner, lost machine, second Ctrl-C).

    Each leftover journal (one no running fixture holds) whose target is the configured one (same base
    URL, same tenant; resolved like ``harness run``) is replayed, last registered action first; a
    journal for another target is skipped with the target it needs. Exit 0 when everything was
    replayed, 1 when an action failed (its journal is kept for the next try), 2 on configuration errors.
    """
    from ..leftovers import replay_leftovers

    folder = Path(directory).resolve() if directory else None
    sys.exit(replay_leftovers(folder, dry_run=dry_run, target_flags=target_flags))


command = cleanup
