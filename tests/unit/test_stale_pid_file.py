"""A postmaster.pid naming a process that is not a postgres (a pid reused after a crash or a reboot)
must not make the sandbox think its server is already running."""
import os
import subprocess
import sys
from pathlib import Path

from harness.sandbox.embedded import clear_stale_pid_file


def _pid_file(pgdata: Path, pid: int) -> Path:
    path = pgdata / "postmaster.pid"
    path.write_text(f"{pid}\n{pgdata}\n1796192238\n5432\n")
    return path


def test_a_pid_reused_by_another_program_is_cleared(tmp_path: Path) -> None:
    path = _pid_file(tmp_path, os.getpid())  # alive, but a python, not a postgres
    clear_stale_pid_file(tmp_path)
    assert not path.exists()


def test_a_pid_of_a_finished_process_is_cleared(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = _pid_file(tmp_path, int(done.stdout))
    clear_stale_pid_file(tmp_path)
    assert not path.exists()


def test_no_pid_file_or_a_torn_one_is_left_alone(tmp_path: Path) -> None:
    clear_stale_pid_file(tmp_path)  # nothing to do
    torn = tmp_path / "postmaster.pid"
    torn.write_text("")
    clear_stale_pid_file(tmp_path)
    assert torn.exists()
