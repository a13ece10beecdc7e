"""A sandbox that stays responsive: expressions that would run for seconds fail with AlgaPSA's time
limit error while the server keeps answering, and oversized bodies are refused before they are read."""
from __future__ import annotations

import json
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.sandbox.api.body import MAX_BODY_BYTES
from harness.sandbox.runtime.expressions import DEFAULT_TIMEOUT_MS

from .runtime_helpers import REF, Runtime, assign, event_name, step_rows

HUGE = "[1..10000000]"  # one AST node that builds ten million items, then a result far over the size limit
OVERRUN = f"Expression evaluation exceeded {DEFAULT_TIMEOUT_MS:g}ms"


class HealthProbe:
    """``GET /healthz`` back to back on its own connection, counting answers, until stopped."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.answers: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            while not self._stop.is_set():
                try:
                    self.answers.append(client.get("/healthz").status_code)
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))

    def __enter__(self) -> "HealthProbe":
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()


def test_hostile_expressions_fail_with_the_time_limit_while_the_server_answers(rt: Runtime):
    _, name = rt.one_workflow([{"id": "explode", "type": "transform.assign", "config": assign(vars_big=HUGE)}])
    with HealthProbe(rt.t.base_url) as probe:
        with ThreadPoolExecutor(3) as pool:
            started = list(pool.map(lambda _: rt.trigger(name)["startedRuns"], range(3)))
        runs = [rt.finished(run_id, timeout_s=120) for [run_id] in started]
    assert probe.errors == [] and probe.answers and set(probe.answers) == {200}
    for run in runs:
        assert run["status"] == "FAILED"
        assert run["error_json"]["category"] == "ExpressionError"
        assert run["error_json"]["message"] == OVERRUN
        assert step_rows(rt.steps(run["run_id"])) == [("explode", "FAILED", 1)]

    # The server still evaluates ordinary expressions, in its fresh workers as well as inline.
    _, fine_name = rt.one_workflow([{"id": "ok", "type": "transform.assign",
                                        "config": assign(vars_greeting="'hello ' & payload.ticketId",
                                                         vars_count="len(toString([1..100]))")}])
    ticket = str(uuid.uuid4())
    [run_id] = rt.trigger(fine_name, {"ticketId": ticket})["startedRuns"]
    run = rt.finished(run_id)
    assert run["status"] == "SUCCEEDED", run["error_json"]
    assert rt.envelope(run_id)["vars"] == {"greeting": f"hello {ticket}", "count": 291}
    assert rt.http.get("/healthz").json() == {"ok": True}


def test_every_expression_site_is_bounded(rt: Runtime):
    """A condition, an action input and a trigger mapping: each overrun ends at the limit."""
    condition = {"$expr": f"len(toString({HUGE})) > 0"}
    _, guarded_name = rt.one_workflow(
        [{"id": "guard", "type": "control.if", "condition": condition, "then": [], "else": []}])
    _, action_name = rt.one_workflow([{"id": "notify", "type": "action.call", "config": {
        "actionId": "notifications.send_in_app", "version": 1,
        "inputMapping": {"recipients": {"user_ids": [rt.t.actor_user_id]}, "title": {"$expr": HUGE},
                         "body": "never sent"}}}])
    mapped_name = event_name()
    mapped, _ = rt.one_workflow([{"id": "mark", "type": "state.set", "config": {"state": "SEEN"}}],
                                event=mapped_name,
                                trigger={"type": "event", "eventName": mapped_name, "sourcePayloadSchemaRef": REF,
                                         "payloadMapping": {"ticketId": {"$expr": HUGE}}})
    with HealthProbe(rt.t.base_url) as probe:
        [guard_run] = rt.trigger(guarded_name)["startedRuns"]
        [action_run] = rt.trigger(action_name)["startedRuns"]
        mapped_response = rt.post_event(mapped_name, ref=None)
        guard, act = rt.finished(guard_run, timeout_s=120), rt.finished(action_run, timeout_s=120)
    assert probe.errors == [] and set(probe.answers) == {200}
    assert (guard["status"], guard["error_json"]["message"]) == ("FAILED", OVERRUN)
    assert (act["status"], act["error_json"]["message"], act["error_json"].get("path")) == (
        "FAILED", OVERRUN, "/title")
    assert mapped_response.status_code == 200 and mapped_response.json()["startedRuns"] == [], \
        "a trigger mapping that overruns starts no run"
    assert rt.runs(mapped) == []


# --- request bodies -------------------------------------------------------------------------------

def raw_request(base_url: str, head: str, chunks: list[bytes] = ()) -> tuple[int, dict[str, Any]]:
    """Send ``head`` and ``chunks`` on a plain socket, never finishing the body; the response's status and JSON."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536) or b"\r\n\r\n"
        header, _, body = data.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in header.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(body) < length:
            more = sock.recv(65536)
            assert more, "the server closed before its whole answer arrived"
            body += more
    return int(header.split()[1]), json.loads(body[:length])


def auth_head(rt: Runtime, method: str, path: str, extra: str) -> str:
    return (f"{method} {path} HTTP/1.1\r\nHost: sandbox\r\nx-api-key: {rt.t.api_key}\r\n"
            f"x-tenant-id: {rt.t.tenant_id}\r\ncontent-type: application/json\r\n{extra}\r\n")


def test_a_declared_oversized_body_is_refused_before_it_is_sent(rt: Runtime):
    head = auth_head(rt, "POST", "/api/workflow/events", f"content-length: {50 * MAX_BODY_BYTES}\r\n")
    assert raw_request(rt.t.base_url, head) == (413, {"error": f"Request body exceeds {MAX_BODY_BYTES} bytes"})
    head = auth_head(rt, "POST", "/api/v1/tickets", f"content-length: {MAX_BODY_BYTES + 1}\r\n")
    status, body = raw_request(rt.t.base_url, head)
    assert status == 413 and body["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_chunked_body_is_refused_once_it_passes_the_limit(rt: Runtime):
    piece = b"x" * 65536
    chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
    count = MAX_BODY_BYTES // len(piece) + 2  # just past the limit; the final empty chunk is never sent
    head = auth_head(rt, "POST", "/api/workflow/events", "transfer-encoding: chunked\r\n")
    assert raw_request(rt.t.base_url, head, [chunk] * count) == (
        413, {"error": f"Request body exceeds {MAX_BODY_BYTES} bytes"})
    assert rt.http.get("/healthz").status_code == 200


def test_a_chunked_body_within_the_limit_is_read_whole(rt: Runtime):
    _, name = rt.one_workflow([{"id": "mark", "type": "state.set", "config": {"state": "SEEN"}}])
    body = json.dumps({"eventName": name, "correlationKey": str(uuid.uuid4()), "payloadSchemaRef": REF,
                       "payload": {"ticketId": str(uuid.uuid4()), "pad": "y" * 200_000}}).encode()
    pieces = [body[i:i + 50_000] for i in range(0, len(body), 50_000)]
    response = rt.http.post("/api/workflow/events", content=iter(pieces), headers={"content-type": "application/json"})
    assert response.status_code == 200 and len(response.json()["startedRuns"]) == 1
