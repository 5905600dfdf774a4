"""The output tables of SPEC §I.4: their columns (as Arrow schemas, the one source of truth) and rows.

Every table has `dt` (the input day, the partition column) and `run_id`. The job's workers emit one
staged record per output row: a struct column per table of which exactly one is set.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson
import pyarrow as pa
import zstandard

from profile_pipeline.formats import ANDROID_CHUNK, SAMPLE_V2, is_chunk
from profile_pipeline.stages.outcomes import profile_duration_ms
from profile_pipeline.stages.symbolication.summary import symbolication_summary
from profile_pipeline.work import ProfileWork

_TS = pa.timestamp("us", tz="UTC")
_COMMON = [pa.field("dt", pa.date32()), pa.field("run_id", pa.string())]
# The days its profile is kept (docs/design.md, "Retention and erasure"): a row expires on its own day plus these.
_RETENTION = pa.field("retention_days", pa.int32())

PROFILES = pa.schema(
    [
        *_COMMON,
        pa.field("organization_id", pa.int64()),
        pa.field("project_id", pa.int64()),
        pa.field("event_id", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("profiler_id", pa.string()),
        pa.field("platform", pa.string()),
        pa.field("format", pa.string()),
        pa.field("release", pa.string()),
        pa.field("environment", pa.string()),
        pa.field("transaction_name", pa.string()),
        pa.field("received", _TS),
        pa.field("timestamp", _TS),
        pa.field("sampled", pa.bool_()),
        pa.field("retention_days", pa.int32()),
        pa.field("duration_ms", pa.int64()),
        pa.field("device_model", pa.string()),
        pa.field("device_manufacturer", pa.string()),
        pa.field("device_architecture", pa.string()),
        pa.field("device_classification", pa.string()),
        pa.field("os_name", pa.string()),
        pa.field("os_version", pa.string()),
        pa.field("os_build_number", pa.string()),
        pa.field("sdk_name", pa.string()),
        pa.field("sdk_version", pa.string()),
        pa.field("frames_total", pa.int64()),
        pa.field("frames_symbolicated", pa.int64()),
        pa.field("symbolicator_error", pa.string()),
        pa.field("deobfuscated", pa.bool_()),
        pa.field("source_path", pa.string()),
        pa.field("source_offset", pa.int64()),
        pa.field("payload", pa.binary()),
    ]
)

OUTCOMES = pa.schema(
    [
        *_COMMON,
        pa.field("timestamp", _TS),
        pa.field("org_id", pa.int64()),
        pa.field("project_id", pa.int64()),
        pa.field("key_id", pa.int64()),
        pa.field("outcome", pa.int32()),
        pa.field("outcome_name", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("event_id", pa.string()),
        pa.field("category", pa.int32()),
        pa.field("category_name", pa.string()),
        pa.field("quantity", pa.int64()),
        _RETENTION,
    ]
)

QUARANTINE = pa.schema(
    [
        *_COMMON,
        pa.field("source_path", pa.string()),
        pa.field("source_offset", pa.int64()),
        pa.field("source_length", pa.int64()),
        pa.field("raw", pa.binary()),
        # Set instead of `raw` when the record is over the quarantine size limit: where to find it.
        pa.field("raw_reference", pa.string()),
        pa.field("error_kind", pa.string()),
        pa.field("error_message", pa.string()),
        pa.field("organization_id", pa.int64()),
        pa.field("project_id", pa.int64()),
        pa.field("event_id", pa.string()),
        # Raised where no step expected it (a fault of the job, not of the input): counted apart in job_runs.
        pa.field("unexpected", pa.bool_()),
        _RETENTION,
    ]
)

FUNCTIONS = pa.schema(
    [
        *_COMMON,
        pa.field("organization_id", pa.int64()),
        pa.field("project_id", pa.int64()),
        pa.field("profile_id", pa.string()),
        pa.field("platform", pa.string()),
        pa.field("release", pa.string()),
        pa.field("environment", pa.string()),
        pa.field("transaction_name", pa.string()),
        pa.field("timestamp", _TS),
        pa.field("profiling_type", pa.string()),
        pa.field("start_timestamp", pa.float64()),
        pa.field("end_timestamp", pa.float64()),
        # An unsigned 64-bit hash: kept exact as a decimal, Spark has no unsigned integers.
        pa.field("fingerprint", pa.decimal128(20, 0)),
        pa.field("function", pa.string()),
        pa.field("package", pa.string()),
        pa.field("in_app", pa.bool_()),
        pa.field("self_times_ns", pa.list_(pa.int64())),
        pa.field("thread_id", pa.string()),
        _RETENTION,
    ]
)

OCCURRENCES = pa.schema(
    [
        *_COMMON,
        pa.field("organization_id", pa.int64()),
        pa.field("project_id", pa.int64()),
        pa.field("profile_id", pa.string()),
        pa.field("occurrence", pa.string()),
        _RETENTION,
    ]
)

CHUNKS = pa.schema(
    [
        *_COMMON,
        pa.field("organization_id", pa.int64()),
        pa.field("project_id", pa.int64()),
        pa.field("profiler_id", pa.string()),
        pa.field("chunk_id", pa.string()),
        pa.field("start_timestamp", pa.float64()),
        pa.field("end_timestamp", pa.float64()),
        pa.field("duration_ms", pa.int64()),
        pa.field("received", pa.int64()),
        pa.field("retention_days", pa.int32()),
        pa.field("environment", pa.string()),
        pa.field("platform", pa.string()),
        pa.field("release", pa.string()),
        pa.field("sdk_name", pa.string()),
        pa.field("sdk_version", pa.string()),
    ]
)

# Written by `jobs/detect_regressions.py`, not by the processing job: one row per function regression, on the
# day (`dt`) its detection first showed it. The sides are the days before the breakpoint and from it on,
# within the detection's window; p95s are of self times, examples the profiles with the longest self time.
FUNCTION_REGRESSIONS = pa.schema(
    [
        *_COMMON,
        pa.field("organization_id", pa.int64()),
        pa.field("project_id", pa.int64()),
        pa.field("fingerprint", pa.decimal128(20, 0)),
        pa.field("function", pa.string()),
        pa.field("package", pa.string()),
        pa.field("breakpoint_day", pa.date32()),
        pa.field("p95_before_ns", pa.int64()),
        pa.field("p95_after_ns", pa.int64()),
        pa.field("count_before", pa.int64()),
        pa.field("count_after", pa.int64()),
        pa.field("profiles_before", pa.int64()),
        pa.field("profiles_after", pa.int64()),
        pa.field("examples_before", pa.list_(pa.string())),
        pa.field("examples_after", pa.list_(pa.string())),
    ]
)

# Messages the sampling gate dropped, and those of erased organizations and projects: counted, never stored.
DROPPED = pa.schema([pa.field("source_path", pa.string()), pa.field("source_offset", pa.int64())])

TABLES: dict[str, pa.Schema] = {
    "profiles": PROFILES,
    "outcomes": OUTCOMES,
    "quarantine": QUARANTINE,
    "functions": FUNCTIONS,
    "occurrences": OCCURRENCES,
    "chunks": CHUNKS,
}

STAGED = pa.schema(
    [pa.field(name, pa.struct(list(schema))) for name, schema in TABLES.items()]
    + [pa.field("dropped", pa.struct(list(DROPPED))), pa.field("erased", pa.struct(list(DROPPED)))]
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _timestamp(value: Any) -> datetime | None:
    """A profile timestamp: RFC 3339 text or Unix seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _first_sample_timestamp(profile: dict[str, Any]) -> datetime | None:
    samples = (profile.get("profile") or {}).get("samples") or []
    numbers = [
        stamp
        for sample in samples
        if isinstance(sample, dict)
        and isinstance(stamp := sample.get("timestamp"), int | float)
        and not isinstance(stamp, bool)
    ]
    return _timestamp(min(numbers)) if numbers else None


