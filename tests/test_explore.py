"""The exploration library: stacks of each format, selections over the Delta tables, the aggregate on delta-rs
and on Spark, top functions, and the differential tree of two selections."""

from __future__ import annotations

import random
import statistics
from collections import Counter

import pytest
from deltalake import DeltaTable
from explore_warehouse import DAYS

from profile_pipeline.explore import (
    Frame,
    NothingSelected,
    Selection,
    compare,
    flame_graph,
    thread_stacks,
    top_functions,
    tree_of,
)
from profile_pipeline.explore.selection import decode_payload
from profile_pipeline.explore.spark_aggregate import flame_graph_spark
from profile_pipeline.formats import ANDROID, ANDROID_CHUNK, LEGACY, SAMPLE_V1, SAMPLE_V2
from synthetic import KINDS, ProfileSpec, generate

MS = 1_000_000


def _sampled_body(samples: list[dict]) -> dict:
    return {
        "frames": [
            {"function": "leaf", "module": "app.a"},
            {"function": "mid", "module": "app.b"},
            {"function": "root"},
        ],
        "stacks": [[0, 1, 2], [1, 2]],
        "samples": samples,
        "thread_metadata": {"1": {"name": "MainThread"}, "2": {"name": "worker"}},
    }


LEAF, MID, ROOT = Frame("leaf", "app.a"), Frame("mid", "app.b"), Frame("root")


def test_sample_v1_weighs_each_active_thread_sample_until_the_next():
    samples = [
        {"stack_id": 0, "thread_id": 2, "elapsed_since_start_ns": 0},
        {"stack_id": 0, "thread_id": 2, "elapsed_since_start_ns": 10 * MS},
        {"stack_id": 1, "thread_id": 2, "elapsed_since_start_ns": 30 * MS},
        {"stack_id": 1, "thread_id": 1, "elapsed_since_start_ns": 5 * MS},
        {"stack_id": 0, "thread_id": 1, "elapsed_since_start_ns": 50 * MS},
    ]
    profile = {"version": "1", "transaction": {"active_thread_id": 2}, "profile": _sampled_body(samples)}
    # Root first; the last sample of the thread has no next one, so no time.
    assert list(thread_stacks(profile, SAMPLE_V1)) == [((ROOT, MID, LEAF), 10 * MS), ((ROOT, MID, LEAF), 20 * MS)]
    assert list(thread_stacks(profile, SAMPLE_V1, thread="1")) == [((ROOT, MID), 45 * MS)]


def test_sample_v2_chunk_reads_the_main_thread_in_seconds():
    samples = [
        {"stack_id": 1, "thread_id": "2", "timestamp": 1795996800.000},
        {"stack_id": 1, "thread_id": "2", "timestamp": 1795996800.500},
        {"stack_id": 0, "thread_id": "1", "timestamp": 1795996800.010},
        {"stack_id": 1, "thread_id": "1", "timestamp": 1795996800.020},
        {"stack_id": 1, "thread_id": "1", "timestamp": 1795996800.050},
    ]
    profile = {"version": "2", "profile": _sampled_body(samples)}
    assert list(thread_stacks(profile, SAMPLE_V2)) == [((ROOT, MID, LEAF), 10 * MS), ((ROOT, MID), 30 * MS)]


def test_android_method_trace_times_each_stack_between_events_and_expands_inlined_methods():
    def event(action: str, method: int, nanos: int, thread: int = 7) -> dict:
        return {
            "action": action,
            "thread_id": thread,
            "method_id": method,
            "time": {"Global": {"secs": 0, "nanos": nanos}},
        }

    inlined = [{"class_name": "a.B", "name": "outer"}, {"class_name": "a.B", "name": "inner"}]
    profile = {
        "platform": "android",
        "transaction": {"active_thread_id": 7},
        "profile": {
            "threads": [{"id": 7, "name": "main"}, {"id": 8, "name": "other"}],
            "methods": [
                {"id": 1, "class_name": "android.os.Looper", "name": "loop"},
                {"id": 2, "class_name": "x.Y", "name": "z", "inline_frames": inlined},
            ],
            "events": [
                event("Enter", 1, 1_000),
                event("Enter", 2, 3_000),
                event("Enter", 1, 3_500, thread=8),
                event("Exit", 2, 7_000),
                event("Exit", 1, 8_000),
                event("Exit", 1, 9_500, thread=8),
            ],
        },
    }
    loop, outer, inner = Frame("android.os.Looper.loop", "android.os"), Frame("a.B.outer", "a"), Frame("a.B.inner", "a")
    expected = [((loop,), 2_000), ((loop, outer, inner), 4_000), ((loop,), 1_000)]
    assert list(thread_stacks(profile, ANDROID)) == expected
    # A chunk has no transaction: the thread named main.
    chunk = {**profile, "transaction": None}
    assert list(thread_stacks(chunk, ANDROID_CHUNK)) == expected


