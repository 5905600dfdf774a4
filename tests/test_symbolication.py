"""Symbolication §4.5 semantics over real debug files and source maps, in embedded mode."""

from __future__ import annotations

import copy
import random
from datetime import date
from typing import Any

import pytest
from servers.symbol_profiles import (
    CRASH_ID,
    CRASH_INLINED,
    HELLO_ID,
    LINUX_CODE_ID,
    LINUX_DEBUG_ID,
    RELEASE,
    build_store,
    cocoa_profile,
    macho,
)

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.adapters.symbolicator.addresses import ModuleRanges
from profile_pipeline.adapters.symbolicator.demangle import demangle_name
from profile_pipeline.adapters.symbolicator.embedded import EmbeddedBackend
from profile_pipeline.config import JobConfig, SymbolicationConfig
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.symbolication import symbolicate_batch, symbolicate_profiles, symbolication_summary
from profile_pipeline.stages.symbolication.batch import _NativeBatch
from profile_pipeline.stages.symbolication.images import merge_image
from profile_pipeline.stages.symbolication.profile import (
    ProfileSymbolication,
    debug_images_for_platform,
    frame_index_map,
    get_profile_platforms,
    handle_response,
    handles_js_frame,
    prepare_frames,
    process_results,
    should_symbolicate,
)
from profile_pipeline.work import FAILED_SYMBOLICATION, ProfileWork, Source


class CountingBackend:
    """The embedded backend, counting the requests it answers."""

    def __init__(self, inner: EmbeddedBackend) -> None:
        self.inner = inner
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def native(self, request: dict[str, Any]) -> dict[str, Any] | None:
        self.calls.append(("native", request))
        return self.inner.native(request)

    def js(self, request: dict[str, Any]) -> dict[str, Any] | None:
        self.calls.append(("js", request))
        return self.inner.js(request)

    def jvm(self, request: dict[str, Any]) -> dict[str, Any] | None:
        raise AssertionError("no JVM frames here")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_store(tmp_path_factory.mktemp("symbols"))


@pytest.fixture
def backend(store: str) -> CountingBackend:
    return CountingBackend(EmbeddedBackend(store, 64, 1 << 30))


def run(profiles: list[dict[str, Any]], backend: Any, max_frames: int = 50_000) -> list[BaseException | None]:
    return symbolicate_profiles([(profile, 1) for profile in profiles], lambda _: backend, max_frames)


def rn_ios_profile(cocoa_addr: int, image_addr: int) -> dict[str, Any]:
    return {
        "version": "1",
        "platform": "javascript",
        "release": RELEASE,
        "dist": "7",
        "debug_meta": {"images": [macho(CRASH_ID, image_addr)]},
        "profile": {
            "frames": [
                {"function": "render", "abs_path": "app:///embedded.js", "lineno": 1, "colno": 39},
                {"function": "[native code]", "abs_path": "[native code]"},
                {"platform": "cocoa", "instruction_addr": hex(image_addr + cocoa_addr)},
            ],
            "stacks": [[2, 1, 0]],
            "samples": [{"stack_id": 0, "thread_id": 1, "elapsed_since_start_ns": 0}],
        },
    }


# --- gate, platforms, images, JS filter --------------------------------------------------------


def test_gate() -> None:
    assert should_symbolicate({"platform": "cocoa"})
    assert should_symbolicate({"platform": "node"})
    assert not should_symbolicate({"platform": "python"})
    assert should_symbolicate({"platform": "android", "version": "2"})
    assert not should_symbolicate({"platform": "android"})
    assert not should_symbolicate({"platform": "android", "version": "2", "processed_by_symbolicator": True})
    assert not should_symbolicate({"platform": "rust", "processed_by_symbolicator": True})


def test_platforms_add_cocoa_pass_for_react_native_ios() -> None:
    assert get_profile_platforms(rn_ios_profile(0, 0x1000)) == ["javascript", "cocoa"]
    assert get_profile_platforms({"platform": "cocoa", "version": "1", "profile": {"frames": []}}) == ["cocoa"]
    legacy = {"platform": "javascript", "sampled_profile": {}}
    assert get_profile_platforms(legacy) == ["javascript"]


