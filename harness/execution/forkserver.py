"""Starting kernels by forking a process that has already imported ipykernel and the harness.

A plain kernel start spends about a second of CPU importing IPython, ipykernel, pandas and the
harness before the notebook's first cell. The fork server pays that once per batch: it imports
everything, then forks one child per kernel request; the child becomes a brand-new ipykernel
(fresh process, no fixture state), so each fixture's isolation is unchanged.

Run as ``python -m harness.execution.forkserver SOCKET``: it says it is ready on stdout, then takes
requests on the Unix socket (one JSON line in, one JSON line out, per connection) until its stdin
closes. :class:`ForkServer` starts and owns one; :class:`ForkServerClient` uses one from any process
of the same user, so the pytest-xdist workers of a batch share the server its controller started
(``HARNESS_FORK_SERVER``). jupyter_client reaches a server through :mod:`.fork_provisioner`.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator, NoReturn

CONNECT_WAIT_S = 10.0  # a server just started binds its socket within a Python start-up
SHARED_ENV = "HARNESS_FORK_SERVER"
"""The socket of a fork server to use instead of starting one (a batch's workers share their controller's)."""
FIXTURE_MODULES = ("pandas", "pandas.io.formats.html", "IPython.display", "harness", "harness.fixture",
                   "harness.expect", "harness.db", "harness.http", "harness.run_queries", "harness.cleanup",
                   "harness.contract.bundle_format", "httpcore", "certifi")
"""What a fixture's cells import (the library loads pandas, httpx and psycopg lazily): warm kernels import
these before their fixture starts."""
# What a kernel start and a fixture's first cell would import; ipykernel loads most of it lazily (and
# jupyter_client reads the network interfaces with psutil when the kernel loads its connection file).
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
           "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.history", "IPython.core.oinspect",
           "IPython.extensions.storemagic", "IPython.utils.wildcard", "psutil",
           "tornado.platform.asyncio", "tornado.queues", "sqlite3", *FIXTURE_MODULES)
LAUNCHER = ["-m", "ipykernel_launcher"]
# Numeric libraries start thread pools when imported, and a process that forks must not have any;
# kernels get their own environment (the request's) in place of this one.
_SERVER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


def supported() -> bool:
    """Forking needs ``os.fork`` and pidfds (Linux 5.3+) to watch kernels that are not our children."""
    return hasattr(os, "fork") and hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")


class ForkServerClient:
    """A connection to a running fork server, by its socket (thread-safe, usable from any process)."""

    def __init__(self, address: str) -> None:
        self.address = address

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str | None) -> int:
        """Fork a kernel running ``ipykernel_launcher argv`` with ``env`` in ``cwd``; returns its pid."""
        request = json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n"
        try:
            with self._connect() as conn:
                conn.sendall(request.encode())
                with conn.makefile("r", encoding="utf-8") as replies:
                    line = replies.readline()
            reply = json.loads(line)
        except (OSError, ValueError):
            raise RuntimeError("the kernel fork server has exited") from None
        if "pid" not in reply:
            raise RuntimeError(f"the kernel fork server could not start a kernel: {reply.get('error')}")
        return int(reply["pid"])

    def _connect(self) -> socket.socket:
        """A connection to the server; while its folder exists, wait for a server still starting up."""
        give_up = time.monotonic() + CONNECT_WAIT_S
        while True:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                conn.connect(self.address)
                return conn
            except (FileNotFoundError, ConnectionRefusedError):
                conn.close()
                if time.monotonic() > give_up or not os.path.isdir(os.path.dirname(self.address)):
                    raise
                time.sleep(0.02)


class ForkServer(ForkServerClient):
    """A fork-server process this one starts and owns (its imports are awaited on first use)."""

    def __init__(self, *, log_output: bool = False) -> None:
        self._folder = tempfile.mkdtemp(prefix="harness-fork-")  # 0700: only this user reaches the socket
        super().__init__(os.path.join(self._folder, "socket"))
        self._lock = threading.Lock()
        self._ready = False
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, self.address], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=None if log_output else subprocess.DEVNULL, env={**os.environ, **_SERVER_ENV}, text=True)

    def wait_ready(self) -> None:
        """Block until the server has imported everything and listens; :class:`RuntimeError` if it died."""
        with self._lock:
            if self._ready:
                return
            assert self._proc.stdout is not None
            if not self._proc.stdout.readline():
                raise RuntimeError("the kernel fork server has exited")
            self._ready = True

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str | None) -> int:
        self.wait_ready()
        return super().spawn(argv, env, cwd)

    def close(self) -> None:
        """Stop the server (kernels it forked notice and exit on their own if still running)."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        shutil.rmtree(self._folder, ignore_errors=True)


