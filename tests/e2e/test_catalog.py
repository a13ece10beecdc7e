"""The whole catalog passes under ``harness run-all --jobs 2`` and under ``pytest fixtures/ -n 2``, and
leaves the sandbox's domain tables holding exactly what they held before: only what the platform itself
records (the runtime's ``workflow_*`` rows and ``audit_logs``) may grow."""
from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import psycopg

from ..execution.conftest import clean_env
from .test_run_fixtures import REPO, harness

FIXTURES = sorted(p.name for p in (REPO / "fixtures").iterdir() if (p / "bundle.json").is_file())
CATALOG_SIZE = 314  # the JS suite this kit replaces
PLATFORM_TABLES = "tablename NOT LIKE 'workflow%' AND tablename <> 'audit_logs'"


def _row_counts(admin_url: str) -> dict[str, int]:
    with psycopg.connect(admin_url) as conn:
        tables = [row[0] for row in conn.execute(
            f"SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND {PLATFORM_TABLES} ORDER BY 1")]
        return {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def _changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int | None, int | None]]:
    return {t: (before.get(t), after.get(t)) for t in sorted(set(before) | set(after)) if before.get(t) != after.get(t)}


def _failures(junit: Path) -> list[str]:
    """``name: message`` of every failed or errored case in a JUnit report."""
    found = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for problem in [*case.findall("failure"), *case.findall("error")]:
            found.append(f"{case.get('name')}: {(problem.get('message') or '').splitlines()[0][:300]}")
    return found


def test_the_catalog_has_the_size_of_the_suite_it_replaces() -> None:
    assert len(FIXTURES) >= CATALOG_SIZE, len(FIXTURES)


def test_run_all_jobs_2_passes_the_catalog_and_leaves_the_domain_tables_as_they_were(sandbox_env, sandbox_state,
                                                                                     tmp_path):
    before = _row_counts(sandbox_state["admin_database_url"])
    junit = tmp_path / "junit.xml"
    result = harness(["run-all", "--jobs", "2", "fixtures", "--junit-xml", str(junit),
                      "--artifacts-dir", str(tmp_path / "artifacts")], sandbox_env, timeout=1800)
    failed = _failures(junit) if junit.exists() else [result.stderr[-2000:]]
    assert result.returncode == 0 and not failed, "\n".join(failed)
    passed = [line for line in result.stdout.splitlines() if line.startswith("PASS ")]
    assert len(passed) == len(FIXTURES), result.stdout[-2000:]
    assert _changed(before, _row_counts(sandbox_state["admin_database_url"])) == {}, \
        "the catalog left rows behind (table: before, after)"


def test_pytest_n_2_passes_the_catalog(sandbox_env, sandbox_dir, sandbox_state, tmp_path):
    before = _row_counts(sandbox_state["admin_database_url"])
    junit = tmp_path / "junit.xml"
    env = {**sandbox_env, "HARNESS_SANDBOX_DIR": str(sandbox_dir)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "fixtures", "-n", "2", "-q",
                             f"--junit-xml={junit}", f"--basetemp={tmp_path / 'tmp'}",
                             f"--harness-artifacts-dir={tmp_path / 'artifacts'}"],
                            cwd=REPO, env=clean_env(env), capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, "\n".join(_failures(junit)) if junit.exists() else result.stdout[-2000:]
    assert f"{len(FIXTURES)} passed" in result.stdout, result.stdout[-2000:]
    assert _changed(before, _row_counts(sandbox_state["admin_database_url"])) == {}

