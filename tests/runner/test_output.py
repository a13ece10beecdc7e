"""What a batch prints: verdict lines and the summary, on a terminal and in a log."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from harness.runner.batch import BatchItem, BatchOutcome
from harness.runner.progress import BatchProgress, print_summary
from harness.runner.single import FixtureResult


def _item(name: str, ms: int, reason: str = "", artifacts: str | None = None) -> BatchItem:
    result = FixtureResult(name, passed=not reason, duration_ms=ms, reason=reason, artifacts_dir=artifacts)
    return BatchItem(Path("/suite") / name, result, "tenant", 0.0, ms / 1000)


ITEMS = [_item("fast", 120), _item("broken", 900, "ExpectationFailed: status was FAILED", "/art/broken/1"),
         _item("slow", 2400), *[_item(f"other-{i}", 300 + i) for i in range(5)]]
OUTCOME = BatchOutcome(ITEMS, [Path("/suite/zz-skipped")], wall_s=3.25, jobs=2)


@pytest.mark.parametrize("tty", [False, True], ids=["log", "terminal"])
def test_verdicts_then_a_summary_of_slowest_and_failures(tty):
    stream = io.StringIO()
    with BatchProgress(len(ITEMS), stream, tty) as progress:
        for item in ITEMS:
            progress.started(item.folder)
            progress.finished(item)
    assert (progress.passed, progress.failed) == (7, 1)
    print_summary(OUTCOME, stream, tty)
    text = stream.getvalue()
    for item in ITEMS:
        assert item.result.summary_line() in text
    slowest = text[text.index("lowest"):]
    assert slowest.index("slow") < slowest.index("broken") < slowest.index("other-4"), "slowest first"
    assert "other-0" not in slowest.split("ailures")[0], "only the five slowest"
    assert "status was FAILED" in slowest and "/art/broken/1" in slowest
    assert "7 passed, 1 failed, 1 not run (--fail-fast) in 3.2 s (2 jobs)" in text


def test_a_log_gets_exactly_one_line_per_verdict():
    stream = io.StringIO()
    with BatchProgress(len(ITEMS), stream, tty=False) as progress:
        for item in ITEMS:
            progress.finished(item)
    assert stream.getvalue().splitlines() == [item.result.summary_line() for item in ITEMS]