def _device(profile: dict[str, Any]) -> dict[str, str | None]:
    """Device and OS columns: nested `device`/`os` in sample formats, flat `device_*` in android/legacy."""
    if "version" in profile:
        device = profile.get("device") if isinstance(profile.get("device"), dict) else {}
        os_info = profile.get("os") if isinstance(profile.get("os"), dict) else {}
        return {
            "device_model": _text(device.get("model")),
            "device_manufacturer": _text(device.get("manufacturer")),
            "device_architecture": _text(device.get("architecture")),
            "device_classification": _text(device.get("classification")),
            "os_name": _text(os_info.get("name")),
            "os_version": _text(os_info.get("version")),
            "os_build_number": _text(os_info.get("build_number")),
        }
    return {
        "device_model": _text(profile.get("device_model")),
        "device_manufacturer": _text(profile.get("device_manufacturer")),
        "device_architecture": _text(profile.get("architecture")),
        "device_classification": _text(profile.get("device_classification")),
        "os_name": _text(profile.get("device_os_name")),
        "os_version": _text(profile.get("device_os_version")),
        "os_build_number": _text(profile.get("device_os_build_number")),
    }


def _transaction_name(profile: dict[str, Any]) -> str | None:
    transaction = profile.get("transaction")
    if isinstance(transaction, dict) and isinstance(transaction.get("name"), str):
        return transaction["name"]
    return _text(profile.get("transaction_name"))


