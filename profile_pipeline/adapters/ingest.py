"""Reading input objects: decompression and msgpack streams (SPEC §I.2), with bad input as records.

`read_object` turns one object's bytes into `RawMessage`s (one per msgpack value, with its byte range
in the decompressed stream) and `BadInput`s (what cannot be read), never raising for bad data.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgpack
import zstandard

from profile_pipeline.config import Limits
from profile_pipeline.work import Source


@dataclass(frozen=True)
class RawMessage:
    source: Source
    raw: bytes
    value: Any


@dataclass(frozen=True)
class BadInput:
    """A record that goes to quarantine: its error kind (SPEC §I.8) and what was read of it."""

    source: Source
    kind: str
    message: str
    raw: bytes | None
    organization_id: int | None = None
    project_id: int | None = None
    event_id: str | None = None
    # Set when the record is known to be a continuous-profiling chunk (for the outcome's category).
    chunk: bool = False
    sampled: bool = True
    # False where Sentry emits no outcome for this failure even though organization and project are known.
    emits_outcomes: bool = True
    # Raised where no step expected it: counted apart from the expected kinds of bad input.
    unexpected: bool = False
    # The message's `retention_days` where it could be read (resolved like a profile's, docs/design.md).
    retention_days: int | None = None


class _TooLarge(Exception):
    pass


def _bounded_read(stream: io.BufferedIOBase, limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _TooLarge(f"decompressed object is over the limit of {limit} bytes")
    return data


def decompress(path: str, content: bytes, limits: Limits) -> bytes:
    """The object's msgpack stream: `.gz`/`.zst` objects are decompressed, within the size limit."""
    limit = limits.max_decompressed_object_bytes
    if path.endswith(".gz"):
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
            return _bounded_read(stream, limit)
    if path.endswith(".zst"):
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(content), read_across_frames=True)
        with reader:
            return _bounded_read(reader, limit)
    return content


def read_object(path: str, length: int, content: bytes | None, limits: Limits) -> Iterator[RawMessage | BadInput]:
    """Every message of one object, or the bad input that stands in its place."""
    if content is None or length > limits.max_object_bytes:
        yield BadInput(
            Source(path, 0, length),
            "too_large",
            f"object of {length} bytes is over the limit of {limits.max_object_bytes} bytes",
            None,
        )
        return
    try:
        stream = decompress(path, content, limits)
    except _TooLarge as error:
        yield BadInput(Source(path, 0, length), "too_large", str(error), None)
        return
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as error:
        yield BadInput(Source(path, 0, length), "corrupt_stream", f"cannot decompress object: {error}", content)
        return
    yield from _read_stream(path, stream, limits)


def _read_stream(path: str, stream: bytes, limits: Limits) -> Iterator[RawMessage | BadInput]:
    if not stream:
        yield BadInput(Source(path, 0, 0), "corrupt_stream", "object is empty: no msgpack value", b"")
        return
    unpacker = msgpack.Unpacker(
        raw=False,
        strict_map_key=False,
        max_buffer_size=max(len(stream), 1),
        unicode_errors="surrogateescape",
    )
    unpacker.feed(stream)
    start = 0
    while start < len(stream):
        try:
            value = unpacker.unpack()
        except (msgpack.OutOfData, msgpack.UnpackException, ValueError, TypeError) as error:
            # Nothing after a broken value can be found again: the rest of the stream is one record.
            if isinstance(error, msgpack.OutOfData):
                reason = f"truncated msgpack value at byte {start}"
            else:
                reason = f"undecodable msgpack at byte {start}: {type(error).__name__}: {error}"
            yield BadInput(Source(path, start, len(stream) - start), "corrupt_stream", reason, stream[start:])
            return
        end = unpacker.tell()
        source = Source(path, start, end - start)
        if end - start > limits.max_message_bytes:
            yield BadInput(
                source,
                "too_large",
                f"message of {end - start} bytes is over the limit of {limits.max_message_bytes} bytes",
                None,
            )
        else:
            yield RawMessage(source, stream[start:end], value)
        start = end
