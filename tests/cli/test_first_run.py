"""The first command that starts the local sandbox says so, and how to stop it; the next ones say nothing."""
from __future__ import annotations

from ..authoring.conftest import REPO

GOLDEN = REPO / "fixtures" / "ticket-created-hello"
STARTED = "started the local sandbox in the background"


def test_the_command_that_starts_the_sandbox_says_so_once(cli, tmp_path):
    env = {"HARNESS_SANDBOX_DIR": str(tmp_path / "sbx")}
    try:
        first = cli("run", "--test", str(GOLDEN), env=env, cwd=tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        said = [line for line in first.stderr.splitlines() if STARTED in line]
        assert len(said) == 1, first.stderr
        assert said[0].startswith(f"{STARTED} (http://127.0.0.1:")
        assert said[0].endswith(", data in sbx/); `harness sandbox stop` stops it")

        second = cli("run", "--test", str(GOLDEN), env=env, cwd=tmp_path)
        assert second.returncode == 0, second.stdout + second.stderr
        assert STARTED not in second.stderr, "the sandbox was running already"
    finally:
        stopped = cli("sandbox", "stop", env=env, cwd=tmp_path)
    assert stopped.returncode == 0 and stopped.stdout.strip() == "sandbox stopped"
