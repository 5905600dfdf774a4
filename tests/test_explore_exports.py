"""The exports, each read back by its real consumer: speedscope's published schema, Google's pprof, and
collapsed stacks parsed back into the same tree."""

from __future__ import annotations

import gzip
import subprocess
from collections import Counter
from pathlib import Path

import jsonschema
import orjson
import pytest

from profile_pipeline.explore import CallTree, Frame, Selection, compare, flame_graph
from profile_pipeline.explore.exports.collapsed import read_collapsed, to_collapsed, to_collapsed_diff
from profile_pipeline.explore.exports.pprof import to_pprof, to_pprof_diff
from profile_pipeline.explore.exports.profile_pb2 import Profile
from profile_pipeline.explore.exports.speedscope import to_speedscope, to_speedscope_comparison


@pytest.fixture(scope="module")
def trees(explore_warehouse) -> dict[str, CallTree]:
    """An aggregate of mixed formats (native, Android, JavaScript), one profile, and two releases."""
    path = explore_warehouse.path
    return {
        "aggregate": flame_graph(path, Selection(project_id=4)),
        "android": flame_graph(path, Selection(project_id=5, platform="android")),
        "before": flame_graph(path, Selection(project_id=2, release="backend@2.19.0")),
        "after": flame_graph(path, Selection(project_id=2, release="backend@2.20.0")),
    }


def _speedscope_trees(document: dict) -> list[CallTree]:
    frames = [Frame(f["name"], f.get("file", "")) for f in document["shared"]["frames"]]
    read = []
    for profile in document["profiles"]:
        tree = CallTree()
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            tree.add(tuple(frames[index] for index in stack), weight)
        assert profile["endValue"] - profile["startValue"] == tree.total_ns
        read.append(tree)
    return read


def test_speedscope_files_follow_the_published_schema_and_hold_the_trees(trees, speedscope_schema):
    validator = jsonschema.Draft7Validator(speedscope_schema)
    aggregate = orjson.loads(orjson.dumps(to_speedscope(trees["aggregate"], "project 4")))
    validator.validate(aggregate)
    assert [sorted(t.stacks()) for t in _speedscope_trees(aggregate)] == [sorted(trees["aggregate"].stacks())]
    comparison = to_speedscope_comparison(compare(trees["before"], trees["after"]), "2.19.0", "2.20.0")
    comparison = orjson.loads(orjson.dumps(comparison))
    validator.validate(comparison)
    assert [p["name"] for p in comparison["profiles"]] == ["2.19.0", "2.20.0"]
    read = [sorted(t.stacks()) for t in _speedscope_trees(comparison)]
    assert read == [sorted(trees["before"].stacks()), sorted(trees["after"].stacks())]
    # The schema holds: a file missing its frames is refused, so the check above is a real one.
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**aggregate, "shared": {}})


def _pprof_top(pprof: Path, path: Path) -> dict[str, tuple[int, int]]:
    """`pprof -top` of a file: function name -> (flat, cum) nanoseconds.

    Every node, however small (no count or fraction cut-off). `-symbolize=none` shows the names as written:
    by default pprof shortens C++ names to drop their parameters, which merges overloads into one line.
    """
    command = [str(pprof), "-top", "-unit=ns", "-nodecount=1000000", "-nodefraction=0", "-symbolize=none", str(path)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()
    header = next(index for index, line in enumerate(output) if line.split()[:2] == ["flat", "flat%"])
    rows = {}
    for line in output[header + 1 :]:
        flat, _, _, cum, _, name = line.split(maxsplit=5)
        assert name not in rows, f"pprof shows {name} twice"
        rows[name] = (int(flat.removesuffix("ns")), int(cum.removesuffix("ns")))
    return rows


def _by_name(tree: CallTree) -> dict[str, tuple[int, int]]:
    """The tree's (self, total) per function name, as pprof counts: a name once per stack however often on it."""
    self_ns: Counter = Counter()
    total_ns: Counter = Counter()
    for stack, nanos in tree.stacks():
        self_ns[stack[-1].function] += nanos
        for name in {frame.function for frame in stack}:
            total_ns[name] += nanos
    return {name: (self_ns[name], total) for name, total in total_ns.items()}


@pytest.mark.parametrize("name", ["aggregate", "android"])
def test_pprof_top_shows_the_librarys_own_function_times(trees, pprof_tool, tmp_path, name):
    path = tmp_path / f"{name}.pb.gz"
    path.write_bytes(to_pprof(trees[name]))
    Profile.FromString(gzip.decompress(path.read_bytes()))  # what pprof reads: gzipped profile.proto
    top = _pprof_top(pprof_tool, path)
    assert top == _by_name(trees[name])
    # And its ranking: the first functions by flat time are the library's first by self time.
    times = trees[name].function_times()
    ranked = sorted(times.items(), key=lambda item: -item[1][0])
    assert [flat for flat, _ in list(top.values())[:5]] == [times[0] for _, times in ranked[:5]]


def test_pprof_of_a_comparison_is_the_change_per_stack(trees, pprof_tool, tmp_path):
    diff = compare(trees["before"], trees["after"])
    path = tmp_path / "diff.pb.gz"
    path.write_bytes(to_pprof_diff(diff))
    scale = trees["after"].total_ns / trees["before"].total_ns
    before, after = dict(trees["before"].stacks()), dict(trees["after"].stacks())
    expected: Counter = Counter()
    for stack in before.keys() | after.keys():
        expected[stack[-1].function] += after.get(stack, 0) - round(before.get(stack, 0) * scale)
    flat = {name: values[0] for name, values in _pprof_top(pprof_tool, path).items() if values[0]}
    assert flat == {name: change for name, change in expected.items() if change}
    assert any(change < 0 for change in flat.values()) and any(change > 0 for change in flat.values())


def test_collapsed_stacks_read_back_into_the_same_tree(trees):
    for tree in trees.values():
        text = to_collapsed(tree)
        assert all(line.rsplit(" ", 1)[1].isdigit() for line in text.splitlines())
        assert sorted(read_collapsed(text).stacks()) == sorted(tree.stacks())


def test_collapsed_stacks_keep_lines_whole_when_names_hold_separators():
    tree = CallTree()
    tree.add((Frame("main", "app"), Frame("Lcom/x;->run(I)V"), Frame("two\nlines", "m")), 5)
    (line,) = to_collapsed(tree).splitlines()
    assert line == "app`main;Lcom/x:->run(I)V;m`two lines 5"
    assert list(read_collapsed(line).stacks()) == [
        ((Frame("main", "app"), Frame("Lcom/x:->run(I)V"), Frame("two lines", "m")), 5)
    ]


def test_collapsed_comparison_is_flamegraphs_differential_form(trees):
    diff = compare(trees["before"], trees["after"])
    lines = [line.rsplit(" ", 2) for line in to_collapsed_diff(diff).splitlines()]
    before = read_collapsed("".join(f"{stack} {count}\n" for stack, count, _ in lines))
    after = read_collapsed("".join(f"{stack} {count}\n" for stack, _, count in lines if count != "0"))
    assert sorted(after.stacks()) == sorted(trees["after"].stacks())
    # Before is scaled to after's total: the same shape, the same total as after (to rounding).
    assert before.total_ns == pytest.approx(trees["after"].total_ns, abs=len(lines))
    assert {s for s, n in before.stacks() if n} == {s for s, _ in trees["before"].stacks()}