def test_platforms_of_android_sample_v2_are_its_frame_platforms_in_first_seen_order() -> None:
    frames = [{"platform": "native"}, {}, {"platform": ""}, {"platform": "java"}, {"platform": "native"}]
    profile = {"platform": "android", "version": "2", "profile": {"frames": frames}}
    assert get_profile_platforms(profile) == ["native", "java"]
    profile["profile"]["frames"] = [{"function": "a"}]
    assert get_profile_platforms(profile) == ["android"]


def test_images_per_platform_are_the_same_dicts() -> None:
    images = [
        {"type": "sourcemap", "code_file": "app:///a.js", "debug_id": "x"},
        {"type": "macho", "debug_id": HELLO_ID},
        {"type": "elf", "debug_id": ""},  # ("" or None or None) is None: left out, as in Sentry
        {"type": "elf", "debug_id": "", "id": "abc"},
        {"type": "macho"},  # no id at all: left out
        {"type": "proguard", "uuid": "u"},
    ]
    assert debug_images_for_platform(images, "javascript") == [images[0]]
    assert debug_images_for_platform(images, "java") == [images[5]]
    native = debug_images_for_platform(images, "cocoa")
    assert native == [images[1], images[3]] and native[0] is images[1]


@pytest.mark.parametrize(
    ("frame", "platform", "handled"),
    [
        ({"abs_path": "app:///a.js", "lineno": 1}, "javascript", True),
        ({"abs_path": "app:///a.js"}, "javascript", False),
        ({"abs_path": "[native code]", "lineno": 1}, "javascript", False),
        ({"abs_path": "native", "lineno": 1}, "javascript", False),
        ({"abs_path": "node:internal/timers", "lineno": 3}, "node", False),
        ({"abs_path": "https://cdn/app.js", "lineno": 3}, "node", True),
        ({"abs_path": "/srv/app.js", "lineno": 3}, "node", True),
        ({"abs_path": "app:///a.js", "lineno": 1, "platform": "cocoa"}, "javascript", False),
    ],
)
def test_js_frame_filter(frame: dict[str, Any], platform: str, handled: bool) -> None:
    assert handles_js_frame(frame, platform) is handled


# --- frame preparation -------------------------------------------------------------------------


def test_leaf_copies_for_a_native_profile() -> None:
    profile = cocoa_profile([0x10, 0x20], [[0, 1], [0], []], [])
    _modules, stacktraces, sent = prepare_frames(profile, "cocoa")
    frames = profile["profile"]["frames"]
    assert sent == [] and stacktraces[0]["frames"] is frames
    assert len(frames) == 4  # one copy per non-empty stack, no de-duplication
    assert profile["profile"]["stacks"] == [[2, 1], [3], []]
    assert frames[2] == {"instruction_addr": "0x10", "adjust_instruction_addr": False}
    assert "adjust_instruction_addr" not in frames[0]


def test_react_native_cocoa_pass_sends_only_cocoa_frames_in_ascending_order() -> None:
    profile = rn_ios_profile(0x10, 0x1000)
    profile["profile"]["stacks"].append([0])  # a JS leaf: no copy in the cocoa pass
    _, stacktraces, sent = prepare_frames(profile, "cocoa")
    assert sent == [2, 3]
    assert profile["profile"]["stacks"] == [[3, 1, 0], [0]]
    assert [f.get("adjust_instruction_addr") for f in stacktraces[0]["frames"]] == [None, False]
    _, js_stacktraces, js_sent = prepare_frames(profile, "javascript")
    assert js_sent == [0] and js_stacktraces[0]["frames"] == [profile["profile"]["frames"][0]]


