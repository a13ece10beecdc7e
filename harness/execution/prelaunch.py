"""A kernel process started with the standard library alone, before jupyter_client is imported.

``harness run`` has one fixture and nothing to overlap its kernel's boot with but its own imports and
checks, so it starts the kernel first: a connection file of its own (free loopback ports, a fresh
key) and ``python -m ipykernel_launcher -f <file>``. The kernel pool then adopts the running process
(:meth:`harness.execution.kernels.KernelPool`'s ``adopt``) exactly as if it had started it.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:"]  # as nbclient does: no shared history database


@dataclass
class PrelaunchedKernel:
    """The process and the connection file it was started with."""

    process: subprocess.Popen[bytes]
    connection_file: str


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def launch(env: Mapping[str, str], *, log_output: bool = False) -> PrelaunchedKernel:
    """Start an ipykernel of this Python with ``env`` (its own session and process group)."""
    info: dict[str, Any] = dict(zip(PORTS, _free_ports(len(PORTS))))
    info.update(ip="127.0.0.1", key=str(uuid.uuid4()), transport="tcp", signature_scheme="hmac-sha256",
                kernel_name="python3")
    fd, path = tempfile.mkstemp(prefix="harness-kernel-", suffix=".json")  # 0600
    with os.fdopen(fd, "w") as file:
        json.dump(info, file)
    process = subprocess.Popen([sys.executable, "-m", "ipykernel_launcher", "-f", path, *KERNEL_ARGS],
                               # JPY_PARENT_PID, as jupyter_client sets it: the kernel exits with this process
                               # and prints no banner for a human to connect
                               env={**env, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "JPY_PARENT_PID": str(os.getpid())},
                               start_new_session=True,
                               stdin=subprocess.DEVNULL, stderr=None if log_output else subprocess.DEVNULL)
    return PrelaunchedKernel(process, path)
