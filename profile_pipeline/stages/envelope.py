"""From an ingest message to a profile: validation, sampling gate, envelope merge, ids (SPEC Part II §4.1 to 4.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from profile_pipeline.adapters.ingest import BadInput, RawMessage
from profile_pipeline.config import JobConfig
from profile_pipeline.formats import UnknownFormat, assign_event_id, detect_format, id_fields, is_valid_id
from profile_pipeline.work import ProfileWork, Source


@dataclass(frozen=True)
class Dropped:
    """A message the sampling gate dropped: no outcome, counted in `job_runs` (SPEC §4.1, §I.4)."""

    source: Source


_REQUIRED_INTEGERS = ("organization_id", "project_id", "received")
# Ids and times are 64-bit signed columns downstream (and in Sentry's database).
_MAX_INTEGER = 2**63 - 1


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(profile: dict[str, Any], *path: str) -> int:
    node: Any = profile
    for key in path:
        if not isinstance(node, dict):
            return 0
        node = node.get(key)
    return len(node) if isinstance(node, list | dict) else 0


def _limit_error(profile: dict[str, Any], config: JobConfig) -> str | None:
    """A message naming the first per-profile size limit the payload exceeds, if any."""
    limits = config.limits
    inner = profile.get("profile") if isinstance(profile.get("profile"), dict) else {}
    legacy = profile.get("sampled_profile") if isinstance(profile.get("sampled_profile"), dict) else {}
    checks = (
        ("frames", _count(inner, "frames"), limits.max_frames),
        ("samples", max(_count(inner, "samples"), _count(legacy, "samples")), limits.max_samples),
        ("stacks", _count(inner, "stacks"), limits.max_stacks),
        ("methods", _count(inner, "methods"), limits.max_methods),
    )
    for name, count, limit in checks:
        if count > limit:
            return f"profile has {count} {name}, over the limit of {limit}"
    return None


def open_message(message: RawMessage, config: JobConfig) -> ProfileWork | BadInput | Dropped:
    """Validate one ingest message and merge its envelope into the profile it carries."""
    value, source, raw = message.value, message.source, message.raw

    def bad(kind: str, text: str, **known: Any) -> BadInput:
        return BadInput(source, kind, text, raw, **known)

    if not isinstance(value, dict):
        return bad("not_a_map", f"ingest message is a msgpack {type(value).__name__}, not a map")
    for key in (*_REQUIRED_INTEGERS, "payload"):
        if key not in value:
            return bad(f"missing_field:{key}", f"ingest message has no {key!r} key")
    for key in _REQUIRED_INTEGERS:
        if not _is_int(value[key]) or not 0 <= value[key] <= _MAX_INTEGER:
            return bad(f"bad_type:{key}", f"{key} must be a non-negative 64-bit integer, not {value[key]!r:.80}")
    known = {"organization_id": value["organization_id"], "project_id": value["project_id"]}
    chunk = value.get("type") == "profile_chunk"
    sampled = value.get("sampled", True)
    if not isinstance(sampled, bool):
        return bad("bad_type:sampled", f"sampled must be a boolean, not {sampled!r:.80}", chunk=chunk, **known)
    known.update(chunk=chunk, sampled=sampled)
    for key in ("key_id", "retention_days"):
        if value.get(key) is not None and not (_is_int(value[key]) and abs(value[key]) <= _MAX_INTEGER):
            return bad(f"bad_type:{key}", f"{key} must be an integer or nil, not {value[key]!r:.80}", **known)
    # Kept with a quarantined message so that its row expires with the message's retention.
    known["retention_days"] = value.get("retention_days")

    # §4.1: the consumer drops unsampled messages before their payload is even decoded.
    if not sampled and not config.options.unsampled_profiles_enabled:
        return Dropped(source)

    payload = value["payload"]
    if not isinstance(payload, bytes | str):
        return bad("bad_type:payload", f"payload must be bytes, not {type(payload).__name__}", **known)
    if len(payload) > config.limits.max_payload_bytes:
        return bad(
            "too_large", f"payload of {len(payload)} bytes is over the limit of {config.limits.max_payload_bytes}"
        )
    try:
        profile = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        return bad("payload_not_json", f"payload is not JSON: {error}", **known)
    if not isinstance(profile, dict):
        return bad("unknown_format", f"payload is a JSON {type(profile).__name__}, not an object", **known)
    try:
        fmt = detect_format(profile)
    except UnknownFormat as error:
        return bad("unknown_format", str(error), **known)
    known["chunk"] = "profiler_id" in profile
    for key in id_fields(fmt):
        if key not in profile:
            return bad(f"missing_field:{key}", f"{fmt} payload has no {key!r}", **known)
        if not is_valid_id(profile[key]):
            return bad(f"bad_type:{key}", f"{key} must be a 32-hex UUID, not {profile[key]!r:.80}", **known)
    known["event_id"] = profile[id_fields(fmt)[0]]
    if not isinstance(profile.get("platform"), str):
        return bad("bad_type:platform", "payload has no platform string", **known)
    limit_error = _limit_error(profile, config)
    if limit_error:
        return bad("too_large", limit_error, **known)

    # §4.2 envelope merge, §4.3 ids.
    profile["organization_id"] = value["organization_id"]
    profile["project_id"] = value["project_id"]
    profile["received"] = value["received"]
    profile["sampled"] = sampled
    assign_event_id(profile)
    envelope = {key: item for key, item in value.items() if key != "payload"}
    return ProfileWork(source=source, raw=raw, message=envelope, profile=profile, format=fmt, sampled=sampled)
