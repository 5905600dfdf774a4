"""Format detection and identifiers (SPEC Part II §3.1 and §4.3)."""

from __future__ import annotations

import re
from typing import Any

SAMPLE_V1 = "sample_v1"
SAMPLE_V2 = "sample_v2"
ANDROID = "android"
ANDROID_CHUNK = "android_chunk"
LEGACY = "legacy"

_ID_PATTERN = re.compile(r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})$")


class UnknownFormat(ValueError):
    """The payload is JSON but not a profile format of SPEC Part II §3.1."""


def detect_format(profile: dict[str, Any]) -> str:
    """The format of a payload, in the order of SPEC Part II §3.1."""
    if "version" in profile:
        version = profile["version"]
        if version == "1":
            return SAMPLE_V1
        if version == "2":
            return SAMPLE_V2
        if version == "2.android-trace":
            return ANDROID_CHUNK
        raise UnknownFormat(f"unknown profile version {version!r}")
    if profile.get("platform") == "android":
        return ANDROID_CHUNK if "profiler_id" in profile else ANDROID
    if "sampled_profile" in profile:
        return LEGACY
    raise UnknownFormat("payload has no version, is not android and has no sampled_profile")


def is_chunk(profile: dict[str, Any]) -> bool:
    """The chunk predicate of [B] (SPEC §I.10): a continuous-profiling chunk has a profiler id."""
    return "profiler_id" in profile


def get_event_id(profile: dict[str, Any]) -> str | None:
    """The id used for outcomes and Symbolicator headers: chunk id, else profile id, else event id.

    An id that is not a string (a v1 profile may carry any `chunk_id`) is taken as its text; null stays null.
    """
    for key in ("chunk_id", "profile_id", "event_id"):
        if key in profile:
            value = profile[key]
            return value if isinstance(value, str) or value is None else str(value)[:200]
    return None


def id_fields(fmt: str) -> tuple[str, ...]:
    """The identifier keys a payload of this format must carry."""
    if fmt in (SAMPLE_V2, ANDROID_CHUNK):
        return ("chunk_id", "profiler_id")
    if fmt == SAMPLE_V1:
        return ("event_id",)
    return ("profile_id",)


def is_valid_id(value: Any) -> bool:
    """A UUID in Relay's 32-hex form or the dashed form; safe to use inside a storage path."""
    return isinstance(value, str) and bool(_ID_PATTERN.match(value))


def assign_event_id(profile: dict[str, Any]) -> None:
    """§4.3 step 1: legacy and android profiles gain an `event_id` equal to their `profile_id`."""
    if "profile_id" in profile:
        profile["event_id"] = profile["profile_id"]
