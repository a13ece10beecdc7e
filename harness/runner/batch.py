"""Running many fixtures: one worker thread per lane (tenant), each fixture in its own warm kernel.

A fixture that fails, hangs (its global timeout interrupts it) or kills its kernel ends as a FAIL
verdict of its own; nothing it does stops the other workers. ``fail_fast`` stops handing out
fixtures after the first failure; the ones already running finish. A stop request (the first
Ctrl-C or SIGTERM) hands out nothing more and stops the running fixtures the way their timeout
would: teardown, journal replay, artifacts, a FAIL verdict each. A ``KeyboardInterrupt`` in the
calling thread (a second Ctrl-C) kills every kernel at once and leaves their journals for
``harness cleanup``.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..config import Target, kernel_environment
from ..errors import HarnessError
from .checks import check_fixture
from .interrupts import StopRequest
from .kernels import KernelLease, KernelPool
from .lanes import claim_lane
from .single import FixtureResult, run_fixture

ABORT_GRACE_S = 15  # after a KeyboardInterrupt no handler turned into a stop request: time to clean up
FORCED_EXIT_WAIT_S = 2  # after a forced stop, how long workers get to notice their dead kernels


@dataclass
class BatchItem:
    """One fixture's verdict and where it ran; times are seconds since the batch started."""

    folder: Path
    result: FixtureResult
    tenant_id: str
    started_s: float
    finished_s: float
    kernel_wait_s: float = 0.0


@dataclass
class BatchOutcome:
    """Every verdict (in completion order), the fixtures left out and why (``--fail-fast``, or the
    signal that stopped the batch), and the wall time."""

    items: list[BatchItem]
    not_run: list[Path]
    wall_s: float
    jobs: int
    stopped_by: str = "--fail-fast"

    @property
    def failed(self) -> list[BatchItem]:
        return [item for item in self.items if not item.result.passed]

    @property
    def passed(self) -> bool:
        return not self.failed


@dataclass
class BatchOptions:
    force: bool = True
    skip_import: bool = False
    fail_fast: bool = False
    on_start: Callable[[Path], None] | None = None
    on_result: Callable[[BatchItem], None] | None = None
    stop: StopRequest | None = None  # set from outside (a signal handler) to stop the batch cleanly


def run_batch(folders: Sequence[Path], lanes: Sequence[Target], jobs: int,
              options: BatchOptions | None = None) -> BatchOutcome:
    """Run ``folders`` on up to ``jobs`` lanes at once and return every verdict, in completion order."""
    options = options or BatchOptions()
    stop_request = options.stop or StopRequest()
    workers = max(1, min(jobs, len(lanes), len(folders)))
    queue = list(reversed(folders))
    items: list[BatchItem] = []
    lock = threading.Lock()
    stop = threading.Event()
    began = time.monotonic()

    def next_folder() -> Path | None:
        with lock:
            return queue.pop() if queue and not stop.is_set() and not stop_request.requested else None

    def work(slot: int, pool: KernelPool) -> None:
        while (folder := next_folder()) is not None:
            if options.on_start:
                options.on_start(folder)
            with claim_lane(lanes, slot) as lane:
                started = time.monotonic() - began
                result, lease = run_pooled(folder, lane, pool, force=options.force,
                                           skip_import=options.skip_import, stop=stop_request)
            item = BatchItem(folder, result, lane.tenant_id, started, time.monotonic() - began,
                             lease.wait_s if lease else 0.0)
            with lock:
                items.append(item)
                if not result.passed and options.fail_fast:
                    stop.set()
            if stop.is_set() or stop_request.requested:
                pool.stop_warming()
            if options.on_result:
                options.on_result(item)

    pool = KernelPool(workers, limit=len(folders), env=kernel_environment(lanes[0], {}))
    threads = [threading.Thread(target=work, args=(slot, pool), name=f"harness-lane-{slot}", daemon=True)
               for slot in range(workers)]
    try:
        for thread in threads:
            thread.start()
        _join(threads, None)
    except KeyboardInterrupt:
        if not stop_request.requested:  # no handler turned the first Ctrl-C into a stop request: do it now
            stop_request.request()
            try:
                _join(threads, ABORT_GRACE_S)
            except KeyboardInterrupt:
                stop_request.forced = True
        stop_request.forced = stop_request.forced or any(t.is_alive() for t in threads)
        # forced: what is left sees a dead kernel at once; its journal stays for `harness cleanup`
        pool.close(kill_leased=stop_request.forced)
        _join(threads, FORCED_EXIT_WAIT_S)
        raise
    pool.close()
    return BatchOutcome(items, list(reversed(queue)), time.monotonic() - began, workers,
                        stop_request.describe() if stop_request.requested else "--fail-fast")


def _join(threads: Sequence[threading.Thread], timeout_s: float | None) -> None:
    """Wait for ``threads`` (at most ``timeout_s``), staying responsive to signals."""
    give_up = None if timeout_s is None else time.monotonic() + timeout_s
    for thread in threads:
        while thread.is_alive() and (give_up is None or time.monotonic() < give_up):
            thread.join(timeout=0.2)


def run_pooled(folder: Path, lane: Target, pool: KernelPool, *, force: bool = True, skip_import: bool = False,
               stop: StopRequest | None = None) -> tuple[FixtureResult, KernelLease | None]:
    """Check and run one fixture in a kernel from ``pool``; every problem becomes a FAIL verdict."""
    try:
        fixture = check_fixture(folder)
    except HarnessError as exc:
        return FixtureResult(folder.name, passed=False, duration_ms=0, reason=str(exc)), None
    try:
        lease = pool.lease()
    except RuntimeError as exc:  # the batch is being aborted
        return FixtureResult(fixture.test_id, passed=False, duration_ms=0, reason=str(exc)), None
    try:
        return run_fixture(fixture, lane, force=force, skip_import=skip_import, kernel=lease, stop=stop), lease
    except Exception as exc:  # a runner bug must cost one verdict, not the batch
        return FixtureResult(fixture.test_id, passed=False, duration_ms=0, reason=f"{type(exc).__name__}: {exc}"), lease
    finally:
        lease.release()
