"""Ctrl-C and SIGTERM in a pytest-xdist controller: stop the fixtures cleanly, then end the session.

Each worker stops its running fixture like ``harness run`` does (teardown, journal replay, artifacts,
a FAIL report) and ends its session. The controller keeps collecting those reports meanwhile, and
passes the stop on to every worker (a ``kill`` may have been aimed at the controller alone) with a
signal of its own (:data:`~harness.execution.interrupts.PASSED_ON`), which a worker that also got
the terminal's Ctrl-C does not count twice. A second signal interrupts the controller at once.
"""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from typing import Iterator

import psutil

from ..execution.interrupts import PASSED_ON, SIGNALS, StopRequest, announce_stop


@contextmanager
def forwarding_signals(stop: StopRequest, workers: list[int]) -> Iterator[StopRequest]:
    """While inside, the first SIGINT/SIGTERM sets ``stop`` and reaches every pid in ``workers``."""

    def handler(signum: int, frame: object) -> None:
        if stop.requested:
            stop.forced = True
            raise KeyboardInterrupt
        announce_stop(signum)
        stop.request(signum)
        passed_on = next(own for own, meant in PASSED_ON.items() if meant == signum)
        for pid in workers:
            try:
                os.kill(pid, passed_on)
            except ProcessLookupError:
                pass

    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def child_pids() -> set[int]:
    """This process's children (to tell the workers xdist starts from what ran before)."""
    return {child.pid for child in psutil.Process().children()}
