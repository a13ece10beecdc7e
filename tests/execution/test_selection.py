"""Choosing fixtures: discovery, ``-k`` expressions and ``--shard`` (no sandbox needed)."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import FixtureError
from harness.runner.discovery import discover, is_fixture_folder
from harness.runner.keywords import KeywordError, compile_keywords
from harness.runner.shard import parse_shard, take_shard

from .conftest import HELLO, copy_fixture

NAMES = ["ticket-created-hello", "ticket-assigned-ack", "schema-invalid-payload", "runtime-paused-no-run",
         "project-created-tasks", "Ticket-Upper"]


@pytest.mark.parametrize("expression, expected", [
    ("ticket", ["ticket-created-hello", "ticket-assigned-ack", "Ticket-Upper"]),
    ("TICKET and not hello", ["ticket-assigned-ack", "Ticket-Upper"]),
    ("schema or paused", ["schema-invalid-payload", "runtime-paused-no-run"]),
    ("not (ticket or schema)", ["runtime-paused-no-run", "project-created-tasks"]),
    ("project or ticket and ack", ["ticket-assigned-ack", "project-created-tasks"]),  # and binds tighter
    ("(project or ticket) and not (ack or upper)", ["ticket-created-hello", "project-created-tasks"]),
    ("not not created", ["ticket-created-hello", "project-created-tasks"]),
])
def test_keyword_expressions_select_like_pytest(expression, expected):
    matches = compile_keywords(expression)
    assert [n for n in NAMES if matches(n)] == expected


@pytest.mark.parametrize("expression", ["", "   ", "a and", "and a", "(a or b", "a or b)", "not", "a b", "()"])
def test_malformed_keyword_expressions_are_rejected(expression):
    with pytest.raises(KeywordError):
        compile_keywords(expression)


@pytest.mark.parametrize("count", [0, 1, 2, 5, 7, 31, 35])
@pytest.mark.parametrize("shards", [1, 2, 3, 4, 8])
def test_shards_cover_the_suite_once_and_evenly(count, shards):
    folders = [Path(f"/f/{i:02d}-{'x' * (i % 3)}") for i in range(count)]
    parts = [take_shard(list(reversed(folders)), i, shards) for i in range(1, shards + 1)]
    flat = [f for part in parts for f in part]
    assert sorted(flat) == sorted(folders) and len(flat) == len(set(flat)), "union is the suite, no overlap"
    sizes = [len(part) for part in parts]
    assert max(sizes) - min(sizes) <= 1
    assert parts == [take_shard(folders, i, shards) for i in range(1, shards + 1)], "input order does not matter"


def test_shards_are_dealt_round_robin_in_name_order():
    folders = [Path(f"/x/{name}") for name in ("d", "a", "c", "b", "e")]
    assert [p.name for p in take_shard(folders, 1, 2)] == ["a", "c", "e"]
    assert [p.name for p in take_shard(folders, 2, 2)] == ["b", "d"]


@pytest.mark.parametrize("spec", ["0/2", "3/2", "1/0", "x/2", "1-2", "", "1/2/3", "-1/2"])
def test_bad_shard_specs_are_rejected(spec):
    with pytest.raises(ValueError):
        parse_shard(spec)


def test_shard_spec_parses():
    assert parse_shard("2/5") == (2, 5) and parse_shard(" 1 / 1 ") == (1, 1)


def test_discovery_finds_fixture_folders_sorted_by_name(tmp_path):
    root = tmp_path / "suite"
    copy_fixture(HELLO, root / "b-fixture")
    copy_fixture(HELLO, root / "a-fixture")
    (root / "half").mkdir()
    (root / "half" / "bundle.json").write_text("{}")  # not a fixture: test.ipynb is missing
    (root / "notes").mkdir()
    single = copy_fixture(HELLO, tmp_path / "other" / "c-fixture")
    found = discover([root, single, root / "a-fixture"])
    assert [p.name for p in found] == ["a-fixture", "b-fixture", "c-fixture"], "sorted, without duplicates"
    assert all(p.is_absolute() and is_fixture_folder(p) for p in found)


def test_discovery_rejects_paths_without_fixtures(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    half = tmp_path / "half"
    half.mkdir()
    (half / "bundle.json").write_text((HELLO / "bundle.json").read_text())
    for path, needle in [(tmp_path / "missing", "no such folder"), (tmp_path / "file.txt", "not a folder"),
                         (tmp_path / "empty", "no fixture folders"), (half, "test.ipynb not found")]:
        with pytest.raises(FixtureError, match=needle):
            discover([path])
