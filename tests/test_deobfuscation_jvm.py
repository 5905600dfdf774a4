"""The in-process `/symbolicate-jvm` (SPEC §6.2/§6.3) over real ProGuard mappings, and §4.6's frame helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from android_profiles import REMAP_EXCEPTION, RESOLVING_INLINE, SAMPLE_APP, fixture_store, put_mapping

from profile_pipeline.adapters.symbolicator.embedded_jvm import InvalidJvmRequest, symbolicate_jvm
from profile_pipeline.adapters.worker_cache import BoundedCache
from profile_pipeline.stages.deobfuscation.jvm_frames import (
    convert_android_methods_to_jvm_frames,
    merge_jvm_frames_with_android_methods,
)


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(fixture_store(tmp_path / "symbols"))


def request(frames: list[dict], *uuids: str, **extra) -> dict:
    return {
        "platform": "android",
        "exceptions": [],
        "stacktraces": [{"frames": frames}],
        "modules": [{"uuid": mapping_uuid, "type": "proguard"} for mapping_uuid in uuids],
        "classes": [],
        "options": {"apply_source_context": False},
        **extra,
    }


def fresh_cache() -> BoundedCache:
    return BoundedCache(16, 1 << 30)


def test_inlined_frame_expands_caller_first_with_readable_signature(store: str) -> None:
    frame = {
        "function": "a",
        "module": "io.sentry.sample.MainActivity",
        "lineno": 1,
        "index": 0,
        "signature": "(Landroid/view/View;)V",
        "filename": "SourceFile",
    }
    answer = symbolicate_jvm(request([frame], SAMPLE_APP), store, fresh_cache())
    assert answer["status"] == "completed"
    assert answer["errors"] == []
    frames = answer["stacktraces"][0]["frames"]
    assert [(f["function"], f["lineno"], f["index"]) for f in frames] == [
        ("onClickHandler", 40, 0),
        ("foo", 44, 0),
        ("bar", 54, 0),
    ]
    assert {f["module"] for f in frames} == {"io.sentry.sample.MainActivity"}
    assert {f["signature"] for f in frames} == {"(android.view.View)"}
    # The request's `SourceFile` gives way to a file named after the class (Symbolicator 26.8.0).
    assert {(f["filename"], f["abs_path"]) for f in frames} == {("MainActivity.java", "MainActivity.java")}


def test_callee_first_order_reverses_each_expansion(store: str) -> None:
    frame = {"function": "a", "module": "io.sentry.sample.MainActivity", "lineno": 1, "index": 0}
    body = request([frame], SAMPLE_APP, options={"frame_order": "callee_first"})
    frames = symbolicate_jvm(body, store, fresh_cache())["stacktraces"][0]["frames"]
    assert [f["function"] for f in frames] == ["bar", "foo", "onClickHandler"]


def test_resolving_inline_mapping_remaps_classes_and_methods(store: str) -> None:
    frames = [
        {"function": "onClick", "module": "e.a.c.a", "lineno": 2, "index": 0},
        {
            "function": "t",
            "module": "io.sentry.sample.MainActivity",
            "filename": "MainActivity.java",
            "lineno": 1,
            "index": 1,
        },
    ]
    answer = symbolicate_jvm(request(frames, RESOLVING_INLINE), store, fresh_cache())
    mapped = answer["stacktraces"][0]["frames"]
    assert len(mapped) == 4
    assert mapped[0] == {
        "function": "onClick",
        "module": "io.sentry.sample.-$$Lambda$r3Avcbztes2hicEObh02jjhQqd4",
        "lineno": 2,
        "index": 0,
        # The file comes from the class name: what stands before its first `$`.
        "filename": "-.java",
        "abs_path": "-.java",
    }
    assert [(f["function"], f["lineno"], f["index"]) for f in mapped[1:]] == [
        ("onClickHandler", 40, 1),
        ("foo", 44, 1),
        ("bar", 54, 1),
    ]
    assert mapped[1]["filename"] == mapped[3]["filename"] == "MainActivity.java"


def test_release_package_marks_remapped_frames_in_app_only_when_unset(store: str) -> None:
    frames = [
        {"function": "a", "module": "org.a.b.g$a", "lineno": 67, "index": 0},
        {"function": "a", "module": "org.a.b.g$a", "lineno": 69, "index": 1, "in_app": False},
        {"function": "a", "module": "org.a.b.g$a", "lineno": 68, "index": 2, "in_app": True},
        {"function": "init", "module": "com.android.Zygote", "lineno": 62, "index": 3},
        {"function": "a", "module": "org.a.b.g$b", "lineno": 70, "index": 4},
    ]
    answer = symbolicate_jvm(request(frames, REMAP_EXCEPTION, release_package="org.slf4j"), store, fresh_cache())
    mapped = answer["stacktraces"][0]["frames"]
    assert [f.get("in_app") for f in mapped] == [True, False, True, None, True]
    assert mapped[0]["function"] == "getClassContext"
    assert mapped[1]["function"] == "getExtraClassContext"
    # Not known to the mapping: returned as it came.
    assert mapped[3] == frames[3]
    # Known by class only: class remapped, method and line kept, the file named after the outer class.
    assert mapped[4] == {
        **frames[4],
        "module": "org.slf4j.helpers.Util$ClassContext",
        "in_app": True,
        "filename": "Util.java",
        "abs_path": "Util.java",
    }


def test_frame_without_line_is_remapped_by_its_signature_parameters(store: str) -> None:
    frame = {
        "function": "a",
        "module": "io.sentry.sample.MainActivity",
        "index": 0,
        "signature": "(Landroid/view/View;)V",
    }
    mapped = symbolicate_jvm(request([frame], SAMPLE_APP), store, fresh_cache())["stacktraces"][0]["frames"]
    assert [(f["function"], f["signature"]) for f in mapped] == [("onClickHandler", "(android.view.View)")]


def test_exceptions_and_classes_are_remapped(store: str) -> None:
    body = request(
        [],
        REMAP_EXCEPTION,
        exceptions=[{"type": "g$a", "module": "org.a.b"}, {"type": "Unknown", "module": "x.y"}],
        classes=["org.a.b.g$b", "not.Known"],
    )
    answer = symbolicate_jvm(body, store, fresh_cache())
    assert answer["exceptions"] == [
        {"type": "Util$ClassContextSecurityManager", "module": "org.slf4j.helpers"},
        {"type": "Unknown", "module": "x.y"},
    ]
    assert answer["classes"] == {"org.a.b.g$b": "org.slf4j.helpers.Util$ClassContext"}


def test_unusable_mappings_are_reported_and_a_mapping_without_lines_is_used(tmp_path: Path) -> None:
    store = tmp_path / "symbols"
    invalid, no_lines, missing = (
        "11111111-2222-3333-4444-555555555555",
        "66666666-7777-8888-9999-aaaaaaaaaaaa",
        SAMPLE_APP,
    )
    put_mapping(store, invalid, b"this is not a mapping\n\x00\x01\x02 at all\n")
    put_mapping(store, no_lines, b"io.sentry.sample.MainActivity -> a.b:\n    void foo() -> a\n")
    frame = {"function": "a", "module": "a.b", "lineno": 3, "index": 0, "signature": "(Ljava/lang/String;)I"}
    answer = symbolicate_jvm(request([frame], invalid, no_lines, missing), str(store), fresh_cache())
    # A mapping without line ranges is used (25.11.1 refused it as `no_line_info`); the frame's line passes.
    assert answer["errors"] == [{"uuid": invalid, "type": "invalid"}, {"uuid": missing, "type": "missing"}]
    assert answer["stacktraces"][0]["frames"] == [
        {
            **frame,
            "module": "io.sentry.sample.MainActivity",
            "function": "foo",
            "filename": "MainActivity.java",
            "abs_path": "MainActivity.java",
            "signature": "(java.lang.String): int",
        }
    ]


def test_unusable_mappings_leave_frames_as_they_came(tmp_path: Path) -> None:
    store = tmp_path / "symbols"
    invalid = "11111111-2222-3333-4444-555555555555"
    put_mapping(store, invalid, b"this is not a mapping\n\x00\x01\x02 at all\n")
    frame = {"function": "a", "module": "a.b", "lineno": 3, "index": 0, "signature": "(Ljava/lang/String;)I"}
    answer = symbolicate_jvm(request([frame], invalid, SAMPLE_APP), str(store), fresh_cache())
    assert answer["stacktraces"][0]["frames"] == [{**frame, "signature": "(java.lang.String): int"}]


def test_each_mapping_is_parsed_once_per_cache(store: str) -> None:
    cache = fresh_cache()
    frame = {"function": "a", "module": "io.sentry.sample.MainActivity", "lineno": 1, "index": 0}
    for _ in range(3):
        symbolicate_jvm(request([frame], SAMPLE_APP, RESOLVING_INLINE), store, cache)
    assert sorted(cache.loads.values()) == [1, 1]


@pytest.mark.parametrize(
    "body",
    [
        request([{"function": "a", "index": 0}], SAMPLE_APP),
        request([{"function": "a", "module": "b", "index": 0, "lineno": "12"}], SAMPLE_APP),
        request([{"function": "a", "module": "b", "index": -1}], SAMPLE_APP),
        request([], "not-a-uuid"),
        {"stacktraces": "nope"},
    ],
)
def test_bodies_symbolicator_would_refuse_raise(store: str, body: dict) -> None:
    with pytest.raises(InvalidJvmRequest):
        symbolicate_jvm(body, store, fresh_cache())


def test_convert_methods_copies_present_keys_only() -> None:
    methods = [
        {"id": 1, "class_name": "a.b", "name": "c", "signature": "()V", "source_file": "SourceFile", "source_line": 12},
        {"id": 2, "class_name": "android.app.Activity", "name": "performCreate"},
    ]
    assert convert_android_methods_to_jvm_frames(methods) == [
        {"function": "c", "index": 0, "module": "a.b", "signature": "()V", "lineno": 12, "filename": "SourceFile"},
        {"function": "performCreate", "index": 1, "module": "android.app.Activity"},
    ]


def test_merge_writes_first_frame_and_keeps_the_rest_as_inline_frames() -> None:
    methods = [{"id": 7, "class_name": "a.b", "name": "c", "source_line": 1}, {"id": 8, "class_name": "x", "name": "y"}]
    frames = [
        {"function": "outer", "module": "com.App", "lineno": 40, "index": 0, "filename": "App.java", "in_app": True},
        {"function": "inner", "module": "com.App", "lineno": 44, "index": 0, "signature": "()"},
        {"function": "y", "module": "x", "lineno": 0, "index": 1},
    ]
    merge_jvm_frames_with_android_methods(frames, methods)
    first = {
        "id": 7,
        "class_name": "com.App",
        "name": "outer",
        "source_line": 40,
        "source_file": "App.java",
        "in_app": True,
        "data": {"deobfuscation_status": "deobfuscated"},
    }
    assert methods[0] == {
        **first,
        "inline_frames": [
            first,
            {
                "class_name": "com.App",
                "name": "inner",
                "source_line": 44,
                "signature": "()",
                "data": {"deobfuscation_status": "deobfuscated"},
            },
        ],
    }
    # Line 0 is not a line: the method keeps what it had (here: nothing).
    assert methods[1] == {"id": 8, "class_name": "x", "name": "y", "data": {"deobfuscation_status": "deobfuscated"}}
