"""A range in one Spark job: the same tables as day-by-day runs, each day still replaceable on its own, and
`job_runs` counting exactly the rows the tables hold. Publishing commits the staged files as they are."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from ops_input import GOOD_PER_DAY, MESSAGES_PER_DAY, write_day
from pyspark.sql.pandas.types import from_arrow_schema

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig, SentryOptions, SymbolicationConfig, VroomConfig
from profile_pipeline.run.runner import FINISHED, run_days
from profile_pipeline.spark.tables import QUARANTINE, TABLES

DAYS = [date(2026, 11, 10) + timedelta(days=offset) for offset in range(3)]
# The input's days have no continuous chunks and no occurrences.
TABLES_WITH_ROWS = {"profiles", "outcomes", "quarantine", "functions"}
# Columns that differ between two correct runs: who wrote the row, and when an outcome was emitted.
VOLATILE = {"run_id", "timestamp"}


def config(root: Path, name: str) -> JobConfig:
    return JobConfig(
        input=str(root / "input"),
        warehouse=str(root / name / "warehouse"),
        symbolication=SymbolicationConfig(mode="off"),
        vroom=VroomConfig(profiles_bucket=str(root / name / "bucket")),
        options=SentryOptions(unsampled_profiles_enabled=True),
    )


def run(spark, job: JobConfig, days: list[date], run_id: str, lines: list[str] | None = None) -> list:
    return run_days(
        spark, job, ReferenceData(), days, run_id=run_id, force=True, arguments={}, report=lambda _: None,
        progress=lines.append if lines is not None else lambda _: None,
    )  # fmt: skip


def table(job: JobConfig, name: str) -> pd.DataFrame:
    frame = DeltaTable(f"{job.warehouse}/{name}").to_pandas()
    columns = sorted(set(frame.columns) - VOLATILE)
    return frame[columns].map(repr).sort_values(columns).reset_index(drop=True)


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory) -> tuple[JobConfig, JobConfig, list[str]]:
    root = tmp_path_factory.mktemp("ranges")
    for day in DAYS:
        write_day(root / "input", day)
    ranged, daily = config(root, "range"), config(root, "daily")
    lines: list[str] = []
    assert [result.status for result in run(spark, ranged, DAYS, "range", lines)] == [FINISHED] * len(DAYS)
    for day in DAYS:
        assert [result.status for result in run(spark, daily, [day], f"daily-{day}")] == [FINISHED]
    return ranged, daily, lines


def test_a_range_in_one_job_gives_the_tables_of_day_by_day_runs(runs) -> None:
    ranged, daily, lines = runs
    # One stage job and one commit per table for the whole range.
    staging = f"{DAYS[0]}..{DAYS[-1]}: reading the input, running the stages, staging the rows"
    assert [line for line in lines if "reading" in line] == [staging]
    assert sum("publishing profiles" in line for line in lines) == 1
    for name in TABLES:
        assert table(ranged, name).equals(table(daily, name)), name
    profiles = DeltaTable(f"{ranged.warehouse}/profiles").to_pandas(columns=["dt"])
    assert profiles.groupby("dt").size().to_dict() == dict.fromkeys(DAYS, GOOD_PER_DAY)


def test_job_runs_counts_equal_the_rows_of_the_tables(runs) -> None:
    ranged, _, _ = runs
    job_runs = DeltaTable(f"{ranged.warehouse}/job_runs").to_pandas()
    assert sorted(job_runs["dt"]) == DAYS and set(job_runs["status"]) == {FINISHED}
    rows = {name: DeltaTable(f"{ranged.warehouse}/{name}").to_pandas(columns=["dt"]) for name in TABLES}
    for run_row in job_runs.to_dict("records"):
        per_table = {name: int((frame["dt"] == run_row["dt"]).sum()) for name, frame in rows.items()}
        assert run_row["profiles_out"] == per_table["profiles"] == GOOD_PER_DAY
        assert run_row["quarantined"] == per_table["quarantine"]
        assert run_row["outcomes"] == per_table["outcomes"] and run_row["functions"] == per_table["functions"]
        assert run_row["messages_in"] == MESSAGES_PER_DAY
        assert per_table["functions"] > 0


def add_actions(job: JobConfig, name: str) -> list[dict]:
    return pa.table(DeltaTable(f"{job.warehouse}/{name}").get_add_actions(flatten=True)).to_pylist()


def data_files(job: JobConfig, name: str) -> dict[str, tuple[date, int]]:
    """The table's current data files: path -> (day, rows), as its Delta log lists them."""
    return {entry["path"]: (entry["partition.dt"], entry["num_records"]) for entry in add_actions(job, name)}


