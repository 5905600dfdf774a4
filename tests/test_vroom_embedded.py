"""The embedded vroom mode: real vroomrs over SPEC-shaped profiles, blobs in a file:// bucket."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
import vroomrs
from vroom_profiles import (
    android_chunk,
    android_json_on_main_thread,
    android_legacy,
    cocoa_v1,
    make_work,
    python_v1,
    sample_v2_chunk,
)

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig, VroomConfig
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.vroom import run_vroom_stage
from profile_pipeline.stages.vroom.blobs import UnsafeStoragePath, blob_uri
from profile_pipeline.work import FAILED_VROOMRS_PROCESSING, ProfileWork

FUNCTION_KEYS = {
    "fingerprint",
    "function",
    "package",
    "in_app",
    "self_times_ns",
    "thread_id",
    "profiling_type",
    "start_timestamp",
    "end_timestamp",
}


def context(bucket: Path, mode: str = "embedded") -> StageContext:
    config = JobConfig(vroom=VroomConfig(mode=mode, profiles_bucket=bucket.as_uri()))
    return StageContext(config=config, reference=ReferenceData(), run_id="test", day=date(2025, 5, 20))


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def vroomrs_functions(work: ProfileWork) -> list[tuple[Any, ...]]:
    """What vroomrs itself extracts from the same payload, with Sentry's parameters."""
    payload = json.dumps(work.profile)
    if "profiler_id" in work.profile:
        parsed = vroomrs.profile_chunk_from_json_str_and_version(payload, work.profile.get("version", ""))
    else:
        parsed = vroomrs.profile_from_json_str(payload, work.profile["platform"])
    parsed.normalize()
    functions = parsed.extract_functions_metrics(min_depth=1, filter_system_frames=True, max_unique_functions=100)
    return [
        (
            f.get_fingerprint(),
            f.get_function(),
            f.get_package(),
            f.get_in_app(),
            f.get_self_times_ns(),
            f.get_thread_id(),
        )
        for f in functions
    ]


