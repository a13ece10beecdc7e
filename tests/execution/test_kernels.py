"""The kernel pool: every lease is a fresh, prepared kernel process, killed after its one fixture."""
from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

from harness.execution import forkserver, prelaunch
from harness.execution.kernels import KernelPool

PROBE = ("import os, sys\n"
         "print(os.getpid(), os.getcwd(), os.environ.get('FIXTURE_VAR'), globals().get('planted'),\n"
         "      os.environ.get('PLANTED'), 'harness.fixture' in sys.modules)\n"
         "planted = 1\n"
         "os.environ['PLANTED'] = '1'")

MODES = [pytest.param(True, id="forked", marks=pytest.mark.skipif(not forkserver.supported(), reason="no pidfd")),
         pytest.param(False, id="spawned")]


def _probe(km, folder: Path) -> list[str]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    client = NotebookClient(nb, km=km, timeout=60)
    try:
        client.execute()
    finally:
        client.kc.stop_channels()
    return nb.cells[0].outputs[0]["text"].split()


def _gone(pid: int, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("fork", MODES)
def test_each_lease_is_a_fresh_prepared_kernel(fork, tmp_path):
    folders = [tmp_path / "one", tmp_path / "two"]
    seen = []
    with KernelPool(1, fork=fork) as pool:
        for folder in folders:
            folder.mkdir()
            lease = pool.lease()
            try:
                pid, cwd, var, leaked_global, leaked_env, warm = _probe(lease({"FIXTURE_VAR": folder.name}, folder),
                                                                        folder)
            finally:
                lease.release()
            assert (cwd, var, warm) == (str(folder), folder.name, "True"), "prepared and warm"
            assert (leaked_global, leaked_env) == ("None", "None"), "nothing from an earlier fixture"
            seen.append(int(pid))
            assert _gone(int(pid)), "a released kernel is killed"
    assert seen[0] != seen[1] and os.getpid() not in seen


@pytest.mark.parametrize("fork", MODES)
def test_closing_the_pool_can_kill_kernels_still_in_use(fork, tmp_path):
    pool = KernelPool(1, fork=fork)
    lease = pool.lease()
    km = lease({}, tmp_path)
    pid = km.provisioner.pid
    pool.close(kill_leased=True)
    assert _gone(pid)
    lease.release()  # releasing afterwards is harmless
    with pytest.raises(RuntimeError, match="closed"):
        pool.lease()


@pytest.mark.skipif(not forkserver.supported(), reason="no pidfd")
def test_kernels_still_start_when_the_fork_server_is_gone(tmp_path):
    with KernelPool(0, fork=True) as pool:  # no spare: the first kernel starts after the server is gone
        pool._server.close()  # as if it had crashed: forking is only an optimisation
        lease = pool.lease()
        try:
            pid, cwd, var, *_ = _probe(lease({"FIXTURE_VAR": "x"}, tmp_path), tmp_path)
        finally:
            lease.release()
    assert (cwd, var) == (str(tmp_path), "x") and _gone(int(pid))


@pytest.mark.skipif(not forkserver.supported(), reason="no pidfd")
def test_pools_of_a_batch_share_one_fork_server(tmp_path, monkeypatch):
    server = forkserver.ForkServer()
    folder = Path(server.address).parent
    assert oct(folder.stat().st_mode & 0o777) == "0o700", "only this user reaches the socket"
    monkeypatch.setenv(forkserver.SHARED_ENV, server.address)
    try:
        parents = []
        for _ in range(2):  # as two pytest-xdist workers would
            with KernelPool(0, fork=True) as pool:
                lease = pool.lease()
                try:
                    pid, *_ = _probe(lease({}, tmp_path), tmp_path)
                    parents.append(psutil.Process(int(pid)).ppid())
                finally:
                    lease.release()
        assert parents == [server._proc.pid] * 2, "both pools forked their kernels from the shared server"
        assert server._proc.poll() is None, "a pool does not stop a server it did not start"
    finally:
        server.close()
    assert server._proc.poll() is not None and not folder.exists()


def test_a_prelaunched_kernel_is_adopted_as_the_first(tmp_path):
    kernel = prelaunch.launch(os.environ)
    with KernelPool(1, limit=1, fork=False, adopt=kernel) as pool:
        lease = pool.lease()
        try:
            pid, cwd, var, *_ = _probe(lease({"FIXTURE_VAR": "x"}, tmp_path), tmp_path)
        finally:
            lease.release()
    assert int(pid) == kernel.process.pid and (cwd, var) == (str(tmp_path), "x"), "the very process started first"
    assert not Path(kernel.connection_file).exists(), "its connection file is gone once it answered"
    assert _gone(int(pid))


def _kernel_pids() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)
            if "ipykernel_launcher" in " ".join(p.cmdline())}


def _kernels_after(seconds: float, expected: int) -> set[int]:
    """The spawned kernels once ``expected`` of them run, or after ``seconds`` (pool starts are asynchronous)."""
    deadline = time.monotonic() + seconds
    while len(pids := _kernel_pids()) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


@pytest.mark.parametrize("replace", [True, False], ids=["more to come", "last fixture"])
def test_a_lease_starts_a_replacement_only_when_more_fixtures_follow(replace, tmp_path):
    with KernelPool(1, fork=False) as pool:
        lease = pool.lease(replace=replace)
        try:
            pid = lease({}, tmp_path).provisioner.pid
            kernels = _kernels_after(3.0, expected=2)
            assert kernels == {pid} if not replace else (pid in kernels and len(kernels) == 2)
        finally:
            lease.release()
