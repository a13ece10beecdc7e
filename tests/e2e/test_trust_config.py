"""Credentials are the user's alone, and a fixture's structure is checked before anything is imported."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
import shutil
import stat
from pathlib import Path

import nbformat
import pytest

import harness.fixture as fixture_module
from harness.config import resolve_target
from harness.errors import ConfigError
from harness.redaction import credentials_in
from harness.execution.lanes import claim_lane, configured_lanes, lane_targets, lanes_notice

from .test_run_fixtures import REPO, harness

GOLDEN = REPO / "fixtures" / "ticket-created-hello"
OTHER = "11111111-2222-4333-8444-555555555555"


def _one_error(result, *needles: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in result.stderr and "PASS" not in result.stdout and "FAIL" not in result.stdout
    return lines[0]


def _copy(source: Path, folder: Path, key: str | None = None, **bundle_changes) -> Path:
    shutil.copytree(source, folder)
    bundle = json.loads((folder / "bundle.json").read_text())
    bundle["workflows"][0]["key"] = key or f"fixture.{folder.name}"
    for name, value in bundle_changes.items():
        if value is None:
            bundle.pop(name, None)
        else:
            bundle[name] = value
    (folder / "bundle.json").write_text(json.dumps(bundle, indent=2))
    return folder


def test_a_tenant_that_is_not_the_keys_tenant_is_named(sandbox_env, sandbox_state, tmp_path):
    other = sandbox_state["tenants"][1]["tenant_id"]
    result = harness(["run", "--test", str(GOLDEN), "--artifacts-dir", str(tmp_path)], {**sandbox_env, "TENANT_ID": other})
    line = _one_error(result, f"not to tenant {other}", "TENANT_ID / --tenant")
    assert "invalid API key" not in line


def test_an_unknown_tenant_is_named(sandbox_env, tmp_path):
    result = harness(["run", "--test", str(GOLDEN)], {**sandbox_env, "TENANT_ID": OTHER})
    _one_error(result, f"tenant {OTHER} does not exist")


def test_a_refused_session_cookie_is_named(sandbox_env, tmp_path):
    cookie = tmp_path / "cookie"
    cookie.write_text("authjs.session-token=forged")
    env = {k: v for k, v in sandbox_env.items() if k != "WORKFLOW_HARNESS_API_KEY"}
    result = harness(["run", "--test", str(GOLDEN), "--cookie-file", str(cookie)], env)
    _one_error(result, "refused the session cookie")


def test_results_do_not_depend_on_jobs_when_the_key_is_wrong(run_all_env, tmp_path):
    env = {**run_all_env, "WORKFLOW_HARNESS_API_KEY": "wrong"}
    for jobs in ("1", "2"):
        result = harness(["run-all", str(REPO / "fixtures"), "-k", "hello or paused", "--jobs", jobs,
                          "--artifacts-dir", str(tmp_path)], env)
        _one_error(result, "the API key")
    assert not any(tmp_path.iterdir())


def test_lanes_never_take_credentials_the_user_did_not_give(sandbox_env):
    own = resolve_target(env=sandbox_env)
    lanes = lane_targets(own, env=sandbox_env)
    assert own.is_sandbox and len(lanes) == 2, "the sandbox's variables name its other tenant, with the key it issued"
    assert lanes[1].api_key == sandbox_env["HARNESS_LANE2_API_KEY"] != own.api_key
    configured = {name: value for name, value in sandbox_env.items() if not name.startswith("HARNESS_LANE")}
    assert lane_targets(resolve_target(env=configured), env=configured) == [resolve_target(env=configured)]


def test_extra_lanes_come_from_explicit_tenants_with_their_own_credentials(sandbox_env, tmp_path):
    target = resolve_target(env={**sandbox_env, "HARNESS_SANDBOX": "0"})
    cookie = tmp_path / "cookie"
    cookie.write_text("authjs.session-token=lane3\n")
    env = {"HARNESS_LANE2_TENANT_ID": OTHER, "HARNESS_LANE2_API_KEY": "lane-two-key",
           "HARNESS_LANE3_TENANT_ID": "22222222-2222-4333-8444-555555555555", "HARNESS_LANE3_COOKIE_FILE": str(cookie)}
    lanes = lane_targets(target, env=env)
    assert [(lane.tenant_id, lane.api_key, lane.cookie) for lane in lanes[1:]] == [
        (OTHER, "lane-two-key", None), ("22222222-2222-4333-8444-555555555555", None, "authjs.session-token=lane3")]
    assert all(lane.base_url == target.base_url and lane.database_url == target.database_url for lane in lanes)
    with pytest.raises(ConfigError, match="set HARNESS_LANE2_API_KEY or HARNESS_LANE2_COOKIE_FILE"):
        configured_lanes(target, {"HARNESS_LANE2_TENANT_ID": OTHER})
    with pytest.raises(ConfigError, match="already a lane"):
        configured_lanes(target, {"HARNESS_LANE2_TENANT_ID": target.tenant_id, "HARNESS_LANE2_API_KEY": "k"})
    assert lanes_notice(2, 1).startswith("note: 2 jobs need 2 tenants") and lanes_notice(2, 2) is None


def test_lane_lock_files_are_private_and_removed(sandbox_env, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_LOCK_DIR", str(tmp_path / "locks"))
    target = resolve_target(env={**sandbox_env, "HARNESS_SANDBOX": "0"})
    with claim_lane([target]) as lane:
        files = list((tmp_path / "locks").iterdir())
        assert lane is target and len(files) == 1
        assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert list((tmp_path / "locks").iterdir()) == []


def test_a_bundle_missing_fields_lists_every_problem_before_import(sandbox_env, tmp_path):
    folder = _copy(GOLDEN, tmp_path / "broken", exportedAt=None, formatVersion=2)
    result = harness(["run", "--test", str(folder)], sandbox_env)
    _one_error(result, "2 problems", "must have required property 'exportedAt'", "/formatVersion must be equal to constant 1")


def test_a_copied_fixture_that_kept_the_original_key_is_refused(sandbox_env, tmp_path):
    folder = _copy(GOLDEN, tmp_path / "my-copy", key="fixture.ticket-created-hello")
    _one_error(harness(["run", "--test", str(folder)], sandbox_env),
               "/workflows/0/key must be 'fixture.my-copy'", "got 'fixture.ticket-created-hello'")


def test_duplicate_workflow_keys_in_a_batch_are_an_error(run_all_env, tmp_path):
    for suite in ("a", "b"):
        _copy(GOLDEN, tmp_path / suite / "same-name")
    result = harness(["run-all", str(tmp_path / "a"), str(tmp_path / "b")], run_all_env)
    _one_error(result, "workflow key 'fixture.same-name' is in both")


@pytest.fixture
def run_all_env(sandbox_env, sandbox_dir) -> dict[str, str]:
    return {**sandbox_env, "HARNESS_SANDBOX_DIR": str(sandbox_dir)}



def test_pytest_refuses_a_malformed_fixture_and_duplicate_keys_at_collection(run_all_env, tmp_path):
    _copy(GOLDEN, tmp_path / "suite" / "broken", exportedAt=None)
    for suite in ("a", "b"):
        _copy(GOLDEN, tmp_path / suite / "same-name")
    for args, needle in ([str(tmp_path / "suite")], "must have required property 'exportedAt'"), \
            ([str(tmp_path / "a"), str(tmp_path / "b")], "workflow key 'fixture.same-name' is in both"):
        result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                                 f"--basetemp={tmp_path / '.pytest-tmp'}", *args], cwd=tmp_path,
                                env={**os.environ, **run_all_env}, capture_output=True, text=True, timeout=300)
        assert result.returncode == 2, result.stdout
        assert "error: " in result.stdout and needle in result.stdout, result.stdout
        assert "passed" not in result.stdout.splitlines()[-1]


def test_a_cell_that_prints_every_sandbox_secret_leaves_none_in_the_artifacts(run_all_env, sandbox_dir, tmp_path):
    """A hostile cell reads the sandbox's state file (path baked in) and prints its own environment:
    the kernel has no sandbox folder, and every tenant's key, cookie and password is scrubbed."""
    folder = _copy(GOLDEN, tmp_path / "leaky")
    nb = nbformat.read(folder / "test.ipynb", as_version=4)
    state_path = sandbox_dir / "state.json"
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json, os\n"
        "print('sandbox dir in kernel:', os.environ.get('HARNESS_SANDBOX_DIR'))\n"
        "print(dict(os.environ))\n"
        f"print(open({str(state_path)!r}).read())\n"
        "raise AssertionError('leak attempt done')"))
    nbformat.write(nb, str(folder / "test.ipynb"))
    result = harness(["run", "--test", str(folder), "--artifacts-dir", str(tmp_path / "out")], run_all_env)
    assert result.returncode == 1 and "leak attempt done" in result.stdout, result.stdout + result.stderr
    [artifacts] = (tmp_path / "out" / "workflow-harness" / "leaky").iterdir()
    written = "".join(path.read_text() for path in artifacts.iterdir()) + result.stdout + result.stderr
    assert "sandbox dir in kernel: None" in written and "REDACTED" in written
    state = json.loads(state_path.read_text())
    secrets = [value for tenant in state["tenants"] for value in (tenant["api_key"], tenant["session_cookie"])]
    secrets += [credentials_in(value) for name, value in state.items() if name.endswith("url")]
    for secret in secrets:
        for value in secret if isinstance(secret, list) else [secret]:
            assert value not in written


def test_the_trigger_time_comes_from_the_targets_clock_not_this_machines(sandbox_env, sandbox_dir, monkeypatch):
    for name, value in sandbox_env.items():
        monkeypatch.setenv(name, value)
    skewed = datetime.now(timezone.utc) + timedelta(hours=2)  # this machine runs two hours fast
    monkeypatch.setattr(fixture_module, "_now", lambda: skewed)
    monkeypatch.setattr(fixture_module, "datetime", _Skewed)
    fx = fixture_module.open_fixture(GOLDEN)
    try:
        database_now = fx.db.scalar("SELECT clock_timestamp()")
        assert abs((fx.trigger_started_at - database_now).total_seconds()) < 60
        fx.post_event({"ticketId": str(uuid.uuid4()), "updatedFields": [], "changes": {}})
        assert fx.wait_for_run(timeout_ms=20_000)["status"] == "SUCCEEDED"  # a client-clock trigger time misses it
    finally:
        fx.cleanup()
        fx.close()


class _Skewed(datetime):
    """``datetime`` whose ``now`` is two hours ahead, as on a machine with a skewed clock."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return datetime.now(tz) + timedelta(hours=2)