def as_tuples(functions: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("fingerprint", "function", "package", "in_app", "self_times_ns", "thread_id")
    return [tuple(function[key] for key in keys) for function in functions]


@pytest.mark.parametrize("build", [python_v1, cocoa_v1, android_legacy])
def test_transaction_profile_blob_decompresses_to_the_processed_profile(tmp_path: Path, build) -> None:
    work = make_work(build())
    event_id = work.profile["event_id"]
    run_vroom_stage([work], context(tmp_path))

    assert work.ok, work.failure
    assert stored_files(tmp_path) == [f"1/2/{event_id}"]
    stored = vroomrs.decompress_profile((tmp_path / "1" / "2" / event_id).read_bytes())
    assert stored.get_profile_id() == event_id
    assert stored.storage_path() == f"1/2/{event_id}"
    assert (stored.get_organization_id(), stored.get_project_id(), stored.is_sampled()) == (1, 2, True)
    assert stored.get_platform() == work.profile["platform"]
    assert stored.get_release() == work.profile["release"]
    # The stored profile is the normalized one: extracting from it gives the functions the stage kept.
    from_blob = stored.extract_functions_metrics(min_depth=1, filter_system_frames=True, max_unique_functions=100)
    assert [f.get_fingerprint() for f in from_blob] == [f["fingerprint"] for f in work.functions]
    assert work.chunk_metadata is None


@pytest.mark.parametrize("build", [python_v1, android_legacy, sample_v2_chunk, android_chunk])
def test_functions_are_what_vroomrs_extracts(tmp_path: Path, build) -> None:
    work = make_work(build())
    expected = vroomrs_functions(work)
    run_vroom_stage([work], context(tmp_path))

    assert work.ok, work.failure
    assert expected, "the test profile must have functions"
    assert as_tuples(work.functions) == expected
    assert all(set(function) == FUNCTION_KEYS for function in work.functions)
    assert all(isinstance(function["fingerprint"], int) and function["fingerprint"] >= 0 for function in work.functions)
    chunk = "profiler_id" in work.profile
    assert {function["profiling_type"] for function in work.functions} == {"continuous" if chunk else "transaction"}
    if not chunk:
        assert {(f["start_timestamp"], f["end_timestamp"]) for f in work.functions} == {(None, None)}


@pytest.mark.parametrize("build", [sample_v2_chunk, android_chunk])
def test_chunk_blob_metadata_and_function_window(tmp_path: Path, build) -> None:
    work = make_work(build())
    profiler_id, chunk_id = work.profile["profiler_id"], work.profile["chunk_id"]
    run_vroom_stage([work], context(tmp_path))

    assert work.ok, work.failure
    assert stored_files(tmp_path) == [f"1/2/{profiler_id}/{chunk_id}"]
    stored = vroomrs.decompress_profile_chunk((tmp_path / "1" / "2" / profiler_id / chunk_id).read_bytes())
    assert (stored.get_chunk_id(), stored.get_profiler_id()) == (chunk_id, profiler_id)
    metadata = work.chunk_metadata
    assert metadata is not None
    assert set(metadata) == {
        "chunk_id", "duration_ms", "end_timestamp", "environment", "platform", "profiler_id", "project_id",
        "received", "release", "retention_days", "sdk_name", "sdk_version", "start_timestamp",
    }  # fmt: skip
    assert (metadata["chunk_id"], metadata["profiler_id"], metadata["project_id"]) == (chunk_id, profiler_id, 2)
    assert metadata["start_timestamp"] == stored.start_timestamp()
    assert metadata["end_timestamp"] == stored.end_timestamp()
    assert metadata["duration_ms"] == stored.duration_ms()
    assert metadata["received"] == work.profile["received"]
    assert (metadata["release"], metadata["environment"]) == (work.profile["release"], work.profile["environment"])
    assert metadata["sdk_name"] == work.profile["client_sdk"]["name"]
    assert {(f["start_timestamp"], f["end_timestamp"]) for f in work.functions} == {
        (stored.start_timestamp(), stored.end_timestamp())
    }
    assert work.occurrences == []


def test_occurrences_of_sampled_profiles(tmp_path: Path) -> None:
    sampled = make_work(android_json_on_main_thread())
    unsampled = make_work(android_json_on_main_thread(), sampled=False)
    run_vroom_stage([sampled, unsampled], context(tmp_path))

    assert sampled.ok and unsampled.ok
    assert len(sampled.occurrences) == 1 and set(sampled.occurrences[0]) == {"occurrence"}
    occurrence = json.loads(sampled.occurrences[0]["occurrence"])
    assert occurrence["issue_title"] == "JSON Decoding on Main Thread"
    assert occurrence["project_id"] == 2
    assert unsampled.occurrences == [] and unsampled.functions == sampled.functions


def test_unsampled_profile_has_functions_but_no_blob(tmp_path: Path) -> None:
    sampled, unsampled = make_work(python_v1()), make_work(python_v1(), sampled=False)
    run_vroom_stage([unsampled], context(tmp_path / "unsampled"))
    run_vroom_stage([sampled], context(tmp_path / "sampled"))

    assert unsampled.ok and sampled.ok
    assert not (tmp_path / "unsampled").exists() or stored_files(tmp_path / "unsampled") == []
    assert stored_files(tmp_path / "sampled") == [f"1/2/{sampled.profile['event_id']}"]
    assert unsampled.functions and as_tuples(unsampled.functions) == as_tuples(sampled.functions)
    assert unsampled.occurrences == []


@pytest.mark.parametrize(
    "path",
    ["1/2/../../escape", "1/2", "x/2/7621eb0005654725b30eb063406a0e16", "1/2/7621eb00/../..", "/1/2/3/4/5", "1//2"],
)
def test_storage_paths_are_ids_only(path: str) -> None:
    with pytest.raises(UnsafeStoragePath):
        blob_uri("file:///bucket", path)


def test_profile_id_that_is_not_an_id_fails_and_writes_nothing(tmp_path: Path) -> None:
    work = make_work(python_v1())
    work.profile["event_id"] = "../../../outside"
    run_vroom_stage([work], context(tmp_path / "bucket"))

    assert work.failure is not None and work.failure.reason == FAILED_VROOMRS_PROCESSING
    assert work.failure.message.startswith("UnsafeStoragePath")
    assert stored_files(tmp_path) == []


def test_panics_and_rejected_payloads_fail_alone(tmp_path: Path) -> None:
    panicking = cocoa_v1("5c1f0a8e2b7d4e6f9a0b1c2d3e4f5a6b")
    panicking["profile"]["samples"][0]["stack_id"] = 3  # no such stack: vroomrs indexes out of bounds
    string_thread = python_v1()
    string_thread["event_id"] = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    string_thread["profile"]["samples"][0]["thread_id"] = str(string_thread["profile"]["samples"][0]["thread_id"])
    no_id = python_v1()
    del no_id["event_id"]
    works = [
        make_work(python_v1()),
        make_work(panicking),
        make_work(string_thread),
        make_work(no_id),
        make_work(sample_v2_chunk()),
        make_work(cocoa_v1()),
    ]
    run_vroom_stage(works, context(tmp_path))

    good, panic, rejected, missing, chunk, cocoa = works
    for work in (panic, rejected, missing):
        assert work.failure is not None and work.failure.reason == FAILED_VROOMRS_PROCESSING
        assert (work.functions, work.occurrences, work.chunk_metadata) == ([], [], None)
    assert panic.failure.message.startswith("PanicException: index out of bounds")
    assert "invalid type: string" in rejected.failure.message
    assert "profiler_id, event_id or profile_id" in missing.failure.message
    assert good.ok and chunk.ok and cocoa.ok
    assert good.functions and chunk.functions and chunk.chunk_metadata
    profiler_id, chunk_id = chunk.profile["profiler_id"], chunk.profile["chunk_id"]
    assert stored_files(tmp_path) == sorted(
        [f"1/2/{good.profile['event_id']}", f"1/2/{profiler_id}/{chunk_id}", f"1/2/{cocoa.profile['event_id']}"]
    )


def test_rerun_replaces_the_blob_in_place(tmp_path: Path) -> None:
    first, second = make_work(python_v1()), make_work(python_v1())
    run_vroom_stage([first], context(tmp_path))
    run_vroom_stage([second], context(tmp_path))

    event_id = first.profile["event_id"]
    assert first.ok and second.ok
    assert stored_files(tmp_path) == [f"1/2/{event_id}"]
    assert vroomrs.decompress_profile((tmp_path / "1" / "2" / event_id).read_bytes()).get_profile_id() == event_id
    assert first.functions == second.functions


def test_off_mode_does_nothing(tmp_path: Path) -> None:
    work = make_work(python_v1())
    run_vroom_stage([work], context(tmp_path, mode="off"))

    assert work.ok and work.functions == [] and not tmp_path.joinpath("1").exists()


def test_the_profile_as_vroomrs_read_it_is_kept_only_while_it_is_the_stored_profile(tmp_path: Path) -> None:
    plain, with_dsn = make_work(python_v1()), make_work(python_v1())
    with_dsn.profile["event_id"] = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    with_dsn.profile["options"] = {"dsn": "https://public@o1.ingest.example.com/2"}
    run_vroom_stage([plain, with_dsn], context(tmp_path))

    assert plain.ok and with_dsn.ok
    assert plain.payload_json == orjson.dumps(plain.profile)  # what the payload column stores
    assert with_dsn.payload_json is None and "options" not in with_dsn.profile