def test_legacy_sampled_profile_reads_the_thread_marked_main():
    def sample(frames: list[str], nanos: int, thread: int) -> dict:
        return {"frames": [{"function": f} for f in frames], "relative_timestamp_ns": nanos, "thread_id": thread}

    body = {
        "samples": [
            sample(["b", "a"], 0, 259),
            sample(["a"], 4 * MS, 259),
            sample(["x"], 1 * MS, 771),
            sample([], 9 * MS, 259),
        ],
        "thread_metadata": {"771": {"name": "worker"}, "259": {"name": "t", "is_main_thread": True}},
    }
    stacks = list(thread_stacks({"sampled_profile": body}, LEGACY))
    assert stacks == [((Frame("a"), Frame("b")), 4 * MS), ((Frame("a"),), 5 * MS)]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_generated_kind_makes_a_tree_of_its_thread(kind):
    profile = generate(kind, random.Random(3), ProfileSpec(target_bytes=6_000))
    tree = tree_of([(KINDS[kind].format, profile)])
    stacks = list(tree.stacks())
    assert tree.total_ns > 0 and stacks
    assert sum(nanos for _, nanos in stacks) == tree.total_ns == sum(c.total_ns for c in tree.root.children.values())
    if KINDS[kind].format in (SAMPLE_V1, SAMPLE_V2):
        body = profile["profile"]
        thread = str((profile.get("transaction") or {}).get("active_thread_id", ""))
        if not thread:  # a chunk: the thread its metadata names main, else the busiest
            names = {t: m.get("name") for t, m in body["thread_metadata"].items()}
            mains = [t for t, name in names.items() if name in ("main", "MainThread")]
            busiest = Counter(str(s["thread_id"]) for s in body["samples"]).most_common(1)[0][0]
            thread = mains[0] if mains else busiest
        times = sorted(
            s.get("elapsed_since_start_ns", s.get("timestamp"))
            for s in body["samples"]
            if str(s["thread_id"]) == thread
        )
        span = times[-1] - times[0]
        expected = span if KINDS[kind].format == SAMPLE_V1 else round(span * 1e6) * 1000
        assert tree.total_ns == pytest.approx(expected, abs=1000)


def _all_profiles(warehouse) -> list[dict]:
    columns = [
        "dt",
        "project_id",
        "platform",
        "release",
        "transaction_name",
        "event_id",
        "sampled",
        "format",
        "payload",
    ]
    return DeltaTable(f"{warehouse.path}/profiles").to_pyarrow_table(columns=columns).to_pylist()


SELECTIONS = [
    Selection(project_id=2),
    Selection(project_id=2, release="backend@2.20.0"),
    Selection(platform="android", start=DAYS[1], end=DAYS[1]),
    Selection(platform="cocoa", release="io.example.mac@5.1.1+121"),
    Selection(transaction="GET /api/orders"),
]


def _matches(row: dict, selection: Selection) -> bool:
    wanted = {
        "project_id": selection.project_id,
        "platform": selection.platform,
        "release": selection.release,
        "transaction_name": selection.transaction,
    }
    in_days = (selection.start is None or row["dt"] >= selection.start) and (
        selection.end is None or row["dt"] <= selection.end
    )
    return row["sampled"] and in_days and all(v is None or row[k] == v for k, v in wanted.items())


@pytest.mark.parametrize("selection", SELECTIONS, ids=lambda s: s.describe())
def test_flame_graph_is_the_sum_of_exactly_the_selected_profiles(explore_warehouse, selection):
    rows = [row for row in _all_profiles(explore_warehouse) if _matches(row, selection)]
    assert rows, "the test warehouse should hold profiles of every selection"
    expected = tree_of((row["format"], decode_payload(row["payload"])) for row in rows)
    tree = flame_graph(explore_warehouse.path, selection)
    assert tree.profiles == len(rows)
    assert sorted(tree.stacks()) == sorted(expected.stacks())


def thread_stacks_summed(profile: dict, fmt: str) -> list:
    summed: Counter = Counter()
    for stack, nanos in thread_stacks(profile, fmt):
        summed[stack] += nanos
    return list(summed.items())


