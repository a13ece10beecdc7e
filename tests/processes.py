"""Stopping what a test started: a server process and the process group it leads."""
from __future__ import annotations

import os
import signal
import subprocess


def stop_group(process: subprocess.Popen, *, grace_s: float = 30.0, whole_group: bool = True) -> None:
    """SIGTERM the process group (or only its leader, which passes it on), then SIGKILL the group if the
    leader outlives ``grace_s``."""
    if process.poll() is not None:
        return
    if whole_group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
