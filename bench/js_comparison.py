"""Our runner versus AlgaPSA's own JS fixture harness, on one sandbox, in one run.

What is measured, against the same freshly started sandbox (temporary folder, free loopback port):

1. AlgaPSA's JS harness (``tools/workflow-harness/run.cjs``) running its fixtures that share a name
   with our catalog (``fixtures/*``), one after another, the way its users run them: one
   ``node run.cjs --test <dir> --base-url ... --tenant ... --force`` process per fixture, the API key
   in ``WORKFLOW_HARNESS_API_KEY`` and the sandbox's read-write (writer) role in ``DATABASE_URL``
   (the JS harness pauses workflows and cleans up through that one URL). Wall time from the first
   spawn to the last exit, and each fixture's PASS/FAIL.
2. ``harness run-all --jobs 2 fixtures/`` as a subprocess of the installed ``harness`` CLI, pointed at
   the same sandbox through BASE_URL/TENANT_ID/DATABASE_URL/DATABASE_WRITE_URL/WORKFLOW_HARNESS_API_KEY
   and HARNESS_SANDBOX_DIR (so the sandbox's second tenant is a lane): wall time from process start
   to exit.
3. With ``--jobs1``, ``harness run-all --jobs 1`` the same way.

Tools alternate order across repeats (A B, B A, ...); the table shows medians. AlgaPSA's code is
never copied into this repository: ``tools/workflow-harness`` and the needed
``ee/test-data/workflow-harness`` folders (plus its shared ``_lib``) are extracted at run time from
``--alga-repo`` (a work tree, or a bare repository read with ``git archive HEAD``) into a temporary
folder. The npm ``pg`` package comes from ``--node-modules`` or ``npm install --no-save pg`` there.

    .venv/bin/python bench/js_comparison.py [--alga-repo PATH] [--repeat N] [--node-modules DIR]
                                           [--catalog DIR] [--jobs1]

A script, not a test: it prints tables and the machine it ran on, and hides no failure (a JS
fixture that fails is listed with its first error line; a name with no JS fixture upstream is named
and left out of the common count, while run-all still runs the whole folder).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from harness.sandbox.state_file import env_for

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fresh_sandbox, machine  # noqa: E402 (bench/common.py, shared by the benches)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ALGA = Path("/work/.mirror/Nine-Minds+alga-psa/repo")
JS_TOOL = "tools/workflow-harness"
JS_FIXTURES = "ee/test-data/workflow-harness"
JS_TIMEOUT_S = 180  # per node process; run.cjs has its own 60 s global timeout
RUN_ALL_TIMEOUT_S = 1800
VERDICT = re.compile(r"^(PASS|FAIL) (\S+) (\d+)(?: (.*))?$")
TARGET_VARS = ("BASE_URL", "TENANT_ID", "DATABASE_URL", "PG_CONNECTION_STRING", "DATABASE_WRITE_URL",
               "WORKFLOW_HARNESS_API_KEY", "ALGA_API_KEY", "COOKIE_FILE", "HARNESS_COOKIE", "TIMEOUT_MS",
               "ARTIFACTS_DIR", "HARNESS_SANDBOX", "HARNESS_SANDBOX_DIR", "HARNESS_JOURNAL_DIR",
               "HARNESS_LOCK_DIR", "NODE_PATH")


class BenchError(Exception):
    """A setup problem, reported as one ``error:`` line."""


@dataclass
class Verdict:
    passed: bool
    reported_ms: int | None  # the tool's own duration on its PASS/FAIL line
    wall_ms: float | None  # JS: the node process; ours: time since run-all started when the line came
    reason: str = ""


@dataclass
class ToolRun:
    tool: str
    wall_s: float
    exit_code: int | None
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    first_line_s: float | None = None  # ours: process start → first PASS/FAIL line
    last_line_s: float | None = None  # ours: process start → last PASS/FAIL line
    note: str = ""


# ---------------------------------------------------------------- AlgaPSA checkout


def _git(repo: Path, *args: str) -> bytes:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True)
    if done.returncode != 0:
        raise BenchError(f"git {' '.join(args[:2])} in {repo} failed: "
                         f"{done.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
    return done.stdout


def extract_alga(repo: Path, names: list[str], dest: Path) -> tuple[Path, Path, list[str]]:
    """Put AlgaPSA's JS harness and the fixtures named ``names`` (with ``_lib``) under ``dest``.

    Returns the harness folder, the fixtures folder and the names that have no JS fixture upstream
    (no folder, or one without ``bundle.json`` + ``test.cjs``).
    """
    if (repo / JS_TOOL / "run.cjs").is_file():  # a work tree
        present = [n for n in names if (repo / JS_FIXTURES / n / "bundle.json").is_file()
                   and (repo / JS_FIXTURES / n / "test.cjs").is_file()]
        wanted = [JS_TOOL, *(f"{JS_FIXTURES}/{n}" for n in present)]
        if (repo / JS_FIXTURES / "_lib").is_dir():
            wanted.append(f"{JS_FIXTURES}/_lib")
        for rel in wanted:
            shutil.copytree(repo / rel, dest / rel, symlinks=True)
    else:  # a bare repository (or a work tree whose files we read from HEAD)
        try:
            listing = _git(repo, "ls-tree", "-r", "--name-only", "HEAD", "--", JS_FIXTURES).decode().splitlines()
        except BenchError as exc:
            raise BenchError(f"{repo} is neither an AlgaPSA work tree nor a git repository ({exc})") from None
        files = set(listing)
        present = [n for n in names if f"{JS_FIXTURES}/{n}/bundle.json" in files
                   and f"{JS_FIXTURES}/{n}/test.cjs" in files]
        wanted = [JS_TOOL, *(f"{JS_FIXTURES}/{n}" for n in present)]
        if any(f.startswith(f"{JS_FIXTURES}/_lib/") for f in files):
            wanted.append(f"{JS_FIXTURES}/_lib")
        archive = _git(repo, "archive", "--format=tar", "HEAD", "--", *wanted)
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
    if not (dest / JS_TOOL / "run.cjs").is_file():
        raise BenchError(f"{repo} has no {JS_TOOL}/run.cjs")
    return dest / JS_TOOL, dest / JS_FIXTURES, [n for n in names if n not in present]


def node_path(node_modules: Path | None, workdir: Path) -> str | None:
    """The NODE_PATH that makes ``require('pg')`` work: ``--node-modules``, else a fresh npm install."""
    if node_modules is not None:
        for candidate in (node_modules, node_modules / "node_modules"):
            if (candidate / "pg" / "package.json").is_file():
                return str(candidate.resolve())
        raise BenchError(f"--node-modules {node_modules}: no pg package there (expected {node_modules}/pg)")
    npm = shutil.which("npm")
    if npm is None:
        raise BenchError("npm not found on PATH; install node/npm or pass --node-modules DIR holding pg")
    done = subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error", "pg"],
                          cwd=workdir, capture_output=True, text=True)
    if done.returncode != 0 or not (workdir / "node_modules" / "pg").is_dir():
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise BenchError(f"npm install pg failed (exit {done.returncode}): {last}; pass --node-modules DIR")
    return None  # node finds <workdir>/node_modules by walking up from the harness files


# ---------------------------------------------------------------- sandbox and environments


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in TARGET_VARS and not k.startswith("HARNESS_LANE")}


def js_env(state: dict, node_modules: str | None) -> dict[str, str]:
    """The JS harness's environment: API key, and the writer role as its one (read-write) DATABASE_URL."""
    target = env_for(state)
    env = _clean_env() | {"WORKFLOW_HARNESS_API_KEY": target["WORKFLOW_HARNESS_API_KEY"],
                          "DATABASE_URL": target["DATABASE_WRITE_URL"]}
    if node_modules:
        env["NODE_PATH"] = node_modules
    return env


