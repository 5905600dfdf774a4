"""The deobfuscation stage (SPEC Part II §4.6) over batches of Android profiles, embedded and via Symbolicator."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
from android_profiles import (
    REMAP_EXCEPTION,
    SAMPLE_APP,
    android_chunk,
    android_profile,
    context,
    fixture_store,
    method,
    perfetto_chunk,
    put_mapping,
    work_of,
    works_of,
)
from servers.symbolicator import Behaviour, SymbolicatorServer

from profile_pipeline.adapters.symbolicator.client import SymbolicatorBackend
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.deobfuscation import deobfuscate_batch, deobfuscate_profiles
from profile_pipeline.work import FAILED_DEOBFUSCATION, ProfileWork

DEOBFUSCATED = {"deobfuscation_status": "deobfuscated"}


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(fixture_store(tmp_path / "symbols"))


@pytest.fixture
def symbolicator(store: str) -> Iterator[SymbolicatorServer]:
    with SymbolicatorServer(store) as server:
        yield server


def via_symbolicator(works: list[ProfileWork], ctx: StageContext) -> None:
    """The stage's work with a Symbolicator client per project, as `get_backend` gives in that mode."""
    config = ctx.config.symbolication
    deobfuscate_profiles(
        works, lambda project_id: SymbolicatorBackend(config, project_id), config.max_frames_per_request
    )


def main_activity_methods() -> list[dict]:
    return [
        method(
            1, "io.sentry.sample.MainActivity", "a", "(Landroid/view/View;)V", source_file="SourceFile", source_line=1
        ),
        method(2, "android.app.Activity", "performCreate", "(Landroid/os/Bundle;)V"),
        method(3, "io.sentry.sample.MainActivity", "<init>", "()V", source_line=1),
    ]


def test_method_with_mapping_is_remapped_with_inline_frames(store: str) -> None:
    works = works_of([android_profile(main_activity_methods())])
    deobfuscate_batch(works, context(symbols=store))
    profile = works[0].profile
    assert works[0].ok and profile["deobfuscated"] is True
    first, activity, init = profile["profile"]["methods"]
    outer = {
        "id": 1,
        "class_name": "io.sentry.sample.MainActivity",
        "name": "onClickHandler",
        "signature": "(android.view.View)",
        "source_file": "MainActivity.java",  # named after the class, as Symbolicator 26.8.0 does
        "source_line": 40,
        "in_app": True,  # io.sentry.sample is the release package
        "data": DEOBFUSCATED,
    }
    inline = {key: value for key, value in outer.items() if key != "id"}
    assert first == {
        **outer,
        "inline_frames": [
            outer,
            {**inline, "name": "foo", "source_line": 44},
            {**inline, "name": "bar", "source_line": 54},
        ],
    }
    # Not in the mapping: names kept, signature readable, marked as Sentry marks every returned frame.
    assert activity == {
        "id": 2,
        "class_name": "android.app.Activity",
        "name": "performCreate",
        "signature": "(android.os.Bundle)",
        "data": DEOBFUSCATED,
    }
    assert init["source_line"] == 15 and init["name"] == "<init>" and "inline_frames" not in init


def test_without_mapping_id_only_signatures_are_decoded(store: str) -> None:
    profiles = [
        android_profile(main_activity_methods(), build_id=None),
        android_profile(main_activity_methods(), build_id=""),
        android_profile(main_activity_methods(), build_id="not-a-uuid"),
    ]
    works = works_of(profiles)
    deobfuscate_batch(works, context(symbols=store))
    for work, original in zip(works, profiles, strict=True):
        methods = work.profile["profile"]["methods"]
        assert work.profile["deobfuscated"] is True
        assert [m["signature"] for m in methods] == ["(android.view.View)", "(android.os.Bundle)", "()"]
        assert [m["name"] for m in methods] == [m["name"] for m in original["profile"]["methods"]]
        assert all("data" not in m for m in methods)


