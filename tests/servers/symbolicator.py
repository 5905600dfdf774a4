"""A Symbolicator on 127.0.0.1 for tests and benchmarks, as strict as Symbolicator 25.11.1.

It answers `/symbolicate`, `/symbolicate-js` and `/symbolicate-jvm` with the embedded backend (real
`symbolic` lookups), from the sources each request names, as Symbolicator does: native debug files from
its `filesystem` sources; JavaScript artifacts and ProGuard mappings only through a `sentry` source,
whose lookup API it calls over HTTP (with the source's bearer token) and whose files it downloads into
a cache. The server starts such a lookup API over its store (`SymbolStoreApi`); `sources` is the
configuration that uses it and the store. Like Symbolicator it answers 400 to a `timeout` that is not
an integer and to a JVM body it cannot read, and 422 to a JS `source` that is not a `sentry` source.
It records every request, and misbehaves as told:

* `pending_polls`: answer `pending` on create and on the first N-1 polls of each task;
* `poll_404_first`: answer 404 to the first N polls (the client must re-submit);
* `unavailable_first`: answer `unavailable_status` (502/503) to the first N requests;
* `delay`: seconds to wait before answering (for the client's deadline);
* `answer`: a fixed JSON answer instead of the real one (`failed`, `timeout`, ...);
* `garbage`: answer 200 with a body that is not JSON;
* `http_status`: answer this status (e.g. 500) with `http_body` (empty by default).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests

from profile_pipeline.adapters import storage, symbol_store
from profile_pipeline.adapters.symbol_store_api import SymbolStoreApi
from profile_pipeline.adapters.symbolicator.embedded import EmbeddedBackend
from profile_pipeline.adapters.symbolicator.embedded_jvm import InvalidJvmRequest

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
    http_body: bytes = b""


@dataclass
class SymbolicatorServer:
    store: str
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lookup = SymbolStoreApi(self.store, token="lookup-token")
        # Files downloaded from sentry sources, laid out as a store (Symbolicator's download cache).
        self._downloads = tempfile.mkdtemp(prefix="symbolicator-downloads-")
        self._backends: dict[str, EmbeddedBackend] = {}
        self._lock = threading.Lock()
        self._fetching = threading.Lock()  # one download into the cache at a time
        # Set at shutdown: a slow answer waits on it, so that stopping the server never waits out a delay.
        self._stopping = threading.Event()
        self._tasks: dict[str, dict[str, Any]] = {}  # request id ⇒ {"answer": ..., "polls_left": n}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def sources(self) -> tuple[dict[str, Any], ...]:
        """The sources of a configuration that finds everything of the store: its lookup API, then the store."""
        filesystem = {"type": "filesystem", "id": "local", "path": self.store, "layout": {"type": "unified"}}
        return (self.lookup.source(), filesystem)

    def __enter__(self) -> SymbolicatorServer:
        self.lookup.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self.lookup.__exit__()
        shutil.rmtree(self._downloads, ignore_errors=True)

    def _backend(self, store: str) -> EmbeddedBackend:
        with self._lock:
            backend = self._backends.get(store)
            if backend is None:
                backend = self._backends[store] = EmbeddedBackend(store, 64, 1 << 30)
        return backend

    def creates(self, path: str | None = None) -> list[Received]:
        """The task-creating requests received (on one route, or on all)."""
        return [r for r in self.requests if r.method == "POST" and (path is None or r.path == path)]

    def _respond(self, method: str, path: str, query: dict[str, str], body: dict[str, Any] | None) -> tuple[int, bytes]:
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
            return behaviour.http_status, behaviour.http_body
        if behaviour.garbage:
            return 200, b"<html>not json"
        if "timeout" in query and not query["timeout"].isdigit():
            return 400, b"Failed to deserialize query string: timeout: invalid digit found in string"
        if method == "GET":
            if polls <= behaviour.poll_404_first:
                return 404, b""
            return self._poll(path.rsplit("/", 1)[-1])
        if path not in ROUTES or body is None:
            return 404, b""
        if ROUTES[path] == "js":
            source = body.get("source")
            if not isinstance(source, dict) or source.get("type") != "sentry" or "url" not in source:
                return 422, b"Failed to deserialize the JSON body into the target type: source: missing field `url`"
        try:
            answer = behaviour.answer if behaviour.answer is not None else self._answer(ROUTES[path], body)
        except InvalidJvmRequest as error:
            return 400, f"Failed to deserialize the JSON body into the target type: {error}".encode()
        if behaviour.pending_polls:
            request_id = uuid.uuid4().hex
            with self._lock:
                self._tasks[request_id] = {"answer": answer, "polls_left": behaviour.pending_polls}
            return 200, json.dumps({"status": "pending", "request_id": request_id, "retry_after": 30}).encode()
        return 200, json.dumps(answer).encode()

    def _answer(self, kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """The embedded backend's answer over the files the request's sources give."""
        sources = body.get("sources") or []
        if kind == "native":
            stores = [source["path"] for source in sources if source.get("type") == "filesystem"]
            # Without a filesystem source nothing is found: an empty directory stands in for it.
            return self._backend(stores[0] if stores else self._downloads + "/none").native(body)
        if kind == "js":
            self._fetch_release(body["source"], body.get("release"), body.get("dist"))
            return self._backend(self._downloads).js(body)
        for module in body.get("modules") or []:
            for source in sources:
                if source.get("type") == "sentry" and self._fetch_proguard(source, module.get("uuid")):
                    break
        return self._backend(self._downloads).jvm(body)

    @staticmethod
    def _get(source: dict[str, Any], url: str, params: dict[str, str] | None = None) -> requests.Response:
        """A call to a sentry source (its lookup API or a download it listed), with its token."""
        headers = {"Authorization": f"Bearer {source['token']}"} if source.get("token") else {}
        response = requests.get(url, params=params, headers=headers, timeout=10)
        response.raise_for_status()
        return response

    def _fetch_release(self, source: dict[str, Any], release: Any, dist: Any) -> None:
        if not isinstance(release, str):
            return
        params = {"release": release, **({"dist": dist} if isinstance(dist, str) else {})}
        directory = symbol_store.release_uri(self._downloads, release, dist if isinstance(dist, str) else None)
        with self._fetching:
            for artifact in self._get(source, source["url"], params).json():
                path = artifact["abs_path"].removeprefix("~/")
                storage.write_bytes(storage.join(directory, path), self._get(source, artifact["url"]).content)

    def _fetch_proguard(self, source: dict[str, Any], debug_id: Any) -> bool:
        listed = self._get(source, source["url"], {"debug_id": str(debug_id)}).json()
        if not listed:
            return False
        data = self._get(source, source["url"], {"id": listed[0]["id"]}).content
        with self._fetching:
            storage.write_bytes(symbol_store.object_uri(self._downloads, str(debug_id), "proguard"), data)
        return True

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
            status, payload = server._respond(method, parsed.path, received.query, body)
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
