"""Kernels of this environment started through a fork server (:mod:`.forkserver`), for jupyter_client.

:class:`ForkProvisioner` is a jupyter_client provisioner that asks a server for the kernel process
instead of spawning one, and watches that (non-child) process through a pidfd. Kept apart from
:mod:`.forkserver` so that starting a server (``harness run-all``, before pytest) imports no
jupyter_client.
"""
from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner

from .forkserver import LAUNCHER, ForkServerClient


def forkable(cmd: list[str]) -> bool:
    """True when ``cmd`` starts ipykernel with this very Python environment (the server's own)."""
    if len(cmd) < 3 or cmd[1:3] != LAUNCHER:
        return False
    try:
        return os.path.samefile(os.path.dirname(cmd[0]), os.path.dirname(sys.executable))
    except OSError:
        return False


class ForkedProcess:
    """A Popen-like view of a forked kernel, watched through a pidfd (its exit status is not ours to read)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._fd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            self._fd, self.returncode = None, -1

    def poll(self) -> int | None:
        return self.wait(timeout=0, raise_on_timeout=False)

    def wait(self, timeout: float | None = None, raise_on_timeout: bool = True) -> int | None:
        if self.returncode is None and self._fd is not None:
            readable, _, _ = select.select([self._fd], [], [], timeout)
            if readable:
                os.close(self._fd)
                self._fd, self.returncode = None, -1
            elif raise_on_timeout and timeout is not None:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self._fd is not None:
            signal.pidfd_send_signal(self._fd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """Launches this environment's ipykernel through a fork server, other kernels as usual."""

    server: ForkServerClient | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        if self.server is None or not forkable(cmd):
            return await super().launch_kernel(cmd, **kwargs)
        cwd = kwargs.get("cwd")
        try:
            pid = await asyncio.to_thread(self.server.spawn, cmd[3:], dict(kwargs.get("env") or os.environ),
                                          str(cwd) if cwd else None)
        except RuntimeError:  # the server is gone: the forking was an optimisation, start it the usual way
            return await super().launch_kernel(cmd, **kwargs)
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid  # the child leads its own session and process group
        self.cwd = cwd or Path.cwd()
        return self.connection_info
