"""``harness run``: one fixture, one PASS/FAIL line."""
from __future__ import annotations

import sys

import click

from ..config import resolve_target


@click.command()
@click.option("--test", "test_dir", required=True, metavar="DIR", help="Fixture folder (bundle.json + test.ipynb).")
@click.option("--force/--no-force", default=True,
              help="Overwrite the workflow with the same key (default); --no-force refuses to.")
@click.option("--skip-import", is_flag=True, help="Use the workflow already in the database.")
@click.option("--timeout-ms", type=int, default=None, help="Global timeout (default 60000 or TIMEOUT_MS).")
@click.option("--debug", is_flag=True, help="Stream cell outputs to stderr while running.")
@click.option("--json", "as_json", is_flag=True, help="Also print the result as one JSON line.")
@click.option("--artifacts-dir", default=None, help="Where failure artifacts go (default ./artifacts).")
@click.option("--base-url", default=None, help="AlgaPSA base URL (default BASE_URL, else the local sandbox).")
@click.option("--tenant", default=None, help="Tenant id (default TENANT_ID).")
@click.option("--database-url", "--pg-url", "database_url", default=None, help="Postgres URL (default DATABASE_URL).")
@click.option("--cookie-file", default=None, help="File holding the session Cookie header value.")
def run(test_dir: str, force: bool, skip_import: bool, timeout_ms: int | None, debug: bool, as_json: bool,
        artifacts_dir: str | None, base_url: str | None, tenant: str | None, database_url: str | None,
        cookie_file: str | None) -> None:
    """Run one fixture and print PASS or FAIL."""
    from ..runner.checks import check_fixture
    from ..runner.preflight import preflight
    from ..runner.single import run_fixture

    fixture = check_fixture(test_dir)
    target = resolve_target(base_url=base_url, tenant_id=tenant, database_url=database_url,
                            cookie_file=cookie_file, timeout_ms=timeout_ms, artifacts_dir=artifacts_dir,
                            start_sandbox=True)
    preflight(target)
    result = run_fixture(fixture, target, force=force, skip_import=skip_import, debug=debug)
    click.echo(result.summary_line())
    if as_json:
        click.echo(result.json_line())
    if result.artifacts_dir:
        click.echo(f"artifacts: {result.artifacts_dir}", err=True)
    sys.exit(0 if result.passed else 1)


command = run
