"""Reading objects and opening messages: every kind of bad input gets its precise error kind."""

from __future__ import annotations

import gzip
from pathlib import Path

import msgpack
import orjson
import pytest
import zstandard

from profile_pipeline.adapters.ingest import BadInput, RawMessage, read_object
from profile_pipeline.config import JobConfig, Limits, SentryOptions
from profile_pipeline.formats import ANDROID, ANDROID_CHUNK, LEGACY, SAMPLE_V1, SAMPLE_V2, detect_format
from profile_pipeline.stages.envelope import Dropped, open_message
from profile_pipeline.work import ProfileWork

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "ingest" / "python-sample-v1.msgpack"
CONFIG = JobConfig(options=SentryOptions(unsampled_profiles_enabled=True))

V1 = {
    "version": "1",
    "platform": "python",
    "event_id": "a" * 32,
    "profile": {"samples": [], "stacks": [], "frames": []},
}


_ABSENT = object()


def message(payload: object = V1, **overrides: object) -> dict:
    """An ingest message; `_ABSENT` as a value leaves that key out."""
    body = payload if isinstance(payload, bytes | str | int) or payload is _ABSENT else orjson.dumps(payload)
    value = {"type": "profile", "organization_id": 1, "project_id": 2, "key_id": 3, "received": 1700000000}
    value["payload"] = body
    value.update(overrides)
    return {key: item for key, item in value.items() if item is not _ABSENT}


def read(stream: bytes, path: str = "s3a://bucket/dt=2026-11-24/part-0.msgpack", limits: Limits | None = None):
    return list(read_object(path, len(stream), stream, limits or Limits()))


def opened(value: dict, config: JobConfig = CONFIG):
    (record,) = read(msgpack.packb(value))
    assert isinstance(record, RawMessage)
    return open_message(record, config)


def test_real_ingest_message_opens_as_sample_v1_with_envelope_merged():
    stream = FIXTURE.read_bytes()
    (record,) = read(stream)
    work = open_message(record, CONFIG)
    assert isinstance(work, ProfileWork)
    assert work.format == SAMPLE_V1
    assert (work.profile["organization_id"], work.profile["project_id"]) == (1, 2)
    assert work.profile["received"] == 1718315383
    assert work.profile["sampled"] is True
    assert work.source.offset == 0 and work.source.length == len(stream)
    assert work.raw == stream


def test_stream_of_messages_keeps_offsets_of_each():
    first, second = msgpack.packb(message()), msgpack.packb(message(project_id=5))
    records = read(first + second)
    assert [r.source.offset for r in records] == [0, len(first)]
    assert [r.source.length for r in records] == [len(first), len(second)]
    assert records[1].raw == second


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed_objects_are_decompressed(suffix):
    stream = msgpack.packb(message()) * 3
    content = gzip.compress(stream) if suffix == ".gz" else zstandard.ZstdCompressor().compress(stream)
    records = read(content, path=f"/in/dt=2026-11-24/part{suffix}")
    assert len(records) == 3 and all(isinstance(r, RawMessage) for r in records)


def test_truncated_stream_keeps_good_messages_and_quarantines_the_tail():
    good = msgpack.packb(message())
    broken = msgpack.packb(message())[:-7]
    records = read(good + broken)
    assert isinstance(records[0], RawMessage)
    assert isinstance(records[1], BadInput) and records[1].kind == "corrupt_stream"
    assert records[1].source.offset == len(good) and records[1].raw == broken


def test_garbage_and_corrupt_compression_and_empty_objects():
    assert read(b"\xc1\xc1\xc1")[0].kind == "corrupt_stream"
    assert read(b"not gzip", path="/x.gz")[0].kind == "corrupt_stream"
    assert read(b"")[0].kind == "corrupt_stream"


