"""Failure folder layout and secret scrubbing."""
from __future__ import annotations

from datetime import datetime, timezone

from harness import artifacts


def test_failure_dir_layout(tmp_path):
    when = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc)
    path = artifacts.failure_dir(tmp_path, "my-fixture", "run-1", now=when)
    assert path == tmp_path / "workflow-harness" / "my-fixture" / "20260102T030405.006000Z-run-1"
    assert path.is_dir()


def test_written_files_are_redacted(tmp_path):
    files = artifacts.write_failure_artifacts(
        tmp_path, notebook_text='{"k": "sekret-key"}', context={"cookie": "sekret-key"},
        error_text="boom sekret-key", export={"x": 1}, secrets=["sekret-key"])
    assert sorted(p.name for p in files) == ["failure.context.json", "failure.error.txt", "failure.ipynb",
                                             "failure.workflow-export.json"]
    for path in files:
        assert "sekret-key" not in path.read_text()
    assert "[REDACTED]" in (tmp_path / "failure.error.txt").read_text()


def test_one_line_reason():
    assert artifacts.one_line("\x1b[31mKeyError\x1b[0m:\n  'x'") == "KeyError: 'x'"
    assert len(artifacts.one_line("x" * 1000)) == 300
