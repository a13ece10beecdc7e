"""The cleanup journals that runs which died left behind: replay them (``harness cleanup``) and warn
about them (every ``harness run``)."""
from __future__ import annotations

from pathlib import Path

import click

from ..cleanup import (CleanupError, CleanupSession, Entry, Journal, describe_action, journal_dir, journal_matches,
                       leftover_journals, leftover_warning, read_journal, replay, stale_journals, strip_userinfo)
from ..config import Target
from ..local_sandbox import resolve_or_start


def replay_leftovers(directory: Path | None, *, dry_run: bool, target_flags: dict[str, str | None]) -> int:
    """Replay (or, with ``dry_run``, list) the leftover journals in ``directory`` (default: the journal
    folder) that belong to the configured target; the exit code: 1 when an action failed, else 0."""
    folder = directory or journal_dir()
    journals = list(leftover_journals(folder))
    if not dry_run:
        for path in stale_journals(folder):  # nothing left to do in them
            path.unlink(missing_ok=True)
    if not journals:
        click.echo(f"no leftover cleanup journals in {folder}")
        return 0
    target = resolve_or_start(**target_flags)
    failed = skipped = replayed = 0
    for path in journals:
        outcome = _dry_run(path, target) if dry_run else _replay(path, target)
        failed += outcome == "failed"
        skipped += outcome == "skipped"
        replayed += outcome == "replayed"
    verb = "would replay" if dry_run else "replayed"
    click.echo(f"cleanup: {len(journals)} journal(s): {replayed} {verb}, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


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

