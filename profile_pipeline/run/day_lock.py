"""One run per day: a lock per day in the warehouse, so that a second run of a day is refused, not raced.

A day's lock is a sequence of small JSON records, `<warehouse>/_locks/dt=D/<generation>.json`. Taking the
lock means creating the next generation's record with a write that fails when the object exists: on a
local disk a hard link from a fully written temporary file, on S3 a PUT with `If-None-Match: *` (a
conditional write, which S3 and S3-compatible stores decide atomically). Of two runs racing for the same
generation exactly one wins; the other is refused. Nothing else decides ownership, so there is no
check-then-write window.

The holder renews its record (a heartbeat) while it works and marks it released when done. The latest
record is free to take over when it is released, when its heartbeat is older than the expiry, or when its
holder ran on this host and its process is gone (a killed run on the same machine is resumed at once).
Generations only grow: a holder that was presumed dead and wakes up finds a newer generation and stops
before recording the day. Each record carries a token of its acquisition, so that a run whose conditional
write took effect but whose answer was lost knows its own record when the retried write is refused.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from urllib.parse import urlparse

from profile_pipeline.adapters.storage import boto3_s3_client
from profile_pipeline.config import ConfigError, LockConfig

LOCKS_DIR = "_locks"
_S3_SCHEMES = ("s3a", "s3")


class DayRefused(RuntimeError):
    """Another run holds the day."""


class DayLockLost(DayRefused):
    """The day's lock was taken over by another run while this one held it (it was presumed dead)."""


class _RecordStore(Protocol):
    def generations(self) -> list[int]: ...
    def read(self, generation: int) -> dict[str, Any]: ...
    def create(self, generation: int, record: dict[str, Any]) -> bool: ...
    def overwrite(self, generation: int, record: dict[str, Any]) -> None: ...


def _name(generation: int) -> str:
    return f"{generation:08d}.json"


def _generation(name: str) -> int | None:
    stem, dot, extension = name.rpartition(".")
    return int(stem) if dot and extension == "json" and stem.isdigit() else None


class _LocalRecords:
    def __init__(self, directory: str) -> None:
        self.directory = directory

    def generations(self) -> list[int]:
        if not os.path.isdir(self.directory):
            return []
        return sorted(g for g in map(_generation, os.listdir(self.directory)) if g is not None)

    def read(self, generation: int) -> dict[str, Any]:
        with open(os.path.join(self.directory, _name(generation)), "rb") as handle:
            return json.loads(handle.read())

    def _written(self, generation: int, record: dict[str, Any]) -> tuple[str, str]:
        """The record written whole under a temporary name; returns (temporary, final) paths."""
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, _name(generation))
        temporary = f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
        with open(temporary, "wb") as handle:
            handle.write(json.dumps(record).encode())
        return temporary, path

    def create(self, generation: int, record: dict[str, Any]) -> bool:
        # A hard link fails when the name exists, and the record appears complete: readers never see it half written.
        temporary, path = self._written(generation, record)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        finally:
            os.unlink(temporary)
        return True

    def overwrite(self, generation: int, record: dict[str, Any]) -> None:
        temporary, path = self._written(generation, record)
        os.replace(temporary, path)


class _S3Records:
    def __init__(self, bucket: str, prefix: str) -> None:
        self.client = boto3_s3_client()
        self.bucket, self.prefix = bucket, prefix.strip("/") + "/"
        self._errors = self.client.exceptions

    def generations(self) -> list[int]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        names = [item["Key"][len(self.prefix) :] for page in pages for item in page.get("Contents", [])]
        return sorted(g for g in map(_generation, names) if g is not None)

    def read(self, generation: int) -> dict[str, Any]:
        body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _name(generation))["Body"]
        return json.loads(body.read())

    def create(self, generation: int, record: dict[str, Any]) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.prefix + _name(generation), Body=json.dumps(record), IfNoneMatch="*"
            )
        except ClientError as error:
            # 412: the object exists; 409: a concurrent conditional write of the same key is in flight.
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (409, 412):
                return False
            raise
        return True

    def overwrite(self, generation: int, record: dict[str, Any]) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + _name(generation), Body=json.dumps(record))


