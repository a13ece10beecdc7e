"""What every bench shares: the machine line it prints and a throwaway sandbox."""
from __future__ import annotations

import os
import platform
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from harness.sandbox import control
from harness.sandbox.state_file import env_for


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")))
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        memory = "?"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{socket.gethostname()}: {platform.platform()}, {cpu}, {os.cpu_count()} CPUs, {memory} RAM, "
            f"Python {platform.python_version()}, load average {load}")


@contextmanager
def fresh_sandbox(prefix: str = "bench-sandbox-") -> Iterator[tuple[dict[str, Any], Path]]:
    """A fresh sandbox in a temporary folder, on a free port: its state and folder; stopped at the end."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        state = control.start(directory=Path(tmp), port=port)
        try:
            yield state, Path(tmp)
        finally:
            control.stop(Path(tmp))


@contextmanager
def sandbox() -> Iterator[dict[str, str]]:
    """A fresh sandbox whose first tenant's variables are exported for the runner while inside."""
    with fresh_sandbox("runner-bench-") as (state, folder):
        env = {**env_for(state), "HARNESS_SANDBOX_DIR": str(folder)}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
