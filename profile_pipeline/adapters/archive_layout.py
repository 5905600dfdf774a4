"""Where the archiver puts things: objects named from offsets, and the markers of complete days.

An object's name holds its topic, partition and the first and last offsets of its messages, so that a
micro-batch run again after a crash writes the same names with the same bytes: a replay replaces objects,
it never adds any. A day's completion marker, `<archive>/_complete/dt=D.json`, holds each partition's last
offset of the day; the processing job's `--require-complete` waits for it and records its offsets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from profile_pipeline.adapters import storage

OBJECTS_SUFFIX = ".msgpack.zst"
UNREADABLE_SUFFIX = ".unreadable.zst"  # one message that is not a msgpack map, alone in its object
_NAME = re.compile(r"^(?P<topic>.+)-p(?P<partition>\d+)-(?P<first>\d+)-(?P<last>\d+)\.(?:msgpack|unreadable)\.zst$")
# Offsets are padded so that names sort as their offsets do.
_OFFSET_DIGITS = 19


@dataclass(frozen=True)
class ArchivedObject:
    topic: str
    partition: int
    first_offset: int
    last_offset: int


def day_uri(archive: str, day: date) -> str:
    return storage.join(archive, f"dt={day.isoformat()}")


def object_name(topic: str, partition: int, first_offset: int, last_offset: int, *, unreadable: bool = False) -> str:
    offsets = f"{first_offset:0{_OFFSET_DIGITS}d}-{last_offset:0{_OFFSET_DIGITS}d}"
    return f"{topic}-p{partition}-{offsets}{UNREADABLE_SUFFIX if unreadable else OBJECTS_SUFFIX}"


def parse_object_name(name: str) -> ArchivedObject | None:
    """The object's topic, partition and offsets; None for a name the archiver does not write."""
    match = _NAME.match(name)
    if match is None:
        return None
    return ArchivedObject(match["topic"], int(match["partition"]), int(match["first"]), int(match["last"]))


def marker_uri(archive: str, day: date) -> str:
    return storage.join(archive, "_complete", f"dt={day.isoformat()}.json")


@dataclass(frozen=True)
class DayMarker:
    """A day known to be complete: each partition's last offset of the day (None: no message that day)."""

    day: date
    topic: str
    last_offsets: dict[int, int | None]
    declared_at: str  # when the archiver declared it (ISO-8601, UTC)
    lateness_seconds: float

    def offsets_json(self) -> str:
        """The offsets as `job_runs` records them: what the processing job read of the day."""
        return json.dumps({"topic": self.topic, "last_offsets": _keyed(self.last_offsets)}, sort_keys=True)

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "day": self.day.isoformat(),
            "topic": self.topic,
            "last_offsets": _keyed(self.last_offsets),
            "declared_at": self.declared_at,
            "lateness_seconds": self.lateness_seconds,
        }
        return json.dumps(document, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> DayMarker:
        document = json.loads(data)
        return cls(
            day=date.fromisoformat(document["day"]),
            topic=document["topic"],
            last_offsets={int(partition): offset for partition, offset in document["last_offsets"].items()},
            declared_at=document["declared_at"],
            lateness_seconds=float(document["lateness_seconds"]),
        )


def never_behind(stored: dict[int, int | None], found: dict[int, int | None]) -> dict[int, int | None]:
    """The offsets to declare: those found, save that no partition's offset of the stored marker is lowered.

    An archive only grows, so a declaration that finds less than a marker holds was made from an older view of it
    (an archiver started again from an older copy of its checkpoint, or one still running after it was replaced);
    the day must not go backwards."""
    offsets = dict(found)
    for partition, offset in stored.items():
        if offset is not None and (offsets.get(partition) is None or offsets[partition] < offset):
            offsets[partition] = offset
    return offsets


def holds_no_message(offsets_json: str) -> bool:
    """Whether the offsets of a marker (`DayMarker.offsets_json`) say the day has no archived message."""
    return all(offset is None for offset in json.loads(offsets_json)["last_offsets"].values())


def _keyed(offsets: dict[int, int | None]) -> dict[str, int | None]:
    return {str(partition): offsets[partition] for partition in sorted(offsets)}


def read_marker(archive: str, day: date) -> DayMarker | None:
    uri = marker_uri(archive, day)
    return DayMarker.from_json(storage.read_bytes(uri)) if storage.exists(uri) else None


def write_marker(archive: str, marker: DayMarker) -> None:
    storage.write_bytes(marker_uri(archive, marker.day), marker.to_json())
