"""Sandbox runtime benchmark: event → terminal latency and sustained throughput.

Starts its own sandbox in a temporary folder (embedded Postgres, free loopback port), imports two
workflows and measures, through the real HTTP API and the database:

* latency of the golden workflow (state.set, transform.assign, control.return), one event at a
  time: from the HTTP response to the event POST ("accepted") to the run's ``completed_at``, and
  to the moment the client sees ``SUCCEEDED`` when polling ``workflow_runs``;
* the same for a 10-step workflow of ``notifications.send_in_app`` calls;
* a burst of concurrent event POSTs: sustained runs/s from the first POST until the last run is
  terminal, checking that every event produced exactly one run (none lost, none doubled);
* responsiveness under hostile expressions: ``GET /healthz`` latency (p50, p95, worst) while
  ``--hostile`` events each evaluate ``[1..10000000]`` at the same time, from the first POST until
  every hostile run is terminal (and the same probe on an idle server, for comparison).

Usage: ``.venv/bin/python bench/sandbox_bench.py [--latency-runs 200] [--burst 1000] [--clients 16] [--hostile 3]``
Prints a table; it asserts nothing (targets are judged by reading it).
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from harness.sandbox import control

REF = "payload.TicketCreated.v1"
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bundle(key: str, event: str, steps: list[dict[str, Any]], actions: list[str]) -> dict[str, Any]:
    definition = {"id": "00000000-0000-0000-0000-000000000000", "version": 1, "name": key, "payloadSchemaRef": REF,
                  "trigger": {"type": "event", "eventName": event}, "steps": steps}
    metadata = {"name": key, "description": None, "payloadSchemaRef": REF, "payloadSchemaMode": "pinned",
                "pinnedPayloadSchemaRef": REF, "trigger": definition["trigger"], "isSystem": False, "isVisible": True,
                "isPaused": False, "concurrencyLimit": None, "autoPauseOnFailure": False,
                "failureRateThreshold": None, "failureRateMinRuns": None, "retentionPolicyOverride": None}
    types = sorted({s["type"] for s in steps})
    return {"format": "alga-psa.workflow-bundle", "formatVersion": 1, "exportedAt": "2026-01-01T00:00:00.000Z",
            "workflows": [{"key": key, "metadata": metadata,
                           "dependencies": {"actions": [{"actionId": a, "version": 1} for a in actions],
                                            "nodeTypes": types, "schemaRefs": [REF]},
                           "draft": {"draftVersion": 1, "definition": definition},
                           "publishedVersions": [{"version": 1, "definition": definition, "payloadSchemaJson": None}]}]}


GOLDEN = [{"id": "mark-ready", "type": "state.set", "config": {"state": "READY"}},
          {"id": "say-hello", "type": "transform.assign",
           "config": {"assign": {"vars.greeting": {"$expr": "'hello ' & payload.ticketId"}}}},
          {"id": "finish", "type": "control.return"}]


def notify_steps(user_id: str) -> list[dict[str, Any]]:
    return [{"id": f"notify-{i}", "type": "action.call",
             "config": {"actionId": "notifications.send_in_app", "version": 1,
                        "inputMapping": {"recipients": {"user_ids": [user_id]},
                                         "title": f"bench step {i}",
                                         "body": {"$expr": "'ticket ' & payload.ticketId"},
                                         "dedupe_key": {"$expr": f"payload.ticketId & ':{i}'"}}}}
            for i in range(10)]


class Target:
    """The benchmark's sandbox: HTTP clients per thread and a polling database connection."""

    def __init__(self, state: dict[str, Any], directory: Path) -> None:
        tenant = state["tenants"][0]
        self.server = psutil.Process(state["pid"])
        self.postmaster_pid = directory / "pg" / "postmaster.pid"
        self.base_url, self.database_url = state["base_url"], state["database_url"]
        self.headers = {"x-api-key": tenant["api_key"], "x-tenant-id": tenant["tenant_id"]}
        self.actor = tenant["actor_user_id"]
        self._local = threading.local()

    def cpu_seconds(self) -> tuple[float, float, float]:
        """CPU time used so far by the sandbox server, its Postgres, and this benchmark process."""
        postmaster = psutil.Process(int(self.postmaster_pid.read_text().split()[0]))
        postgres = 0.0
        for process in [postmaster, *postmaster.children()]:
            try:
                postgres += sum(process.cpu_times()[:2])
            except psutil.NoSuchProcess:  # a backend that just exited
                continue
        return sum(self.server.cpu_times()[:2]), postgres, sum(os.times()[:2])

    def http(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(base_url=self.base_url, headers=self.headers, timeout=60)
        return client

    def import_workflow(self, data: dict[str, Any]) -> str:
        response = self.http().post("/api/workflow-definitions/import", params={"force": "true"}, json=data)
        response.raise_for_status()
        return response.json()["createdWorkflows"][0]["workflowId"]

    def post_event(self, event: str, key: str) -> tuple[list[str], datetime]:
        """POST one event; the started runs and the wall-clock time the response arrived."""
        response = self.http().post("/api/workflow/events", json={
            "eventName": event, "correlationKey": key, "payloadSchemaRef": REF, "payload": {"ticketId": key}})
        accepted = datetime.now(timezone.utc)
        response.raise_for_status()
        return response.json()["startedRuns"], accepted


def latency(target: Target, db: psycopg.Connection, event: str, runs: int, warmup: int) -> dict[str, list[float]]:
    """Sequential events; per run: accepted→completed_at and accepted→SUCCEEDED seen (ms)."""
    to_completed, to_seen, statuses = [], [], []
    for index in range(warmup + runs):
        [run_id], accepted = target.post_event(event, str(uuid.uuid4()))
        while True:
            status, completed_at = db.execute("SELECT status, completed_at FROM workflow_runs WHERE run_id = %s",
                                              (run_id,)).fetchone()
            if status in TERMINAL:
                seen = datetime.now(timezone.utc)
                break
            time.sleep(0.001)
        if index >= warmup:
            statuses.append(status)
            to_completed.append((completed_at - accepted).total_seconds() * 1000)
            to_seen.append((seen - accepted).total_seconds() * 1000)
    failed = [s for s in statuses if s != "SUCCEEDED"]
    if failed:
        print(f"warning: {len(failed)} latency runs did not succeed: {sorted(set(failed))}", file=sys.stderr)
    return {"completed": to_completed, "seen": to_seen}


def burst(target: Target, db: psycopg.Connection, workflow_id: str, event: str, count: int,
          clients: int) -> dict[str, Any]:
    """``count`` concurrent POSTs; throughput until every run is terminal, and exactly-once checks."""
    keys = [str(uuid.uuid4()) for _ in range(count)]
    cpu_before = target.cpu_seconds()
    started_at = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda key: target.post_event(event, key)[0], keys))
    posted_s = time.monotonic() - started_at
    run_ids = [run for runs in results for run in runs]
    while True:
        pending = db.execute("SELECT count(*) FROM workflow_runs WHERE workflow_id = %s AND status NOT IN "
                             "('SUCCEEDED','FAILED','CANCELED')", (workflow_id,)).fetchone()[0]
        if pending == 0:
            break
        if time.monotonic() - started_at > 600:
            raise SystemExit(f"burst did not finish: {pending} runs still pending")
        time.sleep(0.01)
    total_s = time.monotonic() - started_at
    cpu = [after - before for after, before in zip(target.cpu_seconds(), cpu_before)]
    rows = db.execute("SELECT input_json->>'ticketId', status FROM workflow_runs WHERE workflow_id = %s",
                      (workflow_id,)).fetchall()
    by_key: dict[str, int] = {}
    for key, _ in rows:
        by_key[key] = by_key.get(key, 0) + 1
    return {"posted_s": posted_s, "total_s": total_s, "responses": len(results), "run_ids": len(run_ids),
            "distinct_run_ids": len(set(run_ids)), "runs": len(rows),
            "lost": sum(1 for key in keys if key not in by_key), "doubled": sum(1 for n in by_key.values() if n > 1),
            "succeeded": sum(1 for _, status in rows if status == "SUCCEEDED"), "cpu": cpu}


