"""``harness new --dir``: a file or a mistyped path is one ``error:`` line; only the fixtures folder itself
is ever created."""
from __future__ import annotations

from .test_events import one_error_line


def test_dir_that_is_a_file(harness_main, tmp_path):
    afile = tmp_path / "notes.txt"
    afile.write_text("keep me")
    line = one_error_line(harness_main("new", "x", "--dir", str(afile)))
    assert line == f"error: {afile} is not a folder; --dir names the folder that holds the fixtures"
    assert afile.read_text() == "keep me"


def test_dir_below_a_missing_folder_creates_nothing(harness_main, tmp_path):
    wanted = tmp_path / "typo" / "a" / "fixtures"
    line = one_error_line(harness_main("new", "x", "--dir", str(wanted)))
    assert line == (f"error: {wanted}: its parent folder {wanted.parent} does not exist "
                    "(create it first, or check the --dir path)")
    assert list(tmp_path.iterdir()) == []


def test_dir_inside_an_existing_folder_is_created(harness_main, tmp_path):
    result = harness_main("new", "x", "--dir", "fixtures", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "fixtures" / "x").iterdir()) == ["bundle.json", "test.ipynb"]


def test_a_folder_the_system_refuses(harness_main, tmp_path):
    name = "x" * 300  # a valid workflow key, but too long for a folder name
    line = one_error_line(harness_main("new", name, "--dir", str(tmp_path)))
    assert line == f"error: cannot write {tmp_path / name}: File name too long"
