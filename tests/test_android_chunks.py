"""Android chunks and Android sample v2 through the ordered stages, and the java pass of sample v2 (SPEC §4.5)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from android_profiles import (
    SAMPLE_APP,
    android_chunk,
    android_profile,
    context,
    fixture_store,
    java_chunk,
    method,
    perfetto_chunk,
    works_of,
)
from test_react_native import put_bundle, react_native

from profile_pipeline.adapters.symbolicator.backend import get_backend
from profile_pipeline.config import SymbolicationConfig
from profile_pipeline.stages.pipeline import run_stages
from profile_pipeline.stages.symbolication.java_frames import remap_java_frames


@pytest.fixture
def store(tmp_path: Path) -> str:
    store = fixture_store(tmp_path / "symbols")
    put_bundle(store, "io.sentry.sample@1.0+1", "42")
    return str(store)


def java_pass(profiles: list[dict], store: str) -> list[BaseException | None]:
    config = SymbolicationConfig(symbols=store)
    return remap_java_frames([(p, 2) for p in profiles], lambda project_id: get_backend(config, project_id))


def test_java_pass_expands_inlined_frames_and_repoints_stacks(store: str) -> None:
    chunk = perfetto_chunk()
    original = copy.deepcopy(chunk["profile"]["frames"])
    assert java_pass([chunk], store) == [None]
    frames, stacks = chunk["profile"]["frames"], chunk["profile"]["stacks"]
    names = [frame.get("function") for frame in frames]
    # Frame 0 (inlined, callee first) and its leaf copy expand to three frames each; native is untouched.
    assert names == ["bar", "foo", "onClickHandler", "onClick", None, "run", "bar", "foo", "onClickHandler"]
    assert frames[4] == original[2]
    assert [frames[i]["lineno"] for i in (0, 1, 2)] == [54, 44, 40]
    assert {frames[i]["platform"] for i in (0, 1, 2, 3, 5, 6, 7, 8)} == {"java"}
    assert frames[5]["in_app"] is False
    # The stack whose leaf is java uses the leaf copy's expansion; every index moved with the expansion.
    assert stacks == [[6, 7, 8, 3, 5], [4, 3, 5]]
    assert "symbolicator_error" not in chunk


def test_java_pass_batches_equal_single_profiles(store: str) -> None:
    batch = [perfetto_chunk(), perfetto_chunk(), perfetto_chunk("d748e578-b3d1-5be5-b0e5-a42e8c9bf8e0")]
    single = copy.deepcopy(batch)
    assert java_pass(batch, store) == [None, None, None]
    for profile in single:
        assert java_pass([profile], store) == [None]
    assert batch == single


def test_java_pass_with_a_refused_request_keeps_frames(store: str) -> None:
    broken = perfetto_chunk()
    broken["profile"]["frames"][1] = {"platform": "java", "lineno": 3}  # no function, no module
    good = perfetto_chunk()
    assert java_pass([broken, good], store) == [None, None]
    assert broken["symbolicator_error"]["type"] == "native_symbolicator_failed"
    assert broken["profile"]["frames"][0]["function"] == "a"
    assert good["profile"]["frames"][0]["function"] == "bar"


def mixed_batch() -> list[dict]:
    methods = [
        method(1, "io.sentry.sample.MainActivity", "a", "(Landroid/view/View;)V", source_line=1),
        method(2, "android.app.Activity", "performCreate", "(Landroid/os/Bundle;)V"),
    ]
    python_chunk = copy.deepcopy(java_chunk())
    python_chunk.update(platform="python", client_sdk={"name": "sentry.python", "version": "2.13.0"})
    return [
        android_profile(methods),
        android_chunk(methods),
        android_profile(methods, build_id=None),
        perfetto_chunk(),
        react_native(),
        java_chunk(),
        python_chunk,
    ]


def test_mixed_batch_through_the_stages_up_to_normalization(store: str) -> None:
    works = works_of(mixed_batch())
    run_stages(works, context(symbols=store))
    assert [w.failure for w in works] == [None] * len(works)
    legacy, chunk, unmapped, perfetto, rn, java, python = (w.profile for w in works)

    for profile in (legacy, chunk, rn):
        assert profile["deobfuscated"] is True
        assert profile["normalized"] is True
    assert legacy["profile"]["methods"][0]["name"] == "onClickHandler"
    assert [m["name"] for m in legacy["profile"]["methods"][0]["inline_frames"]] == ["onClickHandler", "foo", "bar"]
    assert chunk["profile"]["methods"][0]["name"] == "onClickHandler"
    assert {m["platform"] for m in legacy["profile"]["methods"]} == {"android"}
    assert unmapped["profile"]["methods"][0] == {
        "id": 1,
        "class_name": "io.sentry.sample.MainActivity",
        "name": "a",
        "signature": "(android.view.View)",
        "source_line": 1,
        "platform": "android",
    }
    assert rn["js_profile"]["profile"]["frames"][0]["function"] == "add"

    # Android sample v2 is not deobfuscated as methods but symbolicated: a java pass (with the inline
    # expansion of frame 0 and of its leaf copy) and a native pass; in_app comes from §4.9 afterwards.
    assert "deobfuscated" not in perfetto
    assert perfetto["processed_by_symbolicator"] is True
    frames, stacks = perfetto["profile"]["frames"], perfetto["profile"]["stacks"]
    assert [f.get("function") for f in frames] == [
        "bar", "foo", "onClickHandler", "onClick", None, "run", "bar", "foo", "onClickHandler", None
    ]  # fmt: skip
    assert stacks == [[6, 7, 8, 3, 5], [9, 3, 5]]
    assert [f["in_app"] for f in frames if f["platform"] == "native"] == [False, False]
    assert {f["module"]: f["in_app"] for f in frames if f["platform"] == "java"} == {
        "io.sentry.sample.MainActivity": True,
        "android.view.View": False,
        "java.lang.Thread": False,
    }

    # Sample v2 chunks of other platforms pass through untouched apart from frame platforms.
    for profile, platform in ((java, "java"), (python, "python")):
        assert "deobfuscated" not in profile and "processed_by_symbolicator" not in profile
        assert {frame["platform"] for frame in profile["profile"]["frames"]} == {platform}
    assert [f["function"] for f in java["profile"]["frames"]] == [
        "accept",
        "serverSocketAccept",
        "run",
        "execute",
        "Unsafe_Park",
    ]


def test_stages_in_embedded_and_off_modes_differ_only_where_they_should(store: str) -> None:
    off = works_of(mixed_batch())
    run_stages(off, context(mode="off", symbols=store))
    assert all(w.ok for w in off)
    legacy = off[0].profile
    assert "deobfuscated" not in legacy
    assert legacy["profile"]["methods"][0]["signature"] == "(Landroid/view/View;)V"
    assert off[4].profile["js_profile"] == {"profile": react_native()["js_profile"]}
    assert off[1].profile["profile"]["methods"][0]["class_name"] == "io.sentry.sample.MainActivity"
    assert SAMPLE_APP in str(off[0].profile["debug_meta"])