def ours_env(state: dict, sandbox_dir: Path, scratch: Path) -> dict[str, str]:
    """run-all's environment: the sandbox's first tenant, its folder (lanes, locks), scratch artifacts."""
    return _clean_env() | env_for(state) | {
        "HARNESS_SANDBOX_DIR": str(sandbox_dir), "ARTIFACTS_DIR": str(scratch / "artifacts-ours"),
        "HARNESS_JOURNAL_DIR": str(scratch / "journal-ours")}


# ---------------------------------------------------------------- the tools


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def run_js(harness_dir: Path, fixtures_dir: Path, names: list[str], state: dict, env: dict[str, str],
           artifacts: Path) -> ToolRun:
    """One ``node run.cjs`` per fixture, in name order; wall from the first spawn to the last exit."""
    tenant = env_for(state)["TENANT_ID"]
    verdicts: dict[str, Verdict] = {}
    started = time.monotonic()
    for name in names:
        cmd = ["node", str(harness_dir / "run.cjs"), "--test", str(fixtures_dir / name), "--base-url",
               state["base_url"], "--tenant", tenant, "--force", "--artifacts-dir", str(artifacts)]
        began = time.monotonic()
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=JS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            verdicts[name] = Verdict(False, None, JS_TIMEOUT_S * 1000, f"node killed after {JS_TIMEOUT_S} s")
            continue
        wall_ms = (time.monotonic() - began) * 1000
        match = next((m for line in done.stdout.splitlines() if (m := VERDICT.match(line))), None)
        if match:
            verdicts[name] = Verdict(match[1] == "PASS" and done.returncode == 0, int(match[3]), wall_ms,
                                     match[4] or "")
        else:
            verdicts[name] = Verdict(False, None, wall_ms, f"exit {done.returncode}, no PASS/FAIL line: "
                                     f"{_first_line(done.stderr) or _first_line(done.stdout)}")
    return ToolRun("JS run.cjs, one process each", time.monotonic() - started, 0, verdicts)


