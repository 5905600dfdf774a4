"""Table health: the tables the job commits through its own transactions get Delta's checkpoints."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa

from profile_pipeline.spark.delta_commit import replace_days
from profile_pipeline.spark.staging import DayFiles
from profile_pipeline.spark.tables import TABLES

DAILY_COMMITS = 30


def _occurrence(day: date) -> pa.Table:
    row = {"dt": day, "run_id": "nightly", "organization_id": 1, "project_id": 2, "profile_id": "a" * 32}
    return pa.Table.from_pylist([{**row, "occurrence": "{}", "retention_days": 90}], schema=TABLES["occurrences"])


def test_thirty_daily_commits_leave_a_checkpoint_and_a_cold_read_starts_from_it(spark, tmp_path):
    table = str(tmp_path / "occurrences")
    first = date(2026, 10, 1)
    for offset in range(DAILY_COMMITS):
        day = first + timedelta(days=offset)
        files = DayFiles(str(tmp_path / "staging" / f"dt={day}"))
        files.write("occurrences", _occurrence(day))
        (staged,) = files.close().values()
        version = replace_days(spark, table, TABLES["occurrences"], [day], [(day, staged)])

    log = tmp_path / "occurrences" / "_delta_log"
    assert sorted(path.name for path in log.glob("*.checkpoint.parquet"))[-1].startswith(f"{version:020d}")
    delta_log = spark.sparkContext._jvm.org.apache.spark.sql.delta.DeltaLog
    delta_log.clearCache()
    segment = delta_log.forTable(spark._jsparkSession, table).unsafeVolatileSnapshot().logSegment()
    # A cold reader reads the checkpoint and the commits after it, not the thirty JSON commits.
    assert segment.checkpointProvider().version() == version and segment.deltas().size() == 0
    assert spark.read.format("delta").load(table).count() == DAILY_COMMITS
