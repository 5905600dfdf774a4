"""The maintenance job on real Delta tables and a real bucket directory: retention, erasure, kills, locks.

Two days are processed once (module fixture), with project 7 kept 30 days by the reference data and
project 2 kept the messages' 90 days; every test works on its own copy of that warehouse and bucket.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from job_cli import PROJECT_ROOT, job_environment, run_from_project_root
from maintenance_lake import (
    DAYS,
    LONG,
    REFERENCE,
    SHORT,
    SHORT_EVENTS,
    blobs,
    deletion_totals,
    kept_rows,
    lake_config,
    local_rows,
    process_lake,
    request,
    rows,
)

from profile_pipeline.adapters import delta_reader
from profile_pipeline.config import LockConfig, MaintenanceConfig
from profile_pipeline.crash_points import ENVIRONMENT
from profile_pipeline.run import maintain_cli
from profile_pipeline.run.day_lock import DayLock
from profile_pipeline.run.maintenance import maintain
from profile_pipeline.run.runner import FINISHED, run_days
from profile_pipeline.spark.expiry import PROFILE_DATA, Erasure, file_summaries, lifetimes


@pytest.fixture(scope="module")
def processed(spark, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("maintenance")
    process_lake(spark, root)
    return root


@pytest.fixture
def lake(processed: Path, tmp_path: Path) -> Path:
    """A copy of the processed warehouse and bucket (Delta tables hold relative paths: a copy is a table)."""
    for name in ("input", "warehouse", "bucket"):
        shutil.copytree(processed / name, tmp_path / name)
    return tmp_path


def test_every_table_of_profile_data_carries_the_retention_of_its_profile(processed: Path):
    for table in PROFILE_DATA:
        frame = rows(processed, table)
        project = "project_id"
        kept = frame.groupby(project)["retention_days"].unique().map(sorted).to_dict()
        expected = {SHORT: [30], LONG: [90]}
        assert kept == {key: value for key, value in expected.items() if key in kept}, table
        # These days' profiles have functions and outcomes, a quarantined message; no chunk, no occurrence.
        assert frame.empty == (table in ("chunks", "occurrences")), table


def test_mixed_retentions_in_one_day_expire_each_on_its_own_date(spark, lake: Path):
    config = lake_config(lake)
    first = DAYS[0]
    everything = {table: len(rows(lake, table)) for table in PROFILE_DATA}
    all_blobs = blobs(lake)

    # On the 30th day after the first day nothing has expired yet: a dry run, which selects as a run does, says so.
    said: list[str] = []
    maintain(spark, config, replace(request(first + timedelta(days=30)), dry_run=True), said.append)
    assert said == ["dry run: nothing has expired and nothing is to be erased"]

    summary = maintain(spark, config, request(first + timedelta(days=31)))

    profiles = rows(lake, "profiles")
    kept = set(zip(profiles["dt"], profiles["project_id"], strict=True))
    assert kept == {(first, LONG), (DAYS[1], LONG), (DAYS[1], SHORT)}
    for table in ("functions", "occurrences", "quarantine"):
        frame = rows(lake, table)
        assert not ((frame["dt"] == first) & (frame["project_id"] == SHORT)).any(), table
    assert len(rows(lake, "outcomes")) == everything["outcomes"]  # kept a year: they outlive the data
    assert all_blobs - blobs(lake) == {f"1/{SHORT}/{SHORT_EVENTS[first]}"}
    deleted = summary.rows_deleted["retention"]
    assert deleted["profiles"] == 1 and deleted["quarantine"] == 1 and summary.blobs_deleted == 1
    (record,) = rows(lake, "deletions").to_dict("records")
    assert (record["reason"], record["blobs"], dict(record["rows"])) == ("retention", 1, deleted)


def test_an_erased_project_is_gone_from_every_table_blob_and_file_and_does_not_come_back(spark, lake: Path, capsys):
    config = lake_config(lake)
    argv = ["--warehouse", str(lake / "warehouse"), "--profiles-bucket", str(lake / "bucket")]
    argv += ["--today", str(DAYS[1] + timedelta(days=1)), "--delete-project", str(SHORT), "--run-id", "erase"]

    assert maintain_cli.main([*argv, "--dry-run"]) == maintain_cli.EXIT_OK
    assert "dry run: would delete 2 row(s) of profiles (erasure)" in capsys.readouterr().out
    assert not (lake / "warehouse" / "erasures").exists() and len(rows(lake, "profiles")) == 4

    assert maintain_cli.main([*argv, "--vacuum-hours", "0"]) == maintain_cli.EXIT_OK

    printed = capsys.readouterr().out
    assert "rows deleted (erasure): " in printed and "blobs deleted: 2" in printed
    for table in PROFILE_DATA:
        frame = rows(lake, table)
        assert SHORT not in set(frame["project_id"]), table
    assert set(rows(lake, "profiles")["project_id"]) == {LONG}
    assert not any(path.startswith(f"1/{SHORT}/") for path in blobs(lake)) and blobs(lake)
    assert not (lake / "bucket" / "1" / str(SHORT)).exists()  # not even the directory named for the project
    (erasure,) = rows(lake, "erasures").to_dict("records")
    assert (erasure["scope"], erasure["id"], erasure["run_id"]) == ("project", SHORT, "erase")
    assert erasure["completed_at"] is not None
    (deletion,) = rows(lake, "deletions").to_dict("records")
    assert deletion["reason"] == "erasure" and list(deletion["projects"]) == [SHORT]
    assert dict(deletion["rows"])["profiles"] == 2 and deletion["blobs"] == 2
    # Physically gone: no data file left under any table holds a row of the project or its profiles' ids.
    for table in PROFILE_DATA:
        for path in (lake / "warehouse" / table).rglob("*.parquet"):
            if "_delta_log" in path.parts:
                continue
            data = pq.read_table(path)
            assert SHORT not in set(data.column("project_id").to_pylist()), path
        for path in (lake / "warehouse" / table).rglob("*"):
            if path.is_file() and "_delta_log" not in path.parts:
                content = path.read_bytes()
                assert not any(event.encode() in content for event in SHORT_EVENTS.values()), path

    # An old day processed again drops the erased project's messages: counted, not stored, not quarantined.
    (again,) = run_days(
        spark, config, REFERENCE, [DAYS[0]], run_id="again", force=True, arguments={}, report=lambda _: None
    )
    assert again.status == FINISHED and again.counts["erased"] == 2 and again.counts["quarantine"] == 0
    for table in PROFILE_DATA:
        assert SHORT not in set(rows(lake, table)["project_id"]), table
    assert not any(path.startswith(f"1/{SHORT}/") for path in blobs(lake))


def _maintenance(root: Path, *args: str, crash_at: str | None = None):
    command = [sys.executable, str(PROJECT_ROOT / "jobs" / "maintain_tables.py")]
    command += ["--warehouse", str(root / "warehouse"), "--profiles-bucket", str(root / "bucket"), *args]
    return run_from_project_root(command, job_environment({ENVIRONMENT: crash_at} if crash_at else {}))


def _state(root: Path) -> tuple[dict[str, list], set[str]]:
    return kept_rows(local_rows(root)), blobs(root)


def test_runs_killed_anywhere_then_a_normal_run_give_the_undisturbed_result(spark, lake: Path, tmp_path_factory):
    today = DAYS[0] + timedelta(days=31)
    args = ["--today", str(today), "--delete-project", str(LONG)]
    undisturbed = tmp_path_factory.mktemp("undisturbed")
    for name in ("warehouse", "bucket"):
        shutil.copytree(lake / name, undisturbed / name)
    erasure = Erasure(projects=frozenset({LONG}))
    maintain(spark, lake_config(undisturbed), request(today, erasure))
    expected = _state(undisturbed)
    assert expected != _state(lake)

    # Killed with the blobs listed; then between the tables' deletes, with the first run's list finished and
    # its own left behind; then with its deletions recorded (the killed run's from the history, its own) and
    # its list kept; then after the vacuum, before recording the run.
    points = ("maintain:listed", "maintain:deleted:functions", "maintain:recorded", "maintain:vacuumed")
    for point in points:
        killed = _maintenance(lake, *args, crash_at=point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr[-2000:])
        if point == "maintain:deleted:functions":
            assert list((lake / "warehouse" / "_maintenance" / "blobs").iterdir())  # the next run finishes it
            assert not set(rows(lake, "profiles")["project_id"]) & {LONG}
            assert LONG in set(rows(lake, "outcomes")["project_id"])
            assert not (lake / "warehouse" / "deletions").exists()  # killed before it recorded anything

    # The normal run needs no process of its own: this one's session runs it, as the cron line's would.
    argv = ["--warehouse", str(lake / "warehouse"), "--profiles-bucket", str(lake / "bucket"), "--today", str(today)]
    assert maintain_cli.main(argv) == maintain_cli.EXIT_OK

    assert _state(lake) == expected
    assert not list((lake / "warehouse" / "_maintenance" / "blobs").iterdir())
    erasures = rows(lake, "erasures")
    assert erasures["completed_at"].notna().all() and set(erasures["id"]) == {LONG}
    # Every row deleted is recorded once: the killed run's deletes too, from its commits, under its run id.
    assert deletion_totals(local_rows(lake)) == deletion_totals(local_rows(undisturbed))
    records = rows(lake, "deletions").to_dict("records")
    (killed_between,) = [record for record in records if "functions" in dict(record["rows"])]
    erased, _ = deletion_totals(local_rows(undisturbed))["erasure"]
    before_the_kill = ("profiles", "chunks", "functions")
    assert dict(killed_between["rows"]) == {table: count for table, count in erased.items() if table in before_the_kill}


def test_a_run_killed_with_the_blobs_deleted_and_their_list_kept_is_finished_by_the_next(spark, lake: Path):
    today = DAYS[0] + timedelta(days=31)
    listed_blobs = lake / "warehouse" / "_maintenance" / "blobs"
    killed = _maintenance(lake, "--today", str(today), "--delete-project", str(LONG), crash_at="maintain:blobs-deleted")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert list(listed_blobs.iterdir())  # the list of blobs that are already gone
    assert not any(path.startswith(f"1/{LONG}/") for path in blobs(lake))

    argv = ["--warehouse", str(lake / "warehouse"), "--profiles-bucket", str(lake / "bucket"), "--today", str(today)]
    assert maintain_cli.main(argv) == maintain_cli.EXIT_OK

    assert not list(listed_blobs.iterdir())
    for table in PROFILE_DATA:
        assert LONG not in set(rows(lake, table)["project_id"]), table
    assert rows(lake, "erasures")["completed_at"].notna().all()


def test_maintenance_and_processing_of_the_same_day_never_race(spark, lake: Path, capsys):
    config = lake_config(lake)
    today = DAYS[0] + timedelta(days=31)
    argv = ["--warehouse", str(lake / "warehouse"), "--profiles-bucket", str(lake / "bucket"), "--today", str(today)]
    before = _state(lake)

    # A processing run holds the first day: maintenance, which has rows of that day to delete, is refused.
    with DayLock(config.warehouse, DAYS[0], "nightly-rerun", LockConfig()):
        status = maintain_cli.main([*argv, "--run-id", "refused"])
    assert status == maintain_cli.EXIT_REFUSED
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"maintain_tables.py: error: refused: {DAYS[0]} is held by run nightly-rerun")
    assert "\n" not in error and _state(lake) == before

    # Maintenance holds the day: the processing run of it is refused, and nothing of the day is lost.
    with DayLock(config.warehouse, DAYS[0], "maintenance", LockConfig()):
        (refused,) = run_days(
            spark, config, REFERENCE, [DAYS[0]], run_id="rerun", force=True, arguments={}, report=lambda _: None
        )
    assert refused.status == "refused" and _state(lake) == before

    assert maintain_cli.main([*argv, "--run-id", "after"]) == maintain_cli.EXIT_OK
    runs = rows(lake, "maintenance_runs")
    assert list(runs["run_id"]) == ["after"]
    assert json.loads(runs["summary"][0])["blobs_deleted"] == 1


def test_old_days_are_compacted_one_by_one_and_readers_see_the_same_rows(spark, lake: Path):
    config = replace(lake_config(lake), maintenance=MaintenanceConfig(compact_after_days=3))
    before = {table: rows(lake, table).drop(columns="run_id") for table in PROFILE_DATA}
    # The processing job's tasks left a file per input object: two per day in `profiles`.
    assert len(DeltaTable(str(lake / "warehouse" / "profiles")).file_uris()) == 4

    summary = maintain(spark, config, request(DAYS[1] + timedelta(days=4)))

    assert summary.files_before_compaction["profiles"] == 4 and summary.files_after_compaction["profiles"] == 2
    assert len(DeltaTable(str(lake / "warehouse" / "profiles")).file_uris()) == 2
    for table, frame in before.items():
        after = rows(lake, table).drop(columns="run_id")
        columns = sorted(frame.columns)
        key = ["dt", "project_id", "retention_days"]
        assert (
            after[columns]
            .sort_values(key)
            .map(repr)
            .reset_index(drop=True)
            .equals(frame[columns].sort_values(key).map(repr).reset_index(drop=True))
        ), table


def test_files_read_from_the_log_with_delta_rs_are_those_delta_describes(spark, processed: Path, tmp_path: Path):
    # A copy of each table with deletion vectors enabled (a commit of metadata only: the same files) is read through
    # Delta's own reader, which alone tells the files that carry a deletion vector.
    config = lake_config(processed)
    files = 0
    for lifetime in lifetimes(config):
        table = processed / "warehouse" / lifetime.table
        if not table.exists():
            continue
        copy = tmp_path / lifetime.table
        shutil.copytree(table, copy)
        spark.sql(f"ALTER TABLE delta.`{copy}` SET TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
        assert delta_reader.data_files(str(copy), "dt", []) is None  # so it is read through Delta's reader
        read = file_summaries(spark, str(table), lifetime, config.options.default_retention_days)
        described = file_summaries(spark, str(copy), lifetime, config.options.default_retention_days)
        assert sorted(read, key=repr) == sorted(described, key=repr), lifetime.table
        files += len(read)
    assert files > 10
