"""The ``harness`` command line: run fixtures and manage the local sandbox.

Exit codes: 0 pass, 1 a fixture failed, 2 usage or configuration error (one line on stderr).
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

import click

from . import commands
from ..errors import HarnessError, single_line
from ..redaction import redact_text

USAGE_ERROR = 2


class LazyCommands(click.Group):
    """A group whose commands are the modules of :mod:`harness.cli.commands` (``run_all`` → ``run-all``),
    each exposing ``command``. A module is imported only when its command runs or its help is shown,
    so ``harness new`` never pays for what ``harness run`` imports."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(info.name.replace("_", "-") for info in pkgutil.iter_modules(commands.__path__))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.list_commands(ctx):
            return None
        module = importlib.import_module(f"{commands.__name__}.{cmd_name.replace('-', '_')}")
        return module.command


@click.group(cls=LazyCommands, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Author and run AlgaPSA workflow fixtures (notebooks) against AlgaPSA or the local sandbox."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point: user mistakes become one ``error:`` line and exit code 2, never a traceback.

    The line is scrubbed of URL and DSN credentials, whatever the message quotes; a message of several
    lines (a database driver's reason and hints) is joined into one.
    """
    try:
        return cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        _error(exc.format_message())
        sys.exit(USAGE_ERROR)
    except click.Abort:
        _error("aborted")
        sys.exit(130)
    except HarnessError as exc:
        _error(str(exc))
        sys.exit(USAGE_ERROR)


def _error(message: str) -> None:
    click.echo(f"error: {single_line(redact_text(message))}", err=True)


