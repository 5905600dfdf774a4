"""What an archiver run is given: locations, the topic and its consumer settings, the mode and the bounds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from profile_pipeline.config import StorageConfig


@dataclass(frozen=True)
class ArchiveSettings:
    archive: str
    checkpoint: str
    topic: str
    consumer: dict[str, str]  # Kafka consumer properties, secrets included: never printed
    starting: dict[str, str]  # Spark's startingOffsets or startingTimestamp option, for a first start
    available_now: bool
    trigger_seconds: float
    max_offsets_per_trigger: int
    object_bytes: int
    lateness_seconds: float
    late_horizon_days: int
    storage: StorageConfig = field(default_factory=StorageConfig)


def starting_option(starting_offsets: str) -> dict[str, str]:
    """`earliest`, `latest` or an ISO-8601 time as the Kafka source's option (ValueError otherwise)."""
    if starting_offsets in ("earliest", "latest"):
        return {"startingOffsets": starting_offsets}
    moment = datetime.fromisoformat(starting_offsets)
    if moment.tzinfo is None:
        raise ValueError(f"starting time {starting_offsets!r} has no time zone (add Z or +00:00)")
    # A partition without a message since then starts at its end, rather than failing the query.
    return {"startingTimestamp": str(int(moment.timestamp() * 1000)), "startingOffsetsByTimestampStrategy": "latest"}
