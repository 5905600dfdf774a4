"""Spark plumbing of a run: read the input objects, run the partitions, publish the Delta tables.

Days are processed in two steps. *Stage*: every partition runs the stages once (side effects such as
vroom pushes and blobs happen here, exactly once per task attempt); each task writes its rows as one
Parquet file per table and day, a Delta data file as it is (`profile_pipeline/spark/staging.py`), and returns only the
files' names, sizes and statistics and the day's counts. A range's days are staged in one Spark job.
*Publish*: each table's staged files are moved into its Delta table and replace the days' partitions in one
atomic commit per table (`profile_pipeline/spark/delta_commit.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import partial, reduce
from itertools import groupby

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from profile_pipeline import crash_points
from profile_pipeline.adapters import storage
from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig
from profile_pipeline.spark.delta_commit import replace_days
from profile_pipeline.spark.hadoop_fs import hadoop_path
from profile_pipeline.spark.partition import staged_batches
from profile_pipeline.spark.staging import DayCounts, DayFiles, StagedFile, data_schema, stage_batch, staging_day_uri
from profile_pipeline.spark.tables import TABLES
from profile_pipeline.stages.context import StageContext


def input_day_uri(input_uri: str, day: date) -> str:
    return f"{input_uri.rstrip('/')}/dt={day.isoformat()}"


def table_uri(warehouse: str, table: str) -> str:
    return f"{warehouse.rstrip('/')}/{table}"


def path_exists(spark: SparkSession, uri: str) -> bool:
    path, filesystem = hadoop_path(spark, uri)
    return bool(filesystem.exists(path))


def input_bytes(spark: SparkSession, uri: str) -> int:
    """The bytes of every object under `uri` (0 when it does not exist)."""
    path, filesystem = hadoop_path(spark, uri)
    return int(filesystem.getContentSummary(path).getLength()) if filesystem.exists(path) else 0


def delete_stale_staging(spark: SparkSession, warehouse: str, day: date) -> list[str]:
    """Delete the day's staging directories that dead runs left behind; returns their URIs.

    Called while holding the day's lock, so no live run is staging the day.
    """
    pattern, filesystem = hadoop_path(spark, f"{warehouse.rstrip('/')}/_staging/run_id=*/dt={day.isoformat()}")
    found = filesystem.globStatus(pattern) or []
    for status in found:
        delete_staging(spark, str(status.getPath()))
    return [str(status.getPath()) for status in found]


def delete_staging(spark: SparkSession, staging_uri: str) -> None:
    """Delete a run's staging directory of a day, and the run's directory when no other day is left in it."""
    path, filesystem = hadoop_path(spark, staging_uri)
    filesystem.delete(path, True)
    run_directory = path.getParent()
    if filesystem.exists(run_directory) and not filesystem.listStatus(run_directory):
        filesystem.delete(run_directory, False)


def list_objects(spark: SparkSession, day_uri: str) -> DataFrame:
    """(path, length) of every input object of the day, packed into partitions by size.

    Only the binaryFile source's `path` and `length` are selected, so the JVM reads no object: each
    Python worker reads the objects of its partition itself, one at a time, when it comes to them
    (`read_content`). A task's memory then holds one object, whatever the size of the others.
    """
    files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(day_uri)
    # Spark's file sources skip empty files; they are bad input all the same and must not vanish.
    empty = spark.createDataFrame([(path, 0) for path in empty_objects(spark, day_uri)], "path string, length long")
    return files.select("path", "length").unionByName(empty)


def read_content(path: str, length: int, max_object_bytes: int) -> bytes | None:
    """An input object's bytes; None for an object over the limit, which is quarantined unread."""
    if length > max_object_bytes:
        return None
    if length == 0:
        return b""
    return storage.read_bytes(path)


def empty_objects(spark: SparkSession, day_uri: str) -> list[str]:
    """Paths of the zero-byte objects under `day_uri` (only metadata is listed, on the driver)."""
    root, filesystem = hadoop_path(spark, day_uri)
    files = filesystem.listFiles(root, True)
    empty = []
    while files.hasNext():
        status = files.next()
        path = status.getPath()
        hidden = any(part.startswith(("_", ".")) for part in path.toUri().getPath().split("/")[-1:])
        if status.getLen() == 0 and not hidden:
            empty.append(str(filesystem.makeQualified(path)))
    return empty


