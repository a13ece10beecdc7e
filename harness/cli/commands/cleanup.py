"""``harness cleanup``: replay the cleanup that runs which died left in their journals."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cleanup import (CleanupError, CleanupSession, Entry, Journal, describe_action, journal_dir, journal_matches,
                       leftover_journals, leftover_warning, read_journal, replay, stale_journals, strip_userinfo)
from ..config import Target, resolve_target
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
    folder = Path(directory).resolve() if directory else journal_dir()
    journals = list(leftover_journals(folder))
    if not dry_run:
        for path in stale_journals(folder):  # nothing left to do in them
            path.unlink(missing_ok=True)
    if not journals:
        click.echo(f"no leftover cleanup journals in {folder}")
        return
    target = resolve_target(**target_flags, start_sandbox=True)
    failed = skipped = replayed = 0
    for path in journals:
        outcome = _dry_run(path, target) if dry_run else _replay(path, target)
        failed += outcome == "failed"
        skipped += outcome == "skipped"
        replayed += outcome == "replayed"
    verb = "would replay" if dry_run else "replayed"
    click.echo(f"cleanup: {len(journals)} journal(s): {replayed} {verb}, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)


def _skip_reason(path: Path, target: Target) -> str | None:
    header = read_journal(path).header
    if journal_matches(header, target.base_url, target.tenant_id):
        return None
    return (f"skip {path.name}: needs target {header.get('baseUrl') or 'unknown'} tenant "
            f"{header.get('tenantId') or 'unknown'} (configured: {strip_userinfo(target.base_url)} "
            f"tenant {target.tenant_id})")


def _heading(path: Path) -> str:
    state = read_journal(path)
    return (f"journal {path.name}: {state.header.get('testId', 'unknown fixture')}, "
            f"{len(state.pending)} action(s) pending")


def _dry_run(path: Path, target: Target) -> str:
    reason = _skip_reason(path, target)
    if reason:
        click.echo(reason)
        return "skipped"
    click.echo(_heading(path))
    for entry in reversed(read_journal(path).pending):
        click.echo(f"  would run {entry.label}: {describe_action(entry.action)}")
    return "replayed"


def _replay(path: Path, target: Target) -> str:
    reason = _skip_reason(path, target)
    if reason:
        click.echo(reason)
        return "skipped"
    try:
        journal = Journal(path, hold=True)
    except CleanupError:
        click.echo(f"skip {path.name}: a running fixture holds it")
        return "skipped"
    click.echo(_heading(path))

    def report(entry: Entry, error: str | None) -> None:
        status = "done" if error is None else "FAILED"
        click.echo(f"  {status} {entry.label}: {describe_action(entry.action)}" + (f": {error}" if error else ""))

    try:
        with CleanupSession.for_target(target) as session:
            errors = replay(journal, session, on_result=report)
    finally:
        journal.close()  # removed once nothing is pending; kept for the next try otherwise
    return "failed" if errors else "replayed"


def warn_about_leftovers() -> None:
    """One line on stderr when runs that died left cleanup journals behind (every run prints it)."""
    warning = leftover_warning()
    if warning:
        click.echo(warning, err=True)


command = cleanup
