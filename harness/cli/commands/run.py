"""``harness run``: one fixture, one PASS/FAIL line."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ...local_sandbox import resolve_or_start
from ..target_options import target_options


@click.command()
@click.option("--test", "test_dir", required=True, metavar="DIR", help="Fixture folder (bundle.json + test.ipynb).")
@click.option("--force/--no-force", default=True,
              help="Overwrite the workflow with the same key (default); --no-force refuses to.")
@click.option("--skip-import", is_flag=True, help="Use the workflow already in the database.")
@click.option("--timeout-ms", type=int, default=None, help="Global timeout (default 60000 or TIMEOUT_MS).")
@click.option("--debug", is_flag=True, help="Stream cell outputs to stderr while running.")
@click.option("--json", "as_json", is_flag=True, help="Also print the result as one JSON line.")
@click.option("--artifacts-dir", default=None, help="Where failure artifacts go (default ./artifacts).")
@target_options
def run(test_dir: str, force: bool, skip_import: bool, timeout_ms: int | None, debug: bool, as_json: bool,
        artifacts_dir: str | None, target_flags: dict[str, str | None]) -> None:
    """Run one fixture and print PASS or FAIL.

    Exit 0 pass, 1 fail, 2 usage or configuration error. Ctrl-C (or SIGTERM) stops the fixture: its
    cleanup still runs, its artifacts are written and the FAIL line printed, then exit 130 (143 after
    SIGTERM). A second Ctrl-C quits at once (130) and leaves the cleanup for ``harness cleanup``.
    """
    from ...config import kernel_environment
    from ...execution import prelaunch
    from ...execution.discovery import is_fixture_folder

    if not is_fixture_folder(Path(test_dir)):
        _checked(test_dir)  # raises the precise problem before anything starts
    target = resolve_or_start(**target_flags, timeout_ms=timeout_ms, artifacts_dir=artifacts_dir)
    # The kernel boots while the fixture and the target are checked; it gets the run's own variables later.
    kernel = prelaunch.launch(kernel_environment(target, {}), log_output=debug)
    from ...execution.kernels import KernelPool

    pool = KernelPool(1, limit=1, fork=False, log_output=debug, adopt=kernel)
    try:
        sys.exit(_run(_checked(test_dir), target, pool, force=force, skip_import=skip_import, debug=debug,
                      as_json=as_json))
    finally:
        pool.close(kill_leased=True)


def _checked(test_dir: str) -> Any:
    from ...execution.checks import check_fixture

    return check_fixture(test_dir)


def _run(fixture: Any, target: Any, pool: Any, *, force: bool, skip_import: bool, debug: bool, as_json: bool) -> int:
    """Preflight, run the fixture in the pool's kernel, print the verdict; the exit code."""
    from ...artifacts import render_failure_notebook
    from ...execution.interrupts import StopRequest, graceful_signals
    from ...execution.preflight import preflight
    from ...execution.single import run_fixture
    from ..leftovers import warn_about_leftovers

    preflight(target)
    warn_about_leftovers()
    stop = StopRequest()
    lease = pool.lease()
    try:
        with graceful_signals(stop):
            result = run_fixture(fixture, target, force=force, skip_import=skip_import, debug=debug, stop=stop,
                                 kernel=lease)
            click.echo(result.summary_line())
            if as_json:
                click.echo(result.json_line())
            if result.artifacts_dir:
                render_failure_notebook(result.artifacts_dir)  # failure.html, as run-all's HTML report links it
                click.echo(f"artifacts: {result.artifacts_dir}", err=True)
    except KeyboardInterrupt:
        return stop.exit_code
    finally:
        lease.release()
    if stop.requested:
        return stop.exit_code
    return 0 if result.passed else 1


command = run