def test_missing_and_invalid_mappings_leave_methods_obfuscated_with_signatures_decoded(tmp_path: Path) -> None:
    store = tmp_path / "symbols"
    invalid = "11111111-2222-3333-4444-555555555555"
    put_mapping(store, invalid, b"garbage\n\x00\xff\n")
    works = works_of([android_profile(main_activity_methods(), build_id=b) for b in (SAMPLE_APP, invalid)])
    deobfuscate_batch(works, context(symbols=str(store)))
    # A mapping that is not found leaves the profile not deobfuscated; one that cannot be read does not.
    for work, deobfuscated in zip(works, (False, True), strict=True):
        methods = work.profile["profile"]["methods"]
        assert work.ok and work.profile["deobfuscated"] is deobfuscated
        assert [m["name"] for m in methods] == ["a", "performCreate", "<init>"]
        assert methods[0]["signature"] == "(android.view.View)"
        assert "inline_frames" not in methods[0]


def test_gate_flags_and_modes(store: str) -> None:
    done = android_profile(main_activity_methods(), deobfuscated=True)
    empty = android_profile([], profile={})
    v2 = perfetto_chunk()
    not_android = {**android_profile(main_activity_methods()), "platform": "java", "version": "1"}
    works = works_of([done, empty, v2, not_android])
    deobfuscate_batch(works, context(symbols=store))
    assert [w.profile for w in works] == [done, empty, v2, not_android]
    assert "deobfuscated" not in works[1].profile

    off = works_of([android_profile(main_activity_methods())])
    before = copy.deepcopy(off[0].profile)
    deobfuscate_batch(off, context(mode="off", symbols=store))
    assert off[0].profile == before


def test_android_chunk_is_deobfuscated(store: str) -> None:
    works = works_of([android_chunk(main_activity_methods())])
    deobfuscate_batch(works, context(symbols=store))
    methods = works[0].profile["profile"]["methods"]
    assert methods[0]["name"] == "onClickHandler"
    # A chunk has no transaction metadata, so no release package and no in_app from it.
    assert "in_app" not in methods[0]


def test_bad_profiles_fail_alone(store: str) -> None:
    good = android_profile(main_activity_methods())
    no_name = android_profile([{"id": 1, "class_name": "a.b"}])
    not_a_method = android_profile(["nope"])
    no_methods = android_profile([])
    del no_methods["profile"]["methods"]
    wrong_types = android_profile([method(1, "io.sentry.sample.MainActivity", "a", source_line="1")])
    bad_signature = android_profile([method(1, "io.sentry.sample.MainActivity", "a", "(Lunterminated", source_line=1)])
    works = works_of([good, no_name, not_a_method, no_methods, wrong_types, bad_signature])
    deobfuscate_batch(works, context(symbols=store))
    assert [w.failure.reason if w.failure else None for w in works] == [
        None,
        FAILED_DEOBFUSCATION,
        FAILED_DEOBFUSCATION,
        FAILED_DEOBFUSCATION,
        None,
        None,
    ]
    assert works[0].profile["profile"]["methods"][0]["name"] == "onClickHandler"
    # A request Symbolicator would refuse leaves the methods as they are.
    assert works[4].profile["profile"]["methods"] == wrong_types["profile"]["methods"]
    assert works[4].profile["deobfuscated"] is True
    remapped = works[5].profile["profile"]["methods"][0]
    assert (remapped["name"], remapped["signature"]) == ("onClickHandler", "")


def mixed_batch() -> list[dict]:
    """Profiles sharing mappings and methods, with different release packages and projects."""
    profiles = []
    for number in range(12):
        methods = [*main_activity_methods(), method(10 + number, "org.a.b.g$a", "a", source_line=67 + number % 3)]
        build_id = SAMPLE_APP if number % 3 else REMAP_EXCEPTION
        metadata = {"app.identifier": "org.slf4j" if number % 2 else "io.sentry.sample"}
        profile = android_profile(methods, build_id=build_id, transaction_metadata=metadata)
        profiles.append(profile if number % 4 else android_chunk(methods, build_id=build_id))
    profiles.append(android_profile(main_activity_methods(), build_id=None))
    return profiles


