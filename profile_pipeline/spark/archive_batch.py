"""One micro-batch's messages into archive objects, written by the Python workers of its Spark partitions.

A Spark partition of the Kafka source is a range of offsets of one topic partition, in offset order. Its
messages are grouped by day (the UTC date of their Kafka timestamp) into zstd-compressed streams of
concatenated msgpack maps, the format the processing job reads; an object is cut once it holds
`object_bytes` uncompressed bytes, and a message that is not a msgpack map goes into an object of its own.
Every cut depends on the messages alone, so a replayed batch writes the same objects under the same names.
Each task returns one small row per object written; nothing of the messages goes back to the driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pyarrow as pa
import zstandard

from profile_pipeline.adapters import storage
from profile_pipeline.adapters.archive_layout import day_uri, object_name
from profile_pipeline.adapters.kafka_message import archived_value, sampled_from_header
from profile_pipeline.config import StorageConfig

# The columns a task reads, selected from the Kafka source's rows by `archive_stream.batch_rows`.
INPUT_COLUMNS = ("partition", "offset", "timestamp_ms", "value", "sampled_header")
WRITTEN = pa.schema(
    [
        ("day", pa.date32()),
        ("partition", pa.int32()),
        ("first_offset", pa.int64()),
        ("last_offset", pa.int64()),
        ("messages", pa.int64()),
        ("raw_bytes", pa.int64()),
        ("stored_bytes", pa.int64()),
        ("max_timestamp_ms", pa.int64()),
        ("unreadable", pa.bool_()),
    ]
)
# zstd's default level: a few hundred MB/s per core, profiles' JSON shrinks to a fraction.
_ZSTD_LEVEL = 3


def message_day(timestamp_ms: int) -> date:
    """The day of a message: its Kafka timestamp's UTC date (Relay's produce time)."""
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).date()


@dataclass
class _OpenObject:
    """A stream of one partition and day being filled, compressed as it grows."""

    day: date
    partition: int
    first_offset: int
    compressor: zstandard.ZstdCompressionObj = field(
        default_factory=lambda: zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compressobj()
    )
    chunks: list[bytes] = field(default_factory=list)
    last_offset: int = -1
    messages: int = 0
    raw_bytes: int = 0
    max_timestamp_ms: int = 0

    def add(self, offset: int, data: bytes, timestamp_ms: int) -> None:
        self.chunks.append(self.compressor.compress(data))
        self.last_offset = offset
        self.messages += 1
        self.raw_bytes += len(data)
        self.max_timestamp_ms = max(self.max_timestamp_ms, timestamp_ms)

    def close(self) -> bytes:
        self.chunks.append(self.compressor.flush())
        return b"".join(self.chunks)


def write_partition(
    batches: Iterator[pa.RecordBatch], *, archive: str, topic: str, object_bytes: int, storage_config: StorageConfig
) -> Iterator[pa.RecordBatch]:
    """mapInArrow: the partition's messages written as archive objects; one row per object out."""
    storage.configure(storage_config)
    written: list[dict] = []
    open_objects: dict[tuple[int, date], _OpenObject] = {}

    def store(stream: _OpenObject, *, unreadable: bool = False) -> None:
        data = stream.close()
        name = object_name(topic, stream.partition, stream.first_offset, stream.last_offset, unreadable=unreadable)
        storage.write_bytes(storage.join(day_uri(archive, stream.day), name), data)
        written.append(
            {
                "day": stream.day,
                "partition": stream.partition,
                "first_offset": stream.first_offset,
                "last_offset": stream.last_offset,
                "messages": stream.messages,
                "raw_bytes": stream.raw_bytes,
                "stored_bytes": len(data),
                "max_timestamp_ms": stream.max_timestamp_ms,
                "unreadable": unreadable,
            }
        )

    for batch in batches:
        columns = [batch.column(name).to_pylist() for name in INPUT_COLUMNS]
        for partition, offset, timestamp_ms, value, header in zip(*columns, strict=True):
            day = message_day(timestamp_ms)
            archived = archived_value(value, sampled_from_header(header))
            if not archived.is_map:
                alone = _OpenObject(day, partition, offset)
                alone.add(offset, archived.data, timestamp_ms)
                store(alone, unreadable=True)
                continue
            stream = open_objects.get((partition, day)) or open_objects.setdefault(
                (partition, day), _OpenObject(day, partition, offset)
            )
            stream.add(offset, archived.data, timestamp_ms)
            if stream.raw_bytes >= object_bytes:
                store(open_objects.pop((partition, day)))
        if written:
            yield pa.RecordBatch.from_pylist(written, schema=WRITTEN)
            written.clear()
    for stream in open_objects.values():
        store(stream)
    if written:
        yield pa.RecordBatch.from_pylist(written, schema=WRITTEN)
