"""Notebook-based fixture kit for AlgaPSA Workflow Runtime V2.

In a fixture notebook::

    import harness
    fx = harness.open_fixture(fixture_dir)
    fx.post_event({...})
    run = fx.wait_for_run()
    harness.expect.equal(run["status"], "SUCCEEDED")
"""
from . import expect
from .cleanup import ApiDelete, Sql
from .config import Target, resolve_target
from .db import Database
from .errors import (ConfigError, FixtureError, HarnessError, HttpError, ReadOnlyViolation, RunTimeout,
                     TargetUnreachable)
from .fixture import Fixture, open_fixture
from .http import AlgaClient

__all__ = [
    "AlgaClient", "ApiDelete", "Sql", "ConfigError", "Database", "Fixture", "FixtureError", "HarnessError", "HttpError",
    "ReadOnlyViolation", "RunTimeout", "Target", "TargetUnreachable", "expect", "open_fixture", "resolve_target",
]
