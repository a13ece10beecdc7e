"""Cleanup survives every fault, and the artifacts tell the truth about it.

Each test runs the journaled fixture (tests/data/journaled-fixture: it inserts a marker row and
journals a cleanup that deletes it) with a real kernel against the session sandbox, injects one
fault (a cell that ignores interrupts, a kernel that exits or is SIGKILLed, Ctrl-C or SIGTERM to the
runner, a server that goes down), and checks the row is gone, the journal too, and the artifacts.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cleanup import Journal, Sql
from harness.config import resolve_target
from harness.execution import papermill_engine as engine
from harness.execution.checks import check_fixture
from harness.execution.single import run_fixture
from harness.fixture import SWEEP_LABEL

from .conftest import HELLO, clean_env
from .faults import (FAULT_FIXTURE, Background, Fault, Forwarder, foreign_journal, journals, kill, pending_labels,
                     process_gone, wait_for)


@pytest.fixture
def fault(sandbox_env: dict[str, str], tmp_path: Path) -> Fault:
    return Fault(sandbox_env, tmp_path)


def harness_run(fault: Fault, env: dict[str, str], *extra: str) -> Background:
    return Background(["run", "--test", str(FAULT_FIXTURE), "--artifacts-dir", str(fault.artifacts), *extra],
                      env, fault.folder)


def harness(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def failure_folder(fault: Fault) -> Path:
    folders = list((fault.artifacts / "workflow-harness" / "journaled-fixture").iterdir())
    assert len(folders) == 1, folders
    assert sorted(p.name for p in folders[0].iterdir() if p.name != "failure.html") == [  # html: harness run only
        "failure.context.json", "failure.error.txt", "failure.ipynb", "failure.workflow-export.json"]
    return folders[0]


def test_a_cell_ignoring_interrupts_is_killed_at_the_deadline_and_its_cleanup_replayed(fault):
    run = harness_run(fault, fault.variables("stubborn"), "--timeout-ms", "5000")
    assert run.wait() == 1, run.stdout + run.stderr
    assert run.stdout.startswith("FAIL journaled-fixture ")
    assert "FixtureTimeout: the fixture did not finish within 5000 ms" in run.stdout
    assert "the kernel was killed" in run.stdout
    assert fault.rows() == 0, "the journaled cleanup ran after the kernel was killed"
    assert journals(fault.journal_dir) == []
    error = (failure_folder(fault) / "failure.error.txt").read_text()
    assert "Failing cell: index 4" in error, "numbered as in the fixture's own test.ipynb"
    assert "Cleanup errors" not in error


def test_a_kernel_that_exits_is_replayed_and_its_artifacts_are_truthful(fault):
    run = harness_run(fault, fault.variables("exit"))
    assert run.wait() == 1, run.stdout + run.stderr
    assert run.stdout.startswith("FAIL journaled-fixture ") and "DeadKernelError" in run.stdout
    assert fault.rows() == 0 and journals(fault.journal_dir) == []

    folder = failure_folder(fault)
    context = json.loads((folder / "failure.context.json").read_text())
    assert context["workflowKey"] == "fixture.journaled-fixture" and context["workflowId"]
    assert context["importSummary"]["createdWorkflows"][0]["workflowId"] == context["workflowId"]
    assert context["run"]["status"] == "SUCCEEDED" and folder.name.endswith(context["run"]["run_id"])
    assert [s["definition_step_id"] for s in context["steps"]] == ["mark-ready", "say-hello", "finish"]
    assert context["logs"] and context["stepSummary"]["counts"] == {"SUCCEEDED": 3}
    assert context["cleanupErrors"] == [] and "kernel ended before its teardown" in context["contextSource"]
    export = json.loads((folder / "failure.workflow-export.json").read_text())
    assert export["workflows"][0]["key"] == "fixture.journaled-fixture"
    error = (folder / "failure.error.txt").read_text()
    assert "Failing cell: index 4" in error and "the kernel died while this cell was running" in error


def test_a_teardown_ignoring_interrupts_is_killed_and_the_journal_replayed(fault, monkeypatch):
    monkeypatch.setattr(engine, "TEARDOWN_TIMEOUT_S", 3)  # in this process only; the real bound is a minute
    variables = fault.variables("stubborn-cleanup")
    for name in ("HARNESS_JOURNAL_DIR", "HARNESS_TEST_FAULT", "HARNESS_TEST_MARKER_ID", "HARNESS_TEST_READY"):
        monkeypatch.setenv(name, variables[name])
    target = resolve_target(env=variables, artifacts_dir=str(fault.artifacts))
    result = run_fixture(check_fixture(FAULT_FIXTURE), target)
    assert not result.passed
    assert result.context["cleanupErrors"] == [
        "the kernel ended before its teardown finished: 1 cleanup callable(s) registered in the kernel did not "
        "complete ('stubborn cleanup')",
        "TeardownTimeout: cleanup did not finish within 3 s; the kernel was killed"]
    assert result.reason == result.context["cleanupErrors"][0]
    assert fault.rows() == 0, "the journaled cleanup the teardown never reached was replayed"
    assert journals(fault.journal_dir) == []
    assert "TeardownTimeout" in (failure_folder(fault) / "failure.error.txt").read_text()


def test_a_kernel_killed_from_outside_is_replayed(fault):
    run = harness_run(fault, fault.variables("hang"))
    kill(fault.kernel_pid())
    assert run.wait() == 1, run.stdout + run.stderr
    assert "DeadKernelError" in run.stdout
    assert fault.rows() == 0 and journals(fault.journal_dir) == []
    context = json.loads((failure_folder(fault) / "failure.context.json").read_text())
    assert context["run"]["status"] == "SUCCEEDED"


@pytest.mark.parametrize("cell, signum, code", [
    ("hang", signal.SIGINT, 130),  # the cell stops on the interrupt; the teardown cleans up in the kernel
    ("stubborn", signal.SIGINT, 130),  # it does not: the kernel is killed and the runner replays
    ("hang", signal.SIGTERM, 143),
], ids=["sigint", "sigint-stubborn-cell", "sigterm"])
def test_a_signal_stops_the_run_cleanly(fault, cell, signum, code):
    run = harness_run(fault, fault.variables(cell))
    fault.kernel_pid()
    assert fault.rows() == 1
    run.signal(signum)
    assert run.wait() == code, run.stdout + run.stderr
    name = signal.Signals(signum).name
    assert run.stdout.startswith("FAIL journaled-fixture ") and f"Interrupted: {name} stopped the fixture" in run.stdout
    assert f"{name}: stopping the running fixtures and cleaning up" in run.stderr
    assert fault.rows() == 0 and journals(fault.journal_dir) == []
    folder = failure_folder(fault)
    assert f"artifacts: {folder}" in run.stderr
    assert "Failing cell: index 4" in (folder / "failure.error.txt").read_text()


def test_a_second_sigint_quits_at_once_and_harness_cleanup_replays_later(fault):
    env = fault.variables("stubborn")
    run = harness_run(fault, env)
    kernel = fault.kernel_pid()
    run.signal(signal.SIGINT)
    wait_for(lambda: "stopping the running fixtures" in run.stderr, "the first SIGINT to be handled")
    run.signal(signal.SIGINT)
    assert run.wait() == 130, run.stdout + run.stderr
    assert "stopping at once" in run.stderr and run.stdout == ""
    wait_for(lambda: process_gone(kernel), "the kernel to be killed")
    (left,) = journals(fault.journal_dir)
    assert pending_labels(left) == [SWEEP_LABEL, "delete marker"] and fault.rows() == 1, "nothing was replayed"
    foreign = foreign_journal(fault.journal_dir)

    dry = harness(["cleanup", "--dry-run"], env, fault.folder)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"journal {left.name}: journaled-fixture, 2 action(s) pending" in dry.stdout
    assert "would run delete marker: SQL DELETE FROM audit_logs" in dry.stdout
    assert fault.rows() == 1 and left.exists()

    again = harness(["run", "--test", str(FAULT_FIXTURE)], {**env, "HARNESS_TEST_FAULT": "",
                                                            "HARNESS_TEST_MARKER_ID": fault.marker + "-again"},
                    fault.folder)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "warning: 2 cleanup journal(s) left by runs that died; run `harness cleanup`" in again.stderr

    done = harness(["cleanup"], env, fault.folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "done delete marker: SQL DELETE FROM audit_logs" in done.stdout
    assert (f"skip {foreign.name}: needs target https://alga.example.com tenant t-elsewhere (configured: "
            f"{env['BASE_URL']} tenant {env['TENANT_ID']})") in done.stdout
    assert "cleanup: 2 journal(s): 1 replayed, 0 failed, 1 skipped" in done.stdout
    assert fault.rows() == 0 and journals(fault.journal_dir) == [foreign]


def test_harness_cleanup_keeps_what_fails_and_says_so(fault):
    env = fault.variables("")
    journal = Journal(fault.journal_dir / "broken-20260101T000000-0000.cleanup.jsonl")
    journal.header(test_id="broken", base_url=env["BASE_URL"], tenant_id=env["TENANT_ID"], database_url=None)
    journal.add("no such table", Sql("DELETE FROM no_such_table WHERE id = %s", (1,)))
    journal.close()
    result = harness(["cleanup"], env, fault.folder)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED no such table: SQL DELETE FROM no_such_table WHERE id = %s: cleanup 'no such table' failed: " \
           "UndefinedTable" in result.stdout
    assert pending_labels(journal.path) == ["no such table"], "kept for the next try"

    result = harness(["cleanup", "--base-url", "ftp://nowhere"], env, fault.folder)
    assert result.returncode == 2 and result.stderr.startswith("error: base URL must start with http")


def _kernel_dies_after_the_server(fault, sandbox_state, api_delete: str) -> tuple[Forwarder, dict[str, str]]:
    """Run the journaled fixture through a forwarder to the sandbox's API, close the forwarder (the
    server is gone), then end the kernel: the runner must replay with the server down. Returns the
    closed forwarder and the run's environment, once the run has failed."""
    forwarder = Forwarder(sandbox_state["port"])
    go = fault.folder / "go"
    env = fault.variables("exit-on-go", BASE_URL=forwarder.url, HARNESS_TEST_API_DELETE=api_delete,
                          HARNESS_TEST_GO=str(go))
    run = harness_run(fault, env)
    fault.kernel_pid()
    forwarder.close()
    go.write_text("go")
    assert run.wait() == 1, run.stdout + run.stderr
    return forwarder, env