def test_android_sample_v2_passes_send_their_own_frames() -> None:
    frames = [
        {"platform": "java", "function": "a", "module": "b.C"},
        {"platform": "native", "instruction_addr": "0x10"},
        {"platform": "native"},  # no address: not sent
        {"platform": "java", "function": "run", "module": "java.lang.Thread"},
    ]
    profile = {
        "version": "2",
        "platform": "android",
        "debug_meta": {"images": []},
        "profile": {"frames": frames, "stacks": [[0, 3], [1, 0, 3], [2, 3]]},
    }
    _, stacktraces, sent = prepare_frames(profile, "native")
    assert sent == [1, 4] and stacktraces[0]["frames"] == [frames[1], frames[4]]
    assert profile["profile"]["stacks"] == [[0, 3], [4, 0, 3], [2, 3]]
    _, stacktraces, sent = prepare_frames(profile, "java")
    assert sent == [0, 3, 5]  # java frames need no address; the leaf copy of the first stack is sent
    assert profile["profile"]["stacks"] == [[5, 3], [4, 0, 3], [2, 3]]
    assert stacktraces[0]["frames"][2] == {**frames[0], "adjust_instruction_addr": False}


def test_legacy_frames_flag_the_first_frame_in_place() -> None:
    profile = {
        "platform": "cocoa",
        "sampled_profile": {
            "samples": [{"frames": [{"instruction_addr": "0x1"}, {"instruction_addr": "0x2"}]}, {"frames": []}]
        },
    }
    profile["debug_meta"] = {"images": []}
    _, stacktraces, _ = prepare_frames(profile, "cocoa")
    assert len(stacktraces) == 2
    assert profile["sampled_profile"]["samples"][0]["frames"][0]["adjust_instruction_addr"] is False
    assert "adjust_instruction_addr" not in profile["sampled_profile"]["samples"][0]["frames"][1]


# --- responses and images ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "success", "error"),
    [
        (None, False, {"type": "native_internal_failure"}),
        ({}, False, {"type": "native_internal_failure"}),
        ({"status": "completed", "stacktraces": [{"frames": [{"x": 1}]}]}, True, None),
        (
            {"status": "failed", "message": "boom"},
            False,
            {"type": "native_symbolicator_failed", "status": "failed", "message": "boom"},
        ),
        ({"status": "timeout"}, False, {"status": "timeout", "type": "native_internal_failure"}),
        ({"status": "internal_error"}, False, {"status": "internal_error", "type": "native_internal_failure"}),
    ],
)
def test_response_shapes(response: dict | None, success: bool, error: dict | None) -> None:
    profile: dict[str, Any] = {}
    request_modules, request_stacktraces = [{"type": "macho"}], [{"frames": []}]
    modules, stacktraces, ok = handle_response(profile, response, request_modules, request_stacktraces)
    assert ok is success
    assert modules is request_modules  # a completed answer without modules keeps the request's
    assert stacktraces is (request_stacktraces if not success else response["stacktraces"])
    assert profile.get("symbolicator_error") == error


@pytest.mark.parametrize(
    ("status", "code_file", "error_type", "metric"),
    [
        ("found", "/private/var/containers/Bundle/Application/X/App", None, None),
        ("unused", "/x", None, None),
        ("unsupported", "/x", "native_unsupported_dsym", None),
        ("missing", "/private/var/containers/Bundle/Application/X/App", "native_missing_dsym", "flag.processing.fatal"),
        ("missing", "/usr/lib/system/libsystem_c.dylib", None, None),
        ("missing", None, None, None),
        (
            "missing",
            "/private/var/containers/Bundle/Application/X/App.app/Frameworks/libswiftCore.dylib",
            "native_optionally_bundled_dsym",
            None,
        ),
        ("malformed", "/x", "native_bad_dsym", "flag.processing.fatal"),
        ("too_large", "/x", None, "flag.processing.error"),
        ("fetching_failed", "/x", "fetch_generic_error", None),
        ("other", "/x", None, "flag.processing.error"),
        ("timeout", "/x", None, None),
    ],
)
def test_merge_image_statuses(status: str, code_file: str | None, error_type: str | None, metric: str | None) -> None:
    profile: dict[str, Any] = {}
    raw = {"type": "macho", "debug_id": HELLO_ID, "code_file": code_file}
    merge_image(
        raw, {"debug_status": status, "arch": "unknown", "type": "unknown", "features": None, "candidates": []}, profile
    )
    assert raw["debug_status"] == status and raw["type"] == "macho" and "arch" not in raw and "features" not in raw
    expected = (
        []
        if error_type is None
        else [{"type": error_type, "message": "None", "image_path": code_file, "image_uuid": HELLO_ID}]
    )
    assert profile.get("errors", []) == expected
    assert profile.get("_metrics", {}) == ({metric: True} if metric else {})


