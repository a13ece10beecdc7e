"""Pre-started kernels for batches: each kernel runs ONE fixture and is then killed.

Starting a kernel and importing the harness library into it takes about a second. The pool does
that ahead of need, on its own thread and event loop, while other fixtures run; a fixture then
gets a kernel that is already warm. Kernels of this Python environment are forked from a process
that has imported everything once (forkserver.py), which makes a start cost little CPU.
Isolation is unchanged: no kernel is ever reused, and the warm-up only imports modules (no fixture
state). The fixture's target and its own variables (context file, cleanup journal, deadline) reach the kernel's
environment just before its notebook starts, through a silent execute request that never appears
in the notebook.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any, Coroutine, Mapping, TypeVar

from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.provisioning import LocalProvisioner

from . import fork_provisioner, forkserver
from .prelaunch import KERNEL_ARGS, PrelaunchedKernel

WARM_CODE = "import " + ", ".join(forkserver.FIXTURE_MODULES)
START_TIMEOUT_S = 60
IOPUB_PROBE_S = 0.05  # how long one kernel_info probe waits for its IOPub echo
_T = TypeVar("_T")


@dataclass
class WarmKernel:
    """A started kernel with the library imported, and how long that took."""

    km: AsyncKernelManager
    client: AsyncKernelClient | None
    start_s: float
    warm_s: float


async def wait_until_ready(km: Any, kc: Any, timeout_s: float) -> None:
    """Return once IOPub echoes a kernel_info request from ``kc`` (channels started).

    Messages published before the subscription takes hold are lost, so the probe repeats until
    one comes back; unlike jupyter_client's wait_for_ready, no fixed 200 ms waits.
    """
    give_up = time.monotonic() + timeout_s
    while True:
        msg_id = kc.kernel_info()
        try:
            while (await kc.get_iopub_msg(timeout=IOPUB_PROBE_S))["parent_header"].get("msg_id") != msg_id:
                pass
            return
        except Empty:
            if not await km.is_alive():
                from nbclient.exceptions import DeadKernelError  # what nbclient's callers expect

                raise DeadKernelError("Kernel died before replying to kernel_info") from None
            if time.monotonic() > give_up:
                raise RuntimeError(f"the kernel did not answer within {timeout_s} s") from None


class KernelLease:
    """One future kernel for one fixture: call it to get the prepared kernel manager, then release it."""

    def __init__(self, pool: "KernelPool", future: Future[WarmKernel]) -> None:
        self._pool = pool
        self._future = future
        self.wait_s = 0.0  # how long the fixture waited for its kernel to be warm
        self.kernel: WarmKernel | None = None

    def __call__(self, env: dict[str, str], cwd: Path) -> AsyncKernelManager:
        """Wait for the kernel, set its environment and working folder, and hand it over."""
        waited = time.monotonic()
        self.kernel = self._future.result()
        self.wait_s = time.monotonic() - waited
        return self._pool.call(_prepare(self.kernel, env, cwd))

    def release(self) -> None:
        """Kill the kernel (now, or once it has started when it never got used)."""
        self._pool.retire(self._future)


class KernelPool:
    """Keeps up to ``spares`` kernels warming ahead of need; starts at most ``limit`` in all."""

    def __init__(self, spares: int, *, limit: int | None = None, kernel_name: str = "python3",
                 log_output: bool = False, fork: bool = True, env: Mapping[str, str] | None = None,
                 adopt: PrelaunchedKernel | None = None) -> None:
        """``env`` is the environment kernels start with (default: this process's); each fixture's own
        variables are added when it takes its kernel. ``adopt``: a kernel already started with that
        environment (:mod:`.prelaunch`), used as the pool's first."""
        self.kernel_name = kernel_name
        self._env = dict(os.environ if env is None else env)
        self.log_output = log_output
        shared = os.environ.get(forkserver.SHARED_ENV)
        self._owned: forkserver.ForkServer | None = None
        self._server: forkserver.ForkServerClient | None = None
        if fork and forkserver.supported() and shared:
            self._server = forkserver.ForkServerClient(shared)
        elif fork and forkserver.supported():
            self._owned = self._server = forkserver.ForkServer(log_output=log_output)
        self._spares = max(0, spares)
        self._left = limit
        self._lock = threading.Lock()
        self._ready: deque[Future[WarmKernel]] = deque()
        self._live: set[Future[WarmKernel]] = set()
        self._retiring: list[Future[None]] = []
        self._closed = False
        self._adopt = adopt
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="harness-kernel-pool", daemon=True)
        self._thread.start()
        with self._lock:
            self._top_up()

    def __enter__(self) -> "KernelPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lease(self, *, replace: bool = True) -> KernelLease:
        """The oldest warming kernel (a new one when none is warming); a replacement starts at once
        unless ``replace`` is false (no fixture will need it)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the kernel pool is closed")
            future = self._ready.popleft() if self._ready else self._start_one(count=False)
            if replace:
                self._top_up()
        return KernelLease(self, future)

    def call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run a coroutine on the pool's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def retire(self, future: Future[WarmKernel]) -> None:
        """Kill that kernel, in the background."""
        with self._lock:
            if future not in self._live:
                return  # already retired
            self._live.discard(future)
            self._retiring = [f for f in self._retiring if not f.done()]
            self._retiring.append(asyncio.run_coroutine_threadsafe(_retire(future), self._loop))

    def stop_warming(self) -> None:
        """Start no more kernels and kill the warm spares (e.g. after ``--fail-fast`` stopped a batch)."""
        with self._lock:
            self._left = 0
            spares, self._ready = list(self._ready), deque()
        for future in spares:
            self.retire(future)

    def close(self, *, kill_leased: bool = False) -> None:
        """Kill the spares (and, with ``kill_leased``, kernels still running fixtures), then stop the loop."""
        with self._lock:
            self._closed = True
        self.stop_warming()
        if kill_leased:
            with self._lock:
                leased = list(self._live)
            for future in leased:
                self.retire(future)
        for done in list(self._retiring):
            try:
                done.result(timeout=START_TIMEOUT_S)
            except Exception:  # a kernel that never started has nothing left to kill
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if self._owned is not None:
            self._owned.close()

    def _top_up(self) -> None:
        while len(self._ready) < self._spares and (self._left is None or self._left > 0):
            self._ready.append(self._start_one())

    def _start_one(self, count: bool = True) -> Future[WarmKernel]:
        if count and self._left is not None:
            self._left -= 1
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self._live.add(future)
        return future

    async def _start(self) -> WarmKernel:
        started = time.monotonic()
        km = AsyncKernelManager(kernel_name=self.kernel_name, kernel_id=str(uuid.uuid4()))
        adopted, self._adopt = self._adopt, None
        if adopted is not None:
            _adopt(km, adopted)
        else:
            if self._server is not None:
                km.provisioner = fork_provisioner.ForkProvisioner(kernel_id=km.kernel_id,
                                                                  kernel_spec=km.kernel_spec, parent=km)
                km.provisioner.server = self._server
            options: dict[str, Any] = {"env": {**self._env, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
                                       "extra_arguments": KERNEL_ARGS}
            if not self.log_output:
                options["stderr"] = subprocess.DEVNULL
            await km.start_kernel(**options)
        client = km.client()
        client.start_channels()
        try:
            await wait_until_ready(km, client, START_TIMEOUT_S)
            if adopted is not None:  # the kernel has read its connection file: nobody needs it any more
                os.unlink(adopted.connection_file)
            ready = time.monotonic()
            # A failed import is left for the notebook's own import cell to report.
            await _execute(km, client, WARM_CODE)
        except BaseException:
            client.stop_channels()
            await km.shutdown_kernel(now=True)
            raise
        return WarmKernel(km, client, start_s=ready - started, warm_s=time.monotonic() - ready)


def _adopt(km: AsyncKernelManager, kernel: PrelaunchedKernel) -> None:
    """Make ``km`` the manager of a kernel started elsewhere: its connection file and its process."""
    km.load_connection_file(kernel.connection_file)
    km.connection_file = kernel.connection_file
    provisioner = LocalProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
    provisioner.process = kernel.process
    provisioner.pid = provisioner.pgid = kernel.process.pid  # it leads its own session and process group
    km.provisioner = provisioner


async def _execute(km: AsyncKernelManager, client: AsyncKernelClient, code: str) -> dict[str, Any]:
    """Run ``code`` silently and return the reply; fails soon when the kernel dies meanwhile."""
    task = asyncio.ensure_future(client.execute_interactive(code, silent=True, store_history=False,
                                                            timeout=START_TIMEOUT_S))
    while True:
        done, _ = await asyncio.wait({task}, timeout=0.5)
        if done:
            return task.result()
        if not await km.is_alive():
            task.cancel()
            raise RuntimeError("the kernel died while being prepared")


async def _prepare(kernel: WarmKernel, env: dict[str, str], cwd: Path) -> AsyncKernelManager:
    code = f"__import__('os').environ.update({env!r}); __import__('os').chdir({str(cwd)!r})"
    client, kernel.client = kernel.client, None
    assert client is not None, "a kernel is prepared once"
    try:
        reply = await _execute(kernel.km, client, code)
    finally:
        client.stop_channels()
    if reply["content"].get("status") != "ok":
        raise RuntimeError(f"could not prepare the kernel: {reply['content'].get('evalue', 'unknown error')}")
    return kernel.km


async def _retire(future: Future[WarmKernel]) -> None:
    kernel = await asyncio.wrap_future(future)
    if kernel.client is not None:
        kernel.client.stop_channels()
    if await kernel.km.is_alive():
        await kernel.km.shutdown_kernel(now=True)
    else:
        await kernel.km.cleanup_resources()
