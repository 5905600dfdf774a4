"""Synthetic profiles, ingest streams, bad input and whole days (synthetic)."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import msgpack
import orjson
import pytest
import symbolic
import vroomrs
import zstandard

from profile_pipeline.adapters.ingest import BadInput, RawMessage, read_object
from profile_pipeline.config import Limits, load_config
from profile_pipeline.formats import (
    ANDROID,
    ANDROID_CHUNK,
    LEGACY,
    SAMPLE_V1,
    SAMPLE_V2,
    UnknownFormat,
    detect_format,
    id_fields,
    is_chunk,
    is_valid_id,
)
from profile_pipeline.stages.envelope import Dropped, open_message
from synthetic.bad import MESSAGE, OBJECT, TAIL, bad_messages, bad_objects, bad_tails
from synthetic.catalog import FIXTURES, JS_ABS_PATH, NATIVE_MODULES, PROGUARD_MAPPING, PROGUARD_UUID
from synthetic.day import FIXTURE_KIND, write_day
from synthetic.messages import ingest_message, pack_stream
from synthetic.profiles import JS_RELEASES, KINDS, ProfileSpec, generate

ALL_KINDS = sorted(KINDS)
MAKE_SAMPLE_DAY = Path(__file__).resolve().parents[1] / "jobs" / "make_sample_day.py"


def _profile(kind: str, seed: int = 7, **spec: Any) -> dict[str, Any]:
    return generate(kind, random.Random(seed), ProfileSpec(**spec))


@pytest.fixture(scope="module")
def profiles() -> dict[str, dict[str, Any]]:
    return {kind: _profile(kind) for kind in ALL_KINDS}


@pytest.fixture(scope="module")
def symcaches() -> dict[str, Any]:
    caches = {}
    for module in NATIVE_MODULES:
        archive = symbolic.Archive.open(str(FIXTURES / module.path))
        caches[module.debug_id] = next(iter(archive.iter_objects())).make_symcache()
    return caches


def _sample_data(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """The sample-format bodies of a profile: `profile` of v1/v2, `js_profile` of React Native Android."""
    bodies = []
    if "version" in profile:
        bodies.append(profile["profile"])
    if "js_profile" in profile:
        bodies.append(profile["js_profile"])
    return bodies


def _frames(profile: dict[str, Any]) -> list[dict[str, Any]]:
    frames = [frame for body in _sample_data(profile) for frame in body["frames"]]
    for sample in profile.get("sampled_profile", {}).get("samples", []):
        frames.extend(sample["frames"])
    return frames


# --- formats and ids -------------------------------------------------------------------------


def test_every_format_of_the_spec_is_generated() -> None:
    assert {kind.format for kind in KINDS.values()} == {SAMPLE_V1, SAMPLE_V2, ANDROID, ANDROID_CHUNK, LEGACY}


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_detected_as_intended_format_with_valid_ids(kind: str, profiles: dict[str, dict[str, Any]]) -> None:
    profile = profiles[kind]
    fmt = detect_format(profile)
    assert fmt == KINDS[kind].format
    assert is_chunk(profile) == (fmt in (SAMPLE_V2, ANDROID_CHUNK))
    for key in id_fields(fmt):
        assert is_valid_id(profile[key]) and len(profile[key]) == 32 and profile[key] == profile[key].lower()
    for key in ("transaction_id", "trace_id"):
        if key in profile:
            assert is_valid_id(profile[key])
    if "transaction" in profile:
        transaction = profile["transaction"]
        assert is_valid_id(transaction["id"]) and is_valid_id(transaction["trace_id"])
        assert transaction["relative_start_ns"] == 0 < transaction["relative_end_ns"]


@pytest.mark.parametrize("kind", ["react_native_ios", "android_perfetto_chunk", "react_native_android"])
def test_mixed_platform_kinds(kind: str, profiles: dict[str, dict[str, Any]]) -> None:
    profile = profiles[kind]
    platforms = {frame.get("platform") for frame in _frames(profile)}
    images = {image["type"] for image in profile["debug_meta"]["images"]}
    if kind == "react_native_ios":
        assert profile["platform"] == "javascript" and "cocoa" in platforms
        assert images == {"sourcemap", "macho"}
    elif kind == "android_perfetto_chunk":
        assert profile["platform"] == "android" and platforms == {"java", "native"}
        assert images == {"proguard", "elf"}
    else:
        assert profile["js_profile"]["frames"] and "release" in profile and "dist" in profile
        assert images == {"proguard", "sourcemap"}


# --- shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_sample_shapes(kind: str, profiles: dict[str, dict[str, Any]]) -> None:
    profile = profiles[kind]
    for body in _sample_data(profile):
        chunk_shape = is_chunk(profile)
        thread_type = str if chunk_shape else int
        assert body["samples"]
        for sample in body["samples"]:
            assert isinstance(sample["thread_id"], thread_type)
            assert 0 <= sample["stack_id"] < len(body["stacks"])
            if chunk_shape:
                assert isinstance(sample["timestamp"], float)
                assert sample["timestamp"] == round(sample["timestamp"], 3)
            else:
                assert isinstance(sample["elapsed_since_start_ns"], int)
        assert all(0 <= index < len(body["frames"]) for stack in body["stacks"] for index in stack)
        assert all(isinstance(key, str) for key in body.get("thread_metadata", {}))
        used = {index for stack in body["stacks"] for index in stack}
        assert used == set(range(len(body["frames"]))), "every frame is on some stack"
    if profile.get("version") == "1":
        assert isinstance(profile["transaction"]["active_thread_id"], int)
        assert profile["timestamp"].endswith("Z")


def _android_time(event: dict[str, Any]) -> int:
    wall = event["time"]["Monotonic"]["wall"]
    return wall["secs"] * 1_000_000_000 + wall["nanos"]


@pytest.mark.parametrize("kind", ["android_legacy", "android_chunk", "react_native_android"])
def test_android_events_are_nested_per_thread(kind: str, profiles: dict[str, dict[str, Any]]) -> None:
    profile = profiles[kind]
    trace = profile["profile"]
    thread_ids = {thread["id"] for thread in trace["threads"]}
    method_ids = {method["id"] for method in trace["methods"]}
    open_calls: dict[int, list[int]] = {thread: [] for thread in thread_ids}
    times = [_android_time(event) for event in trace["events"]]
    assert times == sorted(times)
    for event in trace["events"]:
        assert event["thread_id"] in thread_ids and event["method_id"] in method_ids
        if event["action"] == "Enter":
            open_calls[event["thread_id"]].append(event["method_id"])
        else:
            assert event["action"] == "Exit"
            assert open_calls[event["thread_id"]].pop() == event["method_id"]
    assert not any(open_calls.values())
    assert profile["duration_ns"] == times[-1]
    assert profile["build_id"] == PROGUARD_UUID
    if kind == "android_chunk":
        assert isinstance(profile["timestamp"], float)
    else:
        assert profile["transaction"]["relative_end_ns"] == profile["duration_ns"]


@pytest.mark.parametrize("kind", ["legacy_cocoa", "legacy_rust"])
def test_legacy_sampled_profile_shape(kind: str, profiles: dict[str, dict[str, Any]]) -> None:
    sampled = profiles[kind]["sampled_profile"]
    time_key = "relative_timestamp_ns" if kind == "legacy_cocoa" else "nanos_relative_to_start"
    for sample in sampled["samples"]:
        assert isinstance(sample["thread_id"], int) and isinstance(sample[time_key], int)
        assert sample["frames"] and all(set(frame) == {"instruction_addr"} for frame in sample["frames"])
    if kind == "legacy_rust":
        assert {"start_time_nanos", "start_time_secs", "duration_nanos"} <= set(sampled)
        assert {image["type"] for image in profiles[kind]["debug_meta"]["images"]} == {"symbolic"}


# --- references into the real fixtures --------------------------------------------------------


@pytest.mark.parametrize(
    "kind", [kind for kind in ALL_KINDS if "cocoa" in kind or "rust" in kind] + ["react_native_ios"]
)
def test_native_frames_land_in_real_functions(kind: str, profiles: dict[str, Any], symcaches: dict[str, Any]) -> None:
    profile = profiles[kind]
    images = [image for image in profile["debug_meta"]["images"] if "image_addr" in image]
    native = [frame for frame in _frames(profile) if "instruction_addr" in frame]
    assert native
    for frame in native:
        address = int(frame["instruction_addr"], 16)
        (image,) = [
            image
            for image in images
            if int(image["image_addr"], 16) <= address < int(image["image_addr"], 16) + image["image_size"]
        ]
        relative = address - int(image["image_addr"], 16)
        # Callers are looked up one byte lower: both must be inside the same real function.
        found, below = symcaches[image["debug_id"]].lookup(relative), symcaches[image["debug_id"]].lookup(relative - 1)
        assert found and below and found[-1].symbol == below[-1].symbol


def test_load_addresses_vary_but_relative_addresses_repeat() -> None:
    first, second = _profile("cocoa_v1", seed=1), _profile("cocoa_v1", seed=2)
    bases = [
        {image["debug_id"]: int(image["image_addr"], 16) for image in p["debug_meta"]["images"]}
        for p in (first, second)
    ]
    assert bases[0] != bases[1]
    crash = "67e9247c-814e-392b-a027-dbde6748fcbf"

    def relative(profile: dict[str, Any], base: int) -> set[int]:
        addresses = {int(frame["instruction_addr"], 16) - base for frame in profile["profile"]["frames"]}
        return {address for address in addresses if 0 <= address < 0xE000}

    assert relative(first, bases[0][crash]) & relative(second, bases[1][crash])


@pytest.mark.parametrize("kind", ["javascript_v1", "node_v1", "react_native_ios", "react_native_android"])
def test_js_frames_map_through_the_source_map(kind: str, profiles: dict[str, Any]) -> None:
    cache = symbolic.SourceMapCache.from_bytes(
        (FIXTURES / "sourcemaps/embedded.js").read_bytes(), (FIXTURES / "sourcemaps/embedded.js.map").read_bytes()
    )
    bundle = [frame for frame in _frames(profiles[kind]) if frame.get("abs_path") == JS_ABS_PATH]
    assert bundle
    for frame in bundle:
        token = cache.lookup(frame["lineno"], frame["colno"], 0)
        assert token is not None and token.function_name == frame["function"]
        assert token.src in ("file1.js", "file2.js")


@pytest.mark.parametrize("kind", ["android_legacy", "android_chunk", "android_perfetto_chunk"])
def test_android_app_methods_are_obfuscated_names_the_mapping_remaps(kind: str, profiles: dict[str, Any]) -> None:
    mapper = symbolic.ProguardMapper.open(str(FIXTURES / PROGUARD_MAPPING))
    assert str(mapper.uuid) == PROGUARD_UUID
    profile = profiles[kind]
    if "methods" in profile["profile"]:
        entries = [(m["class_name"], m["name"], m.get("source_line", 0)) for m in profile["profile"]["methods"]]
    else:
        entries = [(f["module"], f["function"], f["lineno"]) for f in _frames(profile) if f["platform"] == "java"]
    framework_prefixes = ("android.os.", "android.app.", "android.view.", "java.", "com.android.")
    app = [entry for entry in entries if not entry[0].startswith(framework_prefixes)]
    assert app and len(app) < len(entries)
    remapped = [mapper.remap_frame(*entry) for entry in app]
    assert all(remapped)
    renamed = [frames[-1].method != entry[1] for frames, entry in zip(remapped, app, strict=True)]
    assert any(renamed)


# --- size, determinism, vroomrs ---------------------------------------------------------------


@pytest.mark.parametrize("target", [20_000, 100_000, 400_000])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_size_is_near_target(kind: str, target: int) -> None:
    size = len(orjson.dumps(_profile(kind, target_bytes=target)))
    assert 0.8 * target <= size <= 1.2 * target


def test_frames_parameter_sets_distinct_frames() -> None:
    assert len(_profile("python_v1", frames=50)["profile"]["frames"]) == 50
    assert len(_profile("android_legacy", frames=30)["profile"]["methods"]) == 30


def _containers(value: Any) -> set[int]:
    if isinstance(value, dict):
        return {id(value)}.union(*map(_containers, value.values()))
    if isinstance(value, list):
        return {id(value)}.union(*map(_containers, value))
    return set()


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_profiles_share_no_mutable_parts(kind: str) -> None:
    """Stages mutate profiles in place: one profile's change must never show in another."""
    extra = {"transaction_tags": {"device.class": "2"}}
    first, second = (
        generate(kind, random.Random(seed), ProfileSpec(target_bytes=5_000, extra=extra)) for seed in (1, 2)
    )
    assert not _containers(first) & _containers(second)


