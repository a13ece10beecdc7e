"""Test doubles for a tenant's email provider, run by the fixture's own process on loopback: an address
nothing listens on, and a Resend-style HTTP API that answers every send with one failure."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def closed_port() -> int:
    """A loopback port nothing listens on (a connection to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FailingApi:
    """An HTTP server on 127.0.0.1 answering every request with ``status`` and ``{"message": message}``,
    until :meth:`close`. ``requests`` counts what it was asked."""

    def __init__(self, status: int, message: str) -> None:
        double = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                double.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.dumps({"statusCode": status, "message": message}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
