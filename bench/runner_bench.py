"""Runner benchmark: where one fixture's time goes, how fast wait_for_run notices a finished run, and
what the whole catalog costs serially and with --jobs 2. A script, not a test: it prints tables and
the machine it ran on. It starts its own sandbox in a temporary folder and stops it at the end.

    .venv/bin/python bench/runner_bench.py [--fixture DIR] [--catalog DIR] [--repeat N] [--detect-runs N]

Phases of one fixture (wall clock; the kernel records its side in the context's ``timings``):
  kernel start   runner call → the cell that opens the fixture starts (kernel start, papermill, parameters)
  import         that cell starts → open_fixture() entered (import pandas, harness, ...)
  setup          open_fixture(): target, bundle import over HTTP, pausing the other fixture workflows
  trigger → run  trigger time → wait_for_run() returns the terminal run
  assertions     → the teardown cell starts
  cleanup        cleanup hooks
  runner tail    context saved, kernel stopped, verdict (and artifacts on failure)
Per-fixture overhead in a batch = the fixture's slot in its lane minus its trigger → run and assertions.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import run_queries
from harness.config import resolve_target
from harness.execution.checks import check_fixture
from harness.execution.discovery import discover
from harness.execution.kernels import KernelPool
from harness.execution.single import FixtureResult, run_fixture

from common import machine, sandbox  # bench/common.py, shared by the benches

REPO = Path(__file__).resolve().parents[1]
PHASES = ("kernel start", "import", "setup", "trigger → run", "assertions", "cleanup", "runner tail")


def _cell_start(nb_cells: list[Any]) -> float | None:
    for cell in nb_cells:
        if cell.get("cell_type") == "code" and "open_fixture" in "".join(cell.get("source", "")):
            start = cell.get("metadata", {}).get("papermill", {}).get("start_time")
            return datetime.fromisoformat(start).timestamp() if start else None
    return None


def split_phases(called: float, ended: float, result: FixtureResult, open_cell_start: float | None) -> dict[str, float]:
    t = result.context.get("timings") or {}
    marks = [called, open_cell_start, t.get("opened"), t.get("triggered"), t.get("run_seen"),
             t.get("cleanup_started"), t.get("cleanup_finished"), ended]
    if any(m is None for m in marks):
        return {}
    return {name: (marks[i + 1] - marks[i]) * 1000 for i, name in enumerate(PHASES)}


def one_fixture(fixture_dir: Path, repeat: int) -> None:
    """Phases of one fixture: a fresh kernel per run (harness run) versus a pooled, forked kernel (run-all)."""
    import nbformat

    fixture = check_fixture(fixture_dir)
    target = resolve_target()
    rows: dict[str, list[dict[str, float]]] = {"fresh kernel": [], "pooled kernel": []}
    hidden: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, KernelPool(1) as pool:
        for _ in range(repeat):
            for mode in rows:
                out = Path(tmp) / "run.ipynb"
                out.unlink(missing_ok=True)
                lease = pool.lease() if mode == "pooled kernel" else None
                called = time.time()
                result = _run_capturing(fixture, target, lease, out)
                ended = time.time()
                if lease is not None:
                    lease.release()
                    if lease.kernel is not None:
                        hidden.append((lease.kernel.start_s + lease.kernel.warm_s) * 1000)
                cells = nbformat.read(out, as_version=4).cells if out.exists() else []
                phases = split_phases(called, ended, result, _cell_start(cells))
                if result.passed and phases:
                    rows[mode].append(phases | {"total": (ended - called) * 1000})
    print(f"\n## One fixture: {fixture.test_id} (median of {repeat} runs, ms)\n")
    print(f"{'phase':<16}" + "".join(f"{mode:>16}" for mode in rows))
    for name in (*PHASES, "total"):
        print(f"{name:<16}" + "".join(f"{_median([r[name] for r in rs]):>16.0f}" for rs in rows.values()))
    if hidden:
        print(f"(pooled: the kernel was forked and warmed ahead, off the fixture's clock: median {_median(hidden):.0f} ms)")


def _run_capturing(fixture: Any, target: Any, lease: Any, out: Path) -> FixtureResult:
    """run_fixture, keeping a copy of the executed notebook (for the cell start times)."""
    import nbformat
    import papermill

    real = papermill.execute_notebook

    def keep(*args: Any, **kwargs: Any) -> Any:
        nb = real(*args, **kwargs)
        nbformat.write(nb, str(out))
        return nb

    papermill.execute_notebook = keep
    try:
        return run_fixture(fixture, target, kernel=lease)
    finally:
        papermill.execute_notebook = real


def _runtime_run(fx: Any) -> float:
    """A real run of the fixture's workflow through the sandbox runtime (it takes tens of ms)."""
    fx.mark_trigger()
    ticket_id = str(uuid.uuid4())
    fx.post_event({"ticketId": ticket_id, "updatedFields": [], "changes": {}}, correlation_key=ticket_id)
    run = fx.wait_for_run()
    return (time.time() - run["completed_at"].timestamp()) * 1000


def _slow_run(fx: Any, after_s: float) -> float:
    """A run row that turns SUCCEEDED ``after_s`` after the wait began: polling has backed off by then."""
    writer = fx.db.writer()
    since = datetime.now(timezone.utc)
    run_id = writer.records("INSERT INTO workflow_runs (tenant, workflow_id, workflow_version, status) "
                            "VALUES (%s, %s, 1, 'RUNNING') RETURNING run_id", (fx.tenant_id, fx.workflow_id))[0]["run_id"]
    finish = threading.Timer(after_s, writer.execute, ("UPDATE workflow_runs SET status = 'SUCCEEDED', "
                                                         "completed_at = clock_timestamp() WHERE run_id = %s", (run_id,)))
    finish.start()
    try:
        run = run_queries.wait_for_run(fx.db, fx.workflow_id, fx.tenant_id, since, timeout_ms=30_000)
        return (time.time() - run["completed_at"].timestamp()) * 1000
    finally:
        finish.join()
        writer.execute("DELETE FROM workflow_runs WHERE run_id = %s", (run_id,))


