"""``harness run-all`` end to end: a pytest preset over the batch plugin, against the session sandbox,
with real kernels, parallel lanes (pytest-xdist), shards (pytest-split) and reports."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import DATA, HELLO, clean_env, copy_fixture


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _verdicts(text: str) -> dict[str, str]:
    return {line.split()[1]: line for line in text.splitlines() if re.match(r"^(PASS|FAIL) \S+ \d+( |$)", line)}


def _report_log(path: Path) -> dict[str, dict]:
    """The call-phase entries of a pytest-reportlog file, by test id."""
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    calls = [e for e in entries if e.get("$report_type") == "TestReport" and e["when"] == "call"]
    return {dict(e["user_properties"])["testId"]: e | {"props": dict(e["user_properties"])} for e in calls}


@pytest.mark.parametrize("args, needle", [
    (["does-not-exist"], "no such folder"),
    (["{data}", "-k", "failing and"], "-k"),
    (["{data}", "-k", "nothing-matches-this"], "no fixture matches -k"),
    (["{data}", "--shard", "3/2"], "--shard"),
    (["{data}", "--shard", "one"], "--shard"),
    (["{data}", "--jobs", "0"], "--jobs"),
    (["{empty}"], "no fixture folders"),
])
def test_usage_errors_exit_2_with_one_line(run_all, batch_env, tmp_path, args, needle):
    (tmp_path / "empty").mkdir()
    args = [a.format(data=DATA, empty=tmp_path / "empty") for a in args]
    result = run_all(args, batch_env)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = _lines(result.stderr)
    assert len(lines) == 1 and lines[0].lower().startswith("error: ") and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not _verdicts(result.stdout), "nothing ran"


def test_parallel_batch_isolates_failing_hanging_and_crashing_fixtures(run_all, batch_env, tmp_path):
    marker = tmp_path / "cleanup-ran"
    reports = tmp_path / "reports"
    result = run_all([str(HELLO), str(DATA / "failing-fixture"), str(DATA / "hanging-fixture"),
                      str(DATA / "crashing-fixture"), "--jobs", "2", "--timeout-ms", "8000",
                      "--artifacts-dir", str(tmp_path / "artifacts"), "--junit-xml", str(reports / "junit.xml"),
                      "--html", str(reports / "report.html"), "--json", str(reports / "results.jsonl")],
                     {**batch_env, "HARNESS_TEST_MARKER": str(marker)})
    assert result.returncode == 1, result.stdout + result.stderr

    by_name = _verdicts(result.stdout)
    assert sorted(by_name) == ["crashing-fixture", "failing-fixture", "hanging-fixture", "ticket-created-hello"]
    assert by_name["ticket-created-hello"].startswith("PASS ")
    assert "deliberately wrong expectation" in by_name["failing-fixture"]
    assert "FixtureTimeout" in by_name["hanging-fixture"]
    assert "DeadKernelError" in by_name["crashing-fixture"]
    assert "3 failed, 1 passed" in result.stdout
    assert marker.read_text() == "cleaned", "the interrupted fixture's cleanup ran in its own kernel"

    results = _report_log(reports / "results.jsonl")
    assert set(results) == set(by_name)
    assert len({r["props"]["tenantId"] for r in results.values()}) == 2, "two jobs run in two tenants"
    assert results["ticket-created-hello"]["outcome"] == "passed" and results["ticket-created-hello"]["props"]["runId"]
    assert "artifacts" not in results["ticket-created-hello"]["props"]
    for name in ("failing-fixture", "hanging-fixture", "crashing-fixture"):
        folder = Path(results[name]["props"]["artifacts"])
        assert results[name]["outcome"] == "failed" and folder.is_dir(), "each failure keeps its own artifacts"
        assert folder.parent.name == name and (folder / "failure.ipynb").is_file()

    suite = ET.parse(reports / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "4" and suite.get("failures") == "3"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == set(results) and float(cases["ticket-created-hello"].get("time")) > 0
    assert cases["ticket-created-hello"].find("failure") is None
    failure = cases["failing-fixture"].find("failure")
    assert failure is not None and "deliberately wrong expectation" in failure.get("message")
    assert "failing cell [" in failure.text and "ExpectationFailed" in failure.text
    assert f"artifacts: {results['failing-fixture']['props']['artifacts']}" in failure.text
    properties = {p.get("name"): p.get("value") for p in cases["failing-fixture"].iter("property")}
    assert properties["artifacts"] == results["failing-fixture"]["props"]["artifacts"]

    page = (reports / "report.html").read_text()
    links = set(re.findall(r'(?:&#34;|")([^&"]+?/failure\.html)', page))  # pytest-html keeps its data as escaped JSON
    assert len(links) == 3, "each failure links its rendered notebook"
    for link in links:
        rendered = (reports / link).resolve()
        assert not Path(link).is_absolute() and rendered.is_file() and rendered.with_suffix(".ipynb").is_file()
        assert "<html" in rendered.read_text()[:2000].lower()
    assert "ticket-created-hello" in page and "deliberately wrong expectation" in page
    assert batch_env["WORKFLOW_HARNESS_API_KEY"] not in page


def test_run_all_and_pytest_give_the_same_verdicts(run_all, batch_env, tmp_path):
    suite = tmp_path / "suite"
    copy_fixture(HELLO, suite / "alpha-hello")
    copy_fixture(DATA / "failing-fixture", suite / "beta-failing")
    ours = run_all([str(suite), "--jobs", "2", "--artifacts-dir", str(tmp_path / "a")], batch_env)
    theirs = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 't'}",
                             str(suite), "-n", "2", f"--harness-artifacts-dir={tmp_path / 'b'}"],
                            cwd=tmp_path, env=clean_env(batch_env), capture_output=True, text=True, timeout=300)
    assert ours.returncode == theirs.returncode == 1, ours.stdout + theirs.stdout

    def verdicts(text: str) -> dict[str, tuple[str, str]]:
        return {name: (line.split()[0], " ".join(line.split()[3:])) for name, line in _verdicts(text).items()}

    assert verdicts(ours.stdout) == verdicts(theirs.stdout)
    assert set(verdicts(ours.stdout)) == {"alpha-hello", "beta-failing"}


def test_keyword_and_shards_select_what_runs(run_all, batch_env, tmp_path):
    suite = tmp_path / "suite"
    names = ["alpha-hello", "beta-hello", "gamma-hello"]
    for name in names:
        copy_fixture(HELLO, suite / name)
    result = run_all([str(suite), "-k", "hello and not alpha", "--jobs", "1"], batch_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(_verdicts(result.stdout)) == ["beta-hello", "gamma-hello"]

    result = run_all([str(suite), "--jobs", "1", "--store-durations", "--durations-path", "durations.json"], batch_env)
    assert result.returncode == 0 and len(json.loads((tmp_path / "durations.json").read_text())) == 3
    shards = []
    for group in (1, 2):
        result = run_all([str(suite), "--jobs", "1", "--shard", f"{group}/2", "--durations-path", "durations.json"],
                         batch_env)
        assert result.returncode == 0, result.stdout + result.stderr
        shards.append(sorted(_verdicts(result.stdout)))
    assert sorted(shards[0] + shards[1]) == names and not set(shards[0]) & set(shards[1])


def test_fail_fast_starts_nothing_after_the_first_failure(run_all, batch_env, tmp_path):
    suite = tmp_path / "suite"
    copy_fixture(DATA / "failing-fixture", suite / "a-failing")
    copy_fixture(HELLO, suite / "b-hello")
    copy_fixture(HELLO, suite / "c-hello")
    result = run_all([str(suite), "--jobs", "1", "--fail-fast", "--junit-xml", "j.xml", "--artifacts-dir", "art"],
                     batch_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert [line.split()[:2] for line in _verdicts(result.stdout).values()] == [["FAIL", "a-failing"]]
    assert "stopping after 1 failures" in result.stdout
    assert [c.get("name") for c in ET.parse(tmp_path / "j.xml").iter("testcase")] == ["a-failing"]
