"""The embedded vroom mode: vroomrs in-process, as Sentry [C] does (SPEC Part II §8.2).

Per profile: parse with vroomrs, `normalize()`, zero the profile id of an unsampled profile, detect
occurrences (sampled transaction profiles), extract function metrics (always), describe a chunk for the
`snuba-profile-chunks` message, and finally write the compressed blob to the profiles bucket (sampled
profiles and every chunk). The blob is written last so that a profile that fails leaves nothing behind.
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import orjson

# A vroomrs panic is one profile's failure (its message goes to quarantine); without this, a worker
# started with RUST_BACKTRACE set would print a full native backtrace for every such profile.
os.environ["RUST_BACKTRACE"] = "0"

import vroomrs

from profile_pipeline.adapters.infrastructure import is_infrastructure_fault
from profile_pipeline.formats import is_chunk
from profile_pipeline.stages.metrics_dsn import redact_dsn
from profile_pipeline.stages.vroom.blobs import write_blob
from profile_pipeline.work import FAILED_VROOMRS_PROCESSING, ProfileWork

ZEROED_PROFILE_ID = "00000000000000000000000000000000"
# Sentry's parameters for the functions it sends to `profiles-call-tree`.
FUNCTIONS_MIN_DEPTH = 1
FUNCTIONS_FILTER_SYSTEM_FRAMES = True
MAX_UNIQUE_FUNCTIONS = 100


class NotAProfile(ValueError):
    """A payload with neither a profiler id (chunk) nor an event or profile id (transaction profile)."""


@dataclass
class Processed:
    """What vroomrs made of one profile, applied to its work only when every step succeeded."""

    payload_json: bytes  # the profile as vroomrs read it
    functions: list[dict[str, Any]]
    occurrences: list[dict[str, Any]] = field(default_factory=list)
    chunk_metadata: dict[str, Any] | None = None
    blob: tuple[str, bytes] | None = None  # (storage path, lz4 bytes)


# Blobs are written by a few threads while the next profiles are processed: on object storage each write is
# a request whose latency would otherwise add up, profile after profile. At most this many are in flight,
# which bounds the blobs a worker holds.
BLOB_WRITERS = 4
_BLOBS_IN_FLIGHT = 2 * BLOB_WRITERS
_blob_writers: ThreadPoolExecutor | None = None


def _writers() -> ThreadPoolExecutor:
    global _blob_writers
    if _blob_writers is None:
        _blob_writers = ThreadPoolExecutor(BLOB_WRITERS, thread_name_prefix="blob-writer")
    return _blob_writers


def process_embedded_batch(works: list[ProfileWork], bucket: str) -> None:
    """Process each profile alone: an error or a Rust panic fails that profile, never the batch.

    A profile's results are set on its work only once its blob is written, so that a profile whose blob
    cannot be written fails whole.
    """
    processed: list[tuple[ProfileWork, Processed, Future[str] | None]] = []
    in_flight: set[Future[str]] = set()
    for work in works:
        try:
            result = process_profile(work.profile, work.sampled)
        except BaseException as error:
            _fail(work, error)
            continue
        written = None
        if result.blob is not None:
            if len(in_flight) >= _BLOBS_IN_FLIGHT:
                in_flight = wait(in_flight, return_when=FIRST_COMPLETED).not_done
            written = _writers().submit(write_blob, bucket, *result.blob)
            in_flight.add(written)
            result.blob = None  # held by the write until it is done, no longer
        processed.append((work, result, written))
    for work, result, written in processed:
        try:
            if written is not None:
                written.result()
        except BaseException as error:
            _fail(work, error)
            continue
        work.functions = result.functions
        work.occurrences = result.occurrences
        work.chunk_metadata = result.chunk_metadata
        work.payload_json = result.payload_json


def _fail(work: ProfileWork, error: BaseException) -> None:
    """Fail the profile, unless the error is the infrastructure's (or an interruption): that fails the task."""
    if is_infrastructure_fault(error) or (not isinstance(error, Exception) and not is_rust_panic(error)):
        raise error
    work.fail(FAILED_VROOMRS_PROCESSING, redact_dsn(f"{type(error).__name__}: {error}", work.profile))


def is_rust_panic(error: BaseException) -> bool:
    """pyo3 raises a Rust panic as `PanicException`, which derives from BaseException, not Exception."""
    return type(error).__name__ == "PanicException"


def process_profile(profile: dict[str, Any], sampled: bool) -> Processed:
    """Run vroomrs over one profile dict; raises whatever vroomrs raises (panics included)."""
    payload = orjson.dumps(profile)
    if is_chunk(profile):
        return _process_chunk(payload, str(profile.get("version") or ""))
    if "event_id" in profile or "profile_id" in profile:
        return _process_transaction_profile(payload, profile.get("platform"), sampled)
    raise NotAProfile("payload has no profiler_id, event_id or profile_id")


def _process_transaction_profile(payload: bytes, platform: Any, sampled: bool) -> Processed:
    profile = vroomrs.profile_from_json_str(payload.decode(), platform if isinstance(platform, str) else None)
    profile.normalize()
    if not sampled:
        profile.set_profile_id(ZEROED_PROFILE_ID)
    processed = Processed(payload, functions=_functions(profile, "transaction"))
    if sampled:
        occurrences = profile.find_occurrences()
        occurrences.filter_none_type_issues()
        processed.occurrences = [{"occurrence": occurrence.to_json_str()} for occurrence in occurrences.occurrences]
        processed.blob = (profile.storage_path(), profile.compress())
    return processed


def _process_chunk(payload: bytes, version: str) -> Processed:
    # "" and "2.android-trace" select the android trace parser, any other version sample v2.
    chunk = vroomrs.profile_chunk_from_json_str_and_version(payload.decode(), version)
    chunk.normalize()
    start, end = chunk.start_timestamp(), chunk.end_timestamp()
    return Processed(
        payload,
        functions=_functions(chunk, "continuous", start, end),
        chunk_metadata={
            "chunk_id": chunk.get_chunk_id(),
            "duration_ms": chunk.duration_ms(),
            "end_timestamp": end,
            "environment": chunk.get_environment(),
            "platform": chunk.get_platform(),
            "profiler_id": chunk.get_profiler_id(),
            "project_id": chunk.get_project_id(),
            "received": int(chunk.get_received()),
            "release": chunk.get_release(),
            "retention_days": chunk.get_retention_days(),
            "sdk_name": chunk.sdk_name(),
            "sdk_version": chunk.sdk_version(),
            "start_timestamp": start,
        },
        # Chunks carry no sampling decision: every chunk is stored.
        blob=(chunk.storage_path(), chunk.compress()),
    )


def _functions(
    profile: Any, profiling_type: str, start: float | None = None, end: float | None = None
) -> list[dict[str, Any]]:
    """Rows for the `functions` table, one per CallTreeFunction."""
    return [
        {
            "fingerprint": function.get_fingerprint(),
            "function": function.get_function(),
            "package": function.get_package(),
            "in_app": function.get_in_app(),
            "self_times_ns": list(function.get_self_times_ns()),
            "thread_id": function.get_thread_id(),
            "profiling_type": profiling_type,
            "start_timestamp": start,
            "end_timestamp": end,
        }
        for function in profile.extract_functions_metrics(
            min_depth=FUNCTIONS_MIN_DEPTH,
            filter_system_frames=FUNCTIONS_FILTER_SYSTEM_FRAMES,
            max_unique_functions=MAX_UNIQUE_FUNCTIONS,
        )
    ]
