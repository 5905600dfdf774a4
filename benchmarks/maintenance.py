"""Maintenance over a warehouse of 60 days x 5,000 profiles: its first run; a night on which nothing expires;
one day expires and a project is erased; compaction (file count and a full-table read before and after).

Processing 300,000 profiles through the job would take hours on a small machine, so the rows of
`profiles`, `functions`, `outcomes` and `quarantine` are generated directly with Spark (every column of
the tables' schemas; ids, days, projects and retentions set, the rest null) and written as Delta tables
with several small files per day, as the nightly job's tasks leave them. Blobs are created only for the
profiles that the second run deletes.

    .venv/bin/python benchmarks/maintenance.py [--root DIR] [--days 60] [--profiles 5000]

Prints, per scenario, the run's seconds beyond Spark's start and what it did.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from deltalake import DeltaTable
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from profile_pipeline.config import JobConfig, MaintenanceConfig, VroomConfig
from profile_pipeline.run.maintenance import Request, maintain
from profile_pipeline.spark.expiry import Erasure
from profile_pipeline.spark.session import build_session
from profile_pipeline.spark.tables import TABLES

FIRST = date(2026, 9, 1)
PROJECTS = 50
ERASED = 3
FILES_PER_DAY = 4
FUNCTIONS_PER_PROFILE = 3


def _columns(table: str, known: dict[str, Column]) -> list[Column]:
    schema = from_arrow_schema(TABLES[table])
    return [known.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name) for f in schema.fields]


def _profiles(spark: SparkSession, days: int, per_day: int):
    rows = spark.range(days * per_day).withColumn("day", (F.col("id") / per_day).cast("int"))
    dt = F.date_add(F.lit(FIRST), F.col("day"))
    known = {
        "dt": dt,
        "run_id": F.lit("generated"),
        "organization_id": F.lit(1),
        "project_id": F.col("id") % PROJECTS,
        "event_id": F.lpad(F.hex(F.col("id")), 32, "0"),
        "kind": F.lit("profile"),
        "platform": F.lit("python"),
        "release": F.concat(F.lit("backend@"), (F.col("id") % 20).cast("string")),
        # The first day is kept 30 days, the others 90.
        "retention_days": F.when(F.col("day") == 0, 30).otherwise(90),
        "payload": F.sha2(F.col("id").cast("string"), 512).cast("binary"),
    }
    return rows.select(*_columns("profiles", known))


def _derived(profiles, table: str, count: int):
    rows = profiles.withColumn("n", F.explode(F.sequence(F.lit(1), F.lit(count))))
    organization = "org_id" if table == "outcomes" else "organization_id"
    known = {
        "dt": F.col("dt"),
        "run_id": F.col("run_id"),
        organization: F.col("organization_id"),
        "project_id": F.col("project_id"),
        "profile_id": F.col("event_id"),
        "event_id": F.col("event_id"),
        "function": F.concat(F.lit("module.function_"), F.col("n").cast("string")),
        "retention_days": F.col("retention_days"),
        "quantity": F.lit(1),
    }
    return rows.select(*_columns(table, known))


def build(spark: SparkSession, root: Path, days: int, per_day: int) -> None:
    warehouse = root / "warehouse"
    profiles = _profiles(spark, days, per_day).cache()
    frames = {
        "profiles": profiles,
        "functions": _derived(profiles, "functions", FUNCTIONS_PER_PROFILE),
        "outcomes": _derived(profiles, "outcomes", 2),
        "quarantine": _derived(profiles.where(F.col("id") % 100 == 0), "quarantine", 1),
    }
    for table, frame in frames.items():
        frame.repartition(days * FILES_PER_DAY, "dt", (F.rand(7) * FILES_PER_DAY).cast("int")).write.format(
            "delta"
        ).partitionBy("dt").save(str(warehouse / table))
    doomed = profiles.where((F.col("dt") == F.lit(FIRST)) | (F.col("project_id") == ERASED))
    for row in doomed.select("organization_id", "project_id", "event_id").toLocalIterator():
        path = root / "bucket" / str(row["organization_id"]) / str(row["project_id"]) / row["event_id"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"blob")
    profiles.unpersist()


def _files(root: Path) -> int:
    """The data files the tables' current versions reference."""
    tables = [path for path in (root / "warehouse").iterdir() if (path / "_delta_log").is_dir()]
    return sum(len(DeltaTable(str(path)).file_uris()) for path in tables)


def _read_seconds(spark: SparkSession, root: Path) -> float:
    clock = time.monotonic()
    for table in ("profiles", "functions"):
        spark.read.format("delta").load(str(root / "warehouse" / table)).agg(F.sum(F.hash("*"))).collect()
    return time.monotonic() - clock


def _run(spark: SparkSession, config: JobConfig, label: str, today: date, erasure: Erasure | None = None) -> None:
    request = Request(today, f"bench-{label}", erasure or Erasure(), vacuum_hours=168.0, dry_run=False)
    clock = time.monotonic()
    summary = maintain(spark, config, request)
    print(f"{label}: {time.monotonic() - clock:.1f}s  {summary.as_record()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--profiles", type=int, default=5000)
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="maintenance-bench-"))
    shutil.rmtree(root / "warehouse", ignore_errors=True)
    clock = time.monotonic()
    spark = build_session("maintenance-benchmark", [str(root)])
    print(f"spark start: {time.monotonic() - clock:.1f}s", flush=True)
    clock = time.monotonic()
    build(spark, root, args.days, args.profiles)
    print(f"generated {args.days} days x {args.profiles} profiles in {time.monotonic() - clock:.1f}s", flush=True)
    never = MaintenanceConfig(compact_after_days=10 * args.days)
    config = JobConfig(warehouse=str(root / "warehouse"), vroom=VroomConfig(profiles_bucket=str(root / "bucket")))
    quiet = replace(config, maintenance=never)
    # A warehouse's first maintenance run vacuums every table whole (FULL); later nights read the logs alone.
    _run(spark, quiet, "first run of the warehouse", FIRST + timedelta(days=29))
    _run(spark, quiet, "nothing expires", FIRST + timedelta(days=30))
    erased = Erasure(projects=frozenset({ERASED}))
    _run(spark, quiet, "one day expires, one project erased", FIRST + timedelta(days=31), erased)
    files, read = _files(root), _read_seconds(spark, root)
    _run(spark, config, "compaction", FIRST + timedelta(days=31))
    print(f"data files referenced: {files} -> {_files(root)}")
    print(f"full read of profiles and functions: {read:.1f}s -> {_read_seconds(spark, root):.1f}s")


if __name__ == "__main__":
    main()
