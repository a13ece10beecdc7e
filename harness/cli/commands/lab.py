"""``harness lab``: JupyterLab at the project root with the target configured for its kernels."""
from __future__ import annotations

import sys

import click

from ...local_sandbox import resolve_or_start
from ..target_options import target_options


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="HTTP port (default: Jupyter's, 8888 or the next free one).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@target_options
@click.argument("jupyter_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- JUPYTER_ARGS]...")
def lab(port: int | None, no_browser: bool, jupyter_args: tuple[str, ...], target_flags: dict[str, str | None]) -> None:
    """Start JupyterLab; notebooks opened in it talk to the target (the sandbox, started if needed).

    JupyterLab opens at the project root: the nearest folder at or above the current one holding
    pyproject.toml or .git, else the current folder. The exploration notebooks (explore-runs,
    triage-failure, bundle-inspector) are copied into its notebooks/ folder when missing; existing
    files are never overwritten.

    Saving writes fixture notebooks (a test.ipynb beside a bundle.json) and the notebooks/ folder's
    notebooks without outputs, execution counts or kernel details, so running them leaves no diff;
    other notebooks are saved as they are.

    Arguments after `--` go to JupyterLab, e.g. `harness lab -- --allow-root` in a root container.
    """
    from ...authoring.lab import copy_notebooks, lab_launch, run_lab
    from ...project import project_root

    target = resolve_or_start(**target_flags)
    click.echo(f"harness lab: kernels use {target.describe()}", err=True)
    root = project_root()
    copies = copy_notebooks(root)
    if copies:
        click.echo(f"harness lab: copied {len(copies)} exploration notebooks to {copies[0].parent}", err=True)
    launch = lab_launch(target, port=port, open_browser=not no_browser, extra_args=jupyter_args, root=root)
    sys.exit(run_lab(launch))


command = lab