@dataclass
class StagedDay:
    """A staged day: each table's staged files and the day's counts, as the tasks returned them."""

    day: date
    files: dict[str, list[StagedFile]] = field(default_factory=dict)
    counts: DayCounts = field(default_factory=DayCounts)


def _stage_partition(
    batches: Iterator[pa.RecordBatch], config: JobConfig, reference: ReferenceData, run_id: str, staging_uri: str
) -> Iterator[pa.RecordBatch]:
    """A partition's objects, of one or more days, in; per day its staged files and counts out (one row)."""
    storage.configure(config.storage)
    limit = config.limits.max_object_bytes
    listed = [row for batch in batches for row in batch.to_pylist()]  # paths and lengths only
    listed.sort(key=lambda row: row["dt"])
    for day, rows in groupby(listed, key=lambda row: row["dt"]):
        ctx = StageContext(config=config, reference=reference, run_id=run_id, day=day)
        objects = ((row["path"], row["length"], read_content(row["path"], row["length"], limit)) for row in rows)
        files, counts = DayFiles(staging_day_uri(staging_uri, day)), DayCounts()
        for batch in staged_batches(objects, ctx):
            stage_batch(batch, files, counts)
        written = files.close()
        files_json = json.dumps({table: staged.to_json() for table, staged in written.items()})
        yield pa.RecordBatch.from_pylist(
            [{"dt": day, "files": files_json, "counts": counts.to_json()}], schema=STAGED_MANIFEST
        )


STAGED_MANIFEST = pa.schema([("dt", pa.date32()), ("files", pa.string()), ("counts", pa.string())])


def stage_days(
    spark: SparkSession, config: JobConfig, reference: ReferenceData, days: list[date], *, run_id: str, staging_uri: str
) -> dict[date, StagedDay]:
    """Run the stages over the days' objects in one Spark job; the rows go to staged files, one per table and
    task, under `<staging_uri>/dt=D/`. Returns what each day's tasks wrote and counted."""
    objects = reduce(
        DataFrame.unionByName,
        (list_objects(spark, input_day_uri(config.input, day)).withColumn("dt", F.lit(day)) for day in days),
    )
    process = partial(_stage_partition, config=config, reference=reference, run_id=run_id, staging_uri=staging_uri)
    staged = {day: StagedDay(day) for day in days}
    for row in objects.mapInArrow(process, from_arrow_schema(STAGED_MANIFEST)).collect():
        day = staged[row["dt"]]
        for table, staged_file in json.loads(row["files"]).items():
            day.files.setdefault(table, []).append(StagedFile.from_json(staged_file))
        day.counts.merge(DayCounts.from_json(row["counts"]))
    return staged


def publish_days(
    spark: SparkSession, warehouse: str, staged: list[StagedDay], on_table: Callable[[str], None] | None = None
) -> None:
    """Replace the days' partitions of every table with their staged files (`on_table` hears of each table).

    One Delta commit per table for all the days: each day is replaced whole in it, and can be replaced again on
    its own later. The staged files are moved into the tables, not rewritten (`profile_pipeline/spark/delta_commit.py`).
    The tables are committed concurrently: a commit's time is mostly Delta reading the table's state, which
    then overlaps between tables.
    """
    days = [day.day for day in staged]

    def publish(table: str) -> None:
        files = [(day.day, staged_file) for day in staged for staged_file in day.files.get(table, [])]
        replace_days(spark, table_uri(warehouse, table), TABLES[table], days, files)
        crash_points.reach(f"published:{table}")

    with ThreadPoolExecutor(max_workers=len(TABLES)) as pool:
        commits = []
        for table in TABLES:
            if on_table is not None:
                on_table(table)  # from this thread, so that progress lines never interleave
            commits.append(pool.submit(publish, table))
        for committed in commits:
            committed.result()


def most_common_unexpected(spark: SparkSession, staged: StagedDay) -> str | None:
    """The most frequent unexpected failure of the staged day, as `error_kind: error_message (n times)`."""
    files = [staged_file.uri for staged_file in staged.files.get("quarantine", [])]
    if not files:
        return None
    quarantine = spark.read.schema(from_arrow_schema(data_schema("quarantine"))).parquet(*files)
    row = (
        quarantine.where(F.col("unexpected"))
        .groupBy("error_kind", "error_message")
        .count()
        .orderBy(F.desc("count"), "error_kind", "error_message")
        .first()
    )
    return None if row is None else f"{row['error_kind']}: {row['error_message']} ({row['count']} times)"
