"""Expressions off the event loop: a small pool of evaluator processes with a hard time limit.

jsonata-python checks its time limit only between AST nodes, and one node (a range such as
``[1..10000000]``, or turning a huge result into JSON) can run for seconds. So every workflow
expression is evaluated in a worker process (:mod:`.expression_worker`) while the event loop keeps
serving requests; a worker that has not answered within the expression time limit (plus a short
grace for the worker's own, softer check) is killed and replaced, and the step fails with
AlgaPSA's ``Expression evaluation exceeded <limit>ms``.

Expressions that :mod:`.expression_cost` proves cheap (small tree of linear-cost nodes over a small
context) are first tried inline for at most ``INLINE_BUDGET_MS``, sparing the round trip to a
worker on the common path; past the budget they start over in a worker.

The server installs one pool for its lifetime (:func:`install`); without one (library use, unit
tests) :func:`evaluate` and :func:`resolve` run inline.
"""
from __future__ import annotations

import asyncio
import logging
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from . import expressions
from .expression_cost import INLINE_BUDGET_MS, runs_inline
from .expression_worker import HEADER, MEMORY_MESSAGE
from .expressions import EvaluationTimeout, ExpressionError, is_expr

log = logging.getLogger("harness.sandbox.expressions")

WORKER_SCRIPT = Path(__file__).with_name("expression_worker.py")
DEFAULT_SIZE = min(4, max(2, os.cpu_count() or 2))
GRACE_MS = 100.0
"""Extra time before the kill, so an overrun the worker notices itself does not cost a process."""
MEMORY_LIMIT_BYTES = 2 << 30
"""Address-space limit of one worker."""
NICE = 10
"""Workers run at a lower CPU priority than the server."""
START_TIMEOUT_S = 30.0
ACQUIRE_TIMEOUT_S = 30.0
CRASH_MESSAGE = "Expression evaluation failed: the evaluator process exited"


