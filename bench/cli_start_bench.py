"""CLI start-up benchmark: how long the commands a user types most take before they do their work.
A script, not a test: it prints the median (and min/max) of N runs per command and the machine.

    .venv/bin/python bench/cli_start_bench.py [--runs N] [--harness PATH] [--fixture DIR]

  harness --help                   the whole command, wall clock
  harness list --dir fixtures      the repository's catalog
  harness events ticket            the event catalog, filtered
  harness new <name>               into a temporary folder (a fresh name each run)
  harness run → kernel start       from starting `harness run --test <fixture>` to the kernel process
                                   appearing (imports, fixture checks, target, preflight); the run
                                   then completes normally. Runs against a throwaway sandbox.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import psutil

from common import machine, sandbox  # bench/common.py, shared by the benches

REPO = Path(__file__).resolve().parents[1]
KERNEL_MARK = "ipykernel"  # in the kernel process's command line
POLL_S = 0.002


def timed(argv: list[str], cwd: Path) -> float:
    """Seconds to run ``argv`` to completion; a failure stops the bench."""
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def until_kernel(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Seconds from starting ``argv`` to its first kernel descendant; then waits for it to finish."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent, seen = psutil.Process(process.pid), None
    while seen is None and process.poll() is None:
        for child in parent.children(recursive=True):
            try:
                if any(KERNEL_MARK in part for part in child.cmdline()):
                    seen = time.perf_counter() - start
                    break
            except psutil.Error:  # gone or not readable yet
                continue
        time.sleep(POLL_S)
    if process.wait() != 0 or seen is None:
        raise SystemExit(f"{' '.join(argv)} failed (exit {process.returncode}) or never started a kernel")
    return seen


def report(label: str, runs: int, measure: Callable[[int], float], target_s: float) -> None:
    measure(-1)  # warm the file cache: the first run after an install or edit is not what users see
    values = [measure(i) for i in range(runs)]
    median = statistics.median(values)
    verdict = "ok" if median <= target_s else "over"
    print(f"| {label} | {median:.3f} | {min(values):.3f} | {max(values):.3f} | {target_s:.1f} | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="runs per command (the median is reported)")
    parser.add_argument("--harness", type=Path, default=Path(sys.executable).with_name("harness"),
                        help="the harness executable (default: the one beside this Python)")
    parser.add_argument("--fixture", type=Path, default=REPO / "fixtures" / "ticket-created-hello")
    args = parser.parse_args()
    harness = str(args.harness)
    print(f"# CLI start-up benchmark\n\n{machine()}\n\n{args.runs} runs each, seconds\n")
    print("| command | median | min | max | target | |\n|---|---|---|---|---|---|")
    report("harness --help", args.runs, lambda _: timed([harness, "--help"], REPO), 0.3)
    report("harness list", args.runs, lambda _: timed([harness, "list", "--dir", "fixtures"], REPO), 0.5)
    report("harness events", args.runs, lambda _: timed([harness, "events", "ticket"], REPO), 0.5)
    with tempfile.TemporaryDirectory(prefix="cli-bench-") as tmp:
        report("harness new", args.runs, lambda i: timed([harness, "new", f"bench-{i + 1}"], Path(tmp)), 1.0)
    with sandbox() as env, tempfile.TemporaryDirectory(prefix="cli-bench-") as artifacts:
        argv = [harness, "run", "--test", str(args.fixture), "--artifacts-dir", artifacts]
        report("harness run → kernel start", args.runs, lambda _: until_kernel(argv, REPO, {**os.environ, **env}), 0.3)
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
