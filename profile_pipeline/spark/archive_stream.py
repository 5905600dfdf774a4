"""The archiver's streaming query: Spark's Kafka source, each micro-batch written by `foreachBatch`.

Exactly once: Spark records a batch's offsets in the checkpoint before running it and commits the batch
after `foreachBatch` returned, when every object is stored. A batch interrupted in between is run again
from the same offsets on the next start, and its objects, named from those offsets, are rewritten as they
were (`archive_batch.py`). Between batches the driver declares the days that have become complete
(`day_completion.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from profile_pipeline import crash_points
from profile_pipeline.adapters.archive_layout import DayMarker
from profile_pipeline.spark.archive_batch import INPUT_COLUMNS, WRITTEN, write_partition
from profile_pipeline.spark.archive_settings import ArchiveSettings
from profile_pipeline.spark.day_completion import declare_complete_days
from profile_pipeline.spark.kafka_positions import record_archived_times

# Rows per Arrow batch handed to a Python worker: at Relay's ~100 KB per profile, some 25 MB.
_ARROW_ROWS_KEY, _ARROW_ROWS = "spark.sql.execution.arrow.maxRecordsPerBatch", 256
# Fetches of up to the topic's largest message (50 MB): with Kafka's default of 1 MB a partition, every
# tenth profile would cost a round trip to the broker. The configuration's consumer settings override it.
_FETCH = {"max.partition.fetch.bytes": str(50 * 2**20), "fetch.max.bytes": str(50 * 2**20)}


@dataclass
class ArchiveTotals:
    batches: int = 0
    messages: int = 0
    raw_bytes: int = 0
    objects: int = 0
    unreadable: int = 0
    markers: list[DayMarker] = field(default_factory=list)


Report = Callable[[str], None]


def batch_rows(batch: DataFrame) -> DataFrame:
    """The Kafka source's rows as the writing tasks read them: the last `sampled` header's value alone."""
    sampled = F.filter("headers", lambda header: header["key"] == "sampled")
    return batch.select(
        "partition",
        "offset",
        F.unix_millis("timestamp").alias("timestamp_ms"),
        "value",
        F.try_element_at(sampled, F.lit(-1))["value"].alias("sampled_header"),
    ).select(*INPUT_COLUMNS)


def run_archiver(
    spark: SparkSession, settings: ArchiveSettings, report: Report, stop: threading.Event | None = None
) -> ArchiveTotals:
    """Archive the topic: until caught up (`available_now`), or until `stop` is set; returns what it did."""
    rows_per_batch = spark.conf.get(_ARROW_ROWS_KEY)
    spark.conf.set(_ARROW_ROWS_KEY, str(_ARROW_ROWS))
    try:
        return _run(spark, settings, report, stop or threading.Event())
    finally:
        spark.conf.set(_ARROW_ROWS_KEY, rows_per_batch)


def _run(spark: SparkSession, settings: ArchiveSettings, report: Report, stop: threading.Event) -> ArchiveTotals:
    totals = ArchiveTotals()
    reader = (
        spark.readStream.format("kafka")
        .options(**{f"kafka.{key}": value for key, value in {**_FETCH, **settings.consumer}.items()})
        .option("subscribe", settings.topic)
        .option("includeHeaders", "true")
        .options(**settings.starting)
    )
    if settings.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(settings.max_offsets_per_trigger))
    writer = (
        reader.load()
        .writeStream.queryName("archive-ingest")
        .foreachBatch(partial(_archive_batch, settings=settings, totals=totals, report=report))
        .option("checkpointLocation", settings.checkpoint)
    )
    if settings.available_now:
        query = writer.trigger(availableNow=True).start()
        query.awaitTermination()
    else:
        query = writer.trigger(processingTime=f"{settings.trigger_seconds} seconds").start()
        try:
            # A stop request is seen between two waits, never inside a call into the JVM.
            while not stop.is_set() and not query.awaitTermination(settings.trigger_seconds):
                _declare(spark, settings, totals, report)
        finally:
            query.stop()
    _declare(spark, settings, totals, report)
    return totals


def _archive_batch(
    batch: DataFrame, batch_id: int, *, settings: ArchiveSettings, totals: ArchiveTotals, report: Report
) -> None:
    write = partial(
        write_partition,
        archive=settings.archive,
        topic=settings.topic,
        object_bytes=settings.object_bytes,
        storage_config=settings.storage,
    )
    written = batch_rows(batch).mapInArrow(write, from_arrow_schema(WRITTEN)).collect()
    latest: dict[int, int] = {}
    for row in written:
        latest[row["partition"]] = max(latest.get(row["partition"], 0), row["max_timestamp_ms"])
    record_archived_times(settings.checkpoint, batch_id, latest)
    crash_points.reach("archived")  # the batch's objects are stored, the batch not committed
    messages = sum(row["messages"] for row in written)
    raw_bytes = sum(row["raw_bytes"] for row in written)
    totals.batches += 1
    totals.messages += messages
    totals.raw_bytes += raw_bytes
    totals.objects += len(written)
    totals.unreadable += sum(1 for row in written if row["unreadable"])
    days = sorted({str(row["day"]) for row in written})
    report(
        f"batch {batch_id}: {messages} messages ({raw_bytes / 1e6:.1f} MB) in {len(written)} objects"
        + (f", days {', '.join(days)}" if days else "")
    )


def _declare(spark: SparkSession, settings: ArchiveSettings, totals: ArchiveTotals, report: Report) -> None:
    markers = declare_complete_days(spark, settings)
    for marker in markers:
        report(f"{marker.day}: complete (every partition passed it); marker written")
    totals.markers.extend(markers)
