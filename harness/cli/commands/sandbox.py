"""``harness sandbox``: start, stop and inspect the local AlgaPSA stand-in."""
from __future__ import annotations

import sys

import click


@click.group()
def sandbox() -> None:
    """Manage the local sandbox (an AlgaPSA stand-in on an embedded Postgres)."""


@sandbox.command("start")
@click.option("--database-url", default=None,
              help="Use this Postgres instead of the embedded one (its user must be able to create roles).")
@click.option("--reset-database", is_flag=True, default=False,
              help="Wipe the database first, even one the sandbox did not create.")
@click.option("--port", type=int, default=None, help="HTTP port (default 8765, or a free one).")
def sandbox_start(database_url: str | None, reset_database: bool, port: int | None) -> None:
    """Start the sandbox in the background (no-op when running)."""
    from ...sandbox import control

    state = control.start(database_url=database_url, port=port, reset_database=reset_database)
    click.echo(f"sandbox running at {state['base_url']} (pid {state['pid']})")


@sandbox.command("stop")
def sandbox_stop() -> None:
    """Stop the sandbox and its embedded Postgres (also one a killed server left running)."""
    from ...sandbox import control

    for line in control.stop().messages:
        click.echo(line)


@sandbox.command("status")
def sandbox_status() -> None:
    """Say whether the sandbox runs, where, and for which tenants."""
    from ...sandbox import control

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
    from ...sandbox.state_file import sandbox_env

    for key, value in sandbox_env(start=False, tenant=slug).items():
        click.echo(f"export {key}={_shell_quote(value)}")


@sandbox.command("reset")
def sandbox_reset() -> None:
    """Wipe every row and re-create the deterministic seed data."""
    from ...sandbox import control

    control.reset()
    click.echo("sandbox data reset")


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


command = sandbox
