"""A pre-started kernel that dies before the notebook's first cell ran (no fixture code did) is replaced by a
fresh kernel, once; the fixture's verdict is its own, not the pool's accident."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from harness.config import resolve_target
from harness.execution.checks import check_fixture
from harness.execution.kernels import KernelPool
from harness.execution.single import run_fixture

from .conftest import HELLO


@pytest.fixture
def target(sandbox_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name, value in sandbox_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HARNESS_JOURNAL_DIR", str(tmp_path / "journals"))
    return resolve_target()


def _killed(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def test_a_kernel_dead_on_hand_over_is_replaced(target) -> None:
    with KernelPool(0, fork=False) as pool:
        lease = pool.lease()

        def dead_on_arrival(env: dict[str, str], cwd: Path):
            km = lease(env, cwd)
            _killed(km.provisioner.pid)
            return km

        try:
            result = run_fixture(check_fixture(HELLO), target, kernel=dead_on_arrival)
        finally:
            lease.release()
    assert result.passed, result.reason


def test_a_kernel_that_died_while_warming_is_replaced(target) -> None:
    def died_warming(env: dict[str, str], cwd: Path):
        raise RuntimeError("the kernel died while being prepared")

    result = run_fixture(check_fixture(HELLO), target, kernel=died_warming)
    assert result.passed, result.reason
