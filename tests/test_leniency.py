"""Sentry's leniency, field by field: the value kinds SDKs send for each field a stage or outcome reads.

Where Sentry converts a value (`int(...)`, ids as text) the job converts it the same way; where Sentry's
code raises, the profile fails with the stage's reason; where Sentry swallows the error (the duration
outcome), the outcome is left out and the profile goes on.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig, SentryOptions, SymbolicationConfig, VroomConfig
from profile_pipeline.spark.partition import process_objects
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.deobfuscation import deobfuscate_profiles
from profile_pipeline.stages.normalize import normalize_profile, retention_days
from profile_pipeline.stages.outcomes import profile_duration_ms
from profile_pipeline.work import FAILED_DEOBFUSCATION, ProfileWork, Source
from synthetic.messages import ingest_message, pack_stream
from synthetic.profiles import ProfileSpec, generate

DAY = date(2026, 11, 24)


def v1(transaction: dict[str, Any], elapsed: list[Any]) -> dict[str, Any]:
    samples = [{"stack_id": 0, "thread_id": "1", "elapsed_since_start_ns": value} for value in elapsed]
    return {"version": "1", "platform": "cocoa", "transaction": transaction, "profile": {"samples": samples}}


# Sentry reads both transaction bounds and the samples' offsets with int(): numbers and decimal strings.
@pytest.mark.parametrize(
    ("start", "end", "expected_ms"),
    [
        (500_500, 50_500_500, 50),  # numbers, as Relay writes them
        ("500500", "50500500", 50),  # decimal strings, as the Cocoa SDK sends them (Sentry's own test profile)
        ("0", 20_000_000, 20),  # one of each
        (0.0, 20_000_000.9, 20),  # floats are truncated by int()
        (" 7 ", "20000007", 20),  # int() allows surrounding whitespace
        ("-5000000", "15000000", 20),  # a negative start is still a number
        (0, "90000000000", 30_000),  # the cap of sample v1
    ],
)
def test_v1_transaction_bounds_are_read_with_int(start: Any, end: Any, expected_ms: int) -> None:
    profile = v1({"relative_start_ns": start, "relative_end_ns": end}, [0, 1])
    assert profile_duration_ms(profile) == expected_ms


@pytest.mark.parametrize(
    "elapsed",
    [
        ["10500500", "20500500", "60500500"],  # strings: ordered by number ("60…" is last, not by text)
        [10_500_500, "60500500", 20_500_500.0],  # mixed kinds, each read with int()
    ],
)
def test_v1_falls_back_to_the_samples_read_with_int(elapsed: list[Any]) -> None:
    assert profile_duration_ms(v1({"relative_start_ns": "0", "relative_end_ns": "0"}, elapsed)) == 50


@pytest.mark.parametrize(
    "profile",
    [
        v1({"relative_start_ns": None, "relative_end_ns": "50000000"}, [0, 50_000_000]),  # int(None) raises
        v1({"relative_start_ns": "0", "relative_end_ns": "5e7"}, [0, 50_000_000]),  # not a decimal integer
        v1({"relative_start_ns": "0", "relative_end_ns": ["50000000"]}, [0, 50_000_000]),
        v1({"relative_end_ns": 0}, ["0", "NaN"]),
        v1({"relative_end_ns": 0}, [0, None]),
        {"version": "1", "platform": "cocoa", "transaction": "t", "profile": {"samples": []}},
        {"version": "1", "platform": "cocoa", "profile": {"samples": []}},
    ],
)
def test_v1_values_int_cannot_read_mean_no_duration(profile: dict[str, Any]) -> None:
    assert profile_duration_ms(profile) == 0


def chunk(timestamps: list[Any]) -> dict[str, Any]:
    return {"version": "2", "platform": "python", "profile": {"samples": [{"timestamp": t} for t in timestamps]}}


def test_v2_timestamps_are_numbers_as_sentry_takes_them() -> None:
    assert profile_duration_ms(chunk([1_710_805_788.5, 1_710_805_788])) == 500
    assert profile_duration_ms(chunk([10, 12])) == 2000
    # Sentry subtracts the raw values: strings, nulls or a missing timestamp mean no duration.
    for broken in (["1710805788.5", "1710805789"], [1.0, None], [1.0, [2.0]], [1.0, 1e308, -1e308]):
        assert profile_duration_ms(chunk(broken)) == 0
    assert profile_duration_ms({"version": "2", "profile": {"samples": [{"timestamp": 1.0}, {}]}}) == 0


@pytest.mark.parametrize(
    ("duration_ns", "expected"), [(1_500_000_000, 1500), (1.5e9, 1500), ("1500000000", 0), (None, 0), ([1], 0)]
)
def test_android_duration_ns_is_a_number_times_1e_6(duration_ns: Any, expected: int) -> None:
    assert profile_duration_ms({"platform": "android", "duration_ns": duration_ns}) == expected


def partition_rows(profile: dict[str, Any], **message: Any) -> list[tuple[str, dict[str, Any]]]:
    config = JobConfig(
        symbolication=SymbolicationConfig(mode="off"),
        vroom=VroomConfig(mode="off"),
        options=SentryOptions(unsampled_profiles_enabled=True),
    )
    fields = {"organization_id": 1, "project_id": 2, "received": 1_764_000_000, **message}
    content = pack_stream([ingest_message(profile, **fields)])
    ctx = StageContext(config, ReferenceData(), "test-run", DAY)
    return list(process_objects([("input/object", len(content), content)], ctx))


def test_a_v1_profile_with_decimal_string_offsets_is_accepted_with_its_50_ms() -> None:
    profile = generate("cocoa_v1", random.Random(4), ProfileSpec(frames=5, target_bytes=2_000))
    profile["transaction"].update(relative_start_ns="500500", relative_end_ns="50500500")
    for sample in profile["profile"]["samples"]:
        sample["elapsed_since_start_ns"] = str(sample["elapsed_since_start_ns"])
    rows = partition_rows(profile)
    (stored,) = [row for table, row in rows if table == "profiles"]
    durations = [row["quantity"] for table, row in rows if table == "outcomes" and row["category"] == 17]
    assert stored["duration_ms"] == 50 and durations == [50]


def test_device_class_tag_is_looked_up_as_sentry_does() -> None:
    def classified(tags: Any) -> dict[str, Any]:
        profile = {"version": "1", "platform": "cocoa", "device": {}, "transaction_tags": tags}
        normalize_profile(profile, 90)
        return profile["device"]

    assert classified({"device.class": "3"}) == {"classification": "high"}
    assert classified({"device.class": 3}) == {"classification": "unknown"}  # a number is no known class
    assert classified({"device.class": ""}) == {}  # falsy: nothing
    for broken in (None, ["device.class"], {"device.class": ["1"]}):  # Sentry's .get/lookup raises
        with pytest.raises((AttributeError, TypeError)):
            classified(broken)


def test_a_null_tag_map_fails_normalization_and_goes_to_quarantine() -> None:
    profile = generate("cocoa_v1", random.Random(5), ProfileSpec(frames=5, target_bytes=2_000))
    profile["transaction_tags"] = None
    quarantined = [row for table, row in partition_rows(profile) if table == "quarantine"]
    assert [row["error_kind"] for row in quarantined] == ["profiling_failed_normalization"]
    assert quarantined[0]["error_message"].startswith("AttributeError") and not quarantined[0]["unexpected"]


def test_retention_of_the_message_is_a_u16() -> None:
    assert retention_days(None, {"retention_days": 30}, 90) == 30
    for outside in (0, -1, 2**16, 2**63 - 1, "30", True):
        assert retention_days(None, {"retention_days": outside}, 90) == 90


def test_an_id_sentry_would_send_as_a_number_is_kept_as_text() -> None:
    profile = generate("python_v1", random.Random(6), ProfileSpec(frames=5, target_bytes=2_000))
    profile["chunk_id"] = 12345  # a v1 profile may carry any chunk_id; Sentry prefers it as event id
    rows = partition_rows(profile)
    ids = {row["event_id"] for table, row in rows if table == "outcomes" and row["event_id"] is not None}
    assert [table for table, _ in rows].count("profiles") == 1 and ids == {"12345"}


@pytest.mark.parametrize("organization_id", [2**63, 2**64 - 1])
def test_ids_beyond_64_bits_are_bad_input(organization_id: int) -> None:
    profile = generate("python_v1", random.Random(7), ProfileSpec(frames=5, target_bytes=2_000))
    (row,) = [row for table, row in partition_rows(profile, organization_id=organization_id)]
    assert row["error_kind"] == "bad_type:organization_id"


def test_a_build_id_that_is_not_text_fails_deobfuscation_as_in_sentry() -> None:
    profiles = [generate("android_legacy", random.Random(8), ProfileSpec(frames=5, target_bytes=2_000)) for _ in "ab"]
    profiles[0]["build_id"] = 1234
    profiles[1]["build_id"] = None  # no mapping: only signatures are decoded
    works = [ProfileWork(Source("o", 0, 0), b"", {"project_id": 2}, p, "android", True) for p in profiles]
    deobfuscate_profiles(works, lambda _: None, 1000)
    assert works[0].failure.reason == FAILED_DEOBFUSCATION and "build_id" in works[0].failure.message
    assert works[1].ok and profiles[1]["deobfuscated"]
