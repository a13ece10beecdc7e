"""Ctrl-C and SIGTERM while fixtures run: stop them cleanly first, at once only when asked twice.

The first SIGINT or SIGTERM sets a :class:`StopRequest`: every running fixture's kernel is interrupted
(killed if its cell does not stop), its teardown and the journal replay still run, and its FAIL
verdict and artifacts are written; the command then exits ``128 + signal`` (130 for SIGINT, 143 for
SIGTERM). A second signal raises ``KeyboardInterrupt`` at once: kernels are killed, nothing more is
replayed, and the cleanup journals stay for ``harness cleanup``.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)
PASSED_ON = {signal.SIGUSR1: signal.SIGINT, signal.SIGUSR2: signal.SIGTERM}
"""How a pytest-xdist controller passes a stop on to its workers: a signal of its own, so a worker
that also got the terminal's Ctrl-C does not take the two for a second Ctrl-C."""


class StopRequest:
    """A request, from a signal handler or another thread, that running fixtures stop now.

    Safe to set from a signal handler: no locks, and subscribers only schedule work on their own loop.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.forced = False  # a second signal: stop at once, replay nothing more
        self._callbacks: list[Callable[[], None]] = []

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """``128 + signal``: 130 after SIGINT, 143 after SIGTERM."""
        return 128 + (self.signum or signal.SIGINT)

    def describe(self) -> str:
        """The signal's name, e.g. ``SIGINT``."""
        return signal.Signals(self.signum or signal.SIGINT).name

    def request(self, signum: int = signal.SIGINT) -> None:
        """Ask running fixtures to stop (once; later calls change nothing)."""
        if self.signum is not None:
            return
        self.signum = signum
        for callback in list(self._callbacks):
            try:
                callback()
            except Exception:  # e.g. a loop that just closed; an exception here would surface anywhere
                pass

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when a stop is requested (now, if it already was); returns the unsubscriber."""
        self._callbacks.append(callback)
        if self.requested:
            callback()

        def unsubscribe() -> None:
            try:
                self._callbacks.remove(callback)
            except ValueError:
                pass

        return unsubscribe


@contextmanager
def graceful_signals(stop: StopRequest) -> Iterator[StopRequest]:
    """While inside: the first SIGINT/SIGTERM sets ``stop``, a second one raises ``KeyboardInterrupt``.

    Outside the main thread (where Python cannot install handlers) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        if stop.requested:
            stop.forced = True
            _say("stopping at once; pending cleanup stays in its journal: run `harness cleanup`")
            raise KeyboardInterrupt
        announce_stop(signum)
        stop.request(signum)

    def passed_on(signum: int, frame: object) -> None:
        if not stop.requested:
            announce_stop(PASSED_ON[signum])
            stop.request(PASSED_ON[signum])

    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    previous |= {signum: signal.signal(signum, passed_on) for signum in PASSED_ON}
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def announce_stop(signum: int) -> None:
    """Say on stderr that a signal is stopping the run, and how to quit at once."""
    _say(f"{signal.Signals(signum).name}: stopping the running fixtures and cleaning up "
         "(press Ctrl-C again to quit at once)")


def _say(message: str) -> None:
    # os.write, not print: a handler may run while the main thread is inside a write to stderr
    try:
        os.write(2, f"\n{message}\n".encode())
    except OSError:
        pass