def _json(profile: dict[str, Any]) -> bytes:
    """The profile as JSON; keys that are not strings (rare, and slower to allow for) as strings."""
    try:
        return orjson.dumps(profile)
    except orjson.JSONEncodeError:
        return orjson.dumps(profile, option=orjson.OPT_NON_STR_KEYS)


def profile_row(work: ProfileWork, day: date, run_id: str, compressor: zstandard.ZstdCompressor) -> dict[str, Any]:
    profile = work.profile
    sdk = profile.get("client_sdk") if isinstance(profile.get("client_sdk"), dict) else {}
    timestamp = _timestamp(profile.get("timestamp"))
    if timestamp is None and work.format in (SAMPLE_V2, ANDROID_CHUNK):
        timestamp = _first_sample_timestamp(profile)
    environment = profile.get("environment") or (profile.get("transaction_metadata") or {}).get("environment")
    frames_total, frames_symbolicated = symbolication_summary(profile)
    error = profile.get("symbolicator_error")
    return {
        "dt": day,
        "run_id": run_id,
        "organization_id": work.organization_id,
        "project_id": work.project_id,
        "event_id": profile.get("chunk_id") if is_chunk(profile) else profile.get("event_id"),
        "kind": "chunk" if is_chunk(profile) else "profile",
        "profiler_id": _text(profile.get("profiler_id")),
        "platform": _text(profile.get("platform")),
        "format": work.format,
        "release": _text(profile.get("release")),
        "environment": _text(environment),
        "transaction_name": _transaction_name(profile),
        "received": _timestamp(profile.get("received")),
        "timestamp": timestamp,
        "sampled": work.sampled,
        "retention_days": profile.get("retention_days"),
        "duration_ms": profile_duration_ms(profile),
        **_device(profile),
        "sdk_name": _text(sdk.get("name")),
        "sdk_version": _text(sdk.get("version")),
        "frames_total": frames_total,
        "frames_symbolicated": frames_symbolicated,
        "symbolicator_error": orjson.dumps(error).decode() if error is not None else None,
        "deobfuscated": bool(profile.get("deobfuscated", False)),
        "source_path": work.source.path,
        "source_offset": work.source.offset,
        "payload": compressor.compress(work.payload_json if work.payload_json is not None else _json(profile)),
    }
