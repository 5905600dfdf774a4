"""Small hand-made input days for the operations tests: a few ingest messages per day, good and bad.

A day holds the real python ingest message, a cocoa profile of another project, and a message whose
payload is not JSON (quarantined, with an INVALID outcome). Expected figures are derived from this list.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import msgpack
import orjson
from vroom_profiles import FIXTURE, cocoa_v1

GOOD_PER_DAY = 2
BAD_PER_DAY = 1
MESSAGES_PER_DAY = GOOD_PER_DAY + BAD_PER_DAY


def _message(payload: bytes, organization_id: int, project_id: int) -> bytes:
    value = {
        "type": "profile",
        "organization_id": organization_id,
        "project_id": project_id,
        "key_id": 3,
        "received": 1747722000,
        "retention_days": 90,
        "payload": payload,
    }
    return msgpack.packb(value)


def day_objects(day: date) -> dict[str, bytes]:
    """The objects of one day: name -> a stream of concatenated msgpack messages."""
    cocoa = cocoa_v1(event_id=f"{day:%Y%m%d}" + "c" * 24)
    return {
        "part-00000.msgpack": FIXTURE.read_bytes(),
        "part-00001.msgpack": _message(orjson.dumps(cocoa), 1, 7) + _message(b"{not json", 1, 7),
    }


def write_day(root: Path, day: date) -> Path:
    directory = root / f"dt={day.isoformat()}"
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in day_objects(day).items():
        (directory / name).write_bytes(data)
    return directory
