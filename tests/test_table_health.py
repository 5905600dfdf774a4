"""Table health: the tables the job commits through its own transactions get Delta's checkpoints, and the
maintenance job vacuums each table as deeply as it needs."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from profile_pipeline.config import JobConfig, MaintenanceConfig
from profile_pipeline.run.maintenance import Request, Summary, maintain
from profile_pipeline.spark.delta_commit import replace_days
from profile_pipeline.spark.expiry import Erasure
from profile_pipeline.spark.staging import DayFiles
from profile_pipeline.spark.tables import TABLES

DAILY_COMMITS = 30
CHECKPOINT_INTERVAL = 10  # Delta's default `delta.checkpointInterval`
FIRST = date(2026, 10, 1)


def _occurrence(day: date) -> pa.Table:
    row = {"dt": day, "run_id": "nightly", "organization_id": 1, "project_id": 2, "profile_id": "a" * 32}
    return pa.Table.from_pylist([{**row, "occurrence": "{}", "retention_days": 90}], schema=TABLES["occurrences"])


def test_thirty_daily_commits_leave_a_checkpoint_and_a_cold_read_starts_from_it(spark, tmp_path):
    table = str(tmp_path / "occurrences")
    for offset in range(DAILY_COMMITS):
        day = FIRST + timedelta(days=offset)
        files = DayFiles(str(tmp_path / "staging" / f"dt={day}"))
        files.write("occurrences", _occurrence(day))
        (staged,) = files.close().values()
        version = replace_days(spark, table, TABLES["occurrences"], [day], [(day, staged)])

    assert version == DAILY_COMMITS - 1  # the first commit created the table
    checkpoint = version - version % CHECKPOINT_INTERVAL
    log = tmp_path / "occurrences" / "_delta_log"
    assert sorted(path.name for path in log.glob("*.checkpoint.parquet"))[-1].startswith(f"{checkpoint:020d}")
    delta_log = spark.sparkContext._jvm.org.apache.spark.sql.delta.DeltaLog
    delta_log.clearCache()
    segment = delta_log.forTable(spark._jsparkSession, table).unsafeVolatileSnapshot().logSegment()
    # A cold reader reads the newest checkpoint and the commits after it, not the thirty JSON commits.
    assert segment.checkpointProvider().version() == checkpoint and segment.deltas().size() == version - checkpoint
    assert spark.read.format("delta").load(table).count() == DAILY_COMMITS


def _orphan(table: Path, age_days: int) -> Path:
    """A data file no commit references, as a killed writer leaves one, last modified `age_days` ago."""
    orphan = table / f"dt={FIRST}" / f"part-orphan-{age_days}.parquet"
    pq.write_table(_occurrence(FIRST), orphan)
    stamp = time.time() - age_days * 86_400
    os.utime(orphan, (stamp, stamp))
    return orphan


def test_tables_are_vacuumed_full_when_due_lite_when_a_commit_left_the_window_and_else_not_at_all(spark, tmp_path):
    config = JobConfig(warehouse=str(tmp_path), maintenance=MaintenanceConfig(full_vacuum_days=7))
    files = DayFiles(str(tmp_path / "_staging" / f"dt={FIRST}"))
    files.write("occurrences", _occurrence(FIRST))
    replace_days(
        spark, str(tmp_path / "occurrences"), TABLES["occurrences"], [FIRST], [(FIRST, *files.close().values())]
    )

    def night(today: date) -> Summary:
        return maintain(spark, config, Request(today, f"night-{today}", Erasure(), vacuum_hours=168.0, dry_run=False))

    first_orphan = _orphan(tmp_path / "occurrences", age_days=10)
    first = night(FIRST + timedelta(days=1))
    assert "occurrences" in first.full_vacuums and not first_orphan.exists()  # a first run lists the directory
    second_orphan = _orphan(tmp_path / "occurrences", age_days=10)
    quiet = night(FIRST + timedelta(days=2))
    # Nothing left the window since the first run: no vacuum, and the orphan, in no commit, waits for a FULL one.
    assert "occurrences" in quiet.vacuums_skipped and "occurrences" not in quiet.bytes_vacuumed
    assert second_orphan.exists()
    due = night(FIRST + timedelta(days=8))
    assert "occurrences" in due.full_vacuums and not second_orphan.exists()
    erased = maintain(
        spark, config, Request(FIRST + timedelta(days=9), "erase", Erasure(projects=frozenset({2})), 168.0, False)
    )
    assert erased.rows_deleted == {"erasure": {"occurrences": 1}} and "occurrences" in erased.full_vacuums
