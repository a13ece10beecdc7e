"""The kit runs a fixture against a target with the sandbox's packages blocked, in the runner and
in the kernel: the library and the execution layer need nothing of the sandbox."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "fixtures" / "ticket-created-hello"

# Installed as sitecustomize in every process started with this PYTHONPATH (runner, fork server, kernels).
BLOCKER = '''
import sys

BLOCKED = ("harness.sandbox", "harness.local_sandbox")


class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name in BLOCKED or name.startswith(tuple(b + "." for b in BLOCKED)):
            raise ImportError(f"blocked for this test: {name}")
        return None


sys.meta_path.insert(0, _Blocked())
'''

RUN = '''
import sys
from harness.config import resolve_target
from harness.execution.checks import check_fixture
from harness.execution.preflight import preflight
from harness.execution.single import run_fixture

target = resolve_target()
preflight(target)
result = run_fixture(check_fixture(sys.argv[1]), target)
print(result.summary_line())
import harness.sandbox
'''


def test_a_fixture_runs_with_the_sandbox_packages_blocked(sandbox_env, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {**sandbox_env, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", RUN, str(GOLDEN)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.stdout.startswith("PASS ticket-created-hello "), result.stdout + result.stderr
    assert "ImportError: blocked for this test: harness.sandbox" in result.stderr, "the blocker was in place"
