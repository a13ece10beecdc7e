"""``harness lab``: JupyterLab in the repository with the target configured for its kernels."""
from __future__ import annotations

import sys

import click

from ..config import resolve_target
from ..target_options import target_options


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="HTTP port (default: Jupyter's, 8888 or the next free one).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@target_options
@click.argument("jupyter_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- JUPYTER_ARGS]...")
def lab(port: int | None, no_browser: bool, jupyter_args: tuple[str, ...], target_flags: dict[str, str | None]) -> None:
    """Start JupyterLab; notebooks opened in it talk to the target (the sandbox, started if needed).

    Arguments after `--` go to JupyterLab, e.g. `harness lab -- --allow-root` in a root container.
    """
    from ..authoring.lab import lab_launch, run_lab

    target = resolve_target(**target_flags, start_sandbox=True)
    click.echo(f"harness lab: kernels use {target.describe()}", err=True)
    sys.exit(run_lab(lab_launch(target, port=port, open_browser=not no_browser, extra_args=jupyter_args)))


command = lab
