"""React Native on Android (SPEC Part II §4.7): the `js_profile` wrapped, symbolicated as JavaScript, unwrapped."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from android_profiles import FIXTURES, android_chunk, android_profile, context, method, works_of

from profile_pipeline.adapters.symbol_store import release_artifact_uri
from profile_pipeline.stages.js_profile import process_js_profiles, unwrap_js_profile, wrap_js_profile
from profile_pipeline.work import FAILED_SYMBOLICATION

RELEASE = "io.sentry.sample@1.0+1"
BUNDLE = "app:///embedded.js"
SOURCEMAP_IMAGE = {"type": "sourcemap", "code_file": BUNDLE, "debug_id": "6c9e6a3c-1f5d-4f8e-9d6e-2b9b2a8c1e10"}


def put_bundle(store: Path, release: str, dist: str | None) -> None:
    """The fixture bundle and its map under `releases/<release>/<dist or _>/embedded.js`."""
    target = Path(release_artifact_uri(str(store), release, dist, BUNDLE))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURES / "sourcemaps" / "embedded.js", target)
    shutil.copyfile(FIXTURES / "sourcemaps" / "embedded.js.map", f"{target}.map")


@pytest.fixture
def store(tmp_path: Path) -> str:
    store = tmp_path / "symbols"
    put_bundle(store, RELEASE, "42")
    put_bundle(store, RELEASE, None)
    return str(store)


def js_samples(chunk: bool = False) -> dict:
    timing = (
        [{"timestamp": 1_764_000_000.0}, {"timestamp": 1_764_000_000.01}]
        if chunk
        else [
            {"elapsed_since_start_ns": 0},
            {"elapsed_since_start_ns": 1000},
        ]
    )
    return {
        "samples": [{"stack_id": 0, "thread_id": 1, **time} for time in timing],
        "stacks": [[0, 1]],
        "frames": [
            {"function": "a", "abs_path": BUNDLE, "lineno": 1, "colno": 39},
            {"function": "[native code]", "abs_path": "[native code]"},
        ],
    }


def react_native(chunk: bool = False, **extra) -> dict:
    build = android_chunk if chunk else android_profile
    profile = build([method(1, "android.app.Activity", "performCreate", "(Landroid/os/Bundle;)V")], **extra)
    profile["debug_meta"]["images"].append(dict(SOURCEMAP_IMAGE))
    profile["release"] = RELEASE
    profile["dist"] = "42"
    profile["js_profile"] = js_samples(chunk)
    profile.update(extra)
    return profile


def test_wrap_and_unwrap() -> None:
    parent = react_native()
    inner = parent["js_profile"]
    wrapped = wrap_js_profile(parent)
    assert parent["js_profile"] is wrapped
    assert wrapped == {
        "profile": inner,
        "platform": "javascript",
        "version": "1",
        "event_id": parent["profile_id"],
        "release": RELEASE,
        "dist": "42",
        "debug_meta": parent["debug_meta"],
    }
    assert wrapped["debug_meta"] is parent["debug_meta"]
    wrapped["processed_by_symbolicator"] = True
    unwrap_js_profile(wrapped)
    assert wrapped == {"profile": inner, "processed_by_symbolicator": True}


def test_missing_release_and_dist_are_null() -> None:
    parent = react_native()
    del parent["release"], parent["dist"], parent["debug_meta"]
    wrapped = wrap_js_profile(parent)
    assert (wrapped["release"], wrapped["dist"]) == (None, None)
    assert "debug_meta" not in wrapped


@pytest.mark.parametrize("chunk", [False, True])
def test_js_profile_is_symbolicated_with_the_parents_source_maps(store: str, chunk: bool) -> None:
    parent = react_native(chunk)
    works = works_of([parent])
    process_js_profiles(works, context(symbols=store))
    profile = works[0].profile
    assert works[0].ok
    js = profile["js_profile"]
    assert set(js) <= {"profile", "processed_by_symbolicator", "errors", "symbolicator_error", "_metrics"}
    assert js["processed_by_symbolicator"] is True
    frame = js["profile"]["frames"][0]
    assert (frame["function"], frame["lineno"], frame["colno"]) == ("add", 3, 9)
    assert frame["abs_path"].endswith("file1.js")
    # The frame that is not JavaScript with a location is left alone.
    assert js["profile"]["frames"][1] == parent["js_profile"]["frames"][1]
    # The parent keeps its own identity and methods.
    assert {k: v for k, v in profile.items() if k not in ("js_profile", "debug_meta")} == {
        k: v for k, v in parent.items() if k not in ("js_profile", "debug_meta")
    }


def test_without_dist_the_release_artifacts_without_dist_are_used(store: str) -> None:
    parent = react_native()
    del parent["dist"]
    works = works_of([parent])
    process_js_profiles(works, context(symbols=store))
    assert works[0].ok
    assert works[0].profile["js_profile"]["profile"]["frames"][0]["function"] == "add"


def test_without_release_the_profile_goes_on_unsymbolicated(store: str) -> None:
    parent = react_native()
    del parent["release"], parent["dist"]
    works = works_of([parent])
    process_js_profiles(works, context(symbols=store))
    assert works[0].ok
    js = works[0].profile["js_profile"]
    assert js["processed_by_symbolicator"] is True
    assert js["profile"]["frames"][0]["function"] == "a"


def test_a_broken_js_profile_fails_its_parent_only(store: str) -> None:
    good, broken, plain = react_native(), react_native(), android_profile([method(1, "a.b", "c")])
    broken["js_profile"] = {"samples": [], "stacks": "nope", "frames": [{"abs_path": BUNDLE, "lineno": 1}]}
    works = works_of([good, broken, plain])
    process_js_profiles(works, context(symbols=store))
    assert [w.failure.reason if w.failure else None for w in works] == [None, FAILED_SYMBOLICATION, None]
    assert works[0].profile["js_profile"]["profile"]["frames"][0]["function"] == "add"
    assert works[2].profile == plain


def test_mode_off_wraps_js_profile_without_symbolicating(store: str) -> None:
    parent = react_native()
    raw_samples = copy.deepcopy(parent["js_profile"])
    works = works_of([parent])
    process_js_profiles(works, context(mode="off", symbols=store))
    assert works[0].profile["js_profile"] == {"profile": raw_samples}
    assert "processed_by_symbolicator" not in works[0].profile["js_profile"]
