"""``harness sandbox ...`` and the zero-configuration path: no target set → the sandbox starts itself."""
from __future__ import annotations

import os
import subprocess
import sys

from .test_run_fixtures import REPO, harness

WHO_AM_I = ("import os, psycopg; print(*(psycopg.connect(os.environ[v]).execute('SELECT current_user').fetchone()[0] "
            "for v in ('DATABASE_URL', 'DATABASE_WRITE_URL')))")


def test_golden_fixture_with_nothing_configured_then_sandbox_commands(tmp_path):
    env = {"HARNESS_SANDBOX_DIR": str(tmp_path / "sbx")}
    try:
        result = harness(["run", "--test", "fixtures/ticket-created-hello", "--artifacts-dir", str(tmp_path / "a")],
                         env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("PASS ticket-created-hello ")

        status = harness(["sandbox", "status"], env)
        assert status.returncode == 0 and "sandbox running at http://127.0.0.1:" in status.stdout
        assert "tenant acme:" in status.stdout and "tenant globex:" in status.stdout

        exports = harness(["sandbox", "env"], env)
        assert exports.returncode == 0
        names = [line.split("=", 1)[0] for line in exports.stdout.splitlines()]
        assert names == ["export BASE_URL", "export TENANT_ID", "export DATABASE_URL", "export DATABASE_WRITE_URL",
                         "export WORKFLOW_HARNESS_API_KEY", "export HARNESS_SANDBOX", "export HARNESS_LANE2_TENANT_ID",
                         "export HARNESS_LANE2_API_KEY", "export HARNESS_LOCK_DIR", "export HARNESS_SECRETS"]
        roles = subprocess.run(["bash", "-c", f'eval "$({sys.executable} -m harness.cli sandbox env)" && '
                                              f'{sys.executable} -c "{WHO_AM_I}"'],
                               env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True)
        reader, writer = roles.stdout.split()
        assert reader.endswith("_reader") and writer.endswith("_writer"), roles.stdout + roles.stderr
        shell = subprocess.run(["bash", "-c", f'eval "$({sys.executable} -m harness.cli sandbox env --tenant globex)"'
                                              ' && echo "$TENANT_ID"'],
                               env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True)
        assert shell.stdout.strip() in status.stdout

        unknown = harness(["sandbox", "env", "--tenant", "nope"], env)
        assert unknown.returncode == 2 and unknown.stderr.startswith("error: the sandbox has no tenant 'nope'")
    finally:
        stopped = harness(["sandbox", "stop"], env)
    assert stopped.returncode == 0 and stopped.stdout.strip() == "sandbox stopped"
    after = harness(["sandbox", "status"], env)
    assert after.returncode == 1 and after.stdout.strip() == "sandbox not running"
    no_target = harness(["sandbox", "env"], env)
    assert no_target.returncode == 2 and "harness sandbox start" in no_target.stderr
