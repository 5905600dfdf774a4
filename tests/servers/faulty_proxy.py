"""A TCP proxy in front of the loopback S3 server that fails requests as object storage does.

Three faults, each at a rate the test chooses (and may change between runs):

* reset: a new connection is reset before a byte of it is read (the server never sees the request);
* throttle: a request is answered by the proxy with S3's `503 SlowDown` and its XML error body, and never
  reaches the server;
* lost: a request reaches the server, the server acts on it and answers, and the proxy resets the
  connection instead of passing the answer on ("it happened but I was not told").

The proxy reads HTTP/1.1 request framing (Content-Length, chunked bodies, `Expect: 100-continue`) so that it
can decide per request; bytes are passed on as they come. Decisions come from one seeded random generator,
whose seed is printed (pytest shows it with a failing test); threads make the sequence of requests vary, so a
seed reproduces the rates, not the exact requests.
"""

from __future__ import annotations

import os
import random
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import pytest
from servers.s3 import S3Server

_HEAD_END = b"\r\n\r\n"
_MAX_HEAD_BYTES = 64 * 1024
_SLOW_DOWN_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
    b"<RequestId>FAULTPROXY</RequestId><HostId>faulty-proxy</HostId></Error>"
)
_SLOW_DOWN = (
    b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
    + f"Content-Length: {len(_SLOW_DOWN_BODY)}\r\n\r\n".encode()
    + _SLOW_DOWN_BODY
)
# How long a throttled client may go on sending the body the proxy discards.
_DRAIN_SECONDS = 5.0


@dataclass(frozen=True)
class FaultRates:
    reset: float = 0.0  # share of new connections
    throttle: float = 0.0  # share of requests
    lost: float = 0.0  # share of responses


@dataclass
class FaultCounts:
    connections: int = 0
    requests: int = 0
    resets: int = 0
    throttled: int = 0
    lost: int = 0


@dataclass
class _Rule:
    """Lose the answers of the next `times` requests with this method whose path contains `path_part`."""

    method: str
    path_part: str
    times: int


@dataclass
class _Faults:
    """The decisions, shared by every connection's threads."""

    seed: int
    rates: FaultRates = field(default_factory=FaultRates)
    counts: FaultCounts = field(default_factory=FaultCounts)
    rules: list[_Rule] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def reset_connection(self) -> bool:
        with self._lock:
            self.counts.connections += 1
            reset = self._random.random() < self.rates.reset
            self.counts.resets += reset
            return reset

    def for_request(self, method: str, path: str) -> str:
        """What happens to a request: "throttle", "lose" (its answer) or "pass"."""
        with self._lock:
            self.counts.requests += 1
            for rule in self.rules:
                if rule.times and rule.method == method and rule.path_part in path:
                    rule.times -= 1
                    return "lose"
            if self._random.random() < self.rates.throttle:
                self.counts.throttled += 1
                return "throttle"
            return "lose" if self._random.random() < self.rates.lost else "pass"

    def answer_lost(self) -> None:
        with self._lock:
            self.counts.lost += 1


class _Reader:
    """Buffered reads of a socket, passing bytes on to another socket where asked."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def head(self) -> bytes | None:
        """The next message head, through its blank line; None at the end of the stream."""
        while _HEAD_END not in self.buffer:
            if len(self.buffer) > _MAX_HEAD_BYTES or not self._fill():
                return None
        head, _, self.buffer = self.buffer.partition(_HEAD_END)
        return head + _HEAD_END

    def line(self, sink: socket.socket) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError("stream ended inside a chunked body")
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        sink.sendall(line + b"\r\n")
        return line

    def pass_on(self, count: int, sink: socket.socket) -> None:
        while count:
            if not self.buffer and not self._fill():
                raise ConnectionError("stream ended inside a body")
            piece, self.buffer = self.buffer[:count], self.buffer[count:]
            sink.sendall(piece)
            count -= len(piece)

    def pass_on_chunked(self, sink: socket.socket) -> None:
        while True:
            size = int(self.line(sink).split(b";")[0], 16)
            if size == 0:
                while self.line(sink):  # trailers, through the empty line
                    pass
                return
            self.pass_on(size + 2, sink)  # the chunk and its CRLF


def _headers(head: bytes) -> tuple[str, str, dict[str, str]]:
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, path, _ = [*request_line.split(" "), "", ""][:3]
    headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return method, unquote(path), headers


def _reset(sock: socket.socket) -> None:
    """Close with an RST, as a store's load balancer that drops a connection does."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Wakes a thread blocked reading the socket (no packet is sent), so that the close below is the last
        # reference and the kernel resets the connection now.
        sock.shutdown(socket.SHUT_RD)
    sock.close()