def test_frame_index_map_groups_inline_expansions() -> None:
    frames = [{"original_index": 0}, {"original_index": 0}, {"original_index": 1}, {}]
    assert frame_index_map(frames) == {0: [0, 1], 1: [2], 3: [3]}


# --- results, with real lookups ----------------------------------------------------------------


def test_hello_main_and_inlined_crash_chain(backend: CountingBackend) -> None:
    profile = cocoa_profile(
        [0x100000FA0, 0x200000000 + CRASH_INLINED],
        [[0], [1]],
        [macho(HELLO_ID, 0x100000000, "/app/hello"), macho(CRASH_ID, 0x200000000, "/app/crash")],
    )
    assert run([profile], backend) == [None]
    frames, stacks = profile["profile"]["frames"], profile["profile"]["stacks"]
    assert frames[stacks[0][0]]["function"] == "main" and frames[stacks[0][0]]["abs_path"] == "/tmp/hello.c"
    assert frames[stacks[0][0]]["lineno"] == 1 and frames[stacks[0][0]]["package"] == "/app/hello"
    chain = [frames[index] for index in stacks[1]]
    assert [(f["function"], f["lineno"]) for f in chain] == [
        ("(anonymous namespace)::crash()", 21),
        ("(anonymous namespace)::start()", 25),
        ("main", 32),
    ]
    assert chain[0]["symbol"] == "_ZN12_GLOBAL__N_15crashEv" and chain[0]["lang"] == "cpp"
    assert {f["instruction_addr"] for f in chain} == {hex(0x200000000 + CRASH_INLINED)}
    assert profile["processed_by_symbolicator"] is True
    assert [image["debug_status"] for image in profile["debug_meta"]["images"]] == ["found", "found"]
    assert symbolication_summary(profile) == (len(frames), len(frames))


def test_return_addresses_are_adjusted_leaves_are_not(backend: CountingBackend) -> None:
    # 0xDC16 is a return address (not a leaf): looked up at 0xDC15, the inlined chain.
    profile = cocoa_profile([0x1000DC16, 0x1000DC15], [[1, 0]], [macho(CRASH_ID, 0x10000000)])
    run([profile], backend)
    frames, stack = profile["profile"]["frames"], profile["profile"]["stacks"][0]
    assert [frames[i]["lineno"] for i in stack] == [21, 25, 32, 21, 25, 32]
    assert frames[stack[-1]]["instruction_addr"] == hex(0x1000DC15)  # answered adjusted, as `abs`


def test_elf_found_by_code_id(backend: CountingBackend) -> None:
    image = {
        "type": "elf",
        "code_file": "/usr/bin/crash",
        "debug_id": LINUX_DEBUG_ID,
        "code_id": LINUX_CODE_ID,
        "image_addr": "0x400000",
        "image_size": 0x100000,
    }
    profile = cocoa_profile([0x401A00], [[0]], [image])
    profile["platform"] = "rust"
    run([profile], backend)
    frame = profile["profile"]["frames"][profile["profile"]["stacks"][0][0]]
    assert frame["function"] == "(anonymous namespace)::MinidumpWriter::~MinidumpWriter() [clone .constprop.123]"
    assert frame["lineno"] == 184


def test_react_native_ios_two_passes_with_inlining_remap_through_new_positions(backend: CountingBackend) -> None:
    profile = rn_ios_profile(CRASH_INLINED, 0x10000000)
    assert run([profile], backend) == [None]
    frames, stack = profile["profile"]["frames"], profile["profile"]["stacks"][0]
    names = [frames[index].get("function") for index in stack]
    assert names == ["(anonymous namespace)::crash()", "(anonymous namespace)::start()", "main", "[native code]", "add"]
    assert [frames[index].get("platform") for index in stack][:3] == ["cocoa"] * 3
    js = frames[stack[-1]]
    assert (js["abs_path"], js["lineno"], js["colno"], js["platform"]) == ("app:///file1.js", 3, 9, "javascript")
    assert symbolication_summary(profile) == (len(frames), 5)
    assert "symbolicator_error" not in profile


