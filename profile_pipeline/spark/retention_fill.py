"""Retention for rows written before a table carried it: each row gets its profile's, else the default.

Rows of `functions`, `occurrences` and `chunks` take the retention of their profile's row in `profiles` (the
same day, organization, project and id); every other row without a retention, and those whose profile has
none either, take the default. Only the days whose files the log says may hold a row without a retention are
touched, so on tables written since the column exists this does nothing at all.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from profile_pipeline.spark.delta_commit import PARTITION_COLUMN
from profile_pipeline.spark.expiry import RETENTION_COLUMN, days_in
from profile_pipeline.spark.job import table_uri

PROFILES = "profiles"
# The column of a side table's rows that names their profile's row in `profiles` (`_profile_key`).
PROFILE_KEYS = {"functions": "profile_id", "occurrences": "profile_id", "chunks": "chunk_id"}


def fill_retention(spark: SparkSession, warehouse: str, table: str, days: set[date], default_retention: int) -> int:
    """Give the table's rows of `days` without a retention their profile's or the default; the rows filled."""
    uri = table_uri(warehouse, table)
    filled = 0
    key = PROFILE_KEYS.get(table)
    if key is not None:
        view = f"profile_retention_{table}"
        _profile_retention(spark, warehouse, days, key).createOrReplaceTempView(view)
        merged = spark.sql(
            f"MERGE INTO delta.`{uri}` AS row USING {view} AS profile "
            f"ON row.{PARTITION_COLUMN} = profile.{PARTITION_COLUMN} AND row.organization_id = profile.organization_id "
            f"AND row.project_id = profile.project_id AND row.{key} = profile.{key} "
            f"AND {days_in(days, f'row.{PARTITION_COLUMN}')} "
            f"WHEN MATCHED AND row.{RETENTION_COLUMN} IS NULL "
            f"THEN UPDATE SET {RETENTION_COLUMN} = profile.{RETENTION_COLUMN}"
        ).collect()
        spark.catalog.dropTempView(view)
        filled += int(merged[0]["num_updated_rows"]) if merged else 0
    updated = spark.sql(
        f"UPDATE delta.`{uri}` SET {RETENTION_COLUMN} = {int(default_retention)} "
        f"WHERE {days_in(days)} AND {RETENTION_COLUMN} IS NULL"
    ).collect()
    return filled + (int(updated[0][0]) if updated else 0)


def count_unfilled(spark: SparkSession, warehouse: str, table: str, days: set[date]) -> int:
    """The table's rows of `days` without a retention (what `fill_retention` would fill)."""
    rows = spark.read.format("delta").load(table_uri(warehouse, table))
    return rows.where(f"{days_in(days)} AND {RETENTION_COLUMN} IS NULL").count()


def _profile_retention(spark: SparkSession, warehouse: str, days: set[date], key: str) -> DataFrame:
    """Per day, organization, project and the side table's key: the retention of the profile's row.

    A chunk's function rows name it by profiler id, which its chunks of the day share: the longest of their
    retentions is taken, so that no row is deleted before a profile it belongs to.
    """
    profiles = spark.read.format("delta").load(table_uri(warehouse, PROFILES)).where(days_in(days))
    profiles = profiles.where(F.col(RETENTION_COLUMN).isNotNull())
    is_chunk = F.col("kind") == "chunk"
    if key == "chunk_id":
        named = profiles.where(is_chunk).withColumn(key, F.col("event_id"))
    else:
        named = profiles.withColumn(key, F.when(is_chunk, F.col("profiler_id")).otherwise(F.col("event_id")))
    return named.groupBy(PARTITION_COLUMN, "organization_id", "project_id", key).agg(
        F.max(RETENTION_COLUMN).alias(RETENTION_COLUMN)
    )