def test_release_parameter_and_determinism() -> None:
    assert _profile("node_v1", release="frontend@9.9.9")["release"] == "frontend@9.9.9"
    assert orjson.dumps(_profile("cocoa_v1", seed=3)) == orjson.dumps(_profile("cocoa_v1", seed=3))
    assert _profile("cocoa_v1", seed=3)["event_id"] != _profile("cocoa_v1", seed=4)["event_id"]


@pytest.mark.parametrize("kind", [kind for kind in ALL_KINDS if KINDS[kind].format != LEGACY])
def test_vroomrs_reads_the_merged_profile(kind: str, profiles: dict[str, Any]) -> None:
    """What the vroom stage will see: the payload after envelope merge and js_profile wrapping."""
    profile = json.loads(orjson.dumps(profiles[kind]))
    profile.update(organization_id=1, project_id=2, received=1795996900, sampled=True, retention_days=90)
    if "profile_id" in profile:
        profile["event_id"] = profile["profile_id"]
    if "js_profile" in profile:
        profile["js_profile"] = {"profile": profile["js_profile"]}
    text = json.dumps(profile)
    if is_chunk(profile):
        chunk = vroomrs.profile_chunk_from_json_str_and_version(text, profile.get("version", ""))
        chunk.normalize()
        assert chunk.get_chunk_id() == profile["chunk_id"] and chunk.duration_ms() > 0
    else:
        parsed = vroomrs.profile_from_json_str(text, profile["platform"])
        parsed.normalize()
        assert parsed.get_profile_id() == profile["event_id"] and parsed.duration_ns() > 0


