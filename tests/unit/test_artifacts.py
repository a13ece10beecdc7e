"""Failure folder layout and secret scrubbing."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

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


def test_written_files_lose_unlisted_dsn_and_url_credentials(tmp_path):
    error = ('psycopg.OperationalError: connection to "postgresql://app:db-pass@db/alga" failed\n'
             "  conninfo host=db password='kv pass' dbname=alga\n"
             "  BASE_URL=https://u:web-pass@alga.example.com ?password=query-pass")
    context = {"env": {"DATABASE_URL": "postgresql://app:db-pass@db/alga", "BASE_URL": "https://tok-pass@alga"},
               "amount": Decimal("10.05")}
    notebook = json.dumps({"cells": [{"cell_type": "code", "source": "DSN = 'host=db password=nb-pass'",
                                      "outputs": [{"output_type": "error", "traceback": [error]}]}],
                           "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    files = artifacts.write_failure_artifacts(tmp_path, notebook_text=notebook, context=context, error_text=error,
                                              export={"dsn": "host=db password=kv-export"}, secrets=[])
    for path in files:
        text = path.read_text()
        for secret in ("db-pass", "kv pass", "web-pass", "query-pass", "tok-pass", "nb-pass", "kv-export"):
            assert secret not in text, (path.name, secret)
        if path.suffix in (".json", ".ipynb"):
            json.loads(text)  # still valid JSON after scrubbing
    context_text = (tmp_path / "failure.context.json").read_text()
    assert "postgresql://app:***@db/alga" in context_text and '"10.05"' in context_text


def test_one_line_reason():
    assert artifacts.one_line("\x1b[31mKeyError\x1b[0m:\n  'x'") == "KeyError: 'x'"
    assert len(artifacts.one_line("x" * 1000)) == 300