def test_missing_debug_file_is_a_module_status_not_a_failure(backend: CountingBackend) -> None:
    other = "00000000-0000-0000-0000-000000000001"
    profile = cocoa_profile([0x30000010], [[0]], [macho(other, 0x30000000)])
    assert run([profile], backend) == [None]
    image = profile["debug_meta"]["images"][0]
    assert image["debug_status"] == "missing"
    assert profile["errors"] == [
        {
            "type": "native_missing_dsym",
            "message": "None",
            "image_path": "/private/var/App.app/App",
            "image_uuid": other,
        }
    ]
    assert profile["profile"]["frames"][0]["status"] == "missing"


def test_malformed_debug_file(tmp_path: Any) -> None:
    from profile_pipeline.adapters import storage, symbol_store

    store = str(tmp_path)
    storage.write_bytes(symbol_store.object_uri(store, HELLO_ID, "debuginfo"), b"\xcf\xfa\xed\xfe garbage")
    profile = cocoa_profile([0x100000FA0], [[0]], [macho(HELLO_ID, 0x100000000)])
    assert run([profile], EmbeddedBackend(store, 4, 1 << 20)) == [None]
    assert profile["debug_meta"]["images"][0]["debug_status"] == "malformed"
    assert profile["errors"][0]["type"] == "native_bad_dsym"


def rust_frames_answer(functions: list[str | None]) -> list[dict[str, Any]]:
    return [
        {"function": name, "original_index": index} if name is not None else {"original_index": index}
        for index, name in enumerate(functions)
    ]


def test_rust_truncation_and_short_stacks() -> None:
    profile = {
        "version": "1",
        "platform": "rust",
        "debug_meta": {"images": []},
        "profile": {"frames": [], "stacks": [[0, 1, 2, 3, 4], [0, 1], [2]]},
    }
    answer = rust_frames_answer(["perf_signal_handler", "sigtramp", "work", None, "start"])
    process_results(profile, "rust", [], [{"frames": answer}], [])
    # handler and its caller dropped; then the unnamed frame before the root drops the last two
    assert profile["profile"]["stacks"] == [[2], [], [2]]


def test_cocoa_truncation() -> None:
    profile = {
        "version": "1",
        "platform": "cocoa",
        "debug_meta": {"images": []},
        "profile": {"frames": [], "stacks": [[0, 1, 2], [2]]},
    }
    answer = [{"function": "a"}, {"function": "b"}, {"instruction_addr": "0xffffffffc"}]
    process_results(profile, "cocoa", [], [{"frames": answer}], [])
    assert profile["profile"]["stacks"] == [[0], [2]]


def test_legacy_rules_and_rename() -> None:
    def legacy(platform: str) -> dict[str, Any]:
        return {
            "platform": platform,
            "debug_meta": {"images": []},
            "sampled_profile": {"samples": [{"frames": []}, {"frames": []}]},
        }

    cocoa = legacy("cocoa")
    answer = [
        {"frames": [{"function": "a"}, {"function": "b"}, {"instruction_addr": "0xffffffffc"}]},
        {"frames": [{"instruction_addr": "0xffffffffc"}]},
    ]
    process_results(cocoa, "cocoa", [], answer, [])
    assert "sampled_profile" not in cocoa
    assert [len(s["frames"]) for s in cocoa["profile"]["samples"]] == [1, 1]
    rust = legacy("rust")
    answer = [
        {
            "frames": [
                {"function": "perf_signal_handler", "context_line": "x"},
                {"function": "s"},
                {"function": "w", "pre_context": []},
            ]
        },
        {"frames": []},
    ]
    process_results(rust, "rust", [], answer, [])
    assert rust["profile"]["samples"][0]["frames"] == [{"function": "w"}]


def test_legacy_profile_end_to_end_not_renamed_on_failure(backend: CountingBackend) -> None:
    profile = {
        "platform": "cocoa",
        "profile_id": "a0c4e81f1c1a4d3c9a2d8c1f0e2b7d11",
        "debug_meta": {"images": [macho(HELLO_ID, 0x100000000)]},
        "sampled_profile": {"samples": [{"frames": [{"instruction_addr": "0x100000fa0"}], "thread_id": 1}]},
    }
    failing = copy.deepcopy(profile)
    failing["debug_meta"]["images"][0]["image_addr"] = "0x100000000"
    failing["sampled_profile"]["samples"][0]["frames"][0]["addr_mode"] = "bogus"
    assert run([profile, failing], backend) == [None, None]
    assert profile["profile"]["samples"][0]["frames"][0]["function"] == "main"
    assert "sampled_profile" in failing and failing["processed_by_symbolicator"] is True
    assert failing["symbolicator_error"]["type"] == "native_symbolicator_failed"


