"""A whole input day: objects of msgpack streams mixing every format, unsampled messages and bad input.

`write_day` streams each object to disk one message at a time and returns a `DayManifest` that says
what a correct job run must account for: good profiles by format, expected quarantine records by error
kind, and unsampled messages.
"""

from __future__ import annotations

import gzip
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import zstandard

from profile_pipeline.config import Limits
from profile_pipeline.formats import LEGACY, SAMPLE_V1
from synthetic.bad import BadRecord, bad_messages, bad_objects, bad_tails
from synthetic.catalog import FIXTURES
from synthetic.messages import ingest_message, pack
from synthetic.profiles import KINDS, ProfileSpec, generate

FIXTURE_MESSAGE = "ingest/python-sample-v1.msgpack"
FIXTURE_KIND = "fixture_python_v1"

# Projects by organization; project 3 has stack-trace rules in the shipped reference data.
_PROJECTS = {2: 1, 3: 1, 4: 2, 5: 2, 6: 3, 7: 3}
_UNSAMPLED_SHARE = 0.1
# Bad records larger than this go to an object of their own, always zstd-compressed.
_OVERSIZE = 1024 * 1024
_GOOD_BEFORE_TAIL = 2


@dataclass
class DayManifest:
    """What was written, so that a test or benchmark can check the job's accounting."""

    day: str
    objects: list[str] = field(default_factory=list)
    profiles: int = 0  # good messages (sampled or not), the real fixture message included
    unsampled: int = 0  # good messages with `sampled: false`
    by_format: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    quarantine: Counter[str] = field(default_factory=Counter)  # expected error kind -> records
    payload_bytes: int = 0  # JSON of the good payloads
    object_bytes: int = 0  # on disk

    def to_dict(self) -> dict[str, Any]:
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        return {key: dict(value) if isinstance(value, Counter) else value for key, value in values.items()}


_SUFFIXES = {None: "", "gz": ".gz", "zst": ".zst"}


@contextmanager
def _open_object(path: Path, compression: str | None) -> Iterator[IO[bytes]]:
    with open(path, "wb") as raw:
        if compression == "gz":
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as stream:
                yield stream
        elif compression == "zst":
            with zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False) as stream:
                yield stream
        else:
            yield raw


class _DayWriter:
    def __init__(
        self,
        directory: Path,
        rng: random.Random,
        day: str,
        target_bytes: int,
        unsampled_share: float,
        legacy_profiles: int | None,
    ):
        self.directory = directory
        self.manifest = DayManifest(day)
        self.rng = rng
        self.day_start = int(datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).timestamp())
        self.target_bytes = target_bytes
        self.unsampled_share = unsampled_share
        self.kinds = sorted(KINDS)
        self.legacy_profiles = legacy_profiles
        # With a fixed count of legacy profiles, the rest of the day (broken tails included) is of live formats.
        legacy = {kind for kind in self.kinds if KINDS[kind].format == LEGACY}
        self.filler_kinds = self.kinds if legacy_profiles is None else [k for k in self.kinds if k not in legacy]
        self.legacy_kinds = sorted(legacy)

    def day_kinds(self, profiles: int) -> list[str]:
        """The kinds of the day's generated profiles, in random order."""
        legacy = min(profiles, self.legacy_profiles or 0)
        kinds = [self.legacy_kinds[index % len(self.legacy_kinds)] for index in range(legacy)]
        kinds += [self.filler_kinds[index % len(self.filler_kinds)] for index in range(profiles - legacy)]
        self.rng.shuffle(kinds)
        return kinds

    def object_path(self, suffix: str) -> Path:
        path = self.directory / f"part-{len(self.manifest.objects):05d}.msgpack{suffix}"
        self.manifest.objects.append(path.name)
        return path

    def good(self, stream: IO[bytes], kind: str) -> None:
        """Write one generated profile of `kind` as a good message."""
        rng = self.rng
        received = self.day_start + rng.randrange(60, 86_340)
        spec = ProfileSpec(target_bytes=self.target_bytes, start=received - rng.uniform(1.0, 30.0))
        profile = generate(kind, rng, spec)
        kind_index = self.kinds.index(kind)
        project_id = rng.choice((2, 3)) if kind.startswith("python") else 4 + kind_index % 4
        chunk = "profiler_id" in profile
        roll = rng.random()
        # Chunks never carry the header; of the profiles most leave it out, some say true or false.
        sampled = None if chunk or roll > 0.4 else roll >= self.unsampled_share
        message = ingest_message(
            profile,
            organization_id=_PROJECTS[project_id],
            project_id=project_id,
            received=received,
            sampled=sampled,
            key_id=None if chunk else 1000 + project_id,
        )
        stream.write(pack(message))
        self.count(kind, len(message["payload"]), sampled is False)

    def count(self, kind: str, payload_bytes: int, unsampled: bool) -> None:
        manifest = self.manifest
        manifest.profiles += 1
        manifest.unsampled += unsampled
        manifest.by_kind[kind] += 1
        manifest.by_format[KINDS[kind].format if kind in KINDS else SAMPLE_V1] += 1
        manifest.payload_bytes += payload_bytes

    def bad(self, stream: IO[bytes], record: BadRecord) -> None:
        stream.write(record.data)
        self.manifest.quarantine[record.kind] += 1


