"""``harness lab``: JupyterLab in the repository with the target configured for its kernels."""
from __future__ import annotations

import sys

import click

from ..config import resolve_target


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="HTTP port (default: Jupyter's, 8888 or the next free one).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@click.option("--base-url", default=None, help="AlgaPSA base URL (default BASE_URL, else the local sandbox).")
@click.option("--tenant", default=None, help="Tenant id (default TENANT_ID).")
@click.option("--database-url", "--pg-url", "database_url", default=None, help="Postgres URL (default DATABASE_URL).")
@click.option("--cookie-file", default=None, help="File holding the session Cookie header value.")
@click.argument("jupyter_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- JUPYTER_ARGS]...")
def lab(port: int | None, no_browser: bool, base_url: str | None, tenant: str | None, database_url: str | None,
        cookie_file: str | None, jupyter_args: tuple[str, ...]) -> None:
    """Start JupyterLab; notebooks opened in it talk to the target (the sandbox, started if needed).

    Arguments after `--` go to JupyterLab, e.g. `harness lab -- --allow-root` in a root container.
    """
    from ..authoring.lab import lab_launch, run_lab

    target = resolve_target(base_url=base_url, tenant_id=tenant, database_url=database_url,
                            cookie_file=cookie_file, start_sandbox=True)
    click.echo(f"harness lab: kernels use {target.describe()}", err=True)
    sys.exit(run_lab(lab_launch(target, port=port, open_browser=not no_browser, extra_args=jupyter_args)))


command = lab
