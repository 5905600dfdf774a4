"""Symbolicator mode: the §6 protocol against a real HTTP server answering from the embedded backend."""

from __future__ import annotations

import copy
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from servers.symbol_profiles import CRASH_ID, CRASH_INLINED, HELLO_ID, RELEASE, build_store, cocoa_profile, macho
from servers.symbolicator import Behaviour, SymbolicatorServer

from profile_pipeline.adapters.symbolicator.backend import get_backend
from profile_pipeline.adapters.symbolicator.client import SymbolicatorBackend
from profile_pipeline.adapters.symbolicator.embedded import EmbeddedBackend
from profile_pipeline.config import SymbolicationConfig, load_config
from profile_pipeline.stages.symbolication import symbolicate_profiles

TOKEN = "s3cr3t-token-value"
SOURCES = (
    {"type": "http", "id": "mine", "url": "https://symbols.example/", "headers": {"authorization": f"Bearer {TOKEN}"}},
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_store(tmp_path_factory.mktemp("symbols"))


@pytest.fixture
def server(store: str) -> Iterator[SymbolicatorServer]:
    with SymbolicatorServer(store) as running:
        yield running


def client(server: SymbolicatorServer | str, **overrides: Any) -> SymbolicatorBackend:
    """A client of the server, with its sources (lookup API and store) before an HTTP source of our own."""
    running = isinstance(server, SymbolicatorServer)
    settings = {
        "mode": "symbolicator",
        "symbolicator_url": server.url if running else server,
        "sources": (*server.sources, *SOURCES) if running else SOURCES,
        "backoff_initial_seconds": 0.01,
        "network_retry_wait_seconds": 0.01,
    }
    return SymbolicatorBackend(SymbolicationConfig(**{**settings, **overrides}), 42)


def profiles() -> list[dict[str, Any]]:
    out = []
    for number in range(4):
        base = 0x100000000 + number * 0x1000000
        out.append(
            cocoa_profile(
                [base + 0xFA0, base + 0x800000 + CRASH_INLINED],
                [[0], [1, 0]],
                [macho(HELLO_ID, base, size=0x2000), macho(CRASH_ID, base + 0x800000)],
            )
        )
    rn = {
        "version": "1",
        "platform": "javascript",
        "release": RELEASE,
        "dist": "7",
        "debug_meta": {"images": [macho(CRASH_ID, 0x30000000)]},
        "profile": {
            "frames": [
                {"abs_path": "app:///embedded.js", "lineno": 1, "colno": 39},
                {"platform": "cocoa", "instruction_addr": hex(0x30000000 + CRASH_INLINED)},
            ],
            "stacks": [[1, 0]],
            "samples": [],
        },
    }
    return [*out, rn]


def run(batch: list[dict[str, Any]], backend: Any) -> list[BaseException | None]:
    return symbolicate_profiles([(profile, 42) for profile in batch], lambda _: backend)


def test_same_profiles_as_embedded_with_one_request_per_pass(server: SymbolicatorServer, store: str) -> None:
    remote, local = profiles(), profiles()
    assert run(remote, client(server)) == [None] * 5
    assert run(local, EmbeddedBackend(store, 8, 1 << 30)) == [None] * 5
    assert remote == local
    assert remote[0]["profile"]["frames"][1]["function"] == "main"
    assert [r.path for r in server.creates()] == ["/symbolicate", "/symbolicate-js", "/symbolicate"]
    first = server.creates()[0]
    assert first.query == {"timeout": "5", "scope": "42"}  # whole seconds, as Symbolicator reads it
    assert first.headers["x-sentry-project-id"] == "42" and len(first.headers["x-sentry-worker-id"]) == 32
    assert first.body["sources"] == [*server.sources, *SOURCES]
    # JS takes one source, the sentry one: the server's lookup API
    assert server.creates("/symbolicate-js")[0].body["source"] == server.sources[0]
    assert server.creates("/symbolicate-js")[0].body["release"] == RELEASE


def test_pending_then_polled(server: SymbolicatorServer) -> None:
    server.behaviour = Behaviour(pending_polls=3)
    batch = profiles()[:2]
    assert run(batch, client(server)) == [None, None]
    assert batch[0]["profile"]["frames"][1]["function"] == "main"
    polls = [r for r in server.requests if r.method == "GET"]
    assert len(polls) == 3 and polls[0].path.startswith("/requests/")


def test_404_on_poll_resubmits(server: SymbolicatorServer) -> None:
    server.behaviour = Behaviour(pending_polls=1, poll_404_first=1)
    batch = profiles()[:1]
    assert run(batch, client(server)) == [None]
    assert len(server.creates()) == 2 and batch[0]["profile"]["frames"][1]["function"] == "main"


@pytest.mark.parametrize("status", [502, 503])
def test_unavailable_moves_to_another_worker_with_backoff(server: SymbolicatorServer, status: int) -> None:
    server.behaviour = Behaviour(unavailable_first=2, unavailable_status=status)
    batch = profiles()[:1]
    assert run(batch, client(server)) == [None]
    worker_ids = [r.headers["x-sentry-worker-id"] for r in server.creates()]
    assert len(worker_ids) == 3 and len(set(worker_ids)) == 3
    assert batch[0]["profile"]["frames"][1]["function"] == "main"


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        (
            Behaviour(http_status=500),
            {"type": "native_symbolicator_failed", "status": "failed", "message": "HTTP 500"},
        ),
        (
            Behaviour(garbage=True),
            {
                "type": "native_symbolicator_failed",
                "status": "failed",
                "message": "answer is not a JSON object (HTTP 200: <html>not json)",
            },
        ),
        (
            Behaviour(answer={"status": "failed", "message": "bad request"}),
            {"type": "native_symbolicator_failed", "status": "failed", "message": "bad request"},
        ),
        (Behaviour(answer={"status": "timeout"}), {"status": "timeout", "type": "native_internal_failure"}),
    ],
)
def test_failures_leave_profiles_unsymbolicated(server: SymbolicatorServer, behaviour: Behaviour, error: dict) -> None:
    server.behaviour = behaviour
    batch = profiles()[:2]
    raw_frames = copy.deepcopy(batch[0]["profile"]["frames"])
    assert run(batch, client(server)) == [None, None]
    for profile in batch:
        assert profile["symbolicator_error"] == error and profile["processed_by_symbolicator"] is True
    assert all("function" not in frame for frame in batch[0]["profile"]["frames"][: len(raw_frames)])


