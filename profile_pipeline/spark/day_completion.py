"""Days known to be complete: when every partition of the topic has passed a day's end plus the lateness.

A partition has passed a moment when the archive holds one of its messages stamped later (the latest
Kafka timestamp archived on it, kept with the checkpoint), or, whatever its traffic, when the archive
holds it up to the end offset it had at that moment (the clock: nothing older can still be waiting in it,
save messages later than the lateness allows). A complete day gets its marker
(`adapters/archive_layout.py`) with each partition's last archived offset of the day; a day without a message
gets one too, with no offsets, so that a job waiting for the day is not kept waiting for ever.

A message that arrives after its day was declared complete is not lost: it is archived in its own day,
like any other, and the next declaration finds the day's offsets changed and rewrites the marker. The
processing job then sees offsets other than those it recorded in `job_runs`, and processes the day again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from pyarrow import fs as pafs
from pyspark.sql import SparkSession

from profile_pipeline.adapters import storage
from profile_pipeline.adapters.archive_layout import (
    DayMarker,
    day_uri,
    never_behind,
    parse_object_name,
    read_marker,
    write_marker,
)
from profile_pipeline.spark.archive_settings import ArchiveSettings
from profile_pipeline.spark.kafka_positions import archived, end_offsets


def partition_times(
    positions: dict[int, int], ends: dict[int, int], latest_archived_ms: dict[int, int], now_ms: int
) -> dict[int, int | None]:
    """How far in time each partition is archived (None: not known yet)."""
    times: dict[int, int | None] = {}
    for partition, end in ends.items():
        latest = latest_archived_ms.get(partition)
        if positions.get(partition, 0) >= end:
            times[partition] = max(now_ms, latest or 0)
        else:
            times[partition] = latest
    return times


def is_complete(day: date, times: dict[int, int | None], lateness_seconds: float) -> bool:
    day_end = datetime.combine(day + timedelta(days=1), time(), UTC)
    passed_at_ms = (day_end.timestamp() + lateness_seconds) * 1000
    return bool(times) and all(moment is not None and moment >= passed_at_ms for moment in times.values())


def day_last_offsets(archive: str, day: date, topic: str, positions: dict[int, int]) -> dict[int, int | None]:
    """Each partition's last archived offset of the day, from the objects' names (committed batches only)."""
    last: dict[int, int | None] = dict.fromkeys(positions)
    for name in _names(day_uri(archive, day)):
        archived = parse_object_name(name)
        if archived is None or archived.topic != topic or archived.partition not in positions:
            continue
        if archived.last_offset < positions[archived.partition]:
            last[archived.partition] = max(last[archived.partition] or -1, archived.last_offset)
    return last


def candidate_days(archive: str, today: date, horizon_days: int) -> list[date]:
    """The days from the first archived one to today without a marker (a day without a message included: it is
    complete like any other, with no offsets), and the archived days of the horizon (where a late message may
    land)."""
    marked = {name.removesuffix(".json") for name in _names(storage.join(archive, "_complete"))}
    archived_days = {day for name in _names(archive, directories=True) if (day := _day(name)) is not None}
    if not archived_days:
        return []
    horizon = today - timedelta(days=horizon_days)
    first = min(archived_days)
    days = [first + timedelta(days=offset) for offset in range((max(today, first) - first).days + 1)]
    return [day for day in days if f"dt={day.isoformat()}" not in marked or (day >= horizon and day in archived_days)]


def declare_complete_days(spark: SparkSession, settings: ArchiveSettings) -> list[DayMarker]:
    """Write the marker of every day that has become complete, or whose offsets changed since; returns them."""
    now = datetime.now(UTC)
    # The end offsets first: archived positions read after them can only be further on.
    archive, topic = settings.archive, settings.topic
    ends = end_offsets(spark, settings.consumer, topic)
    state = archived(settings.checkpoint, topic)
    if state is None:
        return []
    positions = state.positions
    times = partition_times(positions, ends, state.latest_ms, int(now.timestamp() * 1000))
    written = []
    for day in candidate_days(archive, now.date(), settings.late_horizon_days):
        if not is_complete(day, times, settings.lateness_seconds):
            break  # a later day cannot be complete either
        last = day_last_offsets(archive, day, topic, {partition: positions.get(partition, 0) for partition in ends})
        marker = read_marker(archive, day)
        if marker is not None:
            last = never_behind(marker.last_offsets, last)
            if marker.last_offsets == last:
                continue  # nothing new: the marker is not written again
        declared = DayMarker(day, topic, last, now.isoformat(timespec="seconds"), settings.lateness_seconds)
        write_marker(archive, declared)
        written.append(declared)
    return written


def _names(uri: str, *, directories: bool = False) -> Iterable[str]:
    filesystem, path = storage.resolve(uri)
    wanted = pafs.FileType.Directory if directories else pafs.FileType.File
    listed = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return [info.base_name for info in listed if info.type == wanted]


def _day(name: str) -> date | None:
    if not name.startswith("dt="):
        return None
    try:
        return date.fromisoformat(name.removeprefix("dt="))
    except ValueError:
        return None