def check_supported(warehouse: str) -> None:
    """Day locks live beside the tables: the warehouse must be a local path, `file://` or `s3a://`."""
    scheme = urlparse(warehouse).scheme
    if scheme not in ("", "file", *_S3_SCHEMES):
        raise ConfigError(f"warehouse {warehouse}: day locks need a local, file:// or s3a:// warehouse")


def _records(warehouse: str, day: date) -> _RecordStore:
    check_supported(warehouse)
    parsed = urlparse(warehouse)
    relative = f"{LOCKS_DIR}/dt={day.isoformat()}"
    if parsed.scheme in _S3_SCHEMES:
        return _S3Records(parsed.netloc, f"{parsed.path.strip('/')}/{relative}".lstrip("/"))
    base = parsed.path if parsed.scheme == "file" else warehouse
    return _LocalRecords(os.path.join(os.path.abspath(base), relative))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(record: dict[str, Any], *, now: float, expiry_seconds: float, host: str) -> bool:
    """Whether a lock record no longer protects its day."""
    if record.get("released"):
        return True
    if now - float(record["heartbeat_at"]) > expiry_seconds:
        return True
    return record.get("host") == host and not _process_alive(int(record["pid"]))


def describe(record: dict[str, Any], now: float) -> str:
    age = now - float(record["heartbeat_at"])
    return f"run {record['run_id']} (host {record['host']}, pid {record['pid']}, heartbeat {age:.0f}s ago)"


@dataclass
class DayLock:
    """The lock of one day for one run: `with DayLock(...):` holds it, renewing it in the background."""

    warehouse: str
    day: date
    run_id: str
    config: LockConfig

    def __post_init__(self) -> None:
        self._store = _records(self.warehouse, self.day)
        self._generation = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost = False
        self._token = ""

    def _record(self, *, released: bool = False) -> dict[str, Any]:
        now = time.time()
        return {
            "run_id": self.run_id,
            "token": self._token,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "day": self.day.isoformat(),
            "heartbeat_at": now,
            "released": released,
        }

    def acquire(self) -> None:
        """Take the day or raise `DayRefused` naming the run that holds it."""
        generations = self._store.generations()
        if generations:
            latest = generations[-1]
            record = self._store.read(latest)
            now = time.time()
            if not is_stale(record, now=now, expiry_seconds=self.config.expiry_seconds, host=socket.gethostname()):
                raise DayRefused(f"{self.day} is held by {describe(record, now)}")
            generation = latest + 1
        else:
            generation = 0
        # A token of this acquisition alone: a conditional PUT whose answer was lost and that the client sent again
        # is refused (412) by the record it wrote itself, which the token tells from another run's, even one
        # with the same run id.
        self._token = uuid.uuid4().hex
        if not self._store.create(generation, self._record()):
            holder = self._store.read(generation)
            if holder.get("token") != self._token:
                raise DayRefused(f"{self.day} was just taken by {describe(holder, time.time())}")
        self._generation = generation
        self._thread = threading.Thread(target=self._beat, name=f"day-lock-{self.day}", daemon=True)
        self._thread.start()

    def _superseded(self) -> bool:
        return any(generation > self._generation for generation in self._store.generations())

    def _beat(self) -> None:
        while not self._stop.wait(self.config.heartbeat_seconds):
            try:
                if self._superseded():
                    self._lost = True
                    return
                self._store.overwrite(self._generation, self._record())
            except Exception:  # a storage hiccup must not end the heartbeat: the next beat retries
                continue

    def ensure_held(self) -> None:
        """Raise `DayLockLost` if another run took the day over (this run was presumed dead)."""
        if self._lost or self._superseded():
            raise DayLockLost(f"{self.day}: the day's lock was taken over by another run")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if not self._superseded():
            self._store.overwrite(self._generation, self._record(released=True))

    def __enter__(self) -> DayLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
