"""``harness run-all``: a preset of pytest arguments over the batch plugin (:mod:`harness.batch.plugin`).

Everything a batch does (lanes, warm kernels, verdict lines, artifacts, reports) is the plugin's, so
``harness run-all`` and ``pytest`` give the same results. This command adds what a command line
owes its users before anything runs: one-line errors (exit 2) for bad paths, fixtures, targets or
credentials, the local sandbox when nothing is configured, and exit codes 0/1/2/130/143.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
from typing import Any

import click

from ..target_options import target_options

DEFAULT_PATH = "fixtures"
_SHARD = re.compile(r"^(\d+)/(\d+)$")


def _shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    match = _SHARD.match(value.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise click.BadParameter(f"must look like I/N with 1 <= I <= N (e.g. 1/4), got {value!r}", param_hint="--shard")
    return int(match.group(1)), int(match.group(2))


@click.command("run-all")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("-k", "keyword", default=None, metavar="EXPR",
              help="Only fixtures whose name matches, e.g. 'ticket and not schema' (pytest's -k).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Fixtures run at once, one pytest-xdist worker each (default: the CPU count, at most one "
                   "per available tenant).")
@click.option("--shard", default=None, metavar="I/N",
              help="Run only shard I of N, balanced by recorded durations (pytest-split).")
@click.option("--durations-path", default=None, metavar="FILE",
              help="Recorded durations for --shard (default .test_durations); write them with --store-durations.")
@click.option("--store-durations", is_flag=True, help="Record this run's durations for future --shard runs.")
@click.option("--junit-xml", default=None, metavar="FILE", help="Write a JUnit XML report.")
@click.option("--html", "html_path", default=None, metavar="FILE",
              help="Write an HTML report (pytest-html); failures link their rendered notebooks.")
@click.option("--json", "json_path", default=None, metavar="FILE",
              help="Write every result as JSON lines (pytest-reportlog).")
@click.option("-x", "--fail-fast", is_flag=True, help="Start no more fixtures after the first failure.")
@click.option("--force/--no-force", default=True,
              help="Overwrite workflows with the same key (default); --no-force refuses to.")
@click.option("--skip-import", is_flag=True, help="Use the workflows already in the database.")
@click.option("--timeout-ms", type=int, default=None, help="Global timeout per fixture (default 60000 or TIMEOUT_MS).")
@click.option("--artifacts-dir", default=None, help="Where failure artifacts go (default ./artifacts).")
@click.option("--pytest-args", default="", metavar="ARGS",
              help="More pytest arguments, as one shell-quoted string (e.g. '--lf --durations 5').")
@target_options
def run_all(paths: tuple[str, ...], keyword: str | None, jobs: int | None, shard: str | None,
            durations_path: str | None, store_durations: bool, junit_xml: str | None, html_path: str | None,
            json_path: str | None, fail_fast: bool, force: bool, skip_import: bool, timeout_ms: int | None,
            artifacts_dir: str | None, pytest_args: str, target_flags: dict[str, str | None]) -> None:
    """Run every fixture under PATH (fixture folders or folders of them; default fixtures/) with pytest.

    Each fixture runs in its own kernel. Fixtures running at the same time use different tenants
    (a fixture pauses the other fixture workflows of its tenant): on the local sandbox, one per
    seeded tenant; elsewhere, one per configured lane. Exit 0 when all pass, 1 when any fails, 2 on
    usage errors. Ctrl-C (or SIGTERM) stops the running fixtures cleanly (cleanup, artifacts, FAIL
    lines, reports), then exits 130 (143); a second Ctrl-C quits at once, leaving cleanup for
    ``harness cleanup``. More pytest arguments go in `--pytest-args` (e.g. `--pytest-args='--lf'`).
    """
    from ...execution import forkserver

    shard_spec = _shard(shard)
    # The batch's kernel fork server starts first, so its imports overlap the checks and pytest's start
    # (the plugin uses it rather than starting its own).
    with forkserver.shared():
        _run_all_with(paths, keyword, jobs, shard_spec, durations_path, store_durations, junit_xml, html_path,
                      json_path, fail_fast, force, skip_import, timeout_ms, artifacts_dir, pytest_args, target_flags)


def _run_all_with(paths: tuple[str, ...], keyword: str | None, jobs: int | None, shard_spec: tuple[int, int] | None,
                  durations_path: str | None, store_durations: bool, junit_xml: str | None, html_path: str | None,
                  json_path: str | None, fail_fast: bool, force: bool, skip_import: bool, timeout_ms: int | None,
                  artifacts_dir: str | None, pytest_args: str, target_flags: dict[str, str | None]) -> None:
    from ...config import with_overrides
    from ...execution.discovery import check_batch, discover
    from ...execution.lanes import lane_targets, lanes_notice
    from ...execution.preflight import preflight
    from ...local_sandbox import resolve_or_start

    folders = discover(paths or [DEFAULT_PATH])
    check_batch(folders)
    selection = _keyword_args(keyword) + _shard_args(shard_spec, durations_path)
    if selection:
        folders = _select(folders, selection)
        if not folders and shard_spec is None:
            raise click.UsageError(f"no fixture matches -k {keyword!r}")
        if not folders:
            click.echo(f"shard {shard_spec[0]}/{shard_spec[1]}: no fixtures in it", err=True)
            sys.exit(0)
    target = resolve_or_start(**target_flags, timeout_ms=timeout_ms, artifacts_dir=artifacts_dir)
    target = with_overrides(target, artifacts_dir=os.path.abspath(target.artifacts_dir))
    lanes = lane_targets(target)
    for lane in lanes:
        preflight(lane)
    requested = jobs or os.cpu_count() or 1
    notice = lanes_notice(requested, len(lanes))
    if notice:
        click.echo(notice, err=True)
    workers = min(requested, len(lanes), len(folders))

    # Fixtures assert in their kernels: nothing these pytest processes import needs assertion rewriting,
    # which would otherwise parse and recompile every plugin module in the controller and each worker.
    args = [str(folder) for folder in folders] + ["-q", "--no-header", "--assert=plain"]
    args += _target_args(target, target_flags.get("cookie_file"), timeout_ms, force, skip_import)
    if workers > 1:
        args += ["-n", str(workers)]
    if fail_fast:
        args.append("-x")
    if durations_path:
        args += ["--durations-path", durations_path]
    if store_durations:
        args.append("--store-durations")
    for flag, value in (("--junitxml", junit_xml), ("--html", html_path), ("--report-log", json_path)):
        if value:
            args += [flag, value]
    if html_path:
        args.append("--self-contained-html")
    sys.exit(_run_pytest(args + shlex.split(pytest_args), keyword))


def _keyword_args(keyword: str | None) -> list[str]:
    return [] if keyword is None else ["-k", keyword]


def _shard_args(shard: tuple[int, int] | None, durations_path: str | None) -> list[str]:
    if shard is None:
        return []
    args = ["--splits", str(shard[1]), "--group", str(shard[0]), "--splitting-algorithm", "least_duration"]
    return args + (["--durations-path", durations_path] if durations_path else [])


def _select(folders: list[Any], selection: list[str]) -> list[Any]:
    """The folders pytest selects with ``selection`` (``-k``, pytest-split's shard options), found by a
    quiet collection in this process: bad expressions fail here, before any worker starts, and the
    number of workers fits what will run."""
    import pytest

    chosen: list[Any] = []

    class _Selected:
        def pytest_collection_finish(self, session: pytest.Session) -> None:
            chosen.extend(item.path for item in session.items)

    said = io.StringIO()
    with contextlib.redirect_stderr(said), contextlib.redirect_stdout(io.StringIO()):
        status = pytest.main([*map(str, folders), "--collect-only", "-q", "-p", "no:cacheprovider",
                              "--assert=plain", *selection], plugins=[_Selected()])
    if status != pytest.ExitCode.OK and status != pytest.ExitCode.NO_TESTS_COLLECTED:
        message = " ".join(said.getvalue().split()).removeprefix("ERROR: ")
        raise click.UsageError(message or f"pytest could not select fixtures (exit status {int(status)})")
    by_path = {folder.resolve(): folder for folder in folders}
    return [by_path[path.resolve()] for path in chosen if path.resolve() in by_path]


def _target_args(target: Any, cookie_file: str | None, timeout_ms: int | None, force: bool,
                 skip_import: bool) -> list[str]:
    """The plugin options that carry the resolved target and this command's run settings."""
    args = ["--harness-base-url", target.base_url, "--harness-tenant", target.tenant_id,
            "--harness-artifacts-dir", target.artifacts_dir, "--harness-no-preflight"]  # checked above, once
    for option, value in (("--harness-database-url", target.database_url),
                          ("--harness-database-write-url", target.database_write_url),
                          ("--harness-cookie-file", cookie_file),
                          ("--harness-timeout-ms", timeout_ms)):
        if value:
            args += [option, str(value)]
    if not force:
        args.append("--harness-no-force")
    if skip_import:
        args.append("--harness-skip-import")
    return args


def _run_pytest(args: list[str], keyword: str | None) -> int:
    """Run pytest in this process and turn its exit status into run-all's."""
    import pytest

    from ...batch.plugin import STOPPED_BY, exit_quickly

    captured: dict[str, Any] = {}

    class _Recorder:
        def pytest_unconfigure(self, config: pytest.Config) -> None:
            captured["signal"] = config.stash.get(STOPPED_BY, None)

    status = int(pytest.main(args, plugins=[_Recorder()]))
    exit_quickly()
    if captured.get("signal"):
        return 128 + int(captured["signal"])
    if status == pytest.ExitCode.NO_TESTS_COLLECTED:
        click.echo(f"error: no fixture matches -k {keyword!r}" if keyword else "error: no fixtures to run", err=True)
        return 2
    return {pytest.ExitCode.OK: 0, pytest.ExitCode.TESTS_FAILED: 1, pytest.ExitCode.INTERNAL_ERROR: 1}.get(status, 2)


command = run_all
