"""Running many fixtures: one worker thread per lane (tenant), each fixture in its own warm kernel.

A fixture that fails, hangs (its global timeout interrupts it) or kills its kernel ends as a FAIL
verdict of its own; nothing it does stops the other workers. ``fail_fast`` stops handing out
fixtures after the first failure; the ones already running finish.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..config import Target
from ..errors import HarnessError
from .checks import check_fixture
from .kernels import KernelLease, KernelPool
from .lanes import claim_lane
from .single import FixtureResult, run_fixture

ABORT_GRACE_S = 15  # after Ctrl-C, how long interrupted fixtures get to clean up


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
    """Every verdict (in completion order), the fixtures ``fail_fast`` left out, and the wall time."""

    items: list[BatchItem]
    not_run: list[Path]
    wall_s: float
    jobs: int

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


def run_batch(folders: Sequence[Path], lanes: Sequence[Target], jobs: int,
              options: BatchOptions | None = None) -> BatchOutcome:
    """Run ``folders`` on up to ``jobs`` lanes at once and return every verdict, in completion order."""
    options = options or BatchOptions()
    workers = max(1, min(jobs, len(lanes), len(folders)))
    queue = list(reversed(folders))
    items: list[BatchItem] = []
    lock = threading.Lock()
    stop = threading.Event()
    began = time.monotonic()

    def next_folder() -> Path | None:
        with lock:
            return queue.pop() if queue and not stop.is_set() else None

    def work(slot: int, pool: KernelPool) -> None:
        while (folder := next_folder()) is not None:
            if options.on_start:
                options.on_start(folder)
            with claim_lane(lanes, slot) as lane:
                started = time.monotonic() - began
                result, lease = run_pooled(folder, lane, pool, force=options.force,
                                           skip_import=options.skip_import)
            item = BatchItem(folder, result, lane.tenant_id, started, time.monotonic() - began,
                             lease.wait_s if lease else 0.0)
            with lock:
                items.append(item)
                if not result.passed and options.fail_fast:
                    stop.set()
            if stop.is_set():
                pool.stop_warming()
            if options.on_result:
                options.on_result(item)

    pool = KernelPool(workers, limit=len(folders))
    threads = [threading.Thread(target=work, args=(slot, pool), name=f"harness-lane-{slot}", daemon=True)
               for slot in range(workers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.2)  # stays responsive to Ctrl-C
    except BaseException:
        stop.set()
        try:  # Ctrl-C: interrupted fixtures still run their cleanup, unless a second Ctrl-C says hurry
            pool.interrupt_leased()
            for thread in threads:
                thread.join(timeout=ABORT_GRACE_S)
        except KeyboardInterrupt:
            pass
        pool.close(kill_leased=True)  # what is left sees a dead kernel and ends at once
        for thread in threads:
            thread.join(timeout=ABORT_GRACE_S)
        raise
    pool.close()
    return BatchOutcome(items, list(reversed(queue)), time.monotonic() - began, workers)


def run_pooled(folder: Path, lane: Target, pool: KernelPool, *, force: bool = True,
               skip_import: bool = False) -> tuple[FixtureResult, KernelLease | None]:
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
        return run_fixture(fixture, lane, force=force, skip_import=skip_import, kernel=lease), lease
    except Exception as exc:  # a runner bug must cost one verdict, not the batch
        return FixtureResult(fixture.test_id, passed=False, duration_ms=0, reason=f"{type(exc).__name__}: {exc}"), lease
    finally:
        lease.release()
