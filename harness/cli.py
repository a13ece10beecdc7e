"""The ``harness`` command line: run fixtures and manage the local sandbox.

Exit codes: 0 pass, 1 a fixture failed, 2 usage or configuration error (one line on stderr).
"""
from __future__ import annotations

import sys
from typing import Any

import click

from .config import resolve_target
from .errors import HarnessError

USAGE_ERROR = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Author and run AlgaPSA workflow fixtures (notebooks) against AlgaPSA or the local sandbox."""


@cli.command()
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
    from .runner.checks import check_fixture
    from .runner.preflight import preflight
    from .runner.single import run_fixture

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


@cli.group()
def sandbox() -> None:
    """Manage the local sandbox (an AlgaPSA stand-in on an embedded Postgres)."""


@sandbox.command("start")
@click.option("--database-url", default=None, help="Use this Postgres instead of the embedded one.")
@click.option("--port", type=int, default=None, help="HTTP port (default 8765, or a free one).")
def sandbox_start(database_url: str | None, port: int | None) -> None:
    """Start the sandbox in the background (no-op when running)."""
    from .sandbox import control

    state = control.start(database_url=database_url, port=port)
    click.echo(f"sandbox running at {state['base_url']} (pid {state['pid']})")


@sandbox.command("stop")
def sandbox_stop() -> None:
    """Stop the sandbox and its embedded Postgres."""
    from .sandbox import control

    click.echo("sandbox stopped" if control.stop() else "sandbox was not running")


@sandbox.command("status")
def sandbox_status() -> None:
    """Say whether the sandbox runs, where, and for which tenants."""
    from .sandbox import control

    state = control.status()
    if state is None:
        click.echo("sandbox not running")
        sys.exit(1)
    click.echo(f"sandbox running at {state['base_url']} (pid {state['pid']}, data {state['data_dir']})")
    for tenant in state["tenants"]:
        click.echo(f"  tenant {tenant['slug']}: {tenant['tenant_id']}")


@sandbox.command("env")
@click.option("--tenant", "slug", default=None, help="Tenant slug (default: the first tenant).")
def sandbox_env_cmd(slug: str | None) -> None:
    """Print shell exports for the running sandbox (eval "$(harness sandbox env)")."""
    from .sandbox.state import sandbox_env

    for key, value in sandbox_env(start=False, tenant=slug).items():
        click.echo(f"export {key}={_shell_quote(value)}")


@sandbox.command("reset")
def sandbox_reset() -> None:
    """Wipe every row and re-create the deterministic seed data."""
    from .sandbox import control

    control.reset()
    click.echo("sandbox data reset")


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def main(argv: list[str] | None = None) -> Any:
    """Entry point: user mistakes become one ``error:`` line and exit code 2, never a traceback."""
    try:
        return cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(USAGE_ERROR)
    except click.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except HarnessError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(USAGE_ERROR)


if __name__ == "__main__":
    main()
