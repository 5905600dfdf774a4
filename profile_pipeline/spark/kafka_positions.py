"""Where the archive stands on each partition, and where the topic ends.

*Archived*: the end offsets of the last micro-batch that Spark committed, read from the query's checkpoint
(`offsets/<batch>`, written before the batch ran, and `commits/<batch>`, written once its objects were all
stored). Everything before them is in the archive. Beside them, `archived_times/<batch>.json` holds the
latest Kafka timestamp archived on each partition up to that batch, written by the batch itself (a
replayed batch writes the same file), so that a restarted archiver knows how far each partition has got.
*End*: the topic's end offsets, asked by a consumer of the Kafka client that Spark's source brings, in
the driver's JVM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pyarrow import fs as pafs
from pyspark.sql import SparkSession

from profile_pipeline.adapters import storage

_BYTE_ARRAY = "org.apache.kafka.common.serialization.ByteArrayDeserializer"


_TIMES = "archived_times"
# Files of older batches kept beside the latest: a batch run again reads its predecessor's.
_TIMES_KEPT = 10


@dataclass(frozen=True)
class Archived:
    batch: int
    positions: dict[int, int]  # each partition's next offset to archive
    latest_ms: dict[int, int]  # each partition's latest Kafka timestamp archived


def _batches(checkpoint: str, directory: str) -> list[int]:
    filesystem, path = storage.resolve(storage.join(checkpoint, directory))
    listed = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    # Digits only: not Hadoop's `.N.crc` files, nor a temporary file.
    return sorted(int(name) for info in listed if (name := info.base_name.removesuffix(".json")).isdigit())


def archived(checkpoint: str, topic: str) -> Archived | None:
    """Where the archive stands, as of the last committed batch; None before the first one."""
    committed = _batches(checkpoint, "commits")
    if not committed:
        return None
    batch = committed[-1]
    # An offsets file: a version line, the batch's metadata, then one JSON line per source.
    lines = storage.read_bytes(storage.join(checkpoint, "offsets", str(batch))).decode().splitlines()
    offsets = json.loads(lines[2]).get(topic, {})
    positions = {int(partition): int(offset) for partition, offset in offsets.items()}
    return Archived(batch, positions, _read_times(checkpoint, batch))


def _read_times(checkpoint: str, batch: int) -> dict[int, int]:
    uri = storage.join(checkpoint, _TIMES, f"{batch}.json")
    if not storage.exists(uri):
        return {}
    return {int(partition): int(moment) for partition, moment in json.loads(storage.read_bytes(uri)).items()}


def record_archived_times(checkpoint: str, batch: int, batch_latest_ms: dict[int, int]) -> dict[int, int]:
    """Write each partition's latest archived timestamp up to `batch` (this batch's and the earlier ones)."""
    earlier = [number for number in _batches(checkpoint, _TIMES) if number < batch]
    latest = _read_times(checkpoint, earlier[-1]) if earlier else {}
    for partition, moment in batch_latest_ms.items():
        latest[partition] = max(latest.get(partition, moment), moment)
    document = json.dumps({str(partition): moment for partition, moment in sorted(latest.items())})
    storage.write_bytes(storage.join(checkpoint, _TIMES, f"{batch}.json"), document.encode())
    for old in earlier[:-_TIMES_KEPT]:
        filesystem, path = storage.resolve(storage.join(checkpoint, _TIMES, f"{old}.json"))
        filesystem.delete_file(path)
    return latest


def end_offsets(spark: SparkSession, settings: dict[str, str], topic: str) -> dict[int, int]:
    """The topic's end offset (the next offset to be written) of every partition, now."""
    jvm: Any = spark.sparkContext._jvm
    properties = jvm.java.util.Properties()
    for key, value in {**settings, "key.deserializer": _BYTE_ARRAY, "value.deserializer": _BYTE_ARRAY}.items():
        properties.setProperty(key, value)
    consumer = jvm.org.apache.kafka.clients.consumer.KafkaConsumer(properties)
    try:
        partitions = jvm.java.util.ArrayList()
        for info in consumer.partitionsFor(topic):
            partitions.add(jvm.org.apache.kafka.common.TopicPartition(topic, info.partition()))
        ends = consumer.endOffsets(partitions)
        return {int(partition.partition()): int(ends.get(partition)) for partition in partitions}
    finally:
        consumer.close()
