"""Replacing days of a Delta table with staged Parquet files, without rewriting them.

The tasks write each table's rows as Delta data files already (`profile_pipeline/spark/staging.py`). Publishing moves
them into the table's `dt=` directories and commits them in one transaction per table that removes the
days' current files and adds the staged ones: what `replaceWhere` commits, without reading and writing
every row again. The transaction is Delta's own (`DeltaLog.startTransaction`, the one its writers use,
with its conflict checks and checkpoints), reached over py4j; the files enter it as `add` actions in the
Delta protocol's JSON.

A run that dies after moving a table's files and before its commit leaves them unreferenced in the day's
directory: no reader sees them, and `VACUUM` deletes them as it deletes any aborted writer's files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

from profile_pipeline import crash_points
from profile_pipeline.spark.hadoop_fs import hadoop_path
from profile_pipeline.spark.staging import StagedFile

PARTITION_COLUMN = "dt"


def replace_days(
    spark: SparkSession, table_uri: str, schema: pa.Schema, days: list[date], files: list[tuple[date, StagedFile]]
) -> int:
    """Make `files` (each with its day) the whole of the days' partitions of the table, in one commit; the table
    is created, or given the columns it lacks, first. Returns the committed version."""
    jvm = spark.sparkContext._jvm
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, table_uri)
    transaction = delta_log.startTransaction()
    if transaction.readVersion() < 0 or set(schema.names) - set(transaction.metadata().schema().fieldNames()):
        _create_or_evolve(spark, table_uri, schema)
        transaction = delta_log.startTransaction()
    literals = ", ".join(f"DATE'{day.isoformat()}'" for day in days)
    predicate = f"{PARTITION_COLUMN} IN ({literals})"
    current = transaction.filterFiles(_scala_seq(spark, [_parse_expression(spark, predicate)]), False).iterator()
    actions = []
    while current.hasNext():
        actions.append(current.next().remove())
    action_parser = _scala_object(jvm.org.apache.spark.sql.delta.actions, "Action$")
    table_root, filesystem = hadoop_path(spark, table_uri)
    for day in {day for day, _ in files}:
        filesystem.mkdirs(jvm.org.apache.hadoop.fs.Path(table_root, _partition_directory(day)))
    for day, staged in files:
        add = _move_into_table(jvm, filesystem, table_root, day, staged)
        actions.append(action_parser.fromJson(json.dumps(add)))
    crash_points.reach(f"moved:{table_uri.rstrip('/').rsplit('/', 1)[-1]}")
    return transaction.commit(_scala_seq(spark, actions), _overwrite_operation(spark, predicate))


def _create_or_evolve(spark: SparkSession, table_uri: str, schema: pa.Schema) -> None:
    """Create the table with its columns and no rows, or add the columns it lacks (e.g. `quarantine.unexpected`
    to a table written before that column existed)."""
    empty = spark.createDataFrame([], from_arrow_schema(schema))
    empty.write.format("delta").mode("append").option("mergeSchema", "true").partitionBy(PARTITION_COLUMN).save(
        table_uri
    )


def _partition_directory(day: date) -> str:
    return f"{PARTITION_COLUMN}={day.isoformat()}"


def _move_into_table(jvm: Any, filesystem: Any, table_root: Any, day: date, staged: StagedFile) -> dict[str, Any]:
    """Move the staged file into the day's directory of the table (made beforehand); its `add` action."""
    relative = f"{_partition_directory(day)}/{staged.uri.rsplit('/', 1)[-1]}"
    if not filesystem.rename(
        jvm.org.apache.hadoop.fs.Path(staged.uri), jvm.org.apache.hadoop.fs.Path(table_root, relative)
    ):
        raise OSError(f"could not move {staged.uri} into {table_root}")
    return {
        "add": {
            "path": relative,
            "partitionValues": {PARTITION_COLUMN: day.isoformat()},
            "size": staged.size,
            "modificationTime": staged.modified_ms,
            "dataChange": True,
            "stats": staged.stats,
        }
    }


def _overwrite_operation(spark: SparkSession, predicate: str) -> Any:
    """The operation the table's history shows: a WRITE in Overwrite mode with the days' predicate, as
    `replaceWhere` records it (the remaining parameters at their defaults)."""
    jvm = spark.sparkContext._jvm
    operations = jvm.org.apache.spark.sql.delta.DeltaOperations
    write = _scala_object(operations, "Write$")
    defaults = [getattr(write, f"$lessinit$greater$default${index}")() for index in range(4, 10)]
    partition_by = jvm.scala.Some(_scala_seq(spark, [PARTITION_COLUMN]))
    overwrite = jvm.org.apache.spark.sql.SaveMode.Overwrite
    return operations.Write(overwrite, partition_by, jvm.scala.Some(predicate), *defaults)


def _parse_expression(spark: SparkSession, text: str) -> Any:
    return spark._jsparkSession.sessionState().sqlParser().parseExpression(text)


def _scala_seq(spark: SparkSession, items: Iterable[Any]) -> Any:
    jvm = spark.sparkContext._jvm
    java_list = jvm.java.util.ArrayList()
    for item in items:
        java_list.add(item)
    return jvm.scala.jdk.javaapi.CollectionConverters.asScala(java_list).toSeq()


def _scala_object(package: Any, name: str) -> Any:
    """A Scala `object` (its class is `name`, ending in `$`) through py4j."""
    return getattr(package, name).__getattr__("MODULE$")
