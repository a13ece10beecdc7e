"""Notebook-based fixture kit for AlgaPSA Workflow Runtime V2.

In a fixture notebook::

    import harness
    fx = harness.open_fixture(fixture_dir)
    ticket = fx.create.ticket()
    fx.wait_for_run(input_filter={"ticketId": ticket.ticket_id})
    fx.expect_run("SUCCEEDED", steps=[...])

Every ``harness.*`` import runs this module first, so it stays cheap: the public names below are
imported on first use (``harness.open_fixture`` loads pandas, httpx and psycopg; ``harness --help``
does not).
"""
from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

# jsonschema (bundle checks; nbformat uses it too) builds an IRI grammar at import time when the
# optional rfc3987-syntax package is installed (JupyterLab pulls it in): about 0.9 s in every
# process, kernels included. The kit never validates IRI formats, so that optional module is hidden.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

if TYPE_CHECKING:  # what IDEs and type checkers see; at run time __getattr__ imports on first use
    from . import expect
    from .cleanup import ApiDelete, Sql
    from .config import Target, resolve_target
    from .db import Database
    from .domain.creators import iso
    from .domain.finders import SandboxOnly
    from .domain.record import Record
    from .errors import (ConfigError, FixtureError, HarnessError, HttpError, ReadOnlyViolation, RunTimeout,
                         TargetUnreachable)
    from .fixture import Fixture, open_fixture
    from .http import AlgaClient

_HOMES = {
    "expect": ".expect",
    "ApiDelete": ".cleanup", "Sql": ".cleanup",
    "Target": ".config", "resolve_target": ".config",
    "Database": ".db",
    "iso": ".domain.creators", "SandboxOnly": ".domain.finders", "Record": ".domain.record",
    "ConfigError": ".errors", "FixtureError": ".errors", "HarnessError": ".errors", "HttpError": ".errors",
    "ReadOnlyViolation": ".errors", "RunTimeout": ".errors", "TargetUnreachable": ".errors",
    "Fixture": ".fixture", "open_fixture": ".fixture",
    "AlgaClient": ".http",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (then it is a plain module attribute)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(home, __name__)
    value = module if name == "expect" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
