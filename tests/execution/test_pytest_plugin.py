"""The pytest plugin: each fixture folder is one test; the project's own tests collect none."""
from __future__ import annotations

import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import DATA, HELLO, clean_env, copy_fixture
from .faults import FAULT_FIXTURE, Background, Fault, foreign_journal, journals


def pytest_run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    # Its own --basetemp: a nested pytest must not rotate away the outer session's temp folders
    # (the session sandbox lives there).
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           f"--basetemp={cwd / '.pytest-tmp'}", *args], cwd=cwd,
                          env=clean_env(env), capture_output=True, text=True, timeout=300)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A folder of two fixtures: a passing copy of ticket-created-hello and the failing test fixture."""
    copy_fixture(HELLO, tmp_path / "fixtures" / "ticket-created-hello")
    copy_fixture(DATA / "failing-fixture", tmp_path / "fixtures" / "failing-fixture")
    return tmp_path / "fixtures"


def test_fixture_folders_are_collected_only_where_pytest_is_pointed(tmp_path):
    project = tmp_path / "project"
    copy_fixture(HELLO, project / "fixtures" / "hello")
    copy_fixture(HELLO, project / "tests" / "data" / "hello-data")
    (project / "fixtures" / "half").mkdir()
    (project / "fixtures" / "half" / "bundle.json").write_text("{}")
    (project / "tests" / "test_unit.py").write_text("def test_unit():\n    pass\n")
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')

    def collected(*args: str) -> list[str]:
        result = pytest_run(["--collect-only", "-q", *args], project)
        return sorted(line for line in result.stdout.splitlines() if "::" in line)

    assert collected() == ["tests/test_unit.py::test_unit"], "the project's own test run collects no fixture"
    assert collected("tests") == ["tests/test_unit.py::test_unit"]
    assert collected("fixtures") == ["fixtures/hello::hello"], "a folder without test.ipynb is not a fixture"
    assert collected("fixtures/hello", "tests/data") == ["fixtures/hello::hello", "tests/data/hello-data::hello-data"]


def test_failures_show_the_cell_the_error_and_the_artifacts(suite, batch_env, tmp_path):
    artifacts = tmp_path / "artifacts"
    result = pytest_run([str(suite), f"--harness-artifacts-dir={artifacts}", "--harness-timeout-ms=30000",
                         f"--junitxml={tmp_path / 'junit.xml'}", "-rA"], tmp_path, batch_env)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "1 failed, 1 passed" in out
    assert "PASSED fixtures/ticket-created-hello::ticket-created-hello" in out
    assert "FAIL failing-fixture: ExpectationFailed: deliberately wrong expectation" in out
    assert 'failing cell [' in out and 'expect.equal(run["status"], "FAILED", "deliberately wrong expectation")' in out
    folder = next((artifacts / "workflow-harness" / "failing-fixture").iterdir())
    assert f"artifacts: {folder}" in out
    assert "harness/runner" not in out and "harness/pytest_plugin" not in out, "no harness traceback"
    assert batch_env["WORKFLOW_HARNESS_API_KEY"] not in out

    cases = {c.get("name"): c for c in ET.parse(tmp_path / "junit.xml").iter("testcase")}
    assert set(cases) == {"ticket-created-hello", "failing-fixture"}
    assert cases["ticket-created-hello"].find("failure") is None
    failure = cases["failing-fixture"].find("failure")
    assert failure is not None and "deliberately wrong expectation" in failure.text and str(folder) in failure.text


def test_keyword_selection_and_exit_first(suite, batch_env, tmp_path):
    result = pytest_run([str(suite), "-k", "hello", f"--harness-artifacts-dir={tmp_path / 'a'}"], tmp_path, batch_env)
    assert result.returncode == 0 and "1 passed, 1 deselected" in result.stdout, result.stdout + result.stderr

    result = pytest_run([str(suite), "-x", f"--harness-artifacts-dir={tmp_path / 'b'}"], tmp_path, batch_env)
    assert result.returncode == 1 and "1 failed in" in result.stdout, result.stdout + result.stderr
    assert "passed" not in result.stdout.splitlines()[-1], "-x stops after failing-fixture (collected first)"


def test_xdist_workers_run_the_fixtures(suite, batch_env, tmp_path):
    result = pytest_run([str(suite), "-n", "2", f"--harness-artifacts-dir={tmp_path / 'a'}"], tmp_path, batch_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 1 passed" in result.stdout
    assert "FAIL failing-fixture: ExpectationFailed" in result.stdout


def test_sigint_stops_the_running_fixture_cleanly_and_ends_the_session(sandbox_env, tmp_path):
    fault = Fault(sandbox_env, tmp_path)
    copy_fixture(FAULT_FIXTURE, tmp_path / "fixtures" / "journaled-fixture")
    foreign = foreign_journal(fault.journal_dir)
    run = Background(["-p", "no:cacheprovider", f"--basetemp={tmp_path / '.pytest-tmp'}", "fixtures",
                      f"--harness-artifacts-dir={fault.artifacts}"], fault.variables("stubborn"), tmp_path,
                     module="pytest")
    fault.kernel_pid()
    run.signal(signal.SIGINT)
    assert run.wait() == 2, run.stdout + run.stderr  # pytest's "interrupted"
    assert "warning: 1 cleanup journal(s) left by runs that died; run `harness cleanup`" in run.stderr
    out = run.stdout
    assert "FAIL journaled-fixture: Interrupted: SIGINT stopped the fixture" in out
    assert "failing cell [4]:" in out, "numbered as in the fixture's own test.ipynb"
    assert "Interrupted: SIGINT: fixture journaled-fixture was stopped, its cleanup done" in out
    assert fault.rows() == 0 and journals(fault.journal_dir) == [foreign]


def test_the_preflight_names_a_wrong_key_unless_skipped(suite, batch_env, tmp_path):
    env = {**batch_env, "WORKFLOW_HARNESS_API_KEY": "wrong"}
    args = [str(suite / "ticket-created-hello"), f"--harness-artifacts-dir={tmp_path / 'a'}"]
    checked = pytest_run(args, tmp_path, env)
    assert checked.returncode == 1 and "error: the API key" in checked.stdout, checked.stdout + checked.stderr
    skipped = pytest_run([*args, "--harness-no-preflight"], tmp_path, env)
    assert skipped.returncode == 1 and "error: the API key" not in skipped.stdout
    assert "FAIL ticket-created-hello" in skipped.stdout and "401" in skipped.stdout, "the fixture itself fails"