def test_deadline_gives_up(server: SymbolicatorServer) -> None:
    server.behaviour = Behaviour(pending_polls=1000)
    batch = profiles()[:1]
    assert run(batch, client(server, request_deadline_seconds=0.3, poll_timeout_seconds=0.05)) == [None]
    assert batch[0]["symbolicator_error"] == {"type": "native_internal_failure"}


def test_network_errors_are_retried_then_given_up_without_leaking_secrets(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    caplog.set_level(logging.DEBUG)
    batch = profiles()[:1]
    assert run(batch, client(f"http://127.0.0.1:{port}", network_retries=2)) == [None]
    assert batch[0]["symbolicator_error"] == {"type": "native_internal_failure"}
    assert "giving up" in caplog.text and "3 tries" in caplog.text
    assert TOKEN not in caplog.text and TOKEN not in str(batch[0])


def test_jvm_requests_carry_the_sources(server: SymbolicatorServer) -> None:
    server.behaviour = Behaviour(
        answer={"status": "completed", "exceptions": [], "stacktraces": [], "classes": {}, "errors": []}
    )
    answer = client(server).jvm({"platform": "android", "stacktraces": [], "modules": []})
    assert answer is not None and answer["status"] == "completed"
    assert server.creates("/symbolicate-jvm")[0].body["sources"] == [*server.sources, *SOURCES]


def test_stage_backend_in_symbolicator_mode(server: SymbolicatorServer) -> None:
    """The worker's backend (as the stage gets it) is created once, with its session, and answers."""
    config = SymbolicationConfig(mode="symbolicator", symbolicator_url=server.url, sources=server.sources)
    backends: list[Any] = []
    creating = threading.Thread(target=lambda: backends.extend(get_backend(config, 7) for _ in range(2)), daemon=True)
    creating.start()
    creating.join(timeout=10)
    assert len(backends) == 2 and backends[0] is backends[1]
    batch = profiles()[:1]
    assert run(batch, backends[0]) == [None]
    assert batch[0]["profile"]["frames"][1]["function"] == "main"


def test_the_test_symbolicator_is_as_strict_as_symbolicator(server: SymbolicatorServer) -> None:
    native = {"platform": "native", "sources": [], "modules": [], "stacktraces": []}
    refused = requests.post(f"{server.url}/symbolicate", params={"timeout": "5.0"}, json=native, timeout=10)
    assert refused.status_code == 400 and "invalid digit found in string" in refused.text
    js = {"platform": "javascript", "source": server.sources[1], "modules": [], "stacktraces": []}
    refused = requests.post(f"{server.url}/symbolicate-js", params={"timeout": "5"}, json=js, timeout=10)
    assert refused.status_code == 422 and "missing field `url`" in refused.text


def test_an_http_error_keeps_its_status_and_body(server: SymbolicatorServer, caplog: pytest.LogCaptureFixture) -> None:
    body = b"Failed to deserialize query string: timeout: invalid digit found in string"
    server.behaviour = Behaviour(http_status=400, http_body=body)
    batch = profiles()[:1]
    assert run(batch, client(server)) == [None]
    message = f"HTTP 400: {body.decode()}"
    assert batch[0]["symbolicator_error"] == {
        "type": "native_symbolicator_failed",
        "status": "failed",
        "message": message,
    }
    assert message in caplog.text and TOKEN not in caplog.text


def test_js_needs_a_sentry_source(server: SymbolicatorServer) -> None:
    """Without one the request goes without `source`, and Symbolicator's refusal is the profile's error."""
    filesystem_only = client(server, sources=server.sources[1:])
    batch = profiles()
    assert run(batch, filesystem_only) == [None] * len(batch)
    assert "source" not in server.creates("/symbolicate-js")[0].body
    assert batch[-1]["symbolicator_error"]["message"].startswith("HTTP 422: ")
    assert batch[0]["profile"]["frames"][1]["function"] == "main"  # native frames come from the filesystem source


def test_sentry_source_from_the_configuration_file(tmp_path: Path, server: SymbolicatorServer) -> None:
    lookup, store = server.sources
    (tmp_path / "job.toml").write_text(
        "[symbolication]\n"
        'mode = "symbolicator"\n'
        f'symbolicator_url = "{server.url}"\n'
        "sources = [\n"
        f'  {{ type = "sentry", id = "sentry:project", url = "{lookup["url"]}", token = "{lookup["token"]}" }},\n'
        f'  {{ type = "filesystem", id = "local", path = "{store["path"]}", layout = {{ type = "unified" }} }},\n'
        "]\n"
    )
    config = load_config(tmp_path / "job.toml").symbolication
    batch = profiles()
    assert run(batch, SymbolicatorBackend(config, 42)) == [None] * len(batch)
    js_frame = batch[-1]["profile"]["frames"][0]
    assert js_frame["function"] == "add" and js_frame["data"]["sourcemap"] == "app:///embedded.js.map"
    assert batch[0]["profile"]["frames"][1]["function"] == "main"
