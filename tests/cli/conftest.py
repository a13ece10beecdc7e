"""The CLI tests reuse the authoring tests' ways to call ``harness``: ``cli`` (a subprocess, with a chosen
target environment) and ``harness_main`` (the entry point in this process)."""
from __future__ import annotations

from ..authoring.conftest import cli, harness_main, target_env  # noqa: F401  (fixtures, shared by import)
