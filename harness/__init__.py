"""Notebook-based fixture kit for AlgaPSA Workflow Runtime V2.

In a fixture notebook::

    import harness
    fx = harness.open_fixture(fixture_dir)
    fx.post_event({...})
    run = fx.wait_for_run()
    harness.expect.equal(run["status"], "SUCCEEDED")
"""
import sys

# jsonschema (bundle checks; nbformat uses it too) builds an IRI grammar at import time when the
# optional rfc3987-syntax package is installed (JupyterLab pulls it in): about 0.9 s in every
# process, kernels included. The kit never validates IRI formats, so that optional module is hidden.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

from . import expect  # noqa: E402 (after the line above, which must run before jsonschema loads)
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
