"""Bad input found while authoring: each is one whole ``error:`` line (exit 2), never a traceback or a
message cut short."""
from __future__ import annotations

import json
import shutil

import pytest

from ..authoring.conftest import REPO

from .test_events import one_error_line

GOLDEN = REPO / "fixtures" / "ticket-created-hello"


@pytest.mark.parametrize("url, reason", [
    # psycopg's first line is the reason; the hint on its next line follows it
    ("postgresql://nobody:pw@127.0.0.1:9/none",
     'connection to server at "127.0.0.1", port 9 failed: Connection refused; Is the server running on that host'),
    ("host=127.0.0.1 port=abc", 'invalid integer value "abc" for connection option "port"'),
    ("not-a-url", 'missing "=" after "not-a-url" in connection info string'),
])
def test_a_database_error_keeps_its_first_line(cli, sandbox_env, url, reason):
    line = one_error_line(cli("run", "--test", str(GOLDEN), env={**sandbox_env, "DATABASE_URL": url}))
    assert line.startswith("error: cannot connect to database ") and reason in line, line
    assert ":pw@" not in line


def test_a_malformed_notebook_says_where_it_breaks(cli, sandbox_env, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(GOLDEN, folder)
    bundle = json.loads((folder / "bundle.json").read_text())
    bundle["workflows"][0]["key"] = "fixture.broken"
    (folder / "bundle.json").write_text(json.dumps(bundle))
    # nbformat's own message quoted the first 80 characters of this, cut mid-word
    (folder / "test.ipynb").write_text('{\n "cells": [\n  {"cell_type": "code", "metadata": {"tags": ["parameters"]},\n'
                                       '   "source": "fixture_dir = \'.\'"\n   "outputs": []}\n ]\n}\n')
    line = one_error_line(cli("run", "--test", str(folder), env=sandbox_env))
    assert line == (f"error: {folder / 'test.ipynb'}: not a readable notebook "
                    "(malformed JSON at line 5 column 4: Expecting ',' delimiter)"), line


def test_a_malformed_failure_context(cli, tmp_path):
    failure = tmp_path / "artifacts" / "workflow-harness" / "fx" / "20260101T000000.000000Z"
    failure.mkdir(parents=True)
    (failure / "failure.context.json").write_text('{"testId": "fx",\n "run": {"status": "FAILED",}}')
    line = one_error_line(cli("triage", str(tmp_path / "artifacts")))
    assert line == (f"error: {failure / 'failure.context.json'}: malformed JSON at line 2 column 29: "
                    "Expecting property name enclosed in double quotes"), line
