"""Android sample v2 (converted from Perfetto) through symbolication: the java and native passes of SPEC §4.5.

Profiles come from the synthetic generator (obfuscated classes of the sample app's ProGuard mapping, native
frames in the Linux ELF fixture) over the store the generator's fixtures sort into. Expected frames are
computed independently per original stack entry: `symbolic.ProguardMapper` for java frames, a SymCache of
the ELF fixture for native ones.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import symbolic
from android_profiles import context, work_of
from servers.symbolicator import SymbolicatorServer

from profile_pipeline.adapters.symbol_store import object_uri
from profile_pipeline.adapters.symbolicator.client import SymbolicatorBackend
from profile_pipeline.adapters.symbolicator.embedded import EmbeddedBackend
from profile_pipeline.config import SymbolicationConfig
from profile_pipeline.stages.pipeline import run_stages
from profile_pipeline.stages.symbolication import symbolicate_profiles
from profile_pipeline.work import FAILED_SYMBOLICATION, ProfileWork
from synthetic import generate, write_symbol_store
from synthetic.catalog import CRASH_LINUX, FIXTURES, PROGUARD_MAPPING, PROGUARD_UUID
from synthetic.profiles import ProfileSpec

FRAMEWORK = ("android.", "androidx.", "com.android.", "com.google.android.", "com.motorola.", "java.", "javax.")
FRAMEWORK += ("kotlin.", "kotlinx.", "retrofit2.", "sun.")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    store = str(tmp_path_factory.mktemp("symbols"))
    write_symbol_store(store)
    return store


@pytest.fixture
def server(store: str) -> Iterator[SymbolicatorServer]:
    with SymbolicatorServer(store) as running:
        yield running


@pytest.fixture(scope="module")
def mapper() -> symbolic.ProguardMapper:
    return symbolic.ProguardMapper.open(str(FIXTURES / PROGUARD_MAPPING))


@pytest.fixture(scope="module")
def symcache() -> Any:
    archive = symbolic.Archive.open(str(FIXTURES / CRASH_LINUX.path))
    return next(iter(archive.iter_objects())).make_symcache()


def chunk(seed: int, frames: int = 60) -> dict[str, Any]:
    spec = ProfileSpec(frames=frames, target_bytes=frames * 300, extra={"organization_id": 1, "project_id": 2})
    return generate("android_perfetto_chunk", random.Random(seed), spec)


def batch(count: int = 4) -> list[dict[str, Any]]:
    return [chunk(seed) for seed in range(count)]


def stage_works(profiles: list[dict[str, Any]], **ctx: Any) -> list[ProfileWork]:
    works = [work_of(copy.deepcopy(profile)) for profile in profiles]
    run_stages(works, context(**ctx))
    return works


def direct(profiles: list[dict[str, Any]], store: str) -> list[BaseException | None]:
    backend = EmbeddedBackend(store, 64, 1 << 30)
    return symbolicate_profiles([(profile, 2) for profile in profiles], lambda _: backend)


def result_key(frame: dict[str, Any]) -> tuple[Any, ...]:
    if frame["platform"] == "java":
        return ("java", frame["module"], frame["function"], frame["lineno"])
    return ("native", frame.get("symbol"))


def expected_keys(
    original: dict[str, Any], stack: list[int], mapper: symbolic.ProguardMapper, symcache: Any
) -> list[tuple[Any, ...]]:
    """What a stack of the original profile becomes: remapped java frames, looked-up native ones."""
    frames = original["profile"]["frames"]
    (image,) = [image for image in original["debug_meta"]["images"] if image["type"] == "elf"]
    base = int(image["image_addr"], 16)
    keys: list[tuple[Any, ...]] = []
    for position, index in enumerate(stack):
        frame = frames[index]
        if frame["platform"] == "java":
            remapped = mapper.remap_frame(frame["module"], frame["function"], frame["lineno"])
            if remapped:  # innermost first, as the stacks list them
                keys.extend(("java", new.class_name, new.method, new.line) for new in remapped)
            else:
                keys.append(("java", frame["module"], frame["function"], frame["lineno"]))
            continue
        address = int(frame["instruction_addr"], 16)
        # The leaf is the interrupted instruction; callers are return addresses, looked up a step back.
        lookup = address if position == 0 else symbolic.find_best_instruction(address, CRASH_LINUX.arch)
        found = symcache.lookup(lookup - base)
        keys.extend(("native", location.symbol) for location in found) if found else keys.append(("native", None))
    return keys


def assert_symbolicated(
    original: dict[str, Any], result: dict[str, Any], mapper: symbolic.ProguardMapper, symcache: Any
) -> None:
    assert result["processed_by_symbolicator"] is True
    assert "symbolicator_error" not in result
    assert result["debug_meta"]["images"][0] == {"type": "proguard", "uuid": PROGUARD_UUID}
    assert result["debug_meta"]["images"][1]["debug_status"] == "found"
    frames, stacks = result["profile"]["frames"], result["profile"]["stacks"]
    assert len(stacks) == len(original["profile"]["stacks"])
    for before, after in zip(original["profile"]["stacks"], stacks, strict=True):
        assert all(0 <= index < len(frames) for index in after)
        assert [result_key(frames[index]) for index in after] == expected_keys(original, before, mapper, symcache)


def assert_java_frames_kept(original: dict[str, Any], result: dict[str, Any]) -> None:
    """Java frames where they were and as they were; native frames symbolicated."""
    frames, original_frames = result["profile"]["frames"], original["profile"]["frames"]

    def java(frames: list[dict[str, Any]], stack: list[int]) -> list[list[Any]]:
        keys = ("function", "module", "lineno")
        return [[frames[i].get(key) for key in keys] for i in stack if frames[i]["platform"] == "java"]

    for before, after in zip(original["profile"]["stacks"], result["profile"]["stacks"], strict=True):
        assert java(frames, after) == java(original_frames, before)
    assert {frame["status"] for frame in frames if frame["platform"] == "native"} == {"symbolicated"}


def test_embedded_stages_remap_java_and_symbolicate_native_frames(store: str, mapper: Any, symcache: Any) -> None:
    originals = batch()
    works = stage_works(originals, symbols=store)
    assert [work.failure for work in works] == [None] * len(works)
    for original, work in zip(originals, works, strict=True):
        assert_symbolicated(original, work.profile, mapper, symcache)
        # Frame platforms and in_app come from §4.9 after symbolication.
        for frame in work.profile["profile"]["frames"]:
            if frame["platform"] == "native":
                assert frame["in_app"] is False and frame["status"] == "symbolicated"
            else:
                assert frame["in_app"] is (not frame["module"].startswith(FRAMEWORK))
    java = [f for w in works for f in w.profile["profile"]["frames"] if f["platform"] == "java"]
    assert any(frame["in_app"] for frame in java)
    # bar and foo are inlined into onClickHandler: they appear only by inline expansion.
    assert {"onClickHandler", "foo", "bar"} <= {frame["function"] for frame in java}


def test_symbolicator_mode_gives_the_same_profiles_in_batched_requests(
    store: str, server: SymbolicatorServer, mapper: Any, symcache: Any
) -> None:
    originals = batch()
    embedded = stage_works(originals, symbols=store)
    remote = stage_works(originals, mode="symbolicator", url=server.url, sources=server.sources)
    assert [work.failure for work in remote] == [None] * len(remote)
    assert [work.profile for work in remote] == [work.profile for work in embedded]
    # One request per pass for the whole batch, the java pass with callee-first frames.
    assert [received.path for received in server.creates()] == ["/symbolicate-jvm", "/symbolicate"]
    jvm = server.creates("/symbolicate-jvm")[0].body
    assert jvm["options"]["frame_order"] == "callee_first"
    assert jvm["modules"] == [{"uuid": PROGUARD_UUID.replace("-", ""), "type": "proguard"}]
    # Distinct frames only: fewer than the java frames of the batch with their leaf copies.
    java_frames = sum(f["platform"] == "java" for p in originals for f in p["profile"]["frames"])
    assert len(jvm["stacktraces"][0]["frames"]) < java_frames
    native = server.creates("/symbolicate")[0].body
    assert all(frame["addr_mode"].startswith("rel:") for frame in native["stacktraces"][0]["frames"])
    assert_symbolicated(originals[0], remote[0].profile, mapper, symcache)


def test_a_batch_equals_one_profile_at_a_time(store: str) -> None:
    batched, single = batch(), batch()
    assert direct(batched, store) == [None] * len(batched)
    for profile in single:
        assert direct([profile], store) == [None]
    assert batched == single


def test_native_first_profiles_run_their_passes_in_that_order(store: str, mapper: Any, symcache: Any) -> None:
    original = chunk(5)
    frames = original["profile"]["frames"]
    first_native = next(index for index, frame in enumerate(frames) if frame["platform"] == "native")
    # Swap the first native frame to the front (and the stacks with it): the native pass runs first.
    order = [first_native, *(index for index in range(len(frames)) if index != first_native)]
    position = {old: new for new, old in enumerate(order)}
    original["profile"]["frames"] = [frames[old] for old in order]
    original["profile"]["stacks"] = [[position[i] for i in stack] for stack in original["profile"]["stacks"]]
    profile = copy.deepcopy(original)
    assert direct([profile], store) == [None]
    assert_symbolicated(original, profile, mapper, symcache)


def test_missing_mapping_leaves_java_frames_as_they_are(tmp_path: Path, symcache: Any) -> None:
    store = str(tmp_path / "symbols")
    write_symbol_store(store)
    Path(object_uri(store, PROGUARD_UUID.replace("-", ""), "proguard")).unlink()
    originals = batch(2)
    works = stage_works(originals, symbols=store)
    assert [work.failure for work in works] == [None, None]
    for original, work in zip(originals, works, strict=True):
        profile = work.profile
        assert profile["processed_by_symbolicator"] is True and "symbolicator_error" not in profile
        assert_java_frames_kept(original, profile)


def test_a_broken_frame_fails_only_its_profile(store: str, mapper: Any, symcache: Any) -> None:
    originals = batch(3)
    broken = copy.deepcopy(originals[1])
    broken["profile"]["frames"][0] = "not a frame"
    works = stage_works([originals[0], broken, originals[2]], symbols=store)
    assert [work.failure is None for work in works] == [True, False, True]
    assert works[1].failure.reason == FAILED_SYMBOLICATION
    assert_symbolicated(originals[0], works[0].profile, mapper, symcache)
    assert_symbolicated(originals[2], works[2].profile, mapper, symcache)


def test_a_java_frame_symbolicator_refuses_fails_only_its_java_pass(
    store: str, mapper: Any, symcache: Any, server: SymbolicatorServer
) -> None:
    originals = batch(2)
    refused = copy.deepcopy(originals[1])
    java = next(index for index, frame in enumerate(refused["profile"]["frames"]) if frame["platform"] == "java")
    refused["profile"]["frames"][java] = {"platform": "java", "lineno": 3}  # neither function nor module
    for ctx in ({"symbols": store}, {"mode": "symbolicator", "url": server.url, "sources": server.sources}):
        works = stage_works([originals[0], refused], **ctx)
        assert [work.failure for work in works] == [None, None]
        assert_symbolicated(originals[0], works[0].profile, mapper, symcache)
        profile = works[1].profile
        assert profile["symbolicator_error"] == {
            "type": "native_symbolicator_failed",
            "status": "failed",
            "message": "internal server error",
        }
        assert_java_frames_kept(refused, profile)


def test_symbolicator_refuses_an_invalid_jvm_body_with_400(server: SymbolicatorServer) -> None:
    backend = SymbolicatorBackend(
        SymbolicationConfig(mode="symbolicator", symbolicator_url=server.url, sources=server.sources), 2
    )
    body = {"modules": [{"type": "elf", "uuid": PROGUARD_UUID}], "stacktraces": [{"frames": []}]}
    answer = backend.jvm(body)
    assert answer is not None and answer["status"] == "failed"
    assert answer["message"].startswith("HTTP 400: Failed to deserialize the JSON body") and "elf" in answer["message"]
    assert [received.path for received in server.creates()] == ["/symbolicate-jvm"]


def test_without_frame_platforms_the_profile_is_flagged_and_left_alone(store: str) -> None:
    profile = chunk(1)
    for frame in profile["profile"]["frames"]:
        del frame["platform"]
    functions = [frame.get("function") for frame in profile["profile"]["frames"]]
    assert direct([profile], store) == [None]
    assert profile["processed_by_symbolicator"] is True and "symbolicator_error" not in profile
    # The one pass is the profile's platform, a JVM pass with no java frame to send.
    assert [frame.get("function") for frame in profile["profile"]["frames"]][: len(functions)] == functions
