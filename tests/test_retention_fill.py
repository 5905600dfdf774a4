"""Rows written before their table carried a retention get their profile's, or the default, from maintenance.

One day is processed (project 2, whose profile has function rows, kept 30 days by the reference data), then the
retention of its `functions` and `quarantine` rows is taken away, as in tables written before the column.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from deltalake import DeltaTable
from ops_input import write_day

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig, SymbolicationConfig, VroomConfig
from profile_pipeline.run.maintenance import Request, maintain
from profile_pipeline.run.runner import FINISHED, run_days
from profile_pipeline.spark.expiry import Erasure

DAY = date(2026, 11, 3)
SHORT = 2
DEFAULT = 90


def rows(root: Path, table: str) -> pd.DataFrame:
    return DeltaTable(str(root / "warehouse" / table)).to_pandas()


def test_rows_without_a_retention_get_their_profiles_and_then_expire_with_it(spark, tmp_path: Path):
    config = JobConfig(
        input=str(tmp_path / "input"),
        warehouse=str(tmp_path / "warehouse"),
        symbolication=SymbolicationConfig(mode="off"),
        vroom=VroomConfig(profiles_bucket=str(tmp_path / "bucket")),
    )
    write_day(tmp_path / "input", DAY)
    reference = ReferenceData(projects={SHORT: {"retention_days": 30}})
    (result,) = run_days(
        spark, config, reference, [DAY], run_id="old", force=False, arguments={}, report=lambda _: None
    )
    assert result.status == FINISHED
    functions_before = rows(tmp_path, "functions")
    assert set(functions_before["project_id"]) == {SHORT} and set(functions_before["retention_days"]) == {30}
    for table in ("functions", "quarantine"):
        spark.sql(f"UPDATE delta.`{tmp_path / 'warehouse' / table}` SET retention_days = NULL").collect()
    quarantined = len(rows(tmp_path, "quarantine"))

    day_31 = Request(DAY + timedelta(days=31), "maintenance", Erasure(), vacuum_hours=168.0, dry_run=False)
    summary = maintain(spark, config, day_31)

    assert summary.retention_filled == {"functions": len(functions_before), "quarantine": quarantined}
    # The functions took their profile's 30 days (not the default 90), so they expired with it on the 31st day.
    assert rows(tmp_path, "functions").empty
    assert summary.rows_deleted["retention"]["functions"] == len(functions_before)
    # Quarantined messages have no profile row: the default, whatever their project.
    assert set(rows(tmp_path, "quarantine")["retention_days"]) == {DEFAULT}
    # Once filled, the tables' logs say so: the next run has nothing to fill and reads no rows for it.
    assert maintain(spark, config, day_31).retention_filled == {}