def test_no_debug_meta_leaves_the_profile_unflagged(backend: CountingBackend) -> None:
    profile = cocoa_profile([0x10], [[0]], [])
    del profile["debug_meta"]
    assert run([profile], backend) == [None]
    assert "processed_by_symbolicator" not in profile and backend.calls == []


# --- batching ----------------------------------------------------------------------------------


def many_profiles(count: int) -> list[dict[str, Any]]:
    profiles = []
    for number in range(count):
        base = 0x100000000 + number * 0x10000000  # a different load address per profile
        crash_base = base + 0x8000000
        profiles.append(
            cocoa_profile(
                [base + 0xFA0, crash_base + CRASH_INLINED, crash_base + 0xDC16, 0x7000],
                [[0, 2], [1, 2], [3]],
                [macho(HELLO_ID, base, "/a/hello", 0x2000), macho(CRASH_ID, crash_base, "/a/crash")],
            )
        )
    profiles.append(rn_ios_profile(CRASH_INLINED, 0x50000000))
    profiles.append(rn_ios_profile(0xDC16, 0x60000000))
    return profiles


def test_batch_equals_one_request_per_profile(store: str) -> None:
    batched, alone = many_profiles(6), many_profiles(6)
    batch_backend = CountingBackend(EmbeddedBackend(store, 64, 1 << 30))
    assert run(batched, batch_backend) == [None] * len(batched)
    single_backend = CountingBackend(EmbeddedBackend(store, 64, 1 << 30))
    for profile in alone:
        assert run([profile], single_backend) == [None]
    assert batched == alone
    # one request per pass platform: native cocoa in round one, js then cocoa (RN) and nothing else
    assert [kind for kind, _ in batch_backend.calls] == ["native", "js", "native"]
    assert len(single_backend.calls) == 6 + 2 * 2
    native_request = batch_backend.calls[0][1]
    assert len(native_request["modules"]) == 2
    frames = native_request["stacktraces"][0]["frames"]
    # 6 profiles of 7 frames (with leaf copies) deduplicated by (module, rel addr, adjust): hello 0xfa0 as
    # leaf and as return address, crash 0xdc15 likewise, crash 0xdc16; 0x7000 lies in no image.
    assert len(frames) == 5
    assert {frame["addr_mode"] for frame in frames} == {"rel:0", "rel:1"}


def test_each_cut_answer_is_the_backends_answer_to_that_profiles_own_request(store: str) -> None:
    """The shared requests cut back per profile give what the backend answers each request alone, and
    the positions the merge needs, for frames of only an address and frames with keys of their own."""
    profiles = many_profiles(3)[:3]  # the cocoa ones
    with_keys = profiles[1]["profile"]["frames"]
    with_keys[0]["in_app"] = True  # a key of its own: kept, before the answer's
    with_keys[1]["addr_mode"] = "abs"  # not echoed
    missing_module = cocoa_profile([0x100000FA0], [[0]], [macho("../escape", 0x100000000)])
    no_code_file = cocoa_profile([0x100000FA0], [[0]], [macho(HELLO_ID, 0x100000000)])
    del no_code_file["debug_meta"]["images"][0]["code_file"]
    profiles += [missing_module, no_code_file]
    bodies = []
    for profile in profiles:
        symbolication = ProfileSymbolication(profile)
        symbolication.start()
        bodies.append(symbolication.next_request().body)
    backend = EmbeddedBackend(store, 64, 1 << 30)
    answers = _NativeBatch(bodies, 50_000).answer(backend)
    for body, (answer, index_map) in zip(bodies, answers, strict=True):
        frames = answer["stacktraces"][0]["frames"]
        assert index_map == frame_index_map(frames)
        if body is bodies[3]:
            continue  # an id that would escape the store is never sent, so never looked up alone either
        alone = backend.native(copy.deepcopy(body))
        assert answer == alone
        for frame, expected in zip(frames, alone["stacktraces"][0]["frames"], strict=True):
            assert list(frame) == list(expected)  # the same keys in the same order
    own = answers[1][0]["stacktraces"][0]["frames"]
    assert list(own[0])[:4] == ["status", "original_index", "instruction_addr", "in_app"]
    assert "addr_mode" not in own[1]
    assert answers[3][0]["stacktraces"][0]["frames"][0]["status"] == "missing"
    assert "package" not in answers[4][0]["stacktraces"][0]["frames"][1]


