"""Knowing a process again: pids are reused, so a recorded pid is checked against the start time
and command line recorded with it before anyone signals it."""
from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import psutil

START_TOLERANCE_S = 2.0
"""Start times are derived from the boot time, which the kernel may report a second off between readers;
together with the command line this still tells a reused pid apart."""
SERVER_MODULE = "harness.sandbox.serve"


def identity(pid: int) -> dict[str, Any]:
    """What to record about process ``pid``: its pid, start time and command line."""
    process = psutil.Process(pid)
    return {"pid": pid, "process_started": process.create_time(), "cmdline": process.cmdline()}


def is_recorded(record: dict[str, Any]) -> bool:
    """True when ``record["pid"]`` is alive and is the process ``record`` describes.

    A record without a start time and command line (an older state file) matches any sandbox
    server process.
    """
    try:
        pid = int(record.get("pid") or 0)
        process = psutil.Process(pid) if pid > 0 else None
        if process is None or process.status() == psutil.STATUS_ZOMBIE:
            return False
        started, cmdline = process.create_time(), process.cmdline()
    except (psutil.Error, ValueError, TypeError):
        return False
    if "process_started" not in record and "cmdline" not in record:
        return SERVER_MODULE in cmdline
    return (abs(started - float(record.get("process_started", -1))) <= START_TOLERANCE_S
            and cmdline == record.get("cmdline"))


def servers_of(directory: Path) -> list[int]:
    """Pids of sandbox server processes started for ``directory`` (``... -m harness.sandbox.serve --dir <it>``)."""
    target = directory.resolve()
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if SERVER_MODULE not in cmdline:
            continue
        dirs = [Path(cmdline[i + 1]).resolve() for i, arg in enumerate(cmdline[:-1]) if arg == "--dir"]
        try:
            if target in dirs and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def terminate(pid: int, *, timeout_s: float, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` and wait up to ``timeout_s`` for the process to end; then kill it."""
    try:
        process = psutil.Process(pid)
        process.send_signal(sig)
        process.wait(timeout_s)
    except psutil.TimeoutExpired:
        process.kill()
        _wait_gone(pid, 5.0)
    except psutil.NoSuchProcess:
        return


def _wait_gone(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and psutil.pid_exists(pid):
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
