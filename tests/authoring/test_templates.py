"""Templates and their rendering: complete placeholders, consistent bundles, clean notebooks."""
from __future__ import annotations

import json
import re

import nbformat
import pytest

from harness.authoring.bundles import dependencies_table
from harness.authoring.hygiene import notebook_problems
from harness.authoring.scaffold import new_fixture
from harness.authoring.templates import available, load_template, render_text
from harness.errors import FixtureError
from harness.execution.checks import check_fixture

PATTERNS = ["api", "control-flow", "db-driven", "event", "http-error", "negative"]


def test_every_pattern_has_a_template():
    assert available() == PATTERNS


@pytest.mark.parametrize("pattern", PATTERNS)
def test_rendered_template_is_a_valid_fixture(pattern, tmp_path):
    folder = new_fixture(f"tpl-{pattern}", template=pattern, directory=tmp_path)
    fixture = check_fixture(folder)  # the runner's own up-front checks
    text = (folder / "bundle.json").read_text() + (folder / "test.ipynb").read_text()
    assert not re.search(r"\{\{[a-z_]+\}\}", text), "every placeholder is rendered"

    workflow = fixture.bundle.data["workflows"][0]
    assert workflow["key"] == f"fixture.tpl-{pattern}"
    assert workflow["metadata"]["trigger"] == {"type": "event", "eventName": "TICKET_CREATED"}
    assert workflow["metadata"]["payloadSchemaRef"] == "payload.TicketCreated.v1"
    assert workflow["draft"]["definition"] == workflow["publishedVersions"][0]["definition"]
    deps = dependencies_table(fixture.bundle)
    assert not deps["needs_declaring"].any(), deps
    assert deps["used"].all(), "nothing is declared that the steps do not use"

    nb = fixture.notebook
    assert nb.metadata["harness"]["template"] == pattern
    assert notebook_problems(nb) == []
    assert f"fixture.tpl-{pattern}" in (folder / "bundle.json").read_text()


def test_event_choice_fills_trigger_and_schema(tmp_path):
    folder = new_fixture("tpl-status", template="control-flow", event="TICKET_STATUS_CHANGED", directory=tmp_path)
    bundle = json.loads((folder / "bundle.json").read_text())
    metadata = bundle["workflows"][0]["metadata"]
    assert metadata["trigger"]["eventName"] == "TICKET_STATUS_CHANGED"
    assert metadata["payloadSchemaRef"] == metadata["pinnedPayloadSchemaRef"] == "payload.TicketStatusChanged.v1"
    assert bundle["workflows"][0]["dependencies"]["schemaRefs"] == ["payload.TicketStatusChanged.v1"]
    sources = "\n".join(c.source for c in nbformat.read(folder / "test.ipynb", as_version=4).cells)
    assert '"ticketId": key,' in sources


def test_the_http_error_template_drops_the_first_required_field(tmp_path):
    folder = new_fixture("tpl-err", template="http-error", event="PROJECT_CREATED", directory=tmp_path)
    sources = "\n".join(c.source for c in nbformat.read(folder / "test.ipynb", as_version=4).cells)
    assert 'if field != "projectId"}' in sources
    assert 'path == ["projectId"]' in sources


def test_render_text_rules():
    values = {"a": "x", "empty": "", "block": "one\ntwo"}
    assert render_text("{{a}}-{{a}}", values) == "x-x"
    assert render_text("first\n{{empty}}\nlast", values) == "first\nlast", "an empty placeholder line is dropped"
    assert render_text("    v = {{block}}", values) == "    v = one\n    two", "continuation keeps the indent"
    with pytest.raises(FixtureError, match=r"\{\{nope\}\} has no value"):
        render_text("{{nope}}", values)


def test_unknown_template_names_the_available_ones():
    with pytest.raises(FixtureError, match="unknown template 'nope' \\(available: api, control-flow"):
        load_template("nope")


@pytest.mark.parametrize("pattern", PATTERNS)
def test_rendered_cleanup_is_declarative(pattern, tmp_path):
    """Cleanup is journaled (so it survives a dead kernel): only harness.ApiDelete / harness.Sql, no closures."""
    folder = new_fixture(f"tpl-{pattern}", template=pattern, directory=tmp_path)
    cells = nbformat.read(folder / "test.ipynb", as_version=4).cells
    sources = "\n".join(c.source for c in cells if c.cell_type == "code")
    registrations = re.findall(r"fx\.on_cleanup\(\s*([\w.]+)", sources)
    assert all(name in ("harness.ApiDelete", "harness.Sql") for name in registrations), registrations
    assert "def delete_" not in sources and ".writer().execute" not in sources
    assert registrations == [], "templates leave cleanup to the helpers (fx.create, the marker sweep)"