def test_lookups_are_cached_per_debug_file_across_batches(store: str) -> None:
    backend = EmbeddedBackend(store, 64, 1 << 30)
    first, second = many_profiles(2), many_profiles(2)
    assert run(first, backend) == [None] * len(first)
    crash = backend.debug_file(macho(CRASH_ID, 0))
    cached = dict(crash.lookups)
    # leaves as they are (0xdc15, and 0xdc16 in the React Native profiles), return addresses one byte lower
    assert set(cached) == {0xDC14, 0xDC15, 0xDC16}
    assert [location.tail["function"] for location in cached[0xDC15]] == [
        "(anonymous namespace)::crash()",
        "(anonymous namespace)::start()",
        "main",
    ]
    assert run(second, backend) == [None] * len(second)
    assert second == first
    assert crash.lookups.keys() == cached.keys()
    assert all(crash.lookups[address] is cached[address] for address in cached)  # answered from the cache


@pytest.mark.parametrize("seed", range(20))
def test_module_ranges_find_the_first_module_holding_an_address(seed: int) -> None:
    rng = random.Random(seed)
    modules = [
        {
            "image_addr": hex(rng.choice([0, rng.randrange(1, 64) * 0x100])),
            "image_size": rng.choice([0, 0x80, 0x100, 0x300]),
        }
        for _ in range(rng.randint(1, 6))
    ]
    ranges = ModuleRanges(modules)
    for addr in range(0, 0x5000, 0x10):
        expected = next(
            (r.index for r in ranges.ranges if r.start <= addr and (r.end is None or addr < r.end)),
            None,
        )
        found = ranges.find(addr)
        assert (found.index if found else None) == expected


def test_max_frames_per_request_splits_without_changing_results(store: str) -> None:
    small, large = many_profiles(3), many_profiles(3)
    small_backend = CountingBackend(EmbeddedBackend(store, 64, 1 << 30))
    run(small, small_backend, max_frames=1)
    run(large, CountingBackend(EmbeddedBackend(store, 64, 1 << 30)))
    assert small == large
    # 5 distinct frames in the cocoa round, 4 in the React Native cocoa pass (0xdc15/0xdc16, leaf or not)
    assert sum(1 for kind, _ in small_backend.calls if kind == "native") == 5 + 4


def test_same_debug_file_loaded_twice_answers_at_each_load_address(backend: CountingBackend) -> None:
    first, second = 0x10000000, 0x20000000
    profile = cocoa_profile(
        [first + 0xDC16, second + 0xDC16],
        [[0], [1]],
        [macho(CRASH_ID, first, "/a/crash"), macho(CRASH_ID, second, "/b/crash")],
    )
    assert run([profile], backend) == [None]
    loaded_at = {"/a/crash": first, "/b/crash": second}
    frames = profile["profile"]["frames"]
    assert len(frames) == 4 * 3  # two frames and their leaf copies, each an inlined chain of three
    for frame in frames:
        base = loaded_at[frame["package"]]
        assert int(frame["instruction_addr"], 16) - base in (0xDC15, 0xDC16)  # return address or leaf
        # Symbolicator gives inlined functions no sym_addr; `main` holds them
        assert int(frame["sym_addr"], 16) - base == 0xDBA0 if frame["function"] == "main" else "sym_addr" not in frame
    assert [frame["package"] for frame in frames if frame["original_index"] == 1] == ["/b/crash"] * 3
    # one lookup serves both load addresses: 0xdc16 as return address and as leaf
    assert len(backend.calls[0][1]["stacktraces"][0]["frames"]) == 2


