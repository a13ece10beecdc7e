"""Test doubles for a tenant's email provider, run by the fixture's own process on loopback: an address
nothing listens on, and a Resend-style HTTP API that gives every send the same answer."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def closed_port() -> int:
    """A loopback port nothing listens on (a connection to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ProviderApi:
    """An HTTP server on 127.0.0.1 answering every POST with ``status`` and the JSON ``body``, until
    :meth:`close`. ``requests`` holds the JSON bodies it was sent."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        requests: list[Any] = []
        self.requests = requests
        answer = json.dumps(body).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                requests.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or "null"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def failing_api(status: int, message: str) -> ProviderApi:
    """A Resend-style API that refuses every send with ``status`` and ``message``."""
    return ProviderApi(status, {"statusCode": status, "message": message})