# --- messages and streams ---------------------------------------------------------------------


def _unpack_all(data: bytes) -> list[Any]:
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(data)
    return list(unpacker)


def test_messages_round_trip_through_a_stream(profiles: dict[str, Any]) -> None:
    messages = [
        ingest_message(profiles[kind], organization_id=1, project_id=2, received=1795996900 + i, sampled=i % 2 == 0)
        for i, kind in enumerate(ALL_KINDS)
    ]
    decoded = _unpack_all(pack_stream(messages))
    assert len(decoded) == len(ALL_KINDS)
    for kind, message in zip(ALL_KINDS, decoded, strict=True):
        assert isinstance(message["payload"], bytes)
        assert orjson.loads(message["payload"]) == profiles[kind]
        chunk = is_chunk(profiles[kind])
        assert message["type"] == ("profile_chunk" if chunk else "profile")
        assert ("key_id" in message) != chunk and ("sampled" in message) != chunk
        assert (message["organization_id"], message["project_id"], message["retention_days"]) == (1, 2, 90)


def test_sampled_absent_unless_given(profiles: dict[str, Any]) -> None:
    message = ingest_message(profiles["python_v1"], organization_id=1, project_id=2, received=1)
    assert "sampled" not in message and message["key_id"] is None


# --- bad input --------------------------------------------------------------------------------

