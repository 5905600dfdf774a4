"""The HTTP vroom mode against a real vroom ingest API on 127.0.0.1 (tests/servers/vroom.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date

import pytest
from servers.vroom import Behaviour, VroomServer
from vroom_profiles import android_chunk, android_legacy, cocoa_v1, make_work, python_v1, sample_v2_chunk

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig, VroomConfig
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.vroom import run_vroom_stage
from profile_pipeline.stages.vroom.push import vroom_session
from profile_pipeline.work import FAILED_VROOM_INSERTION, ProfileWork


@pytest.fixture
def server() -> Iterator[VroomServer]:
    with VroomServer() as running:
        yield running


def context(server: VroomServer, **vroom: object) -> StageContext:
    settings = {
        "mode": "http",
        "url": server.url,
        "max_in_flight": 4,
        "timeout_seconds": 2.0,
        "retry_budget": 3,
        "backoff_initial_seconds": 0.01,
        "backoff_max_seconds": 0.02,
        **vroom,
    }
    config = JobConfig(vroom=VroomConfig(**settings))
    return StageContext(config=config, reference=ReferenceData(), run_id="test", day=date(2025, 5, 20))


def python_profiles(count: int) -> list[ProfileWork]:
    works = []
    for index in range(count):
        payload = python_v1()
        payload["event_id"] = f"{index:032x}"
        works.append(make_work(payload))
    return works


def test_profiles_and_chunks_are_posted_brotli_compressed(server: VroomServer) -> None:
    works = [make_work(build()) for build in (python_v1, cocoa_v1, android_legacy, sample_v2_chunk, android_chunk)]
    run_vroom_stage(works, context(server))

    assert all(work.ok for work in works), [work.failure for work in works]
    assert len(server.requests) == len(works)
    by_id = {request.body["event_id"] if "event_id" in request.body else request.body["chunk_id"]: request
             for request in server.requests}  # fmt: skip
    for work in works:
        request = by_id[work.profile.get("chunk_id") or work.profile["event_id"]]
        assert request.path == ("/chunk" if "profiler_id" in work.profile else "/profile")
        assert request.headers["content-encoding"] == "br"
        assert request.headers["content-type"] == "application/json"
        assert request.status == 204
        assert request.body == work.profile
        # vroom extracts functions itself in this mode.
        assert (work.functions, work.occurrences, work.chunk_metadata) == ([], [], None)


def test_already_stored_counts_as_success(server: VroomServer) -> None:
    server.behaviour.status = 412
    works = python_profiles(3)
    run_vroom_stage(works, context(server))

    assert all(work.ok for work in works)
    assert len(server.requests) == 3  # a duplicate is not retried


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_statuses_are_retried(server: VroomServer, status: int) -> None:
    server.behaviour = Behaviour(fail_first=2, fail_status=status)
    works = python_profiles(1)
    run_vroom_stage(works, context(server))

    assert works[0].ok
    assert [request.status for request in server.requests] == [status, status, 204]


@pytest.mark.parametrize("status", [429, 500])
def test_retry_budget_exhausted_fails_the_profile(server: VroomServer, status: int) -> None:
    server.behaviour.status = status
    works = python_profiles(1)
    run_vroom_stage(works, context(server, retry_budget=2))

    failure = works[0].failure
    assert failure is not None and failure.reason == FAILED_VROOM_INSERTION
    assert failure.message == f"vroom answered {status} to POST /profile (after 3 attempts)"
    assert len(server.requests) == 3


def test_client_errors_are_not_retried_and_fail_only_their_profile(server: VroomServer) -> None:
    server.behaviour = Behaviour(fail_first=1, fail_status=400)
    works = python_profiles(3)
    run_vroom_stage(works, context(server, max_in_flight=1))  # one at a time: the first request is the first work

    first, *others = works
    assert first.failure is not None and first.failure.reason == FAILED_VROOM_INSERTION
    assert first.failure.message == "vroom answered 400 to POST /profile"
    assert all(work.ok for work in others)
    assert len(server.requests) == 3


def test_dropped_connections_are_retried(server: VroomServer) -> None:
    server.behaviour = Behaviour(drop_first=2)
    works = python_profiles(1)
    run_vroom_stage(works, context(server, max_in_flight=1))

    assert works[0].ok
    assert [request.status for request in server.requests] == [None, None, 204]


def test_connections_that_keep_dropping_fail_the_profile(server: VroomServer) -> None:
    server.behaviour = Behaviour(drop_first=100)
    works = python_profiles(1)
    run_vroom_stage(works, context(server, retry_budget=1))

    failure = works[0].failure
    assert failure is not None and failure.reason == FAILED_VROOM_INSERTION
    assert failure.message.endswith("Error on POST /profile (after 2 attempts)")
    assert len(server.requests) == 2


def test_slow_answers_time_out_and_fail_after_the_budget(server: VroomServer) -> None:
    server.behaviour.latency = 5.0  # released when the server stops
    works = python_profiles(1)
    run_vroom_stage(works, context(server, timeout_seconds=0.2, retry_budget=1))

    failure = works[0].failure
    assert failure is not None and failure.reason == FAILED_VROOM_INSERTION
    assert failure.message == "ReadTimeout on POST /profile (after 2 attempts)"


def test_requests_in_flight_reach_the_bound_and_never_pass_it(server: VroomServer) -> None:
    server.behaviour = Behaviour(hold_until_in_flight=4, hold_timeout=0.5)
    works = python_profiles(24)
    run_vroom_stage(works, context(server, max_in_flight=4))

    assert all(work.ok for work in works)
    assert len(server.requests) == 24
    assert server.peak_in_flight == 4


def test_one_in_flight_means_one_at_a_time(server: VroomServer) -> None:
    server.behaviour = Behaviour(hold_until_in_flight=2, hold_timeout=0.05)
    works = python_profiles(3)
    run_vroom_stage(works, context(server, max_in_flight=1))

    assert all(work.ok for work in works)
    assert server.peak_in_flight == 1


def test_one_session_per_worker_and_url(server: VroomServer) -> None:
    config = context(server).config.vroom
    assert vroom_session(config.url, config.max_in_flight) is vroom_session(config.url, config.max_in_flight)
    other = dataclasses.replace(config, url=config.url + "/")
    assert vroom_session(other.url, other.max_in_flight) is not vroom_session(config.url, config.max_in_flight)