def harness_cli() -> str:
    """The installed ``harness`` CLI: next to this interpreter, else on PATH."""
    here = Path(sys.executable).parent / "harness"
    found = str(here) if here.is_file() else shutil.which("harness")
    if not found:
        raise BenchError("the harness CLI is not installed (pip install -e . in the venv)")
    return found


def run_ours(catalog: Path, jobs: int, env: dict[str, str], scratch: Path) -> ToolRun:
    """``harness run-all --jobs N CATALOG``; wall from process start to exit, verdict lines timestamped."""
    stderr_path = scratch / f"run-all-j{jobs}.stderr"
    verdicts: dict[str, Verdict] = {}
    times: list[float] = []
    with open(stderr_path, "w") as err:
        started = time.monotonic()
        proc = subprocess.Popen([harness_cli(), "run-all", "--jobs", str(jobs), str(catalog)], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
        assert proc.stdout is not None
        watchdog = threading.Timer(RUN_ALL_TIMEOUT_S, proc.kill)  # a hung run-all must not hang the bench
        watchdog.start()
        try:
            for line in proc.stdout:  # stdout is a pipe: plain lines, no progress bar
                if m := VERDICT.match(line.strip()):
                    at = time.monotonic() - started
                    times.append(at)
                    verdicts[m[2]] = Verdict(m[1] == "PASS", int(m[3]), at * 1000, m[4] or "")
            code = proc.wait()
        finally:
            watchdog.cancel()
        wall = time.monotonic() - started
    note = ""
    if code not in (0, 1) or not verdicts:
        tail = [line for line in stderr_path.read_text(errors="replace").splitlines() if line.strip()][-3:]
        note = f"run-all --jobs {jobs} exited {code} with {len(verdicts)} verdict lines; stderr: {' | '.join(tail)}"
    return ToolRun(f"harness run-all --jobs {jobs}", wall, code, verdicts,
                   times[0] if times else None, times[-1] if times else None, note)


# ---------------------------------------------------------------- report


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _span(values: list[int]) -> str:
    return str(values[0]) if min(values) == max(values) else f"{min(values)}-{max(values)}"


def report(runs: dict[str, list[ToolRun]], names: list[str], common: list[str], missing: list[str]) -> None:
    """The summary table, failures, and per-fixture medians."""
    js_key = next(iter(runs))
    js_wall = _median([r.wall_s for r in runs[js_key]])
    print(f"\n## Totals (median of {len(runs[js_key])} run(s); common = the {len(common)} names with a JS fixture)\n")
    print(f"{'tool':<34}{'fixtures':>9}{'passed':>8}{'passed common':>15}{'wall s':>9}{'ours/JS':>9}")
    for key, rs in runs.items():
        count = _span([len(r.verdicts) for r in rs])
        passed = _span([sum(v.passed for v in r.verdicts.values()) for r in rs])
        passed_common = _span([sum(r.verdicts[n].passed for n in common if n in r.verdicts) for r in rs])
        wall = _median([r.wall_s for r in rs])
        ratio = "" if key == js_key else f"{wall / js_wall:.0%}"
        print(f"{rs[0].tool:<34}{count:>9}{passed:>8}{passed_common + '/' + str(len(common)):>15}{wall:>9.1f}"
              f"{ratio:>9}")
    if missing:
        print(f"\nno JS fixture upstream for {len(missing)} name(s), left out of the JS run and of 'common' "
              f"(run-all still ran them): {', '.join(missing)}")
    else:
        print(f"\nevery one of our {len(names)} fixture names has a JS fixture upstream")
    for key, rs in runs.items():
        for r in rs:
            if r.note:
                print(f"note: {r.note}")
        failed: dict[str, list[str]] = {}
        for r in rs:
            for name, v in sorted(r.verdicts.items()):
                if not v.passed:
                    failed.setdefault(name, []).append(v.reason)
        if key != js_key:
            for r in rs:
                absent = [n for n in names if n not in r.verdicts]
                if absent and r.verdicts:
                    print(f"{r.tool}: no verdict line for {', '.join(absent)}")
        if failed:
            print(f"\n{rs[0].tool}: {len(failed)} fixture(s) failed (times failed/runs, first error line)")
            for name, reasons in failed.items():
                reason = reasons[0].split(" Require stack:")[0]
                hint = " [the module is not in the checkout: upstream fixture problem]" if (
                    "Cannot find module" in reason) else ""
                print(f"  FAIL {name} ({len(reasons)}/{len(rs)}): {reason[:240]}{hint}")
    _per_fixture(runs, names)
    _where_time_goes(runs)


def _per_fixture(runs: dict[str, list[ToolRun]], names: list[str]) -> None:
    js_key = next(iter(runs))
    ours = [k for k in runs if k != js_key]
    print("\n## Per fixture (median ms; JS: node process wall and run.cjs's own duration; ours: reported duration)\n")
    header = f"{'fixture':<44}{'JS process':>11}{'JS own':>8}" + "".join(f"{'j' + k[-1] + ' own':>9}" for k in ours)
    print(header)
    for name in names:
        js = [r.verdicts[name] for r in runs[js_key] if name in r.verdicts]
        row = f"{name:<44}"
        row += f"{_median([v.wall_ms for v in js if v.wall_ms]):>11.0f}" if js else f"{'-':>11}"
        row += f"{_median([v.reported_ms for v in js if v.reported_ms]):>8.0f}" if js else f"{'-':>8}"
        for key in ours:
            vs = [r.verdicts[name].reported_ms for r in runs[key] if name in r.verdicts and r.verdicts[name].reported_ms]
            row += f"{_median(vs):>9.0f}" if vs else f"{'-':>9}"
        print(row)


def _where_time_goes(runs: dict[str, list[ToolRun]]) -> None:
    js_key = next(iter(runs))
    js = runs[js_key]
    spawn = [v.wall_ms - v.reported_ms for r in js for v in r.verdicts.values() if v.wall_ms and v.reported_ms]
    sums = [sum(v.reported_ms or 0 for v in r.verdicts.values()) / 1000 for r in js]
    print("\n## Where the time goes (medians)\n")
    print(f"JS: sum of run.cjs's own durations {_median(sums):.1f} s of {_median([r.wall_s for r in js]):.1f} s wall; "
          f"node start + module load + exit per process {_median(spawn):.0f} ms")
    passing = sorted(set.intersection(*({n for n, v in r.verdicts.items() if v.passed} for r in js)))
    if passing:
        js_serial = _median([sum(r.verdicts[n].wall_ms or 0 for n in passing) / 1000 for r in js])
        line = f"like for like, the {len(passing)} fixtures JS always passed: JS processes {js_serial:.1f} s in a row"
        for key, rs in runs.items():
            if key != js_key:
                own_s = _median([sum(r.verdicts[n].reported_ms or 0 for n in passing if n in r.verdicts) / 1000
                                 for r in rs])
                line += f"; {rs[0].tool}: their fixture durations sum to {own_s:.1f} s"
        print(line)
    for key, rs in runs.items():
        if key == js_key:
            continue
        own = [sum(v.reported_ms or 0 for v in r.verdicts.values()) / 1000 for r in rs]
        first = [r.first_line_s for r in rs if r.first_line_s is not None]
        tail = [r.wall_s - r.last_line_s for r in rs if r.last_line_s is not None]
        print(f"{rs[0].tool}: sum of fixture durations {_median(own):.1f} s over {_median([r.wall_s for r in rs]):.1f} s "
              f"wall; start → first verdict {_median(first):.1f} s; last verdict → exit {_median(tail):.1f} s")


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alga-repo", type=Path, default=DEFAULT_ALGA,
                        help="AlgaPSA work tree or bare repository (read at HEAD)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool, order alternating")
    parser.add_argument("--node-modules", type=Path, help="a folder holding the npm pg package (else npm install)")
    parser.add_argument("--catalog", type=Path, default=REPO / "fixtures", help="our fixtures folder")
    parser.add_argument("--jobs1", action="store_true", help="also measure harness run-all --jobs 1")
    args = parser.parse_args()

    names = sorted(p.name for p in args.catalog.iterdir() if p.is_dir() and (p / "bundle.json").is_file())
    print(f"# Our runner versus AlgaPSA's JS harness\n\n{machine()}")
    with tempfile.TemporaryDirectory(prefix="js-comparison-") as tmp:
        scratch = Path(tmp)
        try:
            harness_dir, fixtures_dir, missing = extract_alga(args.alga_repo, names, scratch / "alga")
            modules = node_path(args.node_modules, scratch / "alga")
            cli = harness_cli()
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        common = [n for n in names if n not in missing]
        head = _first_line(subprocess.run(["git", "-C", str(args.alga_repo), "log", "-1", "--format=%h %cs"],
                                          capture_output=True, text=True).stdout)
        print(f"AlgaPSA: {args.alga_repo} at {head or '?'}; node {_first_line(subprocess.run(['node', '--version'], capture_output=True, text=True).stdout)}; "
              f"harness CLI {cli}; {len(names)} fixtures in {args.catalog}")
        with fresh_sandbox("js-comparison-sandbox-") as (state, sandbox_dir):
            tools = {"js": lambda: run_js(harness_dir, fixtures_dir, common, state, js_env(state, modules),
                                          scratch / "artifacts-js"),
                     "ours2": lambda: run_ours(args.catalog, 2, ours_env(state, sandbox_dir, scratch), scratch)}
            if args.jobs1:
                tools["ours1"] = lambda: run_ours(args.catalog, 1, ours_env(state, sandbox_dir, scratch), scratch)
            runs: dict[str, list[ToolRun]] = {key: [] for key in tools}
            for i in range(args.repeat):
                order = list(tools) if i % 2 == 0 else list(reversed(tools))
                for key in order:
                    result = tools[key]()
                    runs[key].append(result)
                    passed = sum(v.passed for v in result.verdicts.values())
                    print(f"  run {i + 1}: {result.tool:<32} {result.wall_s:7.1f} s  {passed}/{len(result.verdicts)} passed"
                          + (f"  ({result.note})" if result.note else ""), flush=True)
        report(runs, names, common, missing)
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