_SMALL_LIMITS = Limits(max_message_bytes=2 * 1024 * 1024, max_frames=5_000)
_MESSAGE_KEYS = {"organization_id": int, "project_id": int, "received": int, "payload": bytes, "sampled": bool}


def _payload(message: dict[str, Any]) -> Any:
    return orjson.loads(message["payload"])


def _assert_bad_as_said(kind: str, data: bytes, limits: Limits) -> None:
    """The record is bad in exactly the announced way, judged from its bytes."""
    if kind == "too_large":
        message = msgpack.unpackb(data, raw=False)
        frames = len(_payload(message)["profile"]["frames"])
        assert len(data) > limits.max_message_bytes or frames > limits.max_frames
        return
    (value,) = _unpack_all(data)
    if kind == "not_a_map":
        assert not isinstance(value, dict)
        return
    assert isinstance(value, dict)
    head, _, name = kind.partition(":")
    if head == "missing_field" and name in _MESSAGE_KEYS:
        assert name not in value and all(key in value for key in _MESSAGE_KEYS if key not in (name, "sampled"))
    elif head == "bad_type" and name in _MESSAGE_KEYS:
        assert type(value[name]) is not _MESSAGE_KEYS[name]
    elif kind == "payload_not_json":
        with pytest.raises(orjson.JSONDecodeError):
            _payload(value)
    elif kind == "unknown_format":
        payload = _payload(value)
        if isinstance(payload, dict):
            with pytest.raises(UnknownFormat):
                detect_format(payload)
    elif head == "bad_type":
        payload = _payload(value)
        assert name in id_fields(detect_format(payload)) and not is_valid_id(payload[name])
    elif head == "missing_field":
        payload = _payload(value)
        assert name in id_fields(detect_format(payload)) and name not in payload
    else:
        pytest.fail(f"unexpected kind {kind}")


