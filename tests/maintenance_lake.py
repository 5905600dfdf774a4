"""The warehouse the maintenance tests work on, and how they read what maintenance left of it.

Two days of `ops_input` are processed, with project 7 kept 30 days by the reference data and project 2 kept the
messages' 90 days; the tests run maintenance over a copy, on a local disk or on the loopback S3 server.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from deltalake import DeltaTable
from ops_input import write_day

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig, SymbolicationConfig, VroomConfig
from profile_pipeline.run.maintenance import Request
from profile_pipeline.run.runner import FINISHED, run_days
from profile_pipeline.spark.expiry import PROFILE_DATA, Erasure

DAYS = [date(2026, 11, 3), date(2026, 11, 4)]
SHORT, LONG = 7, 2  # projects kept 30 and 90 days
REFERENCE = ReferenceData(projects={SHORT: {"retention_days": 30}})
# The cocoa profile of project 7 on each day (ops_input names it after the day).
SHORT_EVENTS = {day: f"{day:%Y%m%d}" + "c" * 24 for day in DAYS}
# The first day of project 7 has expired, and project 2 is erased: each reason deletes rows and blobs.
EXPIRY_DAY = DAYS[0] + timedelta(days=31)
ERASURE = Erasure(projects=frozenset({LONG}))

Rows = Callable[[str], pd.DataFrame]  # a table's rows, by the table's name


def lake_config(root: Path) -> JobConfig:
    return JobConfig(
        input=str(root / "input"),
        warehouse=str(root / "warehouse"),
        symbolication=SymbolicationConfig(mode="off"),
        vroom=VroomConfig(profiles_bucket=str(root / "bucket")),
    )


def process_lake(spark, root: Path) -> None:
    """The two days processed into `root`'s warehouse and bucket."""
    for day in DAYS:
        write_day(root / "input", day)
    results = run_days(
        spark, lake_config(root), REFERENCE, DAYS, run_id="nightly", force=False, arguments={}, report=lambda _: None
    )
    assert [result.status for result in results] == [FINISHED, FINISHED]


def local_rows(root: Path) -> Rows:
    return lambda table: DeltaTable(str(root / "warehouse" / table)).to_pandas()


def rows(root: Path, table: str) -> pd.DataFrame:
    return local_rows(root)(table)


def blobs(root: Path) -> set[str]:
    bucket = root / "bucket"
    return {str(path.relative_to(bucket)) for path in bucket.rglob("*") if path.is_file()}


def request(today: date, erasure: Erasure | None = None, run_id: str = "maintenance") -> Request:
    return Request(today, run_id, erasure or Erasure(), vacuum_hours=168.0, dry_run=False)


def kept_rows(table_rows: Rows) -> dict[str, list]:
    """Each table of profile data by what identifies its rows: day, project and retention."""
    kept = {}
    for table in PROFILE_DATA:
        frame = table_rows(table)
        kept[table] = sorted(zip(frame["dt"], frame["project_id"], frame["retention_days"], strict=True))
    return kept


def deletion_totals(table_rows: Rows) -> dict[str, tuple[dict[str, int], int]]:
    """Per reason, the rows per table and the blobs that `deletions` records, added up over its records."""
    totals: dict[str, tuple[dict[str, int], int]] = {}
    for record in table_rows("deletions").to_dict("records"):
        counts, blob_count = totals.get(record["reason"], ({}, 0))
        for table, count in dict(record["rows"]).items():
            counts[table] = counts.get(table, 0) + count
        totals[record["reason"]] = (counts, blob_count + record["blobs"])
    return totals