HOSTILE = [{"id": "explode", "type": "transform.assign",
            "config": {"assign": {"vars.big": {"$expr": "[1..10000000]"}}}}]


def probe_health(target: Target, stop: threading.Event, latencies: list[float]) -> None:
    """GET /healthz back to back until ``stop`` is set; each latency in ms."""
    with httpx.Client(base_url=target.base_url, timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/healthz").raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)


def hostile(target: Target, db: psycopg.Connection, event: str, count: int) -> dict[str, Any]:
    """/healthz latency on an idle server, then while ``count`` hostile runs evaluate at the same time."""
    idle: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=probe_health, args=(target, stop, idle))
    prober.start()
    time.sleep(1.0)
    stop.set()
    prober.join()
    loaded: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=probe_health, args=(target, stop, loaded))
    prober.start()
    started = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        run_ids = [run for runs, _ in pool.map(lambda key: target.post_event(event, key),
                                                [str(uuid.uuid4()) for _ in range(count)]) for run in runs]
    while True:
        rows = db.execute("SELECT status, error_json->>'message' FROM workflow_runs WHERE run_id = ANY(%s::uuid[])",
                          (run_ids,)).fetchall()
        if len(rows) == len(run_ids) and all(status in TERMINAL for status, _ in rows):
            break
        if time.monotonic() - started > 600:
            raise SystemExit("hostile runs did not finish")
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    stop.set()
    prober.join()
    return {"idle": idle, "loaded": loaded, "elapsed_s": elapsed,
            "outcomes": sorted({f"{status}: {message}" for status, message in rows})}


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-runs", type=int, default=200)
    parser.add_argument("--action-runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--hostile", type=int, default=3, help="concurrent [1..10000000] events (0: skip)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        directory = Path(tmp)
        print(f"starting a sandbox in {directory} ...", file=sys.stderr)
        state = control.start(directory=directory, port=free_port())
        try:
            run_bench(Target(state, directory), args)
        finally:
            control.stop(directory)


def run_bench(target: Target, args: argparse.Namespace) -> None:
    golden_event, action_event, burst_event, hostile_event = (f"BENCH_{name}_{uuid.uuid4().hex[:6].upper()}"
                                                              for name in ("GOLDEN", "ACTIONS", "BURST", "HOSTILE"))
    target.import_workflow(bundle("bench.golden", golden_event, GOLDEN, []))
    actions = target.import_workflow(bundle("bench.actions", action_event, notify_steps(target.actor),
                                            ["notifications.send_in_app"]))
    burst_workflow = target.import_workflow(bundle("bench.burst", burst_event, GOLDEN, []))
    target.import_workflow(bundle("bench.hostile", hostile_event, HOSTILE, []))
    rows = []
    with psycopg.connect(target.database_url, autocommit=True) as db:
        print("measuring golden latency ...", file=sys.stderr)
        golden_ms = latency(target, db, golden_event, args.latency_runs, args.warmup)
        print("measuring 10-action latency ...", file=sys.stderr)
        action_ms = latency(target, db, action_event, args.action_runs, args.warmup // 2)
        print(f"burst of {args.burst} events from {args.clients} clients ...", file=sys.stderr)
        load = os.getloadavg()
        result = burst(target, db, burst_workflow, burst_event, args.burst, args.clients)
        steps = db.execute("SELECT count(*) FROM workflow_run_steps s JOIN workflow_runs r ON r.run_id = s.run_id "
                           "WHERE r.workflow_id = %s", (actions,)).fetchone()[0]
        notifications = db.execute("SELECT count(*) FROM internal_notifications WHERE title LIKE 'bench step %%'"
                                   ).fetchone()[0]
        if args.hostile:
            print(f"/healthz under {args.hostile} hostile events ...", file=sys.stderr)
            health = hostile(target, db, hostile_event, args.hostile)
    for label, series in (("golden (3 steps)", golden_ms), ("10 x notifications.send_in_app", action_ms)):
        for what, values in (("accepted -> completed_at", series["completed"]),
                             ("accepted -> client sees SUCCEEDED", series["seen"])):
            rows.append((label, what, len(values), pct(values, 50), pct(values, 95), max(values)))
    print()
    print(f"{'workflow':32} {'measure':36} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    print("-" * 102)
    for label, what, n, p50, p95, worst in rows:
        print(f"{label:32} {what:36} {n:>5} {p50:>8.1f} {p95:>8.1f} {worst:>8.1f}")
    print()
    print(f"burst: {result['responses']} events, {args.clients} concurrent clients (golden workflow)")
    print(f"  POSTs accepted in        {result['posted_s']:8.2f} s  ({result['responses'] / result['posted_s']:.0f}/s)")
    print(f"  all runs terminal after  {result['total_s']:8.2f} s  ({result['runs'] / result['total_s']:.0f} runs/s)")
    print(f"  runs: {result['runs']} (succeeded {result['succeeded']}), run ids returned: {result['run_ids']} "
          f"(distinct {result['distinct_run_ids']}), lost: {result['lost']}, doubled: {result['doubled']}")
    server, postgres, client = (seconds * 1000 / result["runs"] for seconds in result["cpu"])
    print(f"  CPU per run: server {server:.2f} ms, postgres {postgres:.2f} ms, benchmark client {client:.2f} ms "
          f"(load average before: {load[0]:.2f})")
    print(f"10-action workflow: {steps} step rows, {notifications} notifications written")
    if args.hostile:
        print()
        print(f"/healthz latency (ms)           {'n':>5} {'p50':>8} {'p95':>8} {'worst':>8}")
        for label, values in (("idle server", health["idle"]),
                              (f"{args.hostile} x [1..10000000] running", health["loaded"])):
            print(f"  {label:28} {len(values):>5} {pct(values, 50):>8.1f} {pct(values, 95):>8.1f} {max(values):>8.1f}")
        print(f"  hostile runs terminal after {health['elapsed_s']:.2f} s: {'; '.join(health['outcomes'])}")


if __name__ == "__main__":
    main()