def test_bad_messages_are_bad_in_the_intended_way() -> None:
    records = bad_messages(random.Random(5), limits=_SMALL_LIMITS)
    kinds = Counter(record.kind for record in records)
    for expected in ("not_a_map", "payload_not_json", "unknown_format", "too_large", "bad_type:event_id"):
        assert kinds[expected] >= 1
    assert {f"missing_field:{key}" for key in ("organization_id", "project_id", "received", "payload")} <= set(kinds)
    assert {"bad_type:project_id", "bad_type:sampled", "bad_type:payload"} <= set(kinds)
    assert kinds["too_large"] == 2
    for record in records:
        assert record.scope == MESSAGE
        _assert_bad_as_said(record.kind, record.data, _SMALL_LIMITS)


def test_oversize_follows_the_limit() -> None:
    records = bad_messages(random.Random(5), limits=_SMALL_LIMITS, oversize=False)
    assert [record.name for record in records if record.kind == "too_large"] == ["frames over the limit"]


def test_bad_tails_break_a_stream_after_good_messages(profiles: dict[str, Any]) -> None:
    good = pack_stream([ingest_message(profiles["python_v1"], organization_id=1, project_id=2, received=1)])
    for record in bad_tails(random.Random(1)):
        assert record.scope == TAIL and record.kind == "corrupt_stream"
        unpacker = msgpack.Unpacker(raw=False)
        unpacker.feed(good + record.data)
        assert unpacker.unpack()["project_id"] == 2
        with pytest.raises((msgpack.OutOfData, msgpack.UnpackException, ValueError)):
            unpacker.unpack()


def test_bad_objects_hold_no_stream() -> None:
    records = bad_objects()
    assert {record.suffix for record in records} == {"", ".gz", ".zst"}
    for record in records:
        assert record.scope == OBJECT and record.kind == "corrupt_stream"
        if record.suffix == ".gz":
            with pytest.raises(OSError):
                gzip.decompress(record.data)
        elif record.suffix == ".zst":
            with pytest.raises(zstandard.ZstdError):
                zstandard.ZstdDecompressor().decompress(record.data)
        else:
            assert record.data == b""


