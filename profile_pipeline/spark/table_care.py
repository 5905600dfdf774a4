"""Delta's own upkeep of a table: purging deleted rows from its files, vacuuming, compacting a day.

A `DELETE` only unlinks rows from the current version; their bytes stay in older files (and, with deletion
vectors, in the current ones) for time travel. `REORG TABLE … APPLY (PURGE)` rewrites the files that still
hold deleted rows, and `VACUUM` removes the files no version within the time-travel window references,
as Delta's documentation prescribes (docs/design.md, "Physically gone").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from profile_pipeline.spark.deletion_history import DeletionTag
from profile_pipeline.spark.delta_commit import PARTITION_COLUMN
from profile_pipeline.spark.expiry import FileSummary
from profile_pipeline.spark.hadoop_fs import hadoop_path

_COMMIT = re.compile(r"\d{20}\.json")  # a commit file of a Delta log


def configure_session(spark: SparkSession) -> None:
    """Settings of the session for maintenance work."""
    # The job keeps its own time-travel window (`maintenance.vacuum_hours`), which may be below Delta's default.
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    # VACUUM lists a table's directories in this many tasks (10,000 by default): a few per core suffice.
    parallelism = max(2 * spark.sparkContext.defaultParallelism, 2)
    spark.conf.set("spark.sql.sources.parallelPartitionDiscovery.parallelism", str(parallelism))
    # VACUUM would add two commits to every table per run (its start and end); `maintenance_runs` records it.
    spark.conf.set("spark.databricks.delta.vacuum.logging.enabled", "false")


def is_table(spark: SparkSession, table_uri: str) -> bool:
    return DeltaTable.isDeltaTable(spark, table_uri)


_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"


def delete_rows(spark: SparkSession, table_uri: str, predicate: str, tag: DeletionTag) -> int:
    """Delta's DELETE, its commit tagged with `tag` (the history then says whose deletion it was, and how many rows
    it deleted, should the run die before recording it); returns the number of rows it deleted."""
    spark.conf.set(_USER_METADATA, tag.as_metadata())
    try:
        result = spark.sql(f"DELETE FROM delta.`{table_uri}` WHERE {predicate}").collect()
    finally:
        spark.conf.unset(_USER_METADATA)
    return int(result[0][0]) if result else 0


def count_rows(spark: SparkSession, table_uri: str, predicate: str) -> int:
    return spark.read.format("delta").load(table_uri).where(predicate).count()


def stored_bytes(spark: SparkSession, table_uri: str) -> int:
    """Every byte under the table's directory: data files, referenced or not, and the log."""
    path, filesystem = hadoop_path(spark, table_uri)
    return int(filesystem.getContentSummary(path).getLength())


def has_commits_between(spark: SparkSession, table_uri: str, start: datetime, end: datetime) -> bool:
    """Whether a commit of the table's log was written at `start` or after and before `end` (one listing of the
    log, no Spark job): VACUUM LITE finds what to delete only in commits that have left the window since the last."""
    log, filesystem = hadoop_path(spark, f"{table_uri.rstrip('/')}/_delta_log")
    low, high = start.timestamp() * 1000, end.timestamp() * 1000
    for status in filesystem.listStatus(log):
        name = status.getPath().getName()
        if _COMMIT.fullmatch(name) and low <= status.getModificationTime() < high:
            return True
    return False


def purge_and_vacuum(
    spark: SparkSession, table_uri: str, files: list[FileSummary], retention_hours: float, full: bool
) -> tuple[int, bool]:
    """Rewrite files that hold deleted rows, then delete what no version within the window needs: with `full`, every
    file of the directory no version references; else only those the log removed (LITE: the directory is not
    listed), unless the log no longer covers the last vacuum, which makes it FULL. The bytes freed, and whether
    the vacuum was FULL."""
    before = stored_bytes(spark, table_uri)
    if any(summary.deletion_vector for summary in files):
        spark.sql(f"REORG TABLE delta.`{table_uri}` APPLY (PURGE)").collect()
    vacuum = f"VACUUM delta.`{table_uri}` RETAIN {float(retention_hours)} HOURS"
    if not full:
        try:
            spark.sql(f"{vacuum} LITE").collect()
        except Exception as error:  # Delta's DELTA_CANNOT_VACUUM_LITE: older commits are gone from the log
            if "DELTA_CANNOT_VACUUM_LITE" not in str(error):
                raise
            full = True
    if full:
        spark.sql(f"{vacuum} FULL").collect()
    return max(before - stored_bytes(spark, table_uri), 0), full


@dataclass(frozen=True)
class Compaction:
    day: date
    files_before: int
    files_after: int


def days_to_compact(files: list[FileSummary], before: date, target_bytes: int) -> list[date]:
    """Days older than `before` with at least two files under the target size: what compaction would merge."""
    small: dict[date, int] = {}
    for summary in files:
        if summary.day < before and summary.size < target_bytes:
            small[summary.day] = small.get(summary.day, 0) + 1
    return sorted(day for day, count in small.items() if count > 1)


def compact_day(spark: SparkSession, table_uri: str, day: date, files_before: int, target_bytes: int) -> Compaction:
    """Delta's OPTIMIZE of one day's partition to files of about `target_bytes`; readers see the same rows."""
    spark.conf.set("spark.databricks.delta.optimize.maxFileSize", str(target_bytes))
    where = f"{PARTITION_COLUMN} = DATE'{day.isoformat()}'"
    metrics = DeltaTable.forPath(spark, table_uri).optimize().where(where).executeCompaction().collect()[0]["metrics"]
    return Compaction(day, files_before, files_before - metrics["numFilesRemoved"] + metrics["numFilesAdded"])