class _Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket, faults: _Faults) -> None:
        self.client, self.upstream, self.faults = client, upstream, faults
        self.lose_next_answer = False
        self.closed = threading.Event()

    def requests(self) -> None:
        """Client to server: each request passed on, throttled, or marked so that its answer is lost."""
        reader = _Reader(self.client)
        while (head := reader.head()) is not None:
            method, path, headers = _headers(head)
            decision = self.faults.for_request(method, path)
            if decision == "throttle":
                self._slow_down(reader)
                return
            self.lose_next_answer = decision == "lose"
            self.upstream.sendall(head)
            if "chunked" in headers.get("transfer-encoding", "").lower():
                reader.pass_on_chunked(self.upstream)
            else:
                reader.pass_on(int(headers.get("content-length", "0") or 0), self.upstream)

    def _slow_down(self, reader: _Reader) -> None:
        """Answer 503 SlowDown, then read and drop whatever the client still sends until it closes."""
        self.client.sendall(_SLOW_DOWN)
        self.client.shutdown(socket.SHUT_WR)
        self.client.settimeout(_DRAIN_SECONDS)
        with suppress(OSError):
            while reader.sock.recv(65536):
                pass

    def answers(self) -> None:
        """Server to client: the bytes passed on, but a lost answer's connection reset when it starts."""
        while data := self.upstream.recv(65536):
            interim = data.startswith(b"HTTP/1.1 100") or data.startswith(b"HTTP/1.0 100")
            if self.lose_next_answer and data.startswith(b"HTTP/") and not interim:
                self.faults.answer_lost()
                _reset(self.client)
                return
            if data.startswith(b"HTTP/") and not interim:
                self.lose_next_answer = False
            self.client.sendall(data)

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class FaultyProxy:
    """The proxy on a free port of 127.0.0.1, in front of `upstream` (an `http://host:port` endpoint)."""

    def __init__(self, upstream: str, seed: int | None = None) -> None:
        parsed = urlsplit(upstream)
        self._upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        seed = seed if seed is not None else int(os.environ.get("FAULT_PROXY_SEED", random.randrange(2**32)))
        print(f"fault proxy seed {seed} (FAULT_PROXY_SEED={seed} to use it again)")
        self._faults = _Faults(seed)
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler, bind_and_activate=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faulty-proxy", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def seed(self) -> int:
        return self._faults.seed

    def set_rates(self, rates: FaultRates) -> FaultCounts:
        """Inject faults at these rates from now on; returns fresh counts for them."""
        self._faults.rates, self._faults.counts = rates, FaultCounts()
        return self._faults.counts

    def lose_answers(self, method: str, path_part: str, times: int = 1) -> None:
        """Lose the answers of the next `times` requests of `method` whose path contains `path_part`."""
        self._faults.rules.append(_Rule(method, path_part, times))

    def rules_left(self) -> int:
        """How many answers the rules still have to lose."""
        return sum(rule.times for rule in self._faults.rules)

    def clear_rules(self) -> None:
        self._faults.rules.clear()

    def _serve(self, client: socket.socket) -> None:
        if self._faults.reset_connection():
            _reset(client)
            return
        try:
            upstream = socket.create_connection(self._upstream)
        except OSError:
            _reset(client)
            return
        connection = _Connection(client, upstream, self._faults)
        answers = threading.Thread(target=self._quietly, args=(connection.answers, connection), daemon=True)
        answers.start()
        self._quietly(connection.requests, connection)
        answers.join()

    @staticmethod
    def _quietly(step, connection: _Connection) -> None:
        """A direction of a connection until it ends; a broken connection ends both directions."""
        with suppress(OSError, ValueError):
            step()
        connection.close()

    def start(self) -> FaultyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running_faulty_proxy(upstream: str, seed: int | None = None) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(upstream, seed).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="module", name="faulty_proxy")
def faulty_proxy_fixture(s3_server: S3Server) -> Iterator[FaultyProxy]:
    """A proxy in front of the module's S3 server (import this fixture and `s3_server_fixture`); no faults
    until a test sets rates."""
    with running_faulty_proxy(s3_server.endpoint) as proxy:
        yield proxy