# --- whole days -------------------------------------------------------------------------------


def _decompress(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    if path.name.endswith(".zst"):
        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True).read()
    return data


def _is_good(value: Any) -> bool:
    if not isinstance(value, dict) or not all(
        isinstance(value.get(key), int) for key in ("organization_id", "project_id", "received")
    ):
        return False
    if not isinstance(value.get("payload"), bytes) or not isinstance(value.get("sampled", True), bool):
        return False
    try:
        payload = orjson.loads(value["payload"])
        fmt = detect_format(payload) if isinstance(payload, dict) else None
    except (orjson.JSONDecodeError, UnknownFormat):
        return False
    if fmt is None:
        return False
    return (
        all(is_valid_id(payload.get(key)) for key in id_fields(fmt))
        and len(payload.get("profile", {}).get("frames", [])) <= _SMALL_LIMITS.max_frames
    )


def _read_day(directory: Path) -> tuple[Counter[str], int, int, int]:
    """Formats of good messages, unsampled good messages, bad values, broken streams or objects."""
    formats: Counter[str] = Counter()
    unsampled = bad = broken = 0
    for path in sorted(directory.iterdir()):
        try:
            stream = _decompress(path)
        except (OSError, zstandard.ZstdError):
            broken += 1
            continue
        if not stream:
            broken += 1
            continue
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=len(stream))
        unpacker.feed(stream)
        try:
            for value in unpacker:
                if len(msgpack.packb(value, use_bin_type=True)) > _SMALL_LIMITS.max_message_bytes:
                    bad += 1
                elif _is_good(value):
                    formats[detect_format(orjson.loads(value["payload"]))] += 1
                    unsampled += value.get("sampled") is False
                else:
                    bad += 1
        except (msgpack.UnpackException, ValueError):
            broken += 1
            continue
        broken += unpacker.tell() < len(stream)  # a value cut short ends the iteration early
    return formats, unsampled, bad, broken


@pytest.mark.parametrize("compression", [None, "gz", "zst"])
def test_write_day_accounts_for_every_record(tmp_path: Path, compression: str | None) -> None:
    manifest = write_day(
        tmp_path,
        "2026-11-24",
        profiles=48,
        objects=3,
        seed=11,
        compression=compression,
        target_bytes=8_000,
        limits=_SMALL_LIMITS,
    )
    directory = tmp_path / "dt=2026-11-24"
    assert sorted(path.name for path in directory.iterdir()) == sorted(manifest.objects)
    suffix = {None: ".msgpack", "gz": ".msgpack.gz", "zst": ".msgpack.zst"}[compression]
    assert all(name.endswith(suffix) for name in manifest.objects[:3])
    formats, unsampled, bad, broken = _read_day(directory)
    assert formats == manifest.by_format
    assert sum(formats.values()) == manifest.profiles == 48 + 1 + 2 * len(bad_tails(random.Random(0)))
    assert unsampled == manifest.unsampled > 0
    assert bad + broken == sum(manifest.quarantine.values())
    assert broken == manifest.quarantine["corrupt_stream"]
    assert manifest.by_kind[FIXTURE_KIND] == 1
    assert set(manifest.by_kind) == {*KINDS, FIXTURE_KIND}
    assert manifest.object_bytes == sum(path.stat().st_size for path in directory.iterdir())


def test_write_day_without_bad_or_unsampled(tmp_path: Path) -> None:
    manifest = write_day(
        tmp_path,
        "2026-11-25",
        profiles=20,
        objects=2,
        seed=1,
        include_bad=False,
        include_unsampled=False,
        target_bytes=5_000,
    )
    formats, unsampled, bad, broken = _read_day(tmp_path / "dt=2026-11-25")
    assert (unsampled, bad, broken) == (0, 0, 0) and manifest.unsampled == 0 and not manifest.quarantine
    assert sum(formats.values()) == manifest.profiles == 21 and len(manifest.objects) == 2


