"""A Symbolicator on 127.0.0.1 for tests and benchmarks, speaking SPEC Part II §6.

It answers `/symbolicate`, `/symbolicate-js` and `/symbolicate-jvm` from the embedded backend (real
`symbolic` lookups over a symbol store), refuses a JVM body Symbolicator would refuse with HTTP 400,
records every request, and misbehaves as told:

* `pending_polls`: answer `pending` on create and on the first N-1 polls of each task;
* `poll_404_first`: answer 404 to the first N polls (the client must re-submit);
* `unavailable_first`: answer `unavailable_status` (502/503) to the first N requests;
* `delay`: seconds to wait before answering (for the client's deadline);
* `answer`: a fixed JSON answer instead of the real one (`failed`, `timeout`, ...);
* `garbage`: answer 200 with a body that is not JSON;
* `http_status`: answer this status (e.g. 500) with an empty body.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from transforms.deobfuscation.embedded_jvm import InvalidJvmRequest
from transforms.symbolication.embedded import EmbeddedBackend

ROUTES = {"/symbolicate": "native", "/symbolicate-js": "js", "/symbolicate-jvm": "jvm"}


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class Behaviour:
    pending_polls: int = 0
    poll_404_first: int = 0
    unavailable_first: int = 0
    unavailable_status: int = 503
    delay: float = 0.0
    answer: dict[str, Any] | None = None
    garbage: bool = False
    http_status: int | None = None


@dataclass
class SymbolicatorServer:
    store: str
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.backend = EmbeddedBackend(self.store, 64, 1 << 30)
        self._lock = threading.Lock()
        # Set at shutdown: a slow answer waits on it, so that stopping the server never waits out a delay.
        self._stopping = threading.Event()
        self._tasks: dict[str, dict[str, Any]] = {}  # request id ⇒ {"answer": ..., "polls_left": n}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> SymbolicatorServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def creates(self, path: str | None = None) -> list[Received]:
        """The task-creating requests received (on one route, or on all)."""
        return [r for r in self.requests if r.method == "POST" and (path is None or r.path == path)]

    def _respond(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, bytes]:
        behaviour = self.behaviour
        with self._lock:
            number = len(self.requests)
            polls = sum(1 for r in self.requests if r.method == "GET")
        if behaviour.delay:
            # A slow Symbolicator, so that the client's deadline is what ends the request; the tests
            # assert on what the client does, never on how long anything took.
            self._stopping.wait(behaviour.delay)
        if number <= behaviour.unavailable_first:
            return behaviour.unavailable_status, b""
        if behaviour.http_status is not None:
            return behaviour.http_status, b""
        if behaviour.garbage:
            return 200, b"<html>not json"
        if method == "GET":
            if polls <= behaviour.poll_404_first:
                return 404, b""
            return self._poll(path.rsplit("/", 1)[-1])
        if path not in ROUTES or body is None:
            return 404, b""
        try:
            answer = behaviour.answer if behaviour.answer is not None else getattr(self.backend, ROUTES[path])(body)
        except InvalidJvmRequest:
            return 400, b""
        if behaviour.pending_polls:
            request_id = uuid.uuid4().hex
            with self._lock:
                self._tasks[request_id] = {"answer": answer, "polls_left": behaviour.pending_polls}
            return 200, json.dumps({"status": "pending", "request_id": request_id, "retry_after": 30}).encode()
        return 200, json.dumps(answer).encode()

    def _poll(self, request_id: str) -> tuple[int, bytes]:
        with self._lock:
            task = self._tasks.get(request_id)
            if task is None:
                return 404, b""
            task["polls_left"] -= 1
            if task["polls_left"] > 0:
                return 200, json.dumps({"status": "pending", "request_id": request_id, "retry_after": 30}).encode()
            del self._tasks[request_id]
        return 200, json.dumps(task["answer"]).encode()


def _handler(server: SymbolicatorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self, method: str) -> None:
            parsed = urlparse(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            received = Received(
                method,
                parsed.path,
                {key: values[0] for key, values in parse_qs(parsed.query).items()},
                {key.lower(): value for key, value in self.headers.items()},
                body,
            )
            with server._lock:
                server.requests.append(received)
            status, payload = server._respond(method, parsed.path, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            self._handle("POST")

        def do_GET(self) -> None:
            self._handle("GET")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
