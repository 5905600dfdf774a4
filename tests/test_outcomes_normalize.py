"""Outcomes (§4.13, §5), normalization (§4.8) and frame platforms (§4.9) over plain dicts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from profile_pipeline.stages.frame_platform import set_frames_platform
from profile_pipeline.stages.normalize import normalize_profile, retention_days
from profile_pipeline.stages.outcomes import (
    DataCategory,
    Outcome,
    failed_outcomes,
    profile_duration_ms,
    success_outcomes,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def v1(relative_end_ns: int = 20_000_000, samples: list[int] | None = None, **extra) -> dict:
    elapsed = samples if samples is not None else [0, 10_000_000]
    return {
        "version": "1",
        "platform": "cocoa",
        "event_id": "e" * 32,
        "organization_id": 1,
        "project_id": 2,
        "transaction": {"relative_start_ns": 0, "relative_end_ns": relative_end_ns},
        "profile": {"samples": [{"elapsed_since_start_ns": t} for t in elapsed], "frames": [], "stacks": []},
        **extra,
    }


def kinds(rows):
    return sorted(
        (Outcome(r["outcome"]).name, DataCategory(r["category"]).name, r["reason"], r["quantity"]) for r in rows
    )


def test_duration_v1_uses_transaction_then_samples_and_caps_at_30s():
    assert profile_duration_ms(v1(relative_end_ns=20_000_000)) == 20
    assert profile_duration_ms(v1(relative_end_ns=0, samples=[5_000_000, 1_000_000, 9_000_000])) == 8
    assert profile_duration_ms(v1(relative_end_ns=0, samples=[5])) == 0
    assert profile_duration_ms(v1(relative_end_ns=90_000_000_000)) == 30_000
    assert profile_duration_ms({**v1(), "transaction": None}) == 0


def test_duration_v2_sorts_timestamps_without_cap_and_android_uses_duration_ns():
    chunk = {"version": "2", "profile": {"samples": [{"timestamp": 100.5}, {"timestamp": 10.0}, {"timestamp": 50.0}]}}
    assert profile_duration_ms(chunk) == 90_500
    assert profile_duration_ms({"version": "2", "profile": {"samples": [{"timestamp": 1.0}]}}) == 0
    assert profile_duration_ms({"platform": "android", "duration_ns": 1_500_000_000}) == 1500
    assert profile_duration_ms({"platform": "android", "profiler_id": "p", "duration_ns": 99_000_000_000}) == 99_000
    assert profile_duration_ms({"platform": "cocoa", "sampled_profile": {}}) == 0


def test_sampled_profile_success_is_accepted_in_both_categories_with_duration():
    rows = success_outcomes(v1(), timestamp=NOW, sampled=True, emit_duration=True)
    assert kinds(rows) == [
        ("ACCEPTED", "PROFILE", None, 1),
        ("ACCEPTED", "PROFILE_DURATION", None, 20),
        ("ACCEPTED", "PROFILE_INDEXED", None, 1),
    ]
    duration = next(r for r in rows if r["category"] == DataCategory.PROFILE_DURATION)
    assert duration["event_id"] is None and duration["key_id"] is None
    assert all(r["event_id"] == "e" * 32 for r in rows if r is not duration)


def test_unsampled_profile_is_filtered_as_indexed_without_duration():
    rows = success_outcomes(v1(), timestamp=NOW, sampled=False, emit_duration=True)
    assert kinds(rows) == [("ACCEPTED", "PROFILE", None, 1), ("FILTERED", "PROFILE_INDEXED", "sampled", 1)]


def test_chunk_success_has_only_its_duration():
    chunk = {
        "version": "2",
        "chunk_id": "c" * 32,
        "profiler_id": "p" * 32,
        "organization_id": 1,
        "project_id": 2,
        "profile": {"samples": [{"timestamp": 1.0}, {"timestamp": 2.5}]},
    }
    assert kinds(success_outcomes(chunk, timestamp=NOW, sampled=True, emit_duration=True)) == [
        ("ACCEPTED", "PROFILE_DURATION", None, 1500)
    ]
    assert success_outcomes(chunk, timestamp=NOW, sampled=True, emit_duration=False) == []


@pytest.mark.parametrize(
    ("chunk", "sampled", "categories"),
    [
        (False, True, ["PROFILE", "PROFILE_INDEXED"]),
        (False, False, ["PROFILE"]),
        (True, True, ["PROFILE_CHUNK"]),
    ],
)
def test_failed_outcomes_categories(chunk, sampled, categories):
    rows = failed_outcomes(
        timestamp=NOW, org_id=1, project_id=2, reason="r", event_id="x", chunk=chunk, sampled=sampled
    )
    assert [DataCategory(r["category"]).name for r in rows] == categories
    assert {r["outcome"] for r in rows} == {Outcome.INVALID} and {r["reason"] for r in rows} == {"r"}


def test_retention_prefers_reference_then_message_then_default():
    assert retention_days(30, {"retention_days": 60}, 90) == 30
    assert retention_days(None, {"retention_days": 60}, 90) == 60
    assert retention_days(None, {}, 90) == 90


@pytest.mark.parametrize(("tag", "expected"), [("1", "low"), ("2", "medium"), ("3", "high"), ("9", "unknown")])
def test_device_classification_v1_and_legacy(tag, expected):
    profile = v1(device={"model": "iPhone"}, transaction_tags={"device.class": tag})
    normalize_profile(profile, 90)
    assert profile["device"]["classification"] == expected and profile["normalized"] is True
    android = {"platform": "android", "transaction_tags": {"device.class": tag}}
    normalize_profile(android, 30)
    assert android["device_classification"] == expected and android["retention_days"] == 30


def test_normalization_skips_other_platforms_v2_and_already_normalized():
    python = {**v1(platform="python"), "transaction_tags": {"device.class": "1"}, "device": {}}
    normalize_profile(python, 90)
    assert "classification" not in python["device"] and python["retention_days"] == 90
    chunk = {"version": "2", "platform": "cocoa", "transaction_tags": {"device.class": "1"}}
    normalize_profile(chunk, 90)
    assert "device_classification" not in chunk
    done = {"normalized": True, "retention_days": 5}
    normalize_profile(done, 90)
    assert done["retention_days"] == 5


def test_v1_cocoa_without_device_fails_normalization_like_sentry():
    with pytest.raises(KeyError):
        normalize_profile(v1(transaction_tags={"device.class": "1"}), 90)


def test_frame_platform_defaults_and_android_v2_in_app():
    profile = {"platform": "python", "profile": {"frames": [{"function": "a"}, {"function": "b", "platform": "c"}]}}
    set_frames_platform(profile)
    assert [f["platform"] for f in profile["profile"]["frames"]] == ["python", "c"]
    android = {"platform": "android", "profile": {"methods": [{"name": "m"}], "frames": []}}
    set_frames_platform(android)
    assert android["profile"]["methods"][0]["platform"] == "android"
    perfetto = {
        "version": "2",
        "platform": "android",
        "profile": {
            "frames": [
                {"platform": "java", "module": "androidx.core.View"},
                {"platform": "java", "module": "com.example.Main"},
                {"platform": "native", "function": "memcpy"},
                {"platform": "java", "module": "kotlin.Lazy", "in_app": True},
            ]
        },
    }
    set_frames_platform(perfetto)
    assert [f.get("in_app") for f in perfetto["profile"]["frames"]] == [False, True, False, True]


@pytest.mark.parametrize("key", ["sampled_profile", "profile"])
def test_frame_platform_of_legacy_profiles_sets_the_samples_frames(key):
    legacy = {"platform": "rust", key: {"samples": [{"frames": [{"instruction_addr": "0x1"}]}, {"frames": []}]}}
    set_frames_platform(legacy)
    assert legacy[key]["samples"][0]["frames"] == [{"instruction_addr": "0x1", "platform": "rust"}]