def test_write_day_with_a_fixed_count_of_legacy_profiles(tmp_path: Path) -> None:
    manifest = write_day(tmp_path, "2026-11-25", profiles=60, seed=2, legacy_profiles=2, target_bytes=5_000)
    formats, *_ = _read_day(tmp_path / "dt=2026-11-25")
    live_kinds = {kind for kind, spec in KINDS.items() if spec.format != LEGACY}
    # The broken tails' good messages are of live formats too: two legacy profiles in the whole day.
    assert formats[LEGACY] == manifest.by_format[LEGACY] == 2
    assert live_kinds <= set(manifest.by_kind)


def test_write_day_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_day(tmp_path / name, "2026-11-24", profiles=10, objects=1, seed=3, target_bytes=5_000, oversize=False)
    first = (tmp_path / "a/dt=2026-11-24/part-00000.msgpack").read_bytes()
    assert first == (tmp_path / "b/dt=2026-11-24/part-00000.msgpack").read_bytes()


@pytest.mark.parametrize("unsampled_enabled", [True, False])
def test_the_jobs_reader_agrees_with_the_manifest(tmp_path: Path, unsampled_enabled: bool) -> None:
    """The job's own reader and envelope checks give every record the kind the manifest announces."""
    manifest = write_day(
        tmp_path,
        "2026-11-24",
        profiles=48,
        objects=3,
        seed=5,
        compression="gz",
        target_bytes=8_000,
        limits=_SMALL_LIMITS,
    )
    config = load_config(None, {"options.unsampled_profiles_enabled": unsampled_enabled})
    config = dataclasses.replace(config, limits=_SMALL_LIMITS)
    formats: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    dropped = 0
    for path in sorted((tmp_path / "dt=2026-11-24").iterdir()):
        content = path.read_bytes()
        for record in read_object(str(path), len(content), content, config.limits):
            opened = open_message(record, config) if isinstance(record, RawMessage) else record
            if isinstance(opened, Dropped):
                dropped += 1
            elif isinstance(opened, BadInput):
                kinds[opened.kind] += 1
            else:
                formats[opened.format] += 1
    assert kinds == manifest.quarantine
    assert dropped == (0 if unsampled_enabled else manifest.unsampled)
    assert sum(formats.values()) + dropped == manifest.profiles
    assert formats == manifest.by_format or not unsampled_enabled


def test_make_sample_day_writes_input_store_and_manifest(tmp_path: Path) -> None:
    argv = [sys.executable, str(MAKE_SAMPLE_DAY), "--root", str(tmp_path), "--date", "2026-11-24", "--profiles", "16"]
    argv += ["--target-bytes", "5000"]
    subprocess.run([*argv, "--compression", "zst"], check=True, cwd=tmp_path, capture_output=True)
    done = subprocess.run(argv, check=True, cwd=tmp_path, capture_output=True, text=True)  # replaces the day
    manifest = json.loads((tmp_path / "manifest-2026-11-24.json").read_text())
    assert f"{manifest['profiles']} profiles" in done.stdout and manifest["profiles"] == 16 + 1 + 4
    day = tmp_path / "input" / "dt=2026-11-24"
    assert sorted(path.name for path in day.iterdir()) == sorted(manifest["objects"])
    assert manifest["by_kind"][FIXTURE_KIND] == 1 and sum(manifest["quarantine"].values()) > 20
    store = tmp_path / "symbols"
    for module in NATIVE_MODULES:
        identifier = (module.code_id or module.debug_id).replace("-", "")
        assert (store / identifier[:2] / identifier[2:] / "debuginfo").is_file()
    proguard = PROGUARD_UUID.replace("-", "")
    assert (store / proguard[:2] / proguard[2:] / "proguard").is_file()
    for release, dist in JS_RELEASES:
        bundle = store / "releases" / release / (dist or "_") / "embedded.js"
        assert bundle.is_file() and Path(f"{bundle}.map").is_file()