def test_size_limits_object_message_and_decompressed():
    stream = msgpack.packb(message())
    (too_big_object,) = list(read_object("/x", 10_000, None, Limits(max_object_bytes=100)))
    assert too_big_object.kind == "too_large" and too_big_object.raw is None
    assert read(stream, limits=Limits(max_message_bytes=10))[0].kind == "too_large"
    bomb = gzip.compress(b"\x00" * 100_000)
    assert read(bomb, path="/x.gz", limits=Limits(max_decompressed_object_bytes=1000))[0].kind == "too_large"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (message(organization_id=_ABSENT), "missing_field:organization_id"),
        (message(project_id=_ABSENT), "missing_field:project_id"),
        (message(received=_ABSENT), "missing_field:received"),
        (message(payload=_ABSENT), "missing_field:payload"),
        (message(project_id="2"), "bad_type:project_id"),
        (message(organization_id=True), "bad_type:organization_id"),
        (message(received=-1), "bad_type:received"),
        (message(sampled="yes"), "bad_type:sampled"),
        (message(key_id="k"), "bad_type:key_id"),
        (message(payload=12), "bad_type:payload"),
        (message(payload=b"{not json"), "payload_not_json"),
        (message(payload=b"[1, 2]"), "unknown_format"),
        (message(payload={"platform": "python"}), "unknown_format"),
        (message(payload={**V1, "version": "3"}), "unknown_format"),
        (message(payload={**V1, "event_id": "../../etc/passwd"}), "bad_type:event_id"),
        (message(payload={k: v for k, v in V1.items() if k != "event_id"}), "missing_field:event_id"),
        (message(payload={"version": "2", "platform": "python", "chunk_id": "b" * 32}), "missing_field:profiler_id"),
        (message(payload={**V1, "platform": 7}), "bad_type:platform"),
    ],
)
def test_bad_messages_get_precise_kinds(value, kind):
    result = opened(value)
    assert isinstance(result, BadInput)
    assert result.kind == kind, result.message


def test_not_a_map():
    (record,) = read(msgpack.packb([1, 2, 3]))
    result = open_message(record, CONFIG)
    assert isinstance(result, BadInput) and result.kind == "not_a_map"
    assert result.organization_id is None


def test_bad_input_keeps_org_and_project_when_readable():
    result = opened(message(payload=b"{"))
    assert (result.organization_id, result.project_id) == (1, 2)


def test_per_profile_limits():
    big = {**V1, "profile": {"samples": [], "stacks": [], "frames": [{}] * 11}}
    config = JobConfig(limits=Limits(max_frames=10))
    result = opened(message(payload=big), config)
    assert isinstance(result, BadInput) and result.kind == "too_large" and "11 frames" in result.message


def test_sampling_gate_drops_unsampled_without_decoding_when_option_off():
    off = JobConfig(options=SentryOptions(unsampled_profiles_enabled=False))
    assert isinstance(opened(message(payload=b"{garbage", sampled=False), off), Dropped)
    kept = opened(message(sampled=False), CONFIG)
    assert isinstance(kept, ProfileWork) and kept.sampled is False and kept.profile["sampled"] is False
    assert isinstance(opened(message(), off), ProfileWork)


def test_profile_id_becomes_event_id():
    android = {"platform": "android", "profile_id": "c" * 32, "event_id": "d" * 32, "profile": {}}
    work = opened(message(payload=android))
    assert work.format == ANDROID and work.profile["event_id"] == "c" * 32


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"version": "1"}, SAMPLE_V1),
        ({"version": "2", "profiler_id": "x", "chunk_id": "y"}, SAMPLE_V2),
        ({"version": "2", "platform": "android"}, SAMPLE_V2),
        ({"version": "2.android-trace", "platform": "android"}, ANDROID_CHUNK),
        ({"platform": "android", "profiler_id": "x"}, ANDROID_CHUNK),
        ({"platform": "android"}, ANDROID),
        ({"platform": "android", "js_profile": {}}, ANDROID),
        ({"platform": "cocoa", "sampled_profile": {}}, LEGACY),
        ({"platform": "rust", "sampled_profile": {}}, LEGACY),
    ],
)
def test_format_detection_order(payload, expected):
    assert detect_format(payload) == expected