def test_one_profile_by_its_id(explore_warehouse):
    row = next(r for r in _all_profiles(explore_warehouse) if r["format"] == ANDROID)
    tree = flame_graph(explore_warehouse.path, Selection(profile_id=row["event_id"]))
    assert tree.profiles == 1
    assert sorted(tree.stacks()) == sorted(thread_stacks_summed(decode_payload(row["payload"]), row["format"]))


def test_spark_aggregate_equals_the_delta_rs_one(spark, explore_warehouse):
    selection = Selection(platform="android", release="io.sentry.sample@2.1.0+210")
    on_spark = flame_graph_spark(spark, explore_warehouse.path, selection)
    local = flame_graph(explore_warehouse.path, selection)
    assert on_spark.profiles == local.profiles > 1
    assert sorted(on_spark.stacks()) == sorted(local.stacks())
    with pytest.raises(NothingSelected):
        flame_graph_spark(spark, explore_warehouse.path, Selection(project_id=99))


def test_nothing_selected_says_what_was_asked(explore_warehouse):
    with pytest.raises(NothingSelected, match="project 2, release nope"):
        flame_graph(explore_warehouse.path, Selection(project_id=2, release="nope"))


def test_top_functions_from_the_functions_table(explore_warehouse):
    selection = Selection(project_id=2, release="backend@2.19.0")
    tree = flame_graph(explore_warehouse.path, selection)
    top = top_functions(explore_warehouse.path, selection, tree=tree, limit=5)
    functions = DeltaTable(f"{explore_warehouse.path}/functions").to_pyarrow_table().to_pylist()
    chosen = [r for r in functions if r["project_id"] == 2 and r["release"] == "backend@2.19.0"]
    self_times: dict[int, list[int]] = {}
    for row in chosen:
        self_times.setdefault(int(row["fingerprint"]), []).extend(row["self_times_ns"])
    ranked = sorted(self_times, key=lambda f: -sum(self_times[f]))
    assert [s.fingerprint for s in top] == ranked[:5]
    for stats in top:
        times = self_times[stats.fingerprint]
        assert stats.self_ns == sum(times)
        if len(times) > 1:  # numpy's default percentile is the inclusive quantile
            quantiles = statistics.quantiles(times, n=20, method="inclusive")
            assert stats.p95_ns == pytest.approx(quantiles[18]) and stats.p50_ns == pytest.approx(
                statistics.median(times)
            )
        assert stats.p50_ns <= stats.p75_ns <= stats.p95_ns <= max(times)
    times = tree.function_times()
    in_tree = [s for s in top if (Frame(s.function, s.package)) in times]
    assert in_tree, "the tree and the functions table should name functions alike"
    assert all(s.total_ns == times[Frame(s.function, s.package)][1] for s in in_tree)
    every = top_functions(explore_warehouse.path, selection, tree=tree, limit=10_000)
    by_total = top_functions(explore_warehouse.path, selection, tree=tree, by="total", limit=3)
    assert [s.total_ns for s in by_total] == sorted((s.total_ns for s in every), reverse=True)[:3]


def test_comparison_of_two_releases_gives_each_path_its_shares_and_change(explore_warehouse):
    before = flame_graph(explore_warehouse.path, Selection(project_id=2, release="backend@2.19.0"))
    after = flame_graph(explore_warehouse.path, Selection(project_id=2, release="backend@2.20.0"))
    diff = compare(before, after)
    assert diff.root.before_share == diff.root.after_share == 1.0
    assert sum(n.before_share for n in diff.root.children.values()) == pytest.approx(1.0)
    assert sum(n.after_share for n in diff.root.children.values()) == pytest.approx(1.0)
    before_paths = {stack for stack, _ in before.stacks()}
    for path, node in diff.paths():
        assert node.change == pytest.approx(node.after_share - node.before_share)
        assert node.before_share == pytest.approx(node.before_ns / before.total_ns)
        if path in before_paths:
            assert node.before_ns > 0
    only_after = [node for _, node in diff.paths() if node.before_ns == 0]
    assert only_after and all(node.change == node.after_share > 0 for node in only_after)
    assert diff.largest_changes(3)[0][1].change != 0
    same = compare(before, before)
    assert all(node.change == 0 for _, node in same.paths())


def test_comparison_of_two_day_ranges(explore_warehouse):
    first, second = (flame_graph(explore_warehouse.path, Selection(platform="node", start=d, end=d)) for d in DAYS)
    diff = compare(first, second)
    assert diff.root.before_ns == first.total_ns and diff.root.after_ns == second.total_ns
    assert {path for path, node in diff.paths() if node.after_ns} >= {stack for stack, _ in second.stacks()}
