"""A vroom ingest API on 127.0.0.1 for tests and benchmarks: `POST /profile` and `POST /chunk` (SPEC §7).

It checks what Sentry's client sends (path, `Content-Encoding: br`, a brotli body holding a JSON
object), records every request, counts the requests in flight and their peak, and answers as told:

* `status`: the answer to a well-formed request (204 stored, 412 duplicate, 429, 500, ...);
* `fail_first`: answer `fail_status` to the first N well-formed requests, then `status`;
* `latency`: seconds to wait before answering;
* `hold_until_in_flight`: hold each request until this many are in flight (or `hold_timeout` passes),
  which makes the peak reached deterministic;
* `drop_first`: close the connection without an answer for the first N requests.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import brotli

PATHS = ("/profile", "/chunk")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    status: int | None  # None for a dropped connection


@dataclass
class Behaviour:
    status: int = 204
    fail_first: int = 0
    fail_status: int = 500
    latency: float = 0.0
    hold_until_in_flight: int = 0
    hold_timeout: float = 5.0
    drop_first: int = 0


@dataclass
class VroomServer:
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._released = threading.Event()
        self._seen = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> VroomServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()  # wakes held and slow requests
        with self._lock:
            self._lock.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def stored(self) -> list[Received]:
        return [request for request in self.requests if request.status in (204,)]

    def _enter(self) -> int:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self._seen += 1
            self._lock.notify_all()
            target = self.behaviour.hold_until_in_flight
            if target:
                self._lock.wait_for(
                    lambda: self.in_flight >= target or self._released.is_set(), self.behaviour.hold_timeout
                )
            return self._seen

    def _leave(self, received: Received) -> None:
        with self._lock:
            self.in_flight -= 1
            self.requests.append(received)

    def _answer(self, number: int, path: str, headers: dict[str, str], raw: bytes) -> int | None:
        """The status for a request (None: drop it); the request itself is checked first."""
        if self.behaviour.latency:
            self._released.wait(self.behaviour.latency)
        if number <= self.behaviour.drop_first:
            return None
        if path not in PATHS:
            return 404
        if headers.get("content-encoding") != "br" or headers.get("content-type") != "application/json":
            return 400
        if number <= self.behaviour.drop_first + self.behaviour.fail_first:
            return self.behaviour.fail_status
        return self.behaviour.status


def _decode(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(brotli.decompress(raw))
    except (brotli.error, ValueError):
        return None
    return body if isinstance(body, dict) else None


def _handler(server: VroomServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {key.lower(): value for key, value in self.headers.items()}
            body = _decode(raw)
            number = server._enter()
            status = server._answer(number, self.path, headers, raw)
            if status is not None and body is None and self.path in PATHS:
                status = 400
            server._leave(Received(self.path, headers, body, status))
            if status is None:
                self.close_connection = True
                self.connection.shutdown(2)  # socket.SHUT_RDWR: the client sees the connection drop
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `server.requests` instead."""

    return Handler
