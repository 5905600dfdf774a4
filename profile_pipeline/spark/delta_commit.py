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
import time
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from profile_pipeline import crash_points
from profile_pipeline.adapters import delta_reader
from profile_pipeline.spark.hadoop_fs import hadoop_path
from profile_pipeline.spark.staging import StagedFile, write_data_file

PARTITION_COLUMN = "dt"


def replace_days(
    spark: SparkSession, table_uri: str, schema: pa.Schema, days: list[date], files: list[tuple[date, StagedFile]]
) -> int:
    """Make `files` (each with its day) the whole of the days' partitions of the table, in one commit; the table
    is created by the commit, or given the columns it lacks first. Returns the committed version."""
    transaction = _transaction(spark, table_uri, schema)
    literals = ", ".join(f"DATE'{day.isoformat()}'" for day in days)
    predicate = f"{PARTITION_COLUMN} IN ({literals})"
    actions = [current.remove() for current in _current_files(spark, transaction, table_uri, days, predicate)]
    table_root, filesystem = hadoop_path(spark, table_uri)
    # Looked up once: py4j resolves a dotted JVM name one round trip per part, which per file was most of
    # publishing a day of hundreds of tasks.
    path_class = spark.sparkContext._jvm.org.apache.hadoop.fs.Path
    for day in {day for day, _ in files}:
        filesystem.mkdirs(path_class(table_root, _partition_directory(day)))
    adds = [_move_into_table(path_class, filesystem, table_root, day, staged) for day, staged in files]
    actions.extend(_actions(spark, adds))
    crash_points.reach(f"moved:{table_uri.rstrip('/').rsplit('/', 1)[-1]}")
    return transaction.commit(_scala_seq(spark, actions), _write_operation(spark, "Overwrite", predicate))


def append_rows(spark: SparkSession, table_uri: str, rows: pa.Table) -> int:
    """Append `rows` to the table in one commit, a Parquet file per day written straight into the day's
    directory (a file whose commit never comes is unreferenced, as a staged one is); the table is created by
    the commit, or given the columns it lacks first. Returns the committed version.

    For the job's small record tables: a Spark write of a few literal rows costs a fresh JVM seconds more."""
    transaction = _transaction(spark, table_uri, rows.schema)
    adds = []
    for day in sorted(set(rows[PARTITION_COLUMN].to_pylist())):
        data = rows.filter(pc.equal(rows[PARTITION_COLUMN], pa.scalar(day, pa.date32()))).drop_columns(
            [PARTITION_COLUMN]
        )
        relative = f"{_partition_directory(day)}/part-{uuid.uuid4().hex}.parquet"
        written = write_data_file(f"{table_uri.rstrip('/')}/{relative}", data)
        adds.append(_add_action(relative, day, written.size, written.modified_ms, written.stats))
    return transaction.commit(_scala_seq(spark, _actions(spark, adds)), _write_operation(spark, "Append", None))


def _transaction(spark: SparkSession, table_uri: str, schema: pa.Schema) -> Any:
    """A Delta transaction on the table: one that creates it in its commit when there is no table yet, or one
    started after the columns of `schema` it lacks were added."""
    delta_log = spark.sparkContext._jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, table_uri)
    transaction = delta_log.startTransaction()
    if transaction.readVersion() < 0:
        transaction.updateMetadataForNewTable(_new_table_metadata(spark, schema))
    elif set(schema.names) - set(transaction.metadata().schema().fieldNames()):
        _add_columns(spark, table_uri, schema)
        transaction = delta_log.startTransaction()
    return transaction


def _new_table_metadata(spark: SparkSession, schema: pa.Schema) -> Any:
    """The `metaData` action of a new table with the columns of `schema`, partitioned by day, as Delta's writers
    make it for a first write. Committed with the table's first files, it creates the table without the Spark
    job that writing an empty frame first would cost."""
    metadata = {
        "id": str(uuid.uuid4()),
        "format": {"provider": "parquet", "options": {}},
        "schemaString": from_arrow_schema(schema).json(),
        "partitionColumns": [PARTITION_COLUMN],
        "configuration": {},
        "createdTime": int(time.time() * 1000),
    }
    (action,) = _actions(spark, [{"metaData": metadata}])
    return action


# Table features whose file actions carry more than the path, size and partition that delta-rs lists here.
_FEATURES_OF_RICHER_FILES = ("deletionVectors", "rowTracking")


