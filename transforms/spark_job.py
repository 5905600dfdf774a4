"""Spark plumbing of one day: read the input objects, run the partitions, publish the Delta tables.

A day is processed in two steps. *Stage*: every partition runs the stages once (side effects such as
vroom pushes and blobs happen here, exactly once per task attempt) and its rows are written to a
Parquet staging directory. *Publish*: each table's rows are read back from staging and replace the
day's partition of its Delta table (`replaceWhere dt = D`), one atomic commit per table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import partial
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from transforms import crash_points, storage
from transforms.config import JobConfig
from transforms.context import StageContext
from transforms.partition import staged_batches
from transforms.reference import ReferenceData
from transforms.tables import STAGED, TABLES

STAGED_SPARK_SCHEMA = from_arrow_schema(STAGED)


def input_day_uri(input_uri: str, day: date) -> str:
    return f"{input_uri.rstrip('/')}/dt={day.isoformat()}"


def table_uri(warehouse: str, table: str) -> str:
    return f"{warehouse.rstrip('/')}/{table}"


def _hadoop_path(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def path_exists(spark: SparkSession, uri: str) -> bool:
    path, filesystem = _hadoop_path(spark, uri)
    return bool(filesystem.exists(path))


def delete_path(spark: SparkSession, uri: str) -> None:
    path, filesystem = _hadoop_path(spark, uri)
    filesystem.delete(path, True)


def delete_stale_staging(spark: SparkSession, warehouse: str, day: date) -> list[str]:
    """Delete the day's staging directories that dead runs left behind; returns their URIs.

    Called while holding the day's lock, so no live run is staging the day.
    """
    pattern, filesystem = _hadoop_path(spark, f"{warehouse.rstrip('/')}/_staging/run_id=*/dt={day.isoformat()}")
    found = filesystem.globStatus(pattern) or []
    deleted = [str(status.getPath()) for status in found]
    for status in found:
        filesystem.delete(status.getPath(), True)
    return deleted


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
    root, filesystem = _hadoop_path(spark, day_uri)
    files = filesystem.listFiles(root, True)
    empty = []
    while files.hasNext():
        status = files.next()
        path = status.getPath()
        hidden = any(part.startswith(("_", ".")) for part in path.toUri().getPath().split("/")[-1:])
        if status.getLen() == 0 and not hidden:
            empty.append(str(filesystem.makeQualified(path)))
    return empty


def _process_arrow_partition(
    batches: Iterator[pa.RecordBatch], config: JobConfig, reference: ReferenceData, run_id: str, day: date
) -> Iterator[pa.RecordBatch]:
    storage.configure(config.storage)
    ctx = StageContext(config=config, reference=reference, run_id=run_id, day=day)

    def objects() -> Iterator[tuple[str, int, bytes | None]]:
        for batch in batches:
            columns = batch.to_pydict()
            for path, length in zip(columns["path"], columns["length"], strict=True):
                yield path, length, read_content(path, length, config.limits.max_object_bytes)

    yield from staged_batches(objects(), ctx)


def stage_day(
    spark: SparkSession,
    config: JobConfig,
    reference: ReferenceData,
    *,
    day: date,
    run_id: str,
    staging_uri: str,
) -> None:
    objects = list_objects(spark, input_day_uri(config.input, day))
    process = partial(_process_arrow_partition, config=config, reference=reference, run_id=run_id, day=day)
    staged = objects.mapInArrow(process, STAGED_SPARK_SCHEMA)
    staged.write.mode("overwrite").parquet(staging_uri)


def publish_day(
    spark: SparkSession, warehouse: str, staging_uri: str, day: date, on_table: Callable[[str], None] | None = None
) -> None:
    """Replace the day's partition of every table with the staged rows (`on_table` hears of each table).

    The tables are written concurrently, each its own Spark job and Delta commit: most of a small
    table's write is the fixed cost of a commit, which then overlaps with the large tables' work.
    """
    staged = spark.read.parquet(staging_uri)

    def publish(table: str, schema: pa.Schema) -> None:
        rows = staged.where(F.col(table).isNotNull()).select(*(F.col(f"{table}.{name}") for name in schema.names))
        (
            rows.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", f"dt = DATE'{day.isoformat()}'")
            # A table written before a column was added (e.g. `quarantine.unexpected`) takes the new column.
            .option("mergeSchema", "true")
            .partitionBy("dt")
            .save(table_uri(warehouse, table))
        )
        crash_points.reach(f"published:{table}")

    with ThreadPoolExecutor(max_workers=len(TABLES)) as pool:
        writes = []
        for table, schema in TABLES.items():
            if on_table is not None:
                on_table(table)  # from this thread, so that progress lines never interleave
            writes.append(pool.submit(publish, table, schema))
        for written in writes:
            written.result()


def most_common_unexpected(spark: SparkSession, staging_uri: str) -> str | None:
    """The most frequent unexpected failure of the staged day, as `error_kind: error_message (n times)`."""
    staged = spark.read.parquet(staging_uri)
    row = (
        staged.where(F.col("quarantine.unexpected"))
        .groupBy("quarantine.error_kind", "quarantine.error_message")
        .count()
        .orderBy(F.desc("count"), "error_kind", "error_message")
        .first()
    )
    return None if row is None else f"{row['error_kind']}: {row['error_message']} ({row['count']} times)"


def staged_counts(spark: SparkSession, staging_uri: str) -> dict[str, Any]:
    """The day's counts, aggregated on the executors: rows per table and outcomes by kind.

    The three aggregations are independent Spark jobs, run concurrently.
    """
    staged = spark.read.parquet(staging_uri)

    def totals() -> dict[str, Any]:
        row = staged.select(
            *(F.count(F.col(name)).alias(name) for name in (*TABLES, "dropped")),
            F.coalesce(F.sum("profiles.frames_total"), F.lit(0)).alias("frames_total"),
            F.coalesce(F.sum("profiles.frames_symbolicated"), F.lit(0)).alias("frames_symbolicated"),
            F.count(F.when(F.col("quarantine.unexpected"), 1)).alias("unexpected_failures"),
        ).first()
        return row.asDict()

    def outcomes_by_reason() -> list[dict[str, Any]]:
        rows = (
            staged.where(F.col("outcomes").isNotNull())
            .groupBy("outcomes.outcome_name", "outcomes.category_name", "outcomes.reason")
            .agg(F.count(F.lit(1)).alias("rows"), F.sum("outcomes.quantity").alias("quantity"))
            .orderBy("outcome_name", "category_name", "reason")
            .collect()
        )
        return [row.asDict() for row in rows]

    def quarantine_by_kind() -> dict[str, int]:
        rows = (
            staged.where(F.col("quarantine").isNotNull())
            .groupBy("quarantine.error_kind")
            .agg(F.count(F.lit(1)).alias("rows"))
            .orderBy("error_kind")
            .collect()
        )
        return {row["error_kind"]: row["rows"] for row in rows}

    with ThreadPoolExecutor(max_workers=3) as pool:
        counted = pool.submit(totals)
        by_reason = pool.submit(outcomes_by_reason)
        by_kind = pool.submit(quarantine_by_kind)
        counts = counted.result()
        counts["outcomes_by_reason"] = by_reason.result()
        counts["quarantine_by_kind"] = by_kind.result()
    return counts
