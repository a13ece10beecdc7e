"""The expression worker pool on its own, with real worker processes: hard time limit, memory limit,
no stale replies after a cancellation, replacement of dead workers, and the inline fast path."""
from __future__ import annotations

import asyncio
import os
import signal
from typing import Any, Awaitable, Callable

import psutil
import pytest

from harness.sandbox.runtime import expression_cost, expression_pool
from harness.sandbox.runtime.expression_pool import CRASH_MESSAGE, ExpressionPool
from harness.sandbox.runtime.expression_worker import MEMORY_MESSAGE
from harness.sandbox.runtime.expressions import ExpressionError

HUGE = "[1..10000000]"
CONTEXT = {"payload": {"ticketId": "T-1", "n": 3}, "vars": {}, "meta": {}, "error": None}


def run(test: Callable[[ExpressionPool], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        pool = ExpressionPool(**{"size": 1, **options})
        await pool.start()
        try:
            await test(pool)
        finally:
            await pool.close()
    asyncio.run(main())


def worker_pids(pool: ExpressionPool) -> list[int]:
    return [w.process.pid for w in pool._workers]


async def gone(pid: int, timeout_s: float = 10.0) -> bool:
    """Whether process ``pid`` has ended (a zombie counts) within ``timeout_s``."""
    for _ in range(int(timeout_s / 0.05)):
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        await asyncio.sleep(0.05)
    return False


def test_an_overrun_is_killed_at_the_limit_and_a_fresh_worker_answers():
    async def test(pool: ExpressionPool) -> None:
        [first] = worker_pids(pool)
        with pytest.raises(ExpressionError, match=r"^Expression evaluation exceeded 50ms$") as failed:
            await pool.evaluate(HUGE, CONTEXT)
        assert failed.value.category == "ExpressionError"
        assert pool.replaced == 1 and await gone(first)
        assert await pool.evaluate("toString([1, 2])", CONTEXT) == "1,2"
        assert worker_pids(pool) != [first]
    # The range is one node that takes far longer than 50 ms to build, so the worker reaches no node
    # boundary (where its own, softer check runs) before the pool kills it: only the kill can answer.
    run(test, timeout_ms=50, grace_ms=0)


def test_each_mapping_entry_has_the_limit_and_keeps_its_path():
    async def test(pool: ExpressionPool) -> None:
        mapping = {"ok": {"$expr": "toString(payload.n)"}, "huge": {"$expr": HUGE}}
        with pytest.raises(ExpressionError, match="exceeded 300ms") as failed:
            await pool.resolve(mapping, CONTEXT, "/input")
        # the worker's own check names the entry; a kill knows only the mapping it was resolving
        assert failed.value.path in ("/input/huge", "/input")
        assert await pool.resolve({"a": [{"$expr": "toString(payload.n)"}, "literal"]}, CONTEXT, "/x") == \
            {"a": ["3", "literal"]}
    run(test, timeout_ms=300)


def test_a_worker_is_capped_in_memory_and_replaced_when_it_runs_out():
    async def test(pool: ExpressionPool) -> None:
        [pid] = worker_pids(pool)
        assert psutil.Process(pid).rlimit(psutil.RLIMIT_AS) == (400 << 20, 400 << 20)
        with pytest.raises(ExpressionError) as failed:
            await pool.evaluate(HUGE, CONTEXT)  # needs about 600 MB
        assert failed.value.message in (MEMORY_MESSAGE, "Expression evaluation exceeded 2000ms")
        assert pool.replaced == 1 and await gone(pid)
        assert await pool.evaluate("toString(payload.n)", CONTEXT) == "3"
    run(test, memory_bytes=400 << 20, timeout_ms=2000)


def test_a_cancelled_evaluation_never_hands_its_reply_to_the_next_caller():
    async def test(pool: ExpressionPool) -> None:
        slow = asyncio.ensure_future(pool.evaluate("len(toString([1..3000000]))", CONTEXT))
        await asyncio.sleep(0.2)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert await pool.evaluate("toString(payload.ticketId)", CONTEXT) == "T-1"
        assert pool.replaced == 1
    run(test, timeout_ms=30_000)


def test_a_worker_that_died_is_replaced():
    async def test(pool: ExpressionPool) -> None:
        [pid] = worker_pids(pool)
        os.kill(pid, signal.SIGKILL)
        try:
            first = await pool.evaluate("toString(payload.n)", CONTEXT)
        except ExpressionError as exc:
            assert exc.message == CRASH_MESSAGE
            first = await pool.evaluate("toString(payload.n)", CONTEXT)
        assert first == "3" and pool.replaced == 1
    run(test)


def test_workers_run_below_the_servers_priority_and_end_with_the_pool():
    async def test(pool: ExpressionPool) -> None:
        pids = worker_pids(pool)
        assert len(pids) == 2
        assert all(os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + pool.nice
                   for pid in pids)
        await pool.close()
        assert all([await gone(pid) for pid in pids])
    run(test, size=2)


def test_cheap_expressions_run_inline_and_past_the_budget_in_a_worker(monkeypatch):
    async def test(pool: ExpressionPool) -> None:
        assert await pool.evaluate("'hello ' & payload.ticketId", CONTEXT) == "hello T-1"
        assert await pool.resolve({"t": {"$expr": "payload.n + 1"}}, CONTEXT) == {"t": 4}
        assert pool.worker_calls == 0
        assert await pool.evaluate("toString(payload.n)", CONTEXT) == "3"  # toString walks whole values
        assert pool.worker_calls == 1
        big = {**CONTEXT, "vars": {"blob": "x" * (expression_cost.MAX_CONTEXT_BYTES + 1)}}
        assert await pool.evaluate("payload.ticketId", big) == "T-1"
        assert pool.worker_calls == 2
        monkeypatch.setattr(expression_pool, "INLINE_BUDGET_MS", 0.0)
        assert await pool.evaluate("'hello ' & payload.ticketId", CONTEXT) == "hello T-1"
        assert pool.worker_calls == 3, "an inline evaluation over its budget starts over in a worker"
    run(test)


@pytest.mark.parametrize("source, inline", [
    ("'hello ' & payload.ticketId", True), ("coalesce(vars.caught.message, 'unknown')", True),
    ("payload.addedTagIds[0] = payload.x", True), ("(payload.m ? payload.m : 'n') = 'notify'", True),
    ('{ "user_ids": [payload.u] }', True), ("payload.x in payload.arr", True), ("-payload.n", True),
    (HUGE, False), ("[1..5]", False), ("toString(payload)", False), ("append(vars.a, 1)", False),
    ("payload.*", False), ("**.a", False), ("payload{a: b}", False), ("($x := 1; $x)", False),
    ("payload^(a)", False), ("payload.arr[x > 1]", False), ("payload@$x", False), ("payload#$i", False),
    ("payload.%.x", False), ("/ab/", False), ("payload ~> $len", False),
    (" & ".join(["'a'"] * 40), False),
])
def test_what_runs_inline(source, inline):
    assert expression_cost.runs_inline(source, CONTEXT) is inline