@contextmanager
def shared() -> Iterator[ForkServer | None]:
    """A fork server for this process and every process it starts (``HARNESS_FORK_SERVER``), stopped
    at the end; none when forking is unsupported or one is shared already."""
    if not supported() or os.environ.get(SHARED_ENV):
        yield None
        return
    server = ForkServer()
    os.environ[SHARED_ENV] = server.address
    try:
        yield server
    finally:
        os.environ.pop(SHARED_ENV, None)
        server.close()


# -- the server process --------------------------------------------------------------------------

def _child(request: dict[str, Any], *inherited: socket.socket) -> NoReturn:
    """In the forked child: become a fresh kernel process, run ipykernel, never return."""
    code = 1
    try:
        for sock in inherited:  # the server's listening socket and this request's connection
            sock.close()
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the kernel's own subprocesses must be waitable
        signal.signal(signal.SIGINT, signal.default_int_handler)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)  # detach from the server's lifetime pipe and its stdout
        os.dup2(devnull, 1)
        os.environ.clear()
        os.environ.update(request["env"])
        if request.get("cwd"):
            os.chdir(request["cwd"])
        launcher = importlib.util.find_spec("ipykernel_launcher")
        sys.argv = [launcher.origin if launcher and launcher.origin else "ipykernel_launcher", *request["argv"]]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=[*request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"])
        code = 0
    finally:
        os._exit(code)


def _answer(listener: socket.socket, conn: socket.socket) -> None:
    """Read one request from ``conn``, fork its kernel and reply with the pid (or the error)."""
    with conn, conn.makefile("r", encoding="utf-8") as lines:
        line = lines.readline()
        try:
            request = json.loads(line)
            pid = os.fork()
        except (ValueError, OSError) as exc:
            conn.sendall((json.dumps({"error": str(exc)}) + "\n").encode())
            return
        if pid == 0:
            _child(request, listener, conn)
        conn.sendall((json.dumps({"pid": pid}) + "\n").encode())


def serve(address: str) -> None:
    """Listen on ``address`` at once (requests wait), import everything a fixture kernel needs, then
    fork a kernel per request until stdin closes."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does: the kernel puts its own working folder back
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # another ipykernel version: the kernel imports what it needs itself
            pass
    from jupyter_client.localinterfaces import localhost

    from harness.http import tls_context

    tls_context()  # every kernel forked from here inherits the loaded CA bundle
    localhost()  # and the machine's interface list, which each kernel start would otherwise read anew
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # finished kernels are reaped by the system
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle; it closes stdin
    with listener:
        sys.stdout.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
        sys.stdout.flush()
        while True:
            readable, _, _ = select.select([sys.stdin, listener], [], [])
            if sys.stdin in readable and not sys.stdin.buffer.read1(4096):
                return  # the owner closed our stdin (or exited): stop
            if listener in readable:
                conn, _ = listener.accept()
                _answer(listener, conn)


if __name__ == "__main__":
    serve(sys.argv[1])
    sys.stdout.flush()
    os._exit(0)  # nothing left to finalise: skip tearing down pandas, IPython and the rest (a few hundred ms)
