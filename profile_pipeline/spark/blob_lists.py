"""The blobs a maintenance run is to delete, written down before any row is, so that none is forgotten.

A run writes the blobs (bucket and storage path) of the profiles and chunks it selected as a Parquet list under
`<warehouse>/_maintenance/blobs/attempt=<attempt>/` (complete once its `_SUCCESS` marker is there; empty when
no profile is selected) before it deletes any row; it deletes the blobs after the rows, records what it
deleted, then drops the list. A run killed anywhere leaves a list that the next run finishes first: the blobs
deleted again where they are still there, the killed attempt's deletions recorded from the tables' histories
(`deletion_history.py`), then the list dropped.
A list without its marker was cut short while being written, before any row was deleted: it is dropped,
and the rows it was listing are selected again.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from itertools import islice
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from profile_pipeline.adapters import storage
from profile_pipeline.adapters.blob_removal import delete_all, remove_emptied_directories
from profile_pipeline.config import StorageConfig
from profile_pipeline.spark.hadoop_fs import hadoop_path
from profile_pipeline.stages.vroom.blobs import blob_uri

LISTS_DIR = "_maintenance/blobs"
_COMPLETE = "_SUCCESS"


def lists_uri(warehouse: str) -> str:
    return f"{warehouse.rstrip('/')}/{LISTS_DIR}"


def storage_paths(profiles: DataFrame, bucket: str) -> DataFrame:
    """The blob of each selected profile or chunk row: its bucket and vroom's storage path in it,
    `{org}/{project}/{profile_id}` or `{org}/{project}/{profiler_id}/{chunk_id}`."""
    base = F.concat_ws("/", F.col("organization_id"), F.col("project_id"))
    chunk = F.col("kind") == "chunk"
    chunk_path, profile_path = F.concat_ws("/", base, "profiler_id", "event_id"), F.concat_ws("/", base, "event_id")
    path = F.when(chunk, chunk_path).otherwise(profile_path)
    return (
        profiles.where(F.col("event_id").isNotNull())
        .select(F.lit(bucket).alias("bucket"), path.alias("storage_path"))
        .distinct()
    )


LIST_SCHEMA = "bucket string, storage_path string, reason string"


def write_list(paths: DataFrame, warehouse: str, attempt: str) -> str:
    target = f"{lists_uri(warehouse)}/attempt={attempt}"
    paths.coalesce(1).write.mode("overwrite").parquet(target)
    return target


def attempt_of(list_uri: str) -> str:
    """The attempt that wrote the list (lists of earlier versions are named by their run)."""
    return list_uri.rstrip("/").rsplit("/", 1)[-1].split("=", 1)[-1]


def listed_by_reason(spark: SparkSession, list_uri: str) -> dict[str, int]:
    counts = spark.read.parquet(list_uri).groupBy("reason").count().collect()
    return {row["reason"]: row["count"] for row in counts}


def pending_lists(spark: SparkSession, warehouse: str) -> tuple[list[str], list[str]]:
    """The lists earlier runs left: (complete ones, to finish; cut short ones, to drop)."""
    path, filesystem = hadoop_path(spark, lists_uri(warehouse))
    if not filesystem.exists(path):
        return [], []
    complete, partial_lists = [], []
    for status in filesystem.listStatus(path):
        directory = status.getPath()
        marker = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(directory, _COMPLETE)
        (complete if filesystem.exists(marker) else partial_lists).append(str(directory))
    return sorted(complete), sorted(partial_lists)


_BLOBS_PER_BATCH = 1000


def _delete_partition(rows: Iterator[Any], settings: StorageConfig) -> Iterator[int]:
    storage.configure(settings)
    deleted = 0
    while batch := list(islice(rows, _BLOBS_PER_BATCH)):
        # The path is checked as the vroom stage checks it before writing: nothing outside the bucket is touched.
        deleted += delete_all(blob_uri(row["bucket"], row["storage_path"]) for row in batch)
        for bucket in {row["bucket"] for row in batch}:
            remove_emptied_directories(bucket, (row["storage_path"] for row in batch if row["bucket"] == bucket))
    yield deleted


def delete_listed(spark: SparkSession, list_uri: str, settings: StorageConfig) -> int:
    """Delete every blob of the list, in the executors; returns how many the list holds, each now gone (one
    deleted by an earlier run that died counts too)."""
    listed = spark.read.parquet(list_uri)
    return sum(listed.rdd.mapPartitions(partial(_delete_partition, settings=settings)).collect())


def drop_list(spark: SparkSession, list_uri: str) -> None:
    path, filesystem = hadoop_path(spark, list_uri)
    filesystem.delete(path, True)
