"""Choosing fixtures: discovery, and shards that partition the suite (pytest-split; no sandbox needed)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import FixtureError
from harness.execution.discovery import discover, is_fixture_folder

from .conftest import HELLO, clean_env, copy_fixture

def _collected(args: list[str], cwd: Path) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                            cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: an empty shard
    return [line.split("::")[-1] for line in result.stdout.splitlines() if "::" in line]


@pytest.mark.parametrize("shards", [1, 2, 3, 5])
def test_shards_partition_the_suite_balanced_by_recorded_durations(tmp_path, shards):
    suite = tmp_path / "fixtures"
    names = [f"fixture-{i:02d}" for i in range(7)]
    for name in names:
        copy_fixture(HELLO, suite / name)
    durations = {f"fixtures/{name}::{name}": 1.0 + 3 * (i == 0) for i, name in enumerate(names)}
    (tmp_path / "durations.json").write_text(json.dumps(durations))
    parts = [_collected(["fixtures", "--splits", str(shards), "--group", str(group),
                         "--durations-path", "durations.json", "--splitting-algorithm", "least_duration"], tmp_path) for group in range(1, shards + 1)]
    flat = [name for part in parts for name in part]
    assert sorted(flat) == names and len(flat) == len(set(flat)), "every fixture in exactly one shard"
    if shards > 1:
        heavy = next(part for part in parts if "fixture-00" in part)
        assert len(heavy) == min(len(part) for part in parts), "the 4 s fixture's shard gets fewer fixtures"


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