def write_day(
    root: str | Path,
    day: str,
    *,
    profiles: int = 1000,
    objects: int = 4,
    seed: int = 0,
    compression: str | None = None,
    include_bad: bool = True,
    include_unsampled: bool = True,
    unsampled_share: float = _UNSAMPLED_SHARE,
    target_bytes: int = 100_000,
    limits: Limits | None = None,
    oversize: bool = True,
    legacy_profiles: int | None = None,
) -> DayManifest:
    """Write `<root>/dt=<day>/part-NNNNN.msgpack[.gz|.zst]` and say what is in it.

        `profiles` good generated profiles (every kind in turn, in random order) are spread over `objects`
        objects, plus the real fixture message once. With `include_bad`, every bad message of
        `synthetic.bad` is mixed in, and further objects hold the broken streams and objects; bad
        records over 1 MiB (`oversize`: a message over `limits.max_message_bytes`) go to a zstd object of their
        own. Without `include_unsampled` every message counts as sampled; with it, of the profiles that carry
    the `sampled` key (four in ten), those whose draw is under `unsampled_share` are unsampled.
    `legacy_profiles` fixes how many profiles are of the dead legacy `sampled_profile` format (which fail
    the vroom stage); by default they take their turn like every kind.
    """
    if compression not in _SUFFIXES:
        raise ValueError(f"compression must be None, 'gz' or 'zst', not {compression!r}")
    directory = Path(root) / f"dt={day}"
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    share = unsampled_share if include_unsampled else 0.0
    writer = _DayWriter(directory, rng, day, target_bytes, share, legacy_profiles)
    manifest = writer.manifest

    kinds = writer.day_kinds(profiles)
    bad_records = []
    if include_bad:
        bad_records = bad_messages(rng, received=writer.day_start + 3600, limits=limits, oversize=oversize)
    singles = [record for record in bad_records if len(record.data) <= _OVERSIZE]
    suffix = _SUFFIXES[compression]
    objects = max(1, objects)
    for index in range(objects):
        own_kinds = kinds[index * len(kinds) // objects : (index + 1) * len(kinds) // objects]
        own_bad = singles[index::objects]
        with _open_object(writer.object_path(suffix), compression) as stream:
            if index == 0:
                fixture = (FIXTURES / FIXTURE_MESSAGE).read_bytes()
                stream.write(fixture)
                writer.count(FIXTURE_KIND, len(fixture), False)
            slots = sorted(rng.sample(range(len(own_kinds) + len(own_bad)), len(own_bad)))
            bad_iter, kind_iter = iter(own_bad), iter(own_kinds)
            for position in range(len(own_kinds) + len(own_bad)):
                if slots and slots[0] == position:
                    slots.pop(0)
                    writer.bad(stream, next(bad_iter))
                else:
                    writer.good(stream, next(kind_iter))
    if include_bad:
        _write_broken(writer, rng, suffix, compression, [r for r in bad_records if len(r.data) > _OVERSIZE])
    manifest.object_bytes = sum((directory / name).stat().st_size for name in manifest.objects)
    return manifest


def _write_broken(
    writer: _DayWriter, rng: random.Random, suffix: str, compression: str | None, oversized: list[BadRecord]
) -> None:
    """Objects whose stream breaks after good messages, objects with no stream, and the oversized records."""
    for record in bad_tails(rng, received=writer.day_start + 7200):
        with _open_object(writer.object_path(suffix), compression) as stream:
            for _ in range(_GOOD_BEFORE_TAIL):
                writer.good(stream, rng.choice(writer.filler_kinds))
            writer.bad(stream, record)
    for record in bad_objects():
        with open(writer.object_path(record.suffix), "wb") as stream:
            writer.bad(stream, record)
    if oversized:
        with _open_object(writer.object_path(".zst"), "zst") as stream:
            for record in oversized:
                writer.bad(stream, record)