def test_published_files_are_the_staged_files_moved_not_rewritten(runs) -> None:
    ranged, _, _ = runs
    for name in TABLES:
        files = data_files(ranged, name)
        assert bool(files) == (name in TABLES_WITH_ROWS), name
        for path, (day, rows) in files.items():
            assert re.fullmatch(rf"dt={day}/{name}-[0-9a-f]{{32}}\.parquet", path), path
            footer = pq.read_metadata(f"{ranged.warehouse}/{name}/{path}")
            # Written by the task with pyarrow (Spark would write parquet-mr), without the partition column.
            assert footer.created_by.startswith("parquet-cpp-arrow"), path
            assert "dt" not in footer.schema.names and footer.num_rows == rows, path
        (commit,) = DeltaTable(f"{ranged.warehouse}/{name}").history(1)
        assert commit["operation"] == "WRITE" and commit["operationParameters"]["mode"] == "Overwrite"
        assert commit["operationParameters"]["predicate"] == "dt IN (" + ", ".join(f"DATE'{d}'" for d in DAYS) + ")"
    assert not list((Path(ranged.warehouse) / "_staging").iterdir())


def test_file_statistics_in_the_log_are_those_of_the_files(spark, runs) -> None:
    ranged, _, _ = runs
    for name in TABLES_WITH_ROWS:
        for entry in add_actions(ranged, name):
            rows = pq.read_table(f"{ranged.warehouse}/{name}/{entry['path']}")
            bounded = [key.removeprefix("min.") for key, value in entry.items() if key.startswith("min.") and value]
            assert "project_id" in bounded, name
            for column in bounded:
                low, high = pc.min_max(rows[column]).values()
                assert (entry[f"min.{column}"], entry[f"max.{column}"]) == (low.as_py(), high.as_py()), column
            for column in rows.column_names:
                assert entry.get(f"null_count.{column}") in (None, rows[column].null_count), column
    # Spark skips files by these statistics: what it reads with a filter is what the filter keeps.
    profiles = spark.read.format("delta").load(f"{ranged.warehouse}/profiles")
    everything = profiles.groupBy("project_id").count().collect()
    for row in everything:
        assert profiles.where(profiles.project_id == row["project_id"]).count() == row["count"]
    assert profiles.where(profiles.project_id == -1).count() == 0 and len(everything) > 1


def test_a_day_of_a_range_run_again_alone_replaces_only_that_day(spark, runs) -> None:
    ranged, _, _ = runs
    before = {name: table(ranged, name) for name in TABLES}
    files_before = {name: data_files(ranged, name) for name in TABLES}
    assert [result.status for result in run(spark, ranged, [DAYS[1]], "again")] == [FINISHED]
    for name in TABLES:
        written = DeltaTable(f"{ranged.warehouse}/{name}").to_pandas(columns=["dt", "run_id"])
        owners = written.groupby("dt")["run_id"].unique().map(sorted).to_dict()
        assert owners == {day: ["again" if day == DAYS[1] else "range"] for day in owners}, name
        assert table(ranged, name).equals(before[name]), name
        # The other days keep their very files; the day's earlier files leave the table, not the disk (time travel).
        files = data_files(ranged, name)
        kept = {path: entry for path, entry in files_before[name].items() if entry[0] != DAYS[1]}
        assert {path: entry for path, entry in files.items() if entry[0] != DAYS[1]} == kept, name
        replaced = set(files_before[name]) - set(kept)
        assert bool(replaced) == (name in TABLES_WITH_ROWS) and not replaced & set(files), name
        assert all((Path(ranged.warehouse) / name / path).exists() for path in replaced), name


def test_a_table_written_before_a_column_existed_takes_it(spark, tmp_path) -> None:
    job = config(tmp_path, "older")
    write_day(tmp_path / "input", DAYS[0])
    older = QUARANTINE.remove(QUARANTINE.get_field_index("unexpected"))
    row = dict.fromkeys(older.names) | {"dt": DAYS[1], "run_id": "older"}
    frame = spark.createDataFrame([tuple(row.values())], from_arrow_schema(older))
    frame.write.format("delta").partitionBy("dt").save(f"{job.warehouse}/quarantine")
    assert [result.status for result in run(spark, job, [DAYS[0]], "newer")] == [FINISHED]
    quarantine = DeltaTable(f"{job.warehouse}/quarantine").to_pandas(columns=["dt", "run_id", "unexpected"])
    assert quarantine[quarantine["run_id"] == "older"]["unexpected"].isna().all()
    newer = quarantine[quarantine["run_id"] == "newer"]
    assert len(newer) == MESSAGES_PER_DAY - GOOD_PER_DAY and not newer["unexpected"].any()