def test_a_server_down_during_cleanup_falls_back_to_sql(fault, sandbox_state):
    forwarder, _ = _kernel_dies_after_the_server(fault, sandbox_state, "fallback")
    assert fault.rows() == 0, "the API delete was unreachable, so its SQL fallback ran"
    assert journals(fault.journal_dir) == []
    folder = failure_folder(fault)
    assert "Cleanup errors" not in (folder / "failure.error.txt").read_text()
    export = json.loads((folder / "failure.workflow-export.json").read_text())
    assert export["error"].startswith("export failed: cannot reach " + forwarder.url)


def test_a_cleanup_that_cannot_run_fails_the_fixture_and_waits_for_harness_cleanup(fault, sandbox_state):
    forwarder, env = _kernel_dies_after_the_server(fault, sandbox_state, "bare")
    assert fault.rows() == 0, "the other actions still ran"
    (left,) = journals(fault.journal_dir)
    assert pending_labels(left) == ["delete ticket"], "what failed is kept"
    folder = failure_folder(fault)
    error = (folder / "failure.error.txt").read_text()
    assert "Cleanup errors:\nrunner replay: cleanup 'delete ticket' failed: TargetUnreachable: cannot reach" in error
    context = json.loads((folder / "failure.context.json").read_text())
    assert [e.split(":")[0] for e in context["cleanupErrors"]] == ["runner replay"]

    back = Forwarder(sandbox_state["port"], listen_port=forwarder.port)  # the server is up again
    try:
        result = harness(["cleanup"], env, fault.folder)
    finally:
        back.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "done delete ticket: DELETE /api/v1/tickets/" in result.stdout  # a 404: already gone
    assert journals(fault.journal_dir) == []