def detection(fixture_dir: Path, count: int) -> None:
    """Latency from a run's completed_at to wait_for_run returning it, with LISTEN/NOTIFY and polling only."""
    import harness

    fx = harness.open_fixture(fixture_dir)
    rng = random.Random(7)
    results: dict[str, list[float]] = {}
    try:
        for listen in (True, False):
            run_queries._notify_support[fx.db.url] = listen  # False: as on a database without the trigger
            mode = "LISTEN/NOTIFY" if listen else "polling only"
            results[f"{mode}, sandbox runs (~50 ms)"] = [_runtime_run(fx) for _ in range(count)]
            results[f"{mode}, runs of 0.3-1.5 s"] = [_slow_run(fx, rng.uniform(0.3, 1.5)) for _ in range(count)]
    finally:
        run_queries._notify_support.pop(fx.db.url, None)
        fx.cleanup()
        fx.close()
    print(f"\n## wait_for_run detection latency: completed_at → returned ({count} runs each, ms)\n")
    print(f"{'mode':<40}{'p50':>8}{'p95':>8}{'max':>8}")
    for mode, values in sorted(results.items()):
        print(f"{mode:<40}{_pct(values, 50):>8.1f}{_pct(values, 95):>8.1f}{max(values):>8.1f}")


def _batch(catalog_dir: Path, jobs: int, report: Path) -> tuple[float, list[dict[str, Any]]]:
    """``harness run-all --jobs N`` (pytest underneath) as users run it: wall time and the report log's
    per-fixture entries (setup + call + teardown seconds, and the verdict's properties)."""
    began = time.monotonic()
    subprocess.run([str(Path(sys.executable).with_name("harness")), "run-all", str(catalog_dir), "--jobs", str(jobs),
                    "--json", str(report)], capture_output=True, text=True, check=False)
    wall = time.monotonic() - began
    items: dict[str, dict[str, Any]] = {}
    for line in report.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("$report_type") != "TestReport":
            continue
        item = items.setdefault(entry["nodeid"], {"seconds": 0.0})
        item["seconds"] += entry["duration"]
        if entry["when"] == "call":
            item.update(dict(entry["user_properties"]), passed=entry["outcome"] == "passed")
    return wall, list(items.values())


def catalog(catalog_dir: Path, repeat: int) -> None:
    """The catalog serially with fresh kernels (before), then through run-all (pytest) with --jobs 1 and 2,
    each ``repeat`` times (the median wall time; overhead over all runs)."""
    folders = discover([catalog_dir])
    target = resolve_target()
    rows = []

    started = time.monotonic()
    fresh: list[tuple[FixtureResult, float]] = []
    for folder in folders:
        began = time.monotonic()
        fresh.append((run_fixture(check_fixture(folder), target), time.monotonic() - began))
    wall = time.monotonic() - started
    fresh_over = [(slot - (r.context["timings"]["cleanup_started"] - r.context["timings"]["triggered"])) * 1000
                  for r, slot in fresh if (r.context.get("timings") or {}).get("cleanup_started")]
    rows.append(("serial, fresh kernel each (before)", wall, sum(r.passed for r, _ in fresh), fresh_over))
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, 2):
            walls, over, passed = [], [], []
            for attempt in range(repeat):
                wall, items = _batch(catalog_dir, jobs, Path(tmp) / f"jobs{jobs}-{attempt}.jsonl")
                walls.append(wall)
                over += [item["seconds"] * 1000 - float(item["workMs"]) for item in items if "workMs" in item]
                passed.append(sum(bool(i.get("passed")) for i in items))
            rows.append((f"run-all --jobs {jobs} (pytest)", statistics.median(walls), min(passed), over))
    print(f"\n## Catalog: {len(folders)} fixtures from {catalog_dir} (batches: median wall of {repeat} runs)\n")
    print("overhead = a fixture's own time in its worker (setup + call + teardown) minus its trigger → run and "
          "assertions; the wall time adds process start, pytest, xdist workers and sandbox checks")
    print(f"{'mode':<38}{'wall s':>8}{'passed':>8}{'overhead p50':>14}{'p95':>6}")
    for label, wall, passed, over in rows:
        print(f"{label:<38}{wall:>8.1f}{passed:>5}/{len(folders):<2}{_median(over):>14.0f}{_pct(over, 95):>6.0f}")
    serial, parallel = rows[1][1], rows[2][1]
    print(f"\n--jobs 2 takes {parallel / serial:.0%} of the --jobs 1 time")


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _pct(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixture", type=Path, default=REPO / "fixtures" / "ticket-created-hello")
    parser.add_argument("--catalog", type=Path, default=REPO / "fixtures")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the single fixture per mode")
    parser.add_argument("--detect-runs", type=int, default=40, help="runs per detection mode (0: skip)")
    parser.add_argument("--catalog-repeat", type=int, default=3, help="runs of each batch mode over the catalog")
    args = parser.parse_args()
    print(f"# Runner benchmark\n\n{machine()}")
    with sandbox():
        one_fixture(args.fixture, args.repeat)
        if args.detect_runs:
            detection(args.fixture, args.detect_runs)
        catalog(args.catalog, args.catalog_repeat)
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