def _current_files(
    spark: SparkSession, transaction: Any, table_uri: str, days: list[date], predicate: str
) -> list[Any]:
    """The days' current files at the transaction's version, as `AddFile`s, with the read registered for the
    commit's conflict checks: a concurrent write to one of the days fails the commit.

    They are read by delta-rs from the log rather than by Delta's `filterFiles`, whose three Spark jobs over
    the table's state cost a cold JVM seconds per table in a fresh run; a table with deletion vectors or row
    tracking takes `filterFiles`.
    """
    expression = _scala_seq(spark, [_parse_expression(spark, predicate)])
    features = transaction.protocol().writerFeatureNames()
    if any(features.contains(feature) for feature in _FEATURES_OF_RICHER_FILES):
        return _python_list(transaction.filterFiles(expression, False))
    adds = []
    version = transaction.readVersion()  # -1: the commit creates the table, which has no files yet
    for current in delta_reader.current_files(table_uri, version, PARTITION_COLUMN, days) if version >= 0 else ():
        day = current[f"partition.{PARTITION_COLUMN}"]
        adds.append(_add_action(current["path"], day, current["size_bytes"], current["modification_time"]))
    files = _actions(spark, adds)
    rewrite_default = getattr(transaction, "trackReadPredicates$default$3")()
    transaction.trackReadPredicates(expression, True, rewrite_default)
    transaction.trackFilesRead(_scala_seq(spark, files))
    return files


def _add_columns(spark: SparkSession, table_uri: str, schema: pa.Schema) -> None:
    """Add the columns of `schema` the table lacks (e.g. `quarantine.unexpected` to a table written before that
    column existed), by appending an empty frame with schema merging.

    The empty frame is built in the JVM (typed nulls over no rows), so it needs no Python worker: a run whose
    workers cannot start still records its failure."""
    columns = [F.lit(None).cast(field.dataType).alias(field.name) for field in from_arrow_schema(schema).fields]
    empty = spark.range(0).select(columns)
    empty.write.format("delta").mode("append").option("mergeSchema", "true").partitionBy(PARTITION_COLUMN).save(
        table_uri
    )


def _partition_directory(day: date) -> str:
    return f"{PARTITION_COLUMN}={day.isoformat()}"


def _move_into_table(
    path_class: Any, filesystem: Any, table_root: Any, day: date, staged: StagedFile
) -> dict[str, Any]:
    """Move the staged file into the day's directory of the table (made beforehand); its `add` action.
    `path_class` is Hadoop's `Path`."""
    relative = f"{_partition_directory(day)}/{staged.uri.rsplit('/', 1)[-1]}"
    if not filesystem.rename(path_class(staged.uri), path_class(table_root, relative)):
        raise OSError(f"could not move {staged.uri} into {table_root}")
    return _add_action(relative, day, staged.size, staged.modified_ms, staged.stats)


def _add_action(path: str, day: date, size: int, modified_ms: int, stats: str | None = None) -> dict[str, Any]:
    """A data file of the day's partition as the Delta protocol's `add` action (JSON)."""
    add: dict[str, Any] = {
        "path": path,
        "partitionValues": {PARTITION_COLUMN: day.isoformat()},
        "size": size,
        "modificationTime": modified_ms,
        "dataChange": True,
    }
    if stats is not None:
        add["stats"] = stats
    return {"add": add}


def _actions(spark: SparkSession, actions: list[dict[str, Any]]) -> list[Any]:
    """Delta protocol actions (`{"add": ...}`, `{"metaData": ...}`) as Delta's own `Action` objects."""
    parser = _scala_object(spark.sparkContext._jvm.org.apache.spark.sql.delta.actions, "Action$")
    return [parser.fromJson(json.dumps(action)) for action in actions]


def _write_operation(spark: SparkSession, mode: str, predicate: str | None) -> Any:
    """The operation the table's history shows: a WRITE in the mode, with the days' predicate of an overwrite
    as `replaceWhere` records it (the remaining parameters at their defaults)."""
    jvm = spark.sparkContext._jvm
    operations = jvm.org.apache.spark.sql.delta.DeltaOperations
    write = _scala_object(operations, "Write$")
    defaults = [getattr(write, f"$lessinit$greater$default${index}")() for index in range(4, 10)]
    partition_by = jvm.scala.Some(_scala_seq(spark, [PARTITION_COLUMN]))
    condition = jvm.scala.Some(predicate) if predicate is not None else jvm.scala.Option.empty()
    return operations.Write(getattr(jvm.org.apache.spark.sql.SaveMode, mode), partition_by, condition, *defaults)


def _parse_expression(spark: SparkSession, text: str) -> Any:
    return spark._jsparkSession.sessionState().sqlParser().parseExpression(text)


def _scala_seq(spark: SparkSession, items: Iterable[Any]) -> Any:
    jvm = spark.sparkContext._jvm
    java_list = jvm.java.util.ArrayList()
    for item in items:
        java_list.add(item)
    return jvm.scala.jdk.javaapi.CollectionConverters.asScala(java_list).toSeq()


def _python_list(sequence: Any) -> list[Any]:
    iterator, items = sequence.iterator(), []
    while iterator.hasNext():
        items.append(iterator.next())
    return items


def _scala_object(package: Any, name: str) -> Any:
    """A Scala `object` (its class is `name`, ending in `$`) through py4j."""
    return getattr(package, name).__getattr__("MODULE$")