def test_js_requests_are_grouped_by_release_and_dist(backend: CountingBackend) -> None:
    first, second, other_dist = rn_ios_profile(0x1, 0x10000), rn_ios_profile(0x1, 0x20000), rn_ios_profile(0x1, 0x30000)
    other_dist["dist"] = "8"
    run([first, second, other_dist], backend)
    js_calls = [request for kind, request in backend.calls if kind == "js"]
    assert sorted(call["dist"] for call in js_calls) == ["7", "8"]
    assert first["profile"]["frames"][0]["function"] == "add"
    # nothing was uploaded for dist 8: left as it came, with no failure
    assert other_dist["profile"]["frames"][0]["function"] == "render"


def test_bad_input_does_not_fail_the_batch(backend: CountingBackend) -> None:
    good = cocoa_profile([0x100000FA0], [[0]], [macho(HELLO_ID, 0x100000000)])
    escaping = cocoa_profile([0x100000FA0], [[0]], [macho("../../etc/passwd", 0x100000000)])
    absolute = cocoa_profile([0x100000FA0], [[0]], [macho("/etc/passwd", 0x100000000)])
    no_id = cocoa_profile([0x100000FA0], [[0]], [{"type": "macho", "image_addr": "0x100000000", "debug_id": ""}])
    garbage_addr = cocoa_profile([0x100000FA0], [[0]], [macho(HELLO_ID, 0x100000000)])
    garbage_addr["profile"]["frames"][0]["instruction_addr"] = "0xZZZ"
    huge = cocoa_profile([0x100000FA0] * 5000, [list(range(5000))], [macho(HELLO_ID, 0x100000000)])
    profiles = [good, escaping, absolute, no_id, garbage_addr, huge]
    assert run(profiles, backend) == [None] * len(profiles)
    assert good["profile"]["frames"][1]["function"] == "main"
    assert escaping["debug_meta"]["images"][0]["debug_status"] == "missing"
    assert absolute["debug_meta"]["images"][0]["debug_status"] == "missing"
    assert no_id["profile"]["frames"][0]["status"] == "unknown_image"  # no id: not a module
    assert garbage_addr["profile"]["frames"][0]["status"] == "unknown_image"
    assert huge["profile"]["frames"][-1]["function"] == "main"


def test_demangled_names() -> None:
    assert demangle_name("_ZN3foo3barIiEEvT_") == "foo::bar<int>(int)"
    assert demangle_name("_ZN4core3fmt5write17h01234567890abcdeE") == "core::fmt::write"
    assert demangle_name("$s3App13inlinedHelperyyF") == "App.inlinedHelper()"
    assert demangle_name("main") == "main"


# --- the stage ---------------------------------------------------------------------------------


def work(profile: dict[str, Any]) -> ProfileWork:
    return ProfileWork(Source("f", 0, 1), b"", {"organization_id": 1, "project_id": 2}, profile, "sample_v1", True)


def test_stage_fails_only_the_broken_profile(store: str) -> None:
    config = JobConfig(symbolication=SymbolicationConfig(mode="embedded", symbols=store))
    ctx = StageContext(config, ReferenceData(), "run", date(2025, 1, 1))
    good = work(cocoa_profile([0x100000FA0], [[0]], [macho(HELLO_ID, 0x100000000)]))
    broken = work(
        {"version": "1", "platform": "cocoa", "debug_meta": {"images": [{"type": "macho", "debug_id": HELLO_ID}]}}
    )
    symbolicate_batch([good, broken], ctx)
    assert good.ok and good.profile["processed_by_symbolicator"]
    assert broken.failure is not None and broken.failure.reason == FAILED_SYMBOLICATION
    assert "profile" in broken.failure.message


def test_off_mode_leaves_profiles_alone() -> None:
    ctx = StageContext(
        JobConfig(symbolication=SymbolicationConfig(mode="off")), ReferenceData(), "run", date(2025, 1, 1)
    )
    profile = cocoa_profile([0x100000FA0], [[0]], [macho(HELLO_ID, 0x100000000)])
    original = copy.deepcopy(profile)
    symbolicate_batch([work(profile)], ctx)
    assert profile == original