def test_run_all_replays_the_journal_of_a_pooled_kernel_that_died(fault, batch_env):
    env = {**fault.variables("exit"), "HARNESS_SANDBOX_DIR": batch_env["HARNESS_SANDBOX_DIR"]}
    result = harness(["run-all", str(FAULT_FIXTURE), "--artifacts-dir", str(fault.artifacts)], env, fault.folder)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL journaled-fixture" in result.stdout and "DeadKernelError" in result.stdout
    assert fault.rows() == 0, "the pre-started kernel journaled into the runner's journal, which was replayed"
    assert journals(fault.journal_dir) == []
    context = json.loads((failure_folder(fault) / "failure.context.json").read_text())
    assert context["run"]["status"] == "SUCCEEDED" and context["workflowId"]


@pytest.mark.parametrize("jobs, signum", [("1", signal.SIGINT), ("2", signal.SIGTERM)])
def test_run_all_stops_cleanly_on_a_signal(fault, batch_env, jobs, signum):
    """With --jobs 2 the signal reaches only the pytest-xdist controller, which passes it on."""
    foreign = foreign_journal(fault.journal_dir)
    env = {**fault.variables("hang"), "HARNESS_SANDBOX_DIR": batch_env["HARNESS_SANDBOX_DIR"]}
    run = Background(["run-all", str(FAULT_FIXTURE), str(HELLO), "--jobs", jobs, "--artifacts-dir",
                      str(fault.artifacts), "--json", "results.jsonl"], env, fault.folder)
    fault.kernel_pid()
    run.signal(signum)
    assert run.wait() == 128 + signum, run.stdout + run.stderr
    assert "warning: 1 cleanup journal(s) left by runs that died" in run.stderr
    verdicts = {line.split()[1]: line for line in run.stdout.splitlines() if line.startswith(("PASS ", "FAIL "))}
    assert f"Interrupted: {signal.Signals(signum).name} stopped the fixture" in verdicts["journaled-fixture"]
    entries = [json.loads(line) for line in (fault.folder / "results.jsonl").read_text().splitlines()]
    calls = {dict(e["user_properties"])["testId"]: e for e in entries
             if e.get("$report_type") == "TestReport" and e["when"] == "call"}
    assert calls["journaled-fixture"]["outcome"] == "failed"
    assert jobs == "2" or "ticket-created-hello" not in verdicts, "serially, nothing starts after the stop"
    assert Path(dict(calls["journaled-fixture"]["user_properties"])["artifacts"]).is_dir()
    assert fault.rows() == 0 and journals(fault.journal_dir) == [foreign]


def test_cleanup_with_nothing_left_needs_no_target(tmp_path):
    result = harness(["cleanup", "--dir", str(tmp_path / "none")], clean_env({"BASE_URL": "ftp://unused"}), tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"no leftover cleanup journals in {tmp_path / 'none'}"
