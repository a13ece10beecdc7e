"""What a batch prints: live progress while it runs, a summary at the end.

On a terminal: a progress bar with running pass/fail counts (rich), each verdict printed above it,
and summary tables. Otherwise (CI logs, pipes): exactly one ``PASS``/``FAIL`` line per fixture, as
``harness run`` prints them, then a plain-text summary.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .batch import BatchItem, BatchOutcome

SLOWEST = 5


class BatchProgress:
    """Receives ``started``/``finished`` from the worker threads (thread-safe)."""

    def __init__(self, total: int, stream: IO[str], tty: bool) -> None:
        self.tty = tty
        self.stream = stream
        self.passed = self.failed = 0
        self._lock = threading.Lock()
        self._running: list[str] = []
        self._bar: Progress | None = None
        if tty:
            self._bar = Progress(TextColumn("[bold]run-all"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("[green]{task.fields[passed]} passed[/] [red]{task.fields[failed]} failed"),
                                 TimeElapsedColumn(), TextColumn("[dim]{task.description}"),
                                 console=Console(file=stream), transient=True)
            self._task = self._bar.add_task("", total=total, passed=0, failed=0)

    def __enter__(self) -> "BatchProgress":
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def started(self, folder: Path) -> None:
        with self._lock:
            self._running.append(folder.name)
            self._refresh()

    def finished(self, item: BatchItem) -> None:
        result = item.result
        with self._lock:
            if item.folder.name in self._running:
                self._running.remove(item.folder.name)
            self.passed += result.passed
            self.failed += not result.passed
            if self._bar is None:
                print(result.summary_line(), file=self.stream, flush=True)
                return
            colour = "green" if result.passed else "red"
            self._bar.console.print(f"[{colour}]{result.summary_line()}[/]", markup=True, highlight=False,
                                    soft_wrap=True)
            self._bar.advance(self._task)
            self._refresh()

    def _refresh(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, passed=self.passed, failed=self.failed,
                             description=", ".join(self._running))


def totals_line(outcome: BatchOutcome) -> str:
    passed = len(outcome.items) - len(outcome.failed)
    line = f"{passed} passed, {len(outcome.failed)} failed"
    if outcome.not_run:
        line += f", {len(outcome.not_run)} not run ({outcome.stopped_by})"
    return f"{line} in {outcome.wall_s:.1f} s ({outcome.jobs} job{'s' if outcome.jobs != 1 else ''})"


def print_summary(outcome: BatchOutcome, stream: IO[str], tty: bool) -> None:
    """The slowest fixtures, every failure with its reason and artifacts folder, and the totals."""
    slowest = sorted(outcome.items, key=lambda i: i.result.duration_ms, reverse=True)[:SLOWEST]
    failed = sorted(outcome.failed, key=lambda i: i.result.test_id)
    if not tty:
        lines = ["", "slowest:"] + [f"  {i.result.duration_ms:>7} ms  {i.result.test_id}" for i in slowest]
        if failed:
            lines.append("failures:")
            for item in failed:
                lines.append(f"  {item.result.test_id}: {item.result.reason}")
                if item.result.artifacts_dir:
                    lines.append(f"    artifacts: {item.result.artifacts_dir}")
        lines.append(totals_line(outcome))
        print("\n".join(lines), file=stream, flush=True)
        return
    console = Console(file=stream)
    table = Table(title="Slowest fixtures", title_justify="left")
    table.add_column("fixture")
    table.add_column("ms", justify="right")
    table.add_column("status")
    for item in slowest:
        table.add_row(item.result.test_id, str(item.result.duration_ms),
                      "[green]PASS[/]" if item.result.passed else "[red]FAIL[/]")
    console.print(table)
    if failed:
        table = Table(title="Failures", title_justify="left", show_lines=True)
        table.add_column("fixture", style="red", no_wrap=True)
        table.add_column("reason")
        table.add_column("artifacts", overflow="fold")
        for item in failed:
            table.add_row(item.result.test_id, item.result.reason, item.result.artifacts_dir or "")
        console.print(table)
    console.print(f"[bold]{totals_line(outcome)}[/]")
