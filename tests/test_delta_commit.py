"""Publishing's commit: the days' current files, read by delta-rs, are the ones it removes, and Delta's conflict
checks still see the days it read, so a concurrent write to one of them fails the commit instead of being lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from delta.exceptions import ConcurrentAppendException
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from profile_pipeline.spark import delta_commit
from profile_pipeline.spark.delta_commit import replace_days
from profile_pipeline.spark.staging import DayFiles, StagedFile
from profile_pipeline.spark.tables import TABLES

MONDAY, TUESDAY = date(2026, 11, 23), date(2026, 11, 24)


def _staged(tmp_path: Path, day: date, profile_ids: list[str]) -> StagedFile:
    rows = [
        {"dt": day, "run_id": "r", "organization_id": 1, "project_id": 2, "profile_id": profile_id}
        | {"occurrence": "{}", "retention_days": 90}
        for profile_id in profile_ids
    ]
    files = DayFiles(str(tmp_path / "staging" / f"{day}-{profile_ids[0]}"))
    files.write("occurrences", pa.Table.from_pylist(rows, schema=TABLES["occurrences"]))
    (staged,) = files.close().values()
    return staged


def _replace(spark, table: Path, day: date, staged: StagedFile) -> int:
    return replace_days(spark, str(table), TABLES["occurrences"], [day], [(day, staged)])


def _profile_ids(spark, table: Path) -> dict[date, list[str]]:
    rows = spark.read.format("delta").load(str(table)).select("dt", "profile_id").collect()
    found: dict[date, list[str]] = {}
    for row in rows:
        found.setdefault(row["dt"], []).append(row["profile_id"])
    return {day: sorted(ids) for day, ids in found.items()}


def _actions(table: Path, version: int, kind: str) -> list[dict]:
    lines = (table / "_delta_log" / f"{version:020d}.json").read_text().splitlines()
    return [action[kind] for action in map(json.loads, lines) if kind in action]


def test_a_replace_removes_exactly_the_days_files_of_the_version_it_read(spark, tmp_path):
    table = tmp_path / "occurrences"
    first = _replace(spark, table, MONDAY, _staged(tmp_path, MONDAY, ["a", "b"]))
    _replace(spark, table, TUESDAY, _staged(tmp_path, TUESDAY, ["c"]))
    again = _replace(spark, table, MONDAY, _staged(tmp_path, MONDAY, ["d"]))

    (added,) = _actions(table, first, "add")
    (removed,) = _actions(table, again, "remove")
    assert removed["path"] == added["path"] and removed["size"] == added["size"]
    assert removed["partitionValues"] == {"dt": str(MONDAY)} and removed["dataChange"] is True
    assert _profile_ids(spark, table) == {MONDAY: ["d"], TUESDAY: ["c"]}


def _protocol_and_metadata(table: Path) -> dict:
    """The first commit's protocol and table metadata, less what differs between any two tables (id, time)."""
    (protocol,) = _actions(table, 0, "protocol")
    (metadata,) = _actions(table, 0, "metaData")
    del metadata["id"], metadata["createdTime"]
    return {"protocol": protocol, "metaData": metadata | {"schemaString": json.loads(metadata["schemaString"])}}


def test_the_first_replace_creates_the_table_in_its_commit_as_deltas_own_writer_would(spark, tmp_path):
    table, written_by_spark = tmp_path / "occurrences", tmp_path / "written-by-spark"
    version = _replace(spark, table, MONDAY, _staged(tmp_path, MONDAY, ["a"]))
    spark.createDataFrame([], schema=from_arrow_schema(TABLES["occurrences"])).write.format("delta").partitionBy(
        "dt"
    ).save(str(written_by_spark))

    assert version == 0 and len(_actions(table, 0, "add")) == 1  # one commit: the table and its first files
    assert _protocol_and_metadata(table) == _protocol_and_metadata(written_by_spark)
    assert _profile_ids(spark, table) == {MONDAY: ["a"]}


def _writing_during_commit(monkeypatch, write: Callable[[], None]) -> None:
    """Run `write` once, as another writer would, between the replace's read of the days and its commit."""
    pending = [write]

    def concurrently(point: str) -> None:
        if point.startswith("moved:") and pending:
            pending.pop()()

    monkeypatch.setattr(delta_commit.crash_points, "reach", concurrently)


def test_a_concurrent_write_to_a_day_being_replaced_fails_the_commit_and_stays(spark, tmp_path, monkeypatch):
    table = tmp_path / "occurrences"
    _replace(spark, table, MONDAY, _staged(tmp_path, MONDAY, ["a"]))
    appended = spark.read.format("delta").load(str(table)).withColumn("profile_id", F.lit("appended"))
    # An append removes nothing: only the days the replace registered as read can tell it from a later write.
    _writing_during_commit(monkeypatch, lambda: appended.write.format("delta").mode("append").save(str(table)))

    with pytest.raises(ConcurrentAppendException, match="DELTA_CONCURRENT_APPEND"):
        _replace(spark, table, MONDAY, _staged(tmp_path, MONDAY, ["mine"]))
    assert _profile_ids(spark, table) == {MONDAY: ["a", "appended"]}


def test_a_concurrent_write_to_another_day_does_not_fail_the_commit(spark, tmp_path, monkeypatch):
    table = tmp_path / "occurrences"
    _replace(spark, table, MONDAY, _staged(tmp_path, MONDAY, ["a"]))
    _writing_during_commit(monkeypatch, lambda: _replace(spark, table, TUESDAY, _staged(tmp_path, TUESDAY, ["t"])))

    _replace(spark, table, MONDAY, _staged(tmp_path, MONDAY, ["mine"]))
    assert _profile_ids(spark, table) == {MONDAY: ["mine"], TUESDAY: ["t"]}


def test_a_table_with_deletion_vectors_is_replaced_through_deltas_own_file_listing(spark, tmp_path):
    table = tmp_path / "occurrences"
    _replace(spark, table, MONDAY, _staged(tmp_path, MONDAY, ["a", "b"]))
    spark.sql(f"ALTER TABLE delta.`{table}` SET TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
    spark.sql(f"DELETE FROM delta.`{table}` WHERE profile_id = 'a'")  # a deletion vector on Monday's file
    latest = max(int(commit.stem) for commit in (table / "_delta_log").glob("*.json"))
    assert _actions(table, latest, "add")[0].get("deletionVector") is not None

    _replace(spark, table, MONDAY, _staged(tmp_path, MONDAY, ["c"]))
    assert _profile_ids(spark, table) == {MONDAY: ["c"]}
