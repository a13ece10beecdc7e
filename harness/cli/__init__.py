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
from .errors import HarnessError
from .redaction import redact_text

USAGE_ERROR = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Author and run AlgaPSA workflow fixtures (notebooks) against AlgaPSA or the local sandbox."""


def _register_commands() -> None:
    """Add every ``harness.commands.<module>.command`` to the group (one module per command)."""
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        cli.add_command(module.command)


_register_commands()


def main(argv: list[str] | None = None) -> Any:
    """Entry point: user mistakes become one ``error:`` line and exit code 2, never a traceback.

    The line is scrubbed of URL and DSN credentials, whatever the message quotes.
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
    click.echo(f"error: {redact_text(message)}", err=True)


if __name__ == "__main__":
    main()
