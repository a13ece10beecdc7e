"""``harness run-all``: many fixtures, in parallel, with reports."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import resolve_target, with_overrides
from ..target_options import target_options

if TYPE_CHECKING:
    from ..runner.batch import BatchOutcome

DEFAULT_PATH = "fixtures"


@click.command("run-all")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("-k", "keyword", default=None, metavar="EXPR",
              help="Only fixtures whose name matches, e.g. 'ticket and not schema' (and/or/not, substrings).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Fixtures run at once (default: the CPU count, at most one per available tenant).")
@click.option("--shard", default=None, metavar="I/N", help="Run only shard I of N (name order, round-robin).")
@click.option("--junit-xml", type=click.Path(dir_okay=False), default=None, help="Write a JUnit XML report.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None,
              help="Write an HTML report (failures link their rendered notebooks).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Write all results as JSON.")
@click.option("-x", "--fail-fast", is_flag=True, help="Start no more fixtures after the first failure.")
@click.option("--force/--no-force", default=True,
              help="Overwrite workflows with the same key (default); --no-force refuses to.")
@click.option("--skip-import", is_flag=True, help="Use the workflows already in the database.")
@click.option("--timeout-ms", type=int, default=None, help="Global timeout per fixture (default 60000 or TIMEOUT_MS).")
@click.option("--artifacts-dir", default=None, help="Where failure artifacts go (default ./artifacts).")
@target_options
def run_all(paths: tuple[str, ...], keyword: str | None, jobs: int | None, shard: str | None,
            junit_xml: str | None, html_path: str | None, json_path: str | None, fail_fast: bool, force: bool,
            skip_import: bool, timeout_ms: int | None, artifacts_dir: str | None,
            target_flags: dict[str, str | None]) -> None:
    """Run every fixture under PATH (fixture folders or folders of them; default fixtures/).

    Each fixture runs in its own kernel. Fixtures running at the same time use different tenants
    (a fixture pauses the other fixture workflows of its tenant): on the local sandbox, one per
    seeded tenant; elsewhere, one at a time. Exit 0 when all pass, 1 when any fails, 2 on usage errors.
    Ctrl-C (or SIGTERM) stops the running fixtures cleanly (cleanup, artifacts, FAIL lines, summary and
    reports), then exits 130 (143); a second Ctrl-C quits at once, leaving cleanup for ``harness cleanup``.
    """
    from ..runner.batch import BatchOptions, run_batch
    from ..runner.discovery import check_batch, discover
    from ..runner.interrupts import StopRequest, graceful_signals
    from .cleanup import warn_about_leftovers
    from ..runner.keywords import KeywordError, compile_keywords
    from ..runner.lanes import lane_targets, lanes_notice
    from ..runner.preflight import preflight
    from ..runner.progress import BatchProgress, print_summary
    from ..runner.shard import parse_shard, take_shard

    try:
        matches = compile_keywords(keyword) if keyword is not None else None
    except KeywordError as exc:
        raise click.BadParameter(str(exc), param_hint="-k") from None
    try:
        shard_spec = parse_shard(shard) if shard is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--shard") from None

    folders = discover(paths or [DEFAULT_PATH])
    if matches is not None:
        folders = [f for f in folders if matches(f.name)]
        if not folders:
            raise click.UsageError(f"no fixture matches -k {keyword!r}")
    if shard_spec is not None:
        folders = take_shard(folders, *shard_spec)
    check_batch(folders)

    target = resolve_target(**target_flags, timeout_ms=timeout_ms, artifacts_dir=artifacts_dir, start_sandbox=True)
    target = with_overrides(target, artifacts_dir=str(Path(target.artifacts_dir).resolve()))
    lanes = lane_targets(target)
    for lane in lanes:
        preflight(lane)
    requested = jobs or os.cpu_count() or 1
    notice = lanes_notice(requested, len(lanes))
    if notice:
        click.echo(notice, err=True)
    wanted = min(requested, len(lanes))

    warn_about_leftovers()
    tty = sys.stdout.isatty()
    stop = StopRequest()
    try:
        with graceful_signals(stop):
            with BatchProgress(len(folders), sys.stdout, tty) as progress:
                outcome = run_batch(folders, lanes, wanted, BatchOptions(
                    force=force, skip_import=skip_import, fail_fast=fail_fast,
                    on_start=progress.started, on_result=progress.finished, stop=stop))
            print_summary(outcome, sys.stdout, tty)
            _write_reports(outcome, junit_xml, html_path, json_path,
                           {"keyword": keyword, "shard": shard, "paths": [str(p) for p in paths or [DEFAULT_PATH]]})
    except KeyboardInterrupt:
        sys.exit(stop.exit_code)
    sys.exit(stop.exit_code if stop.requested else 0 if outcome.passed else 1)


def _write_reports(outcome: BatchOutcome, junit_xml: str | None, html_path: str | None, json_path: str | None,
                   selection: dict[str, Any]) -> None:
    from ..runner.html_report import write_html
    from ..runner.reports import write_json, write_junit

    if junit_xml:
        write_junit(outcome, Path(junit_xml))
    if html_path:
        write_html(outcome, Path(html_path))
    if json_path:
        write_json(outcome, Path(json_path), selection=selection)
    for path in (junit_xml, html_path, json_path):
        if path:
            click.echo(f"report: {path}", err=True)


command = run_all