def test_batched_requests_equal_one_request_per_profile(store: str, symbolicator: SymbolicatorServer) -> None:
    profiles = mixed_batch()
    ctx = context(mode="symbolicator", symbols=store, url=symbolicator.url, sources=symbolicator.sources)
    batched = works_of(profiles)
    via_symbolicator(batched, ctx)
    batched_requests = symbolicator.creates("/symbolicate-jvm")
    # One request per (project, mapping, release package): 2 mappings, each with 2 packages and with none (chunks).
    assert len(batched_requests) == 6
    for received in batched_requests:
        sent = received.body["stacktraces"][0]["frames"]
        assert [frame["index"] for frame in sent] == list(range(len(sent)))
        assert len(sent) == len({tuple(sorted((k, v) for k, v in f.items() if k != "index")) for f in sent})
    total_sent = sum(len(r.body["stacktraces"][0]["frames"]) for r in batched_requests)
    assert total_sent < sum(len(p["profile"]["methods"]) for p in profiles if "build_id" in p)

    single = works_of(profiles)
    for work in single:
        via_symbolicator([work], ctx)
    assert [w.profile for w in batched] == [w.profile for w in single]
    assert all(w.profile["deobfuscated"] for w in batched)


def test_embedded_and_symbolicator_modes_give_identical_profiles(store: str, symbolicator: SymbolicatorServer) -> None:
    profiles = mixed_batch()
    embedded = works_of(profiles)
    deobfuscate_batch(embedded, context(symbols=store))
    remote = works_of(profiles)
    via_symbolicator(
        remote, context(mode="symbolicator", symbols=store, url=symbolicator.url, sources=symbolicator.sources)
    )
    assert [w.profile for w in embedded] == [w.profile for w in remote]
    assert embedded[1].profile["profile"]["methods"][0]["name"] == "onClickHandler"


def test_small_requests_give_the_same_profiles(store: str, symbolicator: SymbolicatorServer) -> None:
    profiles = mixed_batch()
    whole = works_of(profiles)
    deobfuscate_batch(whole, context(symbols=store))
    split = works_of(profiles)
    via_symbolicator(
        split,
        context(
            mode="symbolicator",
            symbols=store,
            url=symbolicator.url,
            sources=symbolicator.sources,
            max_frames_per_request=2,
        ),
    )
    assert len(symbolicator.creates("/symbolicate-jvm")) > 4
    assert [w.profile for w in whole] == [w.profile for w in split]


@pytest.mark.parametrize(
    "behaviour",
    [Behaviour(answer={"status": "failed", "message": "boom"}), Behaviour(http_status=500), Behaviour(garbage=True)],
)
def test_failed_symbolicator_leaves_methods_and_sets_the_flag(store: str, behaviour: Behaviour) -> None:
    profile = android_profile(main_activity_methods())
    with SymbolicatorServer(store, behaviour) as server:
        works = works_of([profile])
        via_symbolicator(works, context(mode="symbolicator", symbols=store, url=server.url, sources=server.sources))
    assert works[0].ok
    assert works[0].profile["deobfuscated"] is True
    assert works[0].profile["profile"]["methods"] == profile["profile"]["methods"]


def test_huge_method_table_is_one_profile_among_others(store: str) -> None:
    huge = android_profile([method(i, f"a.b{i % 50}", f"m{i % 7}", "(I)V", source_line=i % 100) for i in range(30_000)])
    small = android_profile(main_activity_methods())
    works = [work_of(huge), work_of(small)]
    deobfuscate_batch(works, context(symbols=store, max_frames_per_request=4_000))
    assert all(w.ok for w in works)
    assert {m["signature"] for m in huge["profile"]["methods"]} == {"(int)"}
    assert small["profile"]["methods"][0]["name"] == "onClickHandler"


def test_mappings_come_only_through_a_sentry_source(symbolicator: SymbolicatorServer) -> None:
    """With the store as a filesystem source alone, Symbolicator finds no mapping: nothing is deobfuscated."""
    works = works_of([android_profile(main_activity_methods())])
    filesystem_only = symbolicator.sources[1:]
    via_symbolicator(works, context(mode="symbolicator", url=symbolicator.url, sources=filesystem_only))
    assert works[0].ok and works[0].profile["deobfuscated"] is False
    assert [m["name"] for m in works[0].profile["profile"]["methods"]] == ["a", "performCreate", "<init>"]
    sent = symbolicator.creates("/symbolicate-jvm")[0].body
    assert sent["sources"] == list(filesystem_only)
