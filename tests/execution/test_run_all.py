"""``harness run-all`` end to end: the session sandbox, real kernels, parallel lanes, reports."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import DATA, HELLO, copy_fixture


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("args, needle", [
    (["does-not-exist"], "no such folder"),
    (["{data}", "-k", "failing and"], "-k"),
    (["{data}", "-k", "nothing-matches-this"], "no fixture matches -k"),
    (["{data}", "--shard", "3/2"], "--shard"),
    (["{data}", "--shard", "one"], "--shard"),
    (["{data}", "--jobs", "0"], "--jobs"),
    (["{empty}"], "no fixture folders"),
])
def test_usage_errors_exit_2_with_one_line(run_all, tmp_path, args, needle):
    (tmp_path / "empty").mkdir()
    args = [a.format(data=DATA, empty=tmp_path / "empty") for a in args]
    result = run_all(args)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = _lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_parallel_batch_isolates_failing_hanging_and_crashing_fixtures(run_all, batch_env, tmp_path):
    marker = tmp_path / "cleanup-ran"
    reports = tmp_path / "reports"
    result = run_all([str(HELLO), str(DATA / "failing-fixture"), str(DATA / "hanging-fixture"),
                      str(DATA / "crashing-fixture"), "--jobs", "2", "--timeout-ms", "8000",
                      "--artifacts-dir", str(tmp_path / "artifacts"), "--junit-xml", str(reports / "junit.xml"),
                      "--html", str(reports / "report.html"), "--json", str(reports / "results.json")],
                     {**batch_env, "HARNESS_TEST_MARKER": str(marker)})
    assert result.returncode == 1, result.stdout + result.stderr

    # Not a TTY: one PASS/FAIL line per fixture, then the summary.
    verdicts = [line for line in result.stdout.splitlines() if re.match(r"^(PASS|FAIL) ", line)]
    assert sorted(line.split()[1] for line in verdicts) == [
        "crashing-fixture", "failing-fixture", "hanging-fixture", "ticket-created-hello"]
    by_name = {line.split()[1]: line for line in verdicts}
    assert by_name["ticket-created-hello"].startswith("PASS ")
    assert "deliberately wrong expectation" in by_name["failing-fixture"]
    assert "FixtureTimeout" in by_name["hanging-fixture"]
    assert "DeadKernelError" in by_name["crashing-fixture"]
    assert "slowest:" in result.stdout and "failures:" in result.stdout
    assert "1 passed, 3 failed" in result.stdout and "(2 jobs)" in result.stdout
    assert marker.read_text() == "cleaned", "the interrupted fixture's cleanup ran in its own kernel"

    data = json.loads((reports / "results.json").read_text())
    assert data["summary"] | {"durationMs": 0} == {
        "total": 4, "passed": 1, "failed": 3, "notRun": 0, "durationMs": 0, "jobs": 2, "keyword": None,
        "shard": None, "paths": [str(HELLO), str(DATA / "failing-fixture"), str(DATA / "hanging-fixture"),
                                 str(DATA / "crashing-fixture")]}
    results = {r["testId"]: r for r in data["results"]}
    assert len({r["tenantId"] for r in data["results"]}) == 2, "two jobs run in two tenants"
    assert results["ticket-created-hello"]["status"] == "PASS" and results["ticket-created-hello"]["runId"]
    assert results["ticket-created-hello"]["artifactsDir"] is None
    for name in ("failing-fixture", "hanging-fixture", "crashing-fixture"):
        folder = Path(results[name]["artifactsDir"])
        assert results[name]["status"] == "FAIL" and folder.is_dir(), "each failure keeps its own artifacts"
        assert folder.parent.name == name and (folder / "failure.ipynb").is_file()
        assert results[name]["error"].endswith(f"artifacts: {folder}")
    assert "the kernel died" in results["crashing-fixture"]["error"]

    suite = ET.parse(reports / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "4" and suite.get("failures") == "3"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == set(results) and float(cases["ticket-created-hello"].get("time")) > 0
    assert cases["ticket-created-hello"].find("failure") is None
    failure = cases["failing-fixture"].find("failure")
    assert failure is not None and "deliberately wrong expectation" in failure.get("message")
    assert "Failing cell" in failure.text and "ExpectationFailed" in failure.text
    assert f"artifacts: {results['failing-fixture']['artifactsDir']}" in failure.text
    assert cases["hanging-fixture"].find("failure").get("type") == "FixtureTimeout"

    page = (reports / "report.html").read_text()
    links = re.findall(r'href="([^"#][^"]*/failure\.html)"', page)
    assert len(links) == 3, "each failure links its rendered notebook"
    for link in links:
        rendered = (reports / link).resolve()
        assert not Path(link).is_absolute() and rendered.is_file() and rendered.with_suffix(".ipynb").is_file()
        assert "<html" in rendered.read_text()[:2000].lower()
    assert "ticket-created-hello" in page and "deliberately wrong expectation" in page
    assert batch_env["WORKFLOW_HARNESS_API_KEY"] not in page


def test_keyword_and_shard_select_what_runs(run_all, batch_env, tmp_path):
    suite = tmp_path / "suite"
    copy_fixture(HELLO, suite / "alpha-hello")
    copy_fixture(HELLO, suite / "beta-hello")
    copy_fixture(DATA / "failing-fixture", suite / "gamma-failing")
    result = run_all([str(suite), "-k", "hello and not alpha", "--json", "k.json"], batch_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [r["testId"] for r in json.loads((tmp_path / "k.json").read_text())["results"]] == ["beta-hello"]

    result = run_all([str(suite), "--shard", "2/2", "--json", "s.json"], batch_env)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "s.json").read_text())
    assert [r["testId"] for r in data["results"]] == ["beta-hello"] and data["summary"]["shard"] == "2/2"

    result = run_all([str(suite), "-k", "gamma", "--shard", "2/2"], batch_env)
    assert result.returncode == 0, "an empty shard is not a failure"
    assert "0 passed, 0 failed" in result.stdout


def test_fail_fast_starts_nothing_after_the_first_failure(run_all, batch_env, tmp_path):
    suite = tmp_path / "suite"
    copy_fixture(DATA / "failing-fixture", suite / "a-failing")
    copy_fixture(HELLO, suite / "b-hello")
    copy_fixture(HELLO, suite / "c-hello")
    result = run_all([str(suite), "--jobs", "1", "--fail-fast", "--json", "r.json", "--junit-xml", "j.xml",
                      "--artifacts-dir", "art"], batch_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines() if re.match(r"^(PASS|FAIL) ", line)] == [
        ["FAIL", "a-failing"]]
    data = json.loads((tmp_path / "r.json").read_text())
    assert [(r["testId"], r["status"]) for r in data["results"]] == [
        ("a-failing", "FAIL"), ("b-hello", "NOT_RUN"), ("c-hello", "NOT_RUN")]
    assert data["summary"]["notRun"] == 2 and "2 not run" in result.stdout
    skipped = [c.get("name") for c in ET.parse(tmp_path / "j.xml").iter("testcase") if c.find("skipped") is not None]
    assert skipped == ["b-hello", "c-hello"]