class _Worker:
    """One evaluator process and its pipes; one request at a time."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def read(self) -> tuple[Any, ...]:
        assert self.process.stdout is not None
        header = await self.process.stdout.readexactly(HEADER.size)
        body = await self.process.stdout.readexactly(HEADER.unpack(header)[0])
        return pickle.loads(body)

    async def call(self, request: bytes) -> tuple[Any, ...]:
        assert self.process.stdin is not None
        self.process.stdin.write(HEADER.pack(len(request)) + request)
        await self.process.stdin.drain()
        return await self.read()

    def kill(self) -> None:
        if self.alive:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass


class ExpressionPool:
    """``size`` evaluator processes; :meth:`evaluate` and :meth:`resolve` wait for a free one."""

    def __init__(self, size: int = DEFAULT_SIZE, *, timeout_ms: float | None = None, grace_ms: float = GRACE_MS,
                 memory_bytes: int = MEMORY_LIMIT_BYTES, nice: int = NICE) -> None:
        self.size = size
        self.timeout_ms = expressions.DEFAULT_TIMEOUT_MS if timeout_ms is None else timeout_ms
        self.grace_ms = grace_ms
        self.memory_bytes = memory_bytes
        self.nice = nice
        self.replaced = 0
        """How many workers were killed (or died) and replaced so far."""
        self.worker_calls = 0
        """How many evaluations went to a worker (the others ran inline)."""
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._dying: set[_Worker] = set()  # killed, not yet reaped
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        """Start every worker; returns once all of them are ready."""
        for worker in await asyncio.gather(*(self._spawn() for _ in range(self.size))):
            self._idle.put_nowait(worker)

    async def close(self) -> None:
        """Kill every worker (also busy ones), stop replacing them, and reap them all."""
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for worker in self._workers:
            worker.kill()
        await asyncio.gather(*(w.process.wait() for w in self._workers | self._dying), return_exceptions=True)
        self._workers.clear()
        self._dying.clear()

    async def evaluate(self, source: str, context: dict[str, Any]) -> Any:
        """Like :func:`expressions.evaluate`, in a worker killed at the time limit (cheap ones inline)."""
        if runs_inline(source, context):
            try:
                return expressions.evaluate(source, context, timeout_ms=INLINE_BUDGET_MS)
            except EvaluationTimeout:
                pass
        return await self._call(("evaluate", source, context), count=1, path=None)

    async def resolve(self, value: Any, context: dict[str, Any], pointer: str = "") -> Any:
        """Like :func:`expressions.resolve_mapping`; each expression inside gets the time limit."""
        sources = expression_sources(value)
        if all(runs_inline(source, context) for source in sources):
            try:
                return expressions.resolve_mapping(value, context, pointer=pointer, timeout_ms=INLINE_BUDGET_MS)
            except EvaluationTimeout:
                pass
        return await self._call(("resolve", value, context, pointer), count=len(sources), path=pointer or None)

    # -- workers ----------------------------------------------------------------------------------
    async def _spawn(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-P", str(WORKER_SCRIPT), str(os.getpid()), repr(self.timeout_ms), str(self.memory_bytes),
            str(self.nice),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        worker = _Worker(process)
        try:
            ready = await asyncio.wait_for(worker.read(), START_TIMEOUT_S)
        except BaseException:
            worker.kill()
            raise
        if ready != ("ready",):
            worker.kill()
            raise RuntimeError(f"unexpected first message from an expression worker: {ready!r}")
        self._workers.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.discard(worker)
        self._dying.add(worker)
        asyncio.ensure_future(worker.process.wait()).add_done_callback(lambda _: self._dying.discard(worker))
        if not self._closed:
            self.replaced += 1
            self._watch(self._respawn())

    def _watch(self, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _respawn(self) -> None:
        delay = 0.1
        while not self._closed:
            try:
                worker = await self._spawn()
            except Exception:
                log.exception("could not start an expression worker; retrying in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._idle.put_nowait(worker)
            return

    async def _acquire(self) -> _Worker:
        while True:
            try:
                worker = await asyncio.wait_for(self._idle.get(), ACQUIRE_TIMEOUT_S)
            except asyncio.TimeoutError:
                raise ExpressionError("Expression evaluation failed: no evaluator process is available") from None
            if worker.alive:
                return worker
            self._replace(worker)

    async def _call(self, request: tuple[Any, ...], *, count: int, path: str | None) -> Any:
        data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        self.worker_calls += 1
        worker = await self._acquire()
        try:
            reply = await asyncio.wait_for(worker.call(data), (self.timeout_ms * count + self.grace_ms) / 1000)
        except asyncio.TimeoutError:
            self._replace(worker)
            raise ExpressionError(f"Expression evaluation exceeded {self.timeout_ms:g}ms", path=path) from None
        except (asyncio.IncompleteReadError, ConnectionError):
            self._replace(worker)
            raise ExpressionError(CRASH_MESSAGE, path=path) from None
        except BaseException:  # cancelled mid-request: its reply must not reach the next caller
            self._replace(worker)
            raise
        if reply[0] == "ok":
            self._idle.put_nowait(worker)
            return reply[1]
        _, message, error_path, category = reply
        if message == MEMORY_MESSAGE:
            self._replace(worker)  # the worker exits after a memory error
        else:
            self._idle.put_nowait(worker)
        raise ExpressionError(message, path=error_path, category=category)


def expression_sources(value: Any) -> list[str]:
    """The sources of the Expr objects in a mapping value (walked like :func:`expressions.resolve_mapping`)."""
    if is_expr(value):
        return [value["$expr"]]
    if isinstance(value, dict) and not expressions.is_secret_ref(value):
        return [source for item in value.values() for source in expression_sources(item)]
    if isinstance(value, list):
        return [source for item in value for source in expression_sources(item)]
    return []


# -- the pool in use ------------------------------------------------------------------------------
_installed: ExpressionPool | None = None


def install(pool: ExpressionPool | None) -> None:
    """Make ``pool`` the one :func:`evaluate` and :func:`resolve` use (``None``: evaluate inline)."""
    global _installed
    _installed = pool


def installed() -> ExpressionPool | None:
    return _installed


async def evaluate(source: str, context: dict[str, Any]) -> Any:
    """Evaluate an expression in the installed pool (inline without one)."""
    pool = _installed
    return expressions.evaluate(source, context) if pool is None else await pool.evaluate(source, context)


async def resolve(value: Any, context: dict[str, Any], pointer: str = "") -> Any:
    """Resolve a mapping value in the installed pool (inline without one)."""
    pool = _installed
    if pool is None:
        return expressions.resolve_mapping(value, context, pointer=pointer)
    return await pool.resolve(value, context, pointer)
