"""Messages as Relay produces them to the topic, and the archiver's objects read back as the processing job
reads them: shared by the archiver's tests."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from job_cli import PROJECT_ROOT
from servers.kafka import Message

from profile_pipeline.adapters.ingest import read_object
from profile_pipeline.config import Limits
from synthetic.messages import ingest_message, pack
from synthetic.profiles import ProfileSpec, generate

ARCHIVER = PROJECT_ROOT / "jobs" / "archive_ingest.py"
TODAY = datetime.now(UTC).date()
PAST_DAY = TODAY - timedelta(days=3)  # over, by the clock: complete once every partition is caught up
KINDS = ("python_v1", "cocoa_v1", "python_chunk")
UNREADABLE = (b"\xc1 not msgpack", pack([1, 2, 3]), None)  # undecodable, a msgpack array, an empty value


def ms(day: date, at: time = time(1)) -> int:
    return int(datetime.combine(day, at, UTC).timestamp() * 1000)


def relay_messages(day: date, count: int, partitions: int = 3) -> list[tuple[Message, dict]]:
    """Messages as Relay produces them, each with the map the archive must hold for it (`sampled` inside)."""
    rng = random.Random(count)
    produced = []
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        profile = generate(kind, rng, ProfileSpec(target_bytes=2_000, start=ms(day) / 1000))
        chunk = kind.endswith("chunk")
        message = ingest_message(
            profile, organization_id=1, project_id=2 + number % 2, received=ms(day) // 1000, key_id=None
        )
        sampled = None if chunk else number % 4 != 1  # chunks carry no header
        headers = () if sampled is None else (("sampled", b"true" if sampled else b"false"),)
        archived = message if sampled is None else {**message, "sampled": sampled}
        produced.append((Message(pack(message), number % partitions, ms(day) + number, headers), archived))
    return produced


def unreadable_messages(day: date) -> list[Message]:
    return [Message(value, number % 3, ms(day) + 500 + number) for number, value in enumerate(UNREADABLE)]


def read_archived(objects: dict[str, bytes]) -> dict[str, list[bytes]]:
    """Each object by name, as the processing job reads it: its messages' raw bytes."""
    return {
        name: [record.raw for record in read_object(name, len(data), data, Limits())]
        for name, data in sorted(objects.items())
    }
