"""jobs/export_profiles.py: each format of a selection, a profile and a comparison; errors as one line with
the processing job's exit statuses."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import orjson
import pytest
from explore_warehouse import DAYS, PROJECT_ROOT

from profile_pipeline.explore import Selection, compare, flame_graph
from profile_pipeline.explore.cli import main
from profile_pipeline.explore.exports.collapsed import read_collapsed, to_collapsed_diff
from profile_pipeline.explore.exports.pprof import to_pprof
from profile_pipeline.explore.exports.speedscope import to_speedscope

SCRIPT = PROJECT_ROOT / "jobs" / "export_profiles.py"
DAY = DAYS[0].isoformat()


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=120)


def test_each_format_of_a_selection_is_the_librarys_export(explore_warehouse, tmp_path, capsys):
    selection = Selection(project_id=4, start=DAYS[0], end=DAYS[0], platform="cocoa")
    tree = flame_graph(explore_warehouse.path, selection)
    flags = ["--warehouse", explore_warehouse.path, "--project", "4", "--start", DAY, "--end", DAY]
    flags += ["--platform", "cocoa"]
    for fmt in ("speedscope", "pprof", "collapsed"):
        output = tmp_path / f"out.{fmt}"
        assert main([*flags, "--format", fmt, "--output", str(output)]) == 0
        assert f"{tree.profiles} profiles" in capsys.readouterr().out
        if fmt == "speedscope":
            assert orjson.loads(output.read_bytes()) == to_speedscope(tree, selection.describe())
        elif fmt == "pprof":
            assert output.read_bytes() == to_pprof(tree)
        else:
            assert sorted(read_collapsed(output.read_text()).stacks()) == sorted(tree.stacks())


def test_one_profile_by_id(explore_warehouse, tmp_path):
    from deltalake import DeltaTable

    ids = DeltaTable(f"{explore_warehouse.path}/profiles").to_pyarrow_table(columns=["event_id"]).column(0)
    # The real fixture message is in every generated day: take an id that is there once.
    event_id = next(i for i, n in Counter(ids.to_pylist()).items() if n == 1)
    output = tmp_path / "one.txt"
    argv = ["--warehouse", explore_warehouse.path, "--profile-id", event_id, "--format", "collapsed"]
    assert main([*argv, "--output", str(output)]) == 0
    tree = flame_graph(explore_warehouse.path, Selection(profile_id=event_id))
    assert tree.profiles == 1 and sorted(read_collapsed(output.read_text()).stacks()) == sorted(tree.stacks())


def test_comparison_of_two_releases_and_of_two_day_ranges(explore_warehouse, tmp_path):
    base = ["--warehouse", explore_warehouse.path, "--project", "2", "--format", "collapsed"]
    output = tmp_path / "releases.txt"
    argv = [*base, "--release", "backend@2.19.0", "--compare-release", "backend@2.20.0", "--output", str(output)]
    assert main(argv) == 0
    before = flame_graph(explore_warehouse.path, Selection(project_id=2, release="backend@2.19.0"))
    after = flame_graph(explore_warehouse.path, Selection(project_id=2, release="backend@2.20.0"))
    assert output.read_text() == to_collapsed_diff(compare(before, after))

    days = ["--start", DAY, "--end", DAY, "--compare-start", DAYS[1].isoformat(), "--compare-end", DAYS[1].isoformat()]
    output = tmp_path / "days.pb.gz"
    assert main([*base[:-1], "pprof", *days, "--output", str(output)]) == 0
    assert output.read_bytes()[:2] == b"\x1f\x8b"  # gzip, as pprof wants it


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--start", DAY], "--start and --end go together"),
        (["--start", "2026-11-25", "--end", "2026-11-24"], "the first day is after the last"),
        (["--start", "yesterday", "--end", DAY], "is not a date"),
        (["--profile-id", "abc", "--compare-release", "x"], "a comparison needs two selections"),
        (["--compare-release", "x", "--compare-start", DAY, "--compare-end", DAY], "not both"),
        (["--format", "pdf"], "invalid choice: 'pdf'"),
    ],
)
def test_wrong_arguments_exit_2_with_one_line(tmp_path, capsys, extra, message):
    argv = ["--warehouse", str(tmp_path), "--format", "collapsed", "--output", str(tmp_path / "x"), *extra]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_as_a_command_nothing_selected_is_exit_1_and_no_warehouse_exit_2(explore_warehouse, tmp_path):
    output = tmp_path / "out"
    nothing = _run(
        "--warehouse", explore_warehouse.path, "--project", "99", "--format", "pprof", "--output", str(output)
    )
    assert nothing.returncode == 1 and not output.exists()
    assert nothing.stderr == "export_profiles.py: error: no sampled profile matches project 99\n"
    missing = _run("--warehouse", str(tmp_path / "none"), "--format", "pprof", "--output", str(output))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no profile tables at" in missing.stderr
    written = _run(
        "--warehouse", explore_warehouse.path, "--platform", "rust", "--format", "speedscope", "--output", str(output)
    )
    assert written.returncode == 0 and written.stderr == "" and output.exists()


def test_environment_and_thread_narrow_the_selection_as_the_library_does(explore_warehouse, tmp_path):
    from deltalake import DeltaTable

    from profile_pipeline.explore.selection import decode_payload

    rows = DeltaTable(f"{explore_warehouse.path}/profiles").to_pyarrow_table(
        columns=["event_id", "format", "platform", "sampled", "environment", "payload"]
    )
    python = next(
        row
        for row in rows.to_pylist()
        if (row["platform"], row["format"], row["sampled"], row["environment"])
        == ("python", "sample_v1", True, "production")
    )
    profile = decode_payload(python["payload"])
    active = str(profile["transaction"]["active_thread_id"])
    other = next(thread for thread in profile["profile"]["thread_metadata"] if thread != active)
    output = tmp_path / "thread.txt"
    argv = ["--warehouse", explore_warehouse.path, "--profile-id", python["event_id"], "--environment", "production"]
    assert main([*argv, "--thread", other, "--format", "collapsed", "--output", str(output)]) == 0
    chosen = flame_graph(explore_warehouse.path, Selection(profile_id=python["event_id"], thread=other))
    default = flame_graph(explore_warehouse.path, Selection(profile_id=python["event_id"]))
    assert sorted(read_collapsed(output.read_text()).stacks()) == sorted(chosen.stacks()) != sorted(default.stacks())
    assert main([*argv[:-1], "staging", "--format", "collapsed", "--output", str(output)]) == 1
