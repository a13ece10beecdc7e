"""The catalog's notebooks hold the behaviour under test: setup, cleanup and lookups are the library's.

Each catalog notebook is checked for the hand-written code the domain vocabulary replaced, and the
catalog as a whole for its size: the median notebook had 64 non-blank code lines before the
vocabulary, and must stay at half of that or less.
"""
from __future__ import annotations

import re
import statistics
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "fixtures").glob("*/test.ipynb"))
MEDIAN_BEFORE = 64
# What a fixture should get from fx.picks / fx.create / fx.find / fx.override, not write itself.
HAND_WRITTEN = {
    "a write": re.compile(r"\b(INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b", re.I),
    "hand-written cleanup": re.compile(r"\bon_cleanup\(|\bharness\.(Sql|ApiDelete)\("),
    "a writer session": re.compile(r"\.writer\(\)"),
    "a direct API create": re.compile(r"fx\.api\.post\(\s*[\"']/api/v1/(tickets|projects|schedules)[\"']"),
    "a sandbox-only branch": re.compile(r"email_outbox|has_outbox|to_regclass"),
    "picks SQL": re.compile(r"FROM (clients|boards|priorities|statuses|users|roles|teams|service_catalog)\b", re.I),
}


def _code(path: Path) -> str:
    return "\n".join(cell.source for cell in nbformat.read(path, 4).cells if cell.cell_type == "code")


def test_the_catalog_is_there() -> None:
    assert len(NOTEBOOKS) >= 31


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_a_fixture_notebook_leaves_setup_cleanup_and_lookups_to_the_library(notebook: Path) -> None:
    code = _code(notebook)
    found = [f"{what}: {match.group(0)!r}" for what, pattern in HAND_WRITTEN.items()
             for match in [pattern.search(code)] if match]
    assert not found, f"{notebook.parent.name} writes what the vocabulary provides: {'; '.join(found)}"


def test_the_median_fixture_is_at_most_half_its_former_size() -> None:
    sizes = [sum(1 for line in _code(path).splitlines() if line.strip()) for path in NOTEBOOKS]
    assert statistics.median(sizes) <= MEDIAN_BEFORE / 2, sorted(sizes)
