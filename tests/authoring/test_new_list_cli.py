"""``harness new`` and ``harness list`` on the command line: output, refusals and exit codes.

Most cases call the CLI entry point in-process (``harness_main``); one goes through a subprocess.
"""
from __future__ import annotations

import json
import shutil

import nbformat
import pytest

from .conftest import REPO


def one_error_line(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_new_creates_a_clean_fixture(cli, tmp_path):
    result = cli("new", "ticket-updated-note", "--template", "negative", "--event", "TICKET_UPDATED",
                 "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "ticket-updated-note"
    assert sorted(p.name for p in folder.iterdir()) == ["bundle.json", "test.ipynb"]
    assert f"created {folder} (template negative)" in result.stdout
    bundle = json.loads((folder / "bundle.json").read_text())
    workflow = bundle["workflows"][0]
    assert workflow["key"] == "fixture.ticket-updated-note"
    assert workflow["metadata"]["trigger"]["eventName"] == "TICKET_UPDATED"
    assert workflow["metadata"]["payloadSchemaRef"] == "payload.TicketUpdated.v1"
    assert workflow["metadata"]["isPaused"] is True
    raw = json.loads((folder / "test.ipynb").read_text())
    code = [c for c in raw["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert raw["metadata"]["harness"] == {"template": "negative"}


def test_new_defaults_to_the_event_template_in_fixtures(harness_main, tmp_path):
    result = harness_main("new", "hello-again", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    nb = nbformat.read(tmp_path / "fixtures" / "hello-again" / "test.ipynb", as_version=4)
    assert nb.metadata["harness"]["template"] == "event"


def test_new_refuses_an_existing_folder(harness_main, tmp_path):
    (tmp_path / "taken").mkdir()
    line = one_error_line(harness_main("new", "taken", "--dir", str(tmp_path)))
    assert "already exists" in line
    assert list((tmp_path / "taken").iterdir()) == [], "nothing is written into it"


@pytest.mark.parametrize("name", ["Upper", "-dash-first", ".dot-first", "has space", "a/b", "ünï", "x!"])
def test_new_refuses_an_invalid_name(harness_main, tmp_path, name):
    line = one_error_line(harness_main("new", "--dir", str(tmp_path), "--", name))
    assert f"invalid fixture name {name!r}" in line
    assert list(tmp_path.iterdir()) == []


def test_new_refuses_unknown_template_and_event(harness_main, tmp_path):
    assert "unknown template 'nope' (available: api, control-flow, db-driven, event, http-error, negative)" in \
        one_error_line(harness_main("new", "x", "--template", "nope", "--dir", str(tmp_path)))
    assert "unknown event 'TICKET_EXPLODED'" in \
        one_error_line(harness_main("new", "x", "--event", "TICKET_EXPLODED", "--dir", str(tmp_path)))
    assert "template 'api' only supports TICKET_CREATED, not 'TICKET_UPDATED'" in \
        one_error_line(harness_main("new", "x", "--template", "api", "--event", "TICKET_UPDATED",
                                    "--dir", str(tmp_path)))
    assert list(tmp_path.iterdir()) == []


def test_new_without_a_name_is_a_usage_error(harness_main):
    assert "Missing argument 'NAME'" in one_error_line(harness_main("new"))


def test_list_shows_event_and_pattern(harness_main, tmp_path):
    for name, pattern, event in [("b-neg", "negative", "PROJECT_CREATED"), ("a-flow", "control-flow", None)]:
        args = ["new", name, "--template", pattern, "--dir", str(tmp_path)] + (["--event", event] if event else [])
        assert harness_main(*args).returncode == 0
    hand_written = tmp_path / "c-hand-written"
    shutil.copytree(REPO / "tests" / "data" / "failing-fixture", hand_written)
    nb = nbformat.read(hand_written / "test.ipynb", as_version=4)
    nb.metadata.pop("harness", None)  # a notebook that never came from a template
    nbformat.write(nb, str(hand_written / "test.ipynb"))
    broken = tmp_path / "d-broken"
    broken.mkdir()
    (broken / "bundle.json").write_text("{not json")
    (tmp_path / "not-a-fixture").mkdir()

    table = harness_main("list", "--dir", str(tmp_path))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "EVENT", "TEMPLATE"]
    assert lines[1].split() == ["a-flow", "TICKET_CREATED", "control-flow"]
    assert lines[2].split() == ["b-neg", "PROJECT_CREATED", "negative"]
    assert lines[3].split() == ["c-hand-written", "TICKET_CREATED", "custom"]
    assert lines[4].startswith("d-broken") and "(unreadable:" in lines[4] and "malformed JSON" in lines[4]
    assert len(lines) == 5

    listed = json.loads(harness_main("list", "--dir", str(tmp_path), "--json").stdout)
    assert [(f["name"], f["event"], f["template"]) for f in listed] == [
        ("a-flow", "TICKET_CREATED", "control-flow"), ("b-neg", "PROJECT_CREATED", "negative"),
        ("c-hand-written", "TICKET_CREATED", "custom"), ("d-broken", None, None)]
    assert listed[0]["workflow_key"] == "fixture.a-flow" and listed[0]["problem"] is None
    assert "malformed JSON" in listed[3]["problem"]


def test_list_of_the_repository_fixtures(harness_main):
    listed = json.loads(harness_main("list", "--json").stdout)
    hello = next(f for f in listed if f["name"] == "ticket-created-hello")
    assert hello["event"] == "TICKET_CREATED" and hello["workflow_key"] == "fixture.ticket-created-hello"


def test_list_of_a_missing_folder_is_an_error(harness_main, tmp_path):
    assert "no such fixtures folder" in one_error_line(harness_main("list", "--dir", str(tmp_path / "nope")))


def test_list_names_an_unreadable_notebook_beside_a_good_bundle(harness_main, tmp_path):
    for name, text in [("a-bad-json", '{"cells": ['), ("b-no-cells", '{"metadata": {}}')]:
        assert harness_main("new", name, "--dir", str(tmp_path)).returncode == 0
        (tmp_path / name / "test.ipynb").write_text(text)
    listed = json.loads(harness_main("list", "--dir", str(tmp_path), "--json").stdout)
    assert [f["event"] for f in listed] == ["TICKET_CREATED", "TICKET_CREATED"], "the bundle is still read"
    assert "not a readable notebook (malformed JSON at line 1" in listed[0]["problem"]
    assert "not a readable notebook (no list of cells)" in listed[1]["problem"]
