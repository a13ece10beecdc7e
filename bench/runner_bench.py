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
import os
import platform
import random
import socket
import statistics
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from harness import runs
from harness.config import resolve_target
from harness.runner.batch import BatchOutcome, run_batch
from harness.runner.checks import check_fixture
from harness.runner.discovery import discover
from harness.runner.kernels import KernelPool
from harness.runner.lanes import lane_targets
from harness.runner.single import FixtureResult, run_fixture
from harness.sandbox import control
from harness.sandbox.state_file import env_for

REPO = Path(__file__).resolve().parents[1]
PHASES = ("kernel start", "import", "setup", "trigger → run", "assertions", "cleanup", "runner tail")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")))
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        memory = "?"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{socket.gethostname()}: {platform.platform()}, {cpu}, {os.cpu_count()} CPUs, {memory} RAM, "
            f"Python {platform.python_version()}, load average {load}")


@contextmanager
def sandbox() -> Iterator[dict[str, str]]:
    """A fresh sandbox in a temp folder; its first tenant's variables are exported for the runner."""
    with tempfile.TemporaryDirectory(prefix="runner-bench-") as tmp:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        state = control.start(directory=Path(tmp), port=port)
        env = {**env_for(state), "HARNESS_SANDBOX_DIR": tmp}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            control.stop(Path(tmp))


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
    import papermill

    real = papermill.execute_notebook

    def keep(input_path: str, output_path: str, **kwargs: Any) -> Any:
        try:
            return real(input_path, output_path, **kwargs)
        finally:
            if Path(output_path).exists():
                out.write_bytes(Path(output_path).read_bytes())

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
        run = runs.wait_for_run(fx.db, fx.workflow_id, fx.tenant_id, since, timeout_ms=30_000)
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
            runs._notify_support[fx.db.url] = listen  # False: as on a database without the trigger
            mode = "LISTEN/NOTIFY" if listen else "polling only"
            results[f"{mode}, sandbox runs (~50 ms)"] = [_runtime_run(fx) for _ in range(count)]
            results[f"{mode}, runs of 0.3-1.5 s"] = [_slow_run(fx, rng.uniform(0.3, 1.5)) for _ in range(count)]
    finally:
        runs._notify_support.pop(fx.db.url, None)
        fx.cleanup()
        fx.close()
    print(f"\n## wait_for_run detection latency: completed_at → returned ({count} runs each, ms)\n")
    print(f"{'mode':<40}{'p50':>8}{'p95':>8}{'max':>8}")
    for mode, values in sorted(results.items()):
        print(f"{mode:<40}{_pct(values, 50):>8.1f}{_pct(values, 95):>8.1f}{max(values):>8.1f}")


def _overheads(outcome: BatchOutcome) -> list[float]:
    """Per fixture: its lane slot minus its own trigger → run and assertions (ms)."""
    values = []
    for item in outcome.items:
        t = item.result.context.get("timings") or {}
        if t.get("triggered") and t.get("cleanup_started"):
            own = t["cleanup_started"] - t["triggered"]
            values.append((item.finished_s - item.started_s - own) * 1000)
    return values


def catalog(catalog_dir: Path) -> None:
    """The catalog serially with fresh kernels (before), serially pooled, and with --jobs 2 (after)."""
    folders = discover([catalog_dir])
    target = resolve_target()
    lanes = lane_targets(target)
    rows = []

    started = time.monotonic()
    fresh: list[tuple[FixtureResult, float]] = []
    for folder in folders:
        began = time.monotonic()
        fresh.append((run_fixture(check_fixture(folder), target), time.monotonic() - began))
    wall = time.monotonic() - started
    fresh_over = [(slot - (r.context["timings"]["cleanup_started"] - r.context["timings"]["triggered"])) * 1000
                  for r, slot in fresh if (r.context.get("timings") or {}).get("cleanup_started")]
    rows.append(("serial, fresh kernel each (before)", wall, sum(r.passed for r, _ in fresh), fresh_over, []))
    for jobs, label in ((1, "serial, pooled kernels (--jobs 1)"), (2, "parallel, pooled kernels (--jobs 2)")):
        outcome = run_batch(folders, lanes, jobs)
        rows.append((label, outcome.wall_s, len(outcome.items) - len(outcome.failed), _overheads(outcome),
                     [item.kernel_wait_s * 1000 for item in outcome.items]))
    print(f"\n## Catalog: {len(folders)} fixtures from {catalog_dir} ({len(lanes)} tenants available)\n")
    print(f"{'mode':<38}{'wall s':>8}{'passed':>8}{'overhead p50':>14}{'p95':>6}{'kernel wait p50':>17}")
    for label, wall, passed, over, waits in rows:
        print(f"{label:<38}{wall:>8.1f}{passed:>5}/{len(folders):<2}{_median(over):>14.0f}{_pct(over, 95):>6.0f}"
              f"{_median(waits):>17.0f}")
    serial, parallel = rows[1][1], rows[2][1]
    print(f"\n--jobs 2 takes {parallel / serial:.0%} of the serial (--jobs 1) time; "
          f"serial pooled takes {serial / rows[0][1]:.0%} of the fresh-kernel serial time")


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
    parser.add_argument("--detect-runs", type=int, default=40, help="runs per detection mode")
    args = parser.parse_args()
    print(f"# Runner benchmark\n\n{machine()}")
    with sandbox():
        one_fixture(args.fixture, args.repeat)
        detection(args.fixture, args.detect_runs)
        catalog(args.catalog)
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
