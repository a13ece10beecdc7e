"""Every fixture folder under ``fixtures/`` passes ``harness run`` against the session sandbox."""
from __future__ import annotations

from pathlib import Path

import pytest

from .test_run_fixtures import REPO, harness

FIXTURES = sorted(p.name for p in (REPO / "fixtures").iterdir() if (p / "bundle.json").is_file())


def _failure_text(artifacts: Path) -> str:
    """The failing cell's traceback from the failure folder, if the run left one."""
    errors = sorted(artifacts.glob("workflow-harness/*/*/failure.error.txt"))
    return "\n".join(path.read_text() for path in errors) or "(no failure.error.txt)"


def test_catalog_is_not_empty():
    assert len(FIXTURES) >= 31, FIXTURES


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_passes(name, sandbox_env, tmp_path):
    result = harness(["run", "--test", f"fixtures/{name}", "--json", "--artifacts-dir", str(tmp_path)], sandbox_env)
    lines = result.stdout.strip().splitlines()
    report = (f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
              f"failure.error.txt:\n{_failure_text(tmp_path)}")
    assert result.returncode == 0, report
    assert lines and lines[0].startswith(f"PASS {name} "), report
