"""A Kafka message of the `profiles` topic as the archive keeps it (SPEC §I.2).

Relay puts the sampling decision in the `sampled` header (SPEC Part II §2.2), and an archive has nowhere to
keep headers, so the header travels inside the map as the boolean key `sampled`. The key is spliced in:
the map's header is rewritten for one more entry and the pair appended, every other byte untouched.
A value that is not one msgpack map is returned as it came, marked unreadable, so that it is archived
alone and cannot corrupt the stream of its neighbours.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import msgpack

SAMPLED = "sampled"
_SAMPLED_KEY = msgpack.packb(SAMPLED)


@dataclass(frozen=True)
class ArchivedValue:
    data: bytes
    is_map: bool  # False: not one msgpack map; archived in an object of its own


def sampled_from_header(value: bytes | None) -> bool | None:
    """The consumer's reading of the header: `"true"` is sampled, any other value is not; absent is None."""
    return None if value is None else value == b"true"


def archived_value(value: bytes | None, sampled: bool | None) -> ArchivedValue:
    """The bytes to archive for a message: its map with `sampled` spliced in when the header was set."""
    data = value or b""
    try:
        decoded = msgpack.unpackb(data, raw=False, strict_map_key=False, unicode_errors="surrogateescape")
    except (ValueError, TypeError, msgpack.UnpackException):  # ExtraData, truncated or undecodable
        return ArchivedValue(data, is_map=False)
    if not isinstance(decoded, dict):
        return ArchivedValue(data, is_map=False)
    if sampled is None or SAMPLED in decoded:  # a map's own `sampled` key is left as the producer wrote it
        return ArchivedValue(data, is_map=True)
    header_length, entries = _map_header(data)
    spliced = _pack_map_header(entries + 1) + data[header_length:] + _SAMPLED_KEY + msgpack.packb(sampled)
    return ArchivedValue(spliced, is_map=True)


def _map_header(data: bytes) -> tuple[int, int]:
    """(length of the map's header, number of entries) of a msgpack map."""
    first = data[0]
    if 0x80 <= first <= 0x8F:
        return 1, first & 0x0F
    if first == 0xDE:
        return 3, struct.unpack(">H", data[1:3])[0]
    return 5, struct.unpack(">I", data[1:5])[0]  # 0xdf, the only other map header


def _pack_map_header(entries: int) -> bytes:
    if entries <= 0x0F:
        return bytes([0x80 | entries])
    if entries <= 0xFFFF:
        return b"\xde" + struct.pack(">H", entries)
    return b"\xdf" + struct.pack(">I", entries)
