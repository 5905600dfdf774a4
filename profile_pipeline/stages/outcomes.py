"""Outcomes of SPEC Part II §4.13 and §5 ([B] semantics), as rows of the `outcomes` table."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any

from profile_pipeline.formats import get_event_id, is_chunk


class Outcome(IntEnum):
    ACCEPTED = 0
    FILTERED = 1
    RATE_LIMITED = 2
    INVALID = 3
    ABUSE = 4
    CLIENT_DISCARD = 5
    CARDINALITY_LIMITED = 6


class DataCategory(IntEnum):
    PROFILE = 6
    PROFILE_INDEXED = 11
    PROFILE_DURATION = 17
    PROFILE_CHUNK = 18
    PROFILE_DURATION_UI = 25
    PROFILE_CHUNK_UI = 26


CATEGORY_NAMES = {
    DataCategory.PROFILE: "profile",
    DataCategory.PROFILE_INDEXED: "profile_indexed",
    DataCategory.PROFILE_DURATION: "profile_duration",
    DataCategory.PROFILE_CHUNK: "profile_chunk",
    DataCategory.PROFILE_DURATION_UI: "profile_duration_ui",
    DataCategory.PROFILE_CHUNK_UI: "profile_chunk_ui",
}

MAX_DURATION_SAMPLE_V1_MS = 30_000


def outcome_row(
    *,
    timestamp: datetime,
    org_id: int,
    project_id: int,
    outcome: Outcome,
    category: DataCategory,
    reason: str | None = None,
    event_id: str | None = None,
    quantity: int = 1,
) -> dict[str, Any]:
    """One outcome message of §5.2 (`key_id` is always null for profiles)."""
    return {
        "timestamp": timestamp,
        "org_id": org_id,
        "project_id": project_id,
        "key_id": None,
        "outcome": int(outcome),
        "outcome_name": outcome.name,
        "reason": reason,
        "event_id": event_id,
        "category": int(category),
        "category_name": CATEGORY_NAMES[category],
        "quantity": quantity,
    }


def failed_categories(chunk: bool, sampled: bool) -> list[DataCategory]:
    """`_track_failed_outcome`'s categories: chunks count once, profiles also as indexed when sampled."""
    if chunk:
        return [DataCategory.PROFILE_CHUNK]
    if sampled:
        return [DataCategory.PROFILE, DataCategory.PROFILE_INDEXED]
    return [DataCategory.PROFILE]


def failed_outcomes(
    *,
    timestamp: datetime,
    org_id: int,
    project_id: int,
    reason: str,
    event_id: str | None,
    chunk: bool,
    sampled: bool,
) -> list[dict[str, Any]]:
    return [
        outcome_row(
            timestamp=timestamp,
            org_id=org_id,
            project_id=project_id,
            outcome=Outcome.INVALID,
            category=category,
            reason=reason,
            event_id=event_id,
        )
        for category in failed_categories(chunk, sampled)
    ]


def _duration_v1_ns(profile: dict[str, Any]) -> int:
    """The transaction's span, else the samples' span; every value read with `int()` as Sentry reads it.

    SDKs send these as numbers or as decimal strings. Sentry orders the samples by their raw values (text
    order for strings); they are ordered here by their numbers, which is the same for numbers.
    """
    transaction = profile["transaction"]
    duration_ns = int(transaction.get("relative_end_ns", 0)) - int(transaction.get("relative_start_ns", 0))
    if duration_ns <= 0:
        elapsed = [int(sample["elapsed_since_start_ns"]) for sample in profile["profile"]["samples"]]
        duration_ns = max(elapsed) - min(elapsed) if len(elapsed) >= 2 else 0
    return duration_ns


def _duration_v2_ms(profile: dict[str, Any]) -> int:
    """Sample v2 timestamps are taken as they are: seconds as JSON numbers (Sentry does not convert them)."""
    timestamps = [sample["timestamp"] for sample in profile["profile"]["samples"]]
    return int((max(timestamps) - min(timestamps)) * 1e3) if len(timestamps) >= 2 else 0


def profile_duration_ms(profile: dict[str, Any]) -> int:
    """`_calculate_profile_duration_ms` of [B]; 0 (no duration outcome) when the rule cannot read it.

    Sentry computes the duration inside a `try` that swallows any exception: a value its rule cannot read
    (a missing key, null, a string that is not a decimal integer, a container) means no duration outcome,
    never a failed profile.
    """
    version = profile.get("version")
    try:
        if version == "1":
            return min(int(_duration_v1_ns(profile) * 1e-6), MAX_DURATION_SAMPLE_V1_MS)
        if version == "2":
            return _duration_v2_ms(profile)
        if not version and profile.get("platform") == "android":
            return int(profile["duration_ns"] * 1e-6)
    except Exception:
        return 0
    return 0


def success_outcomes(
    profile: dict[str, Any], *, timestamp: datetime, sampled: bool, emit_duration: bool
) -> list[dict[str, Any]]:
    """§4.13 [B] after a successful vroom stage."""
    org_id, project_id = profile["organization_id"], profile["project_id"]
    event_id = get_event_id(profile)
    chunk = is_chunk(profile)
    rows: list[dict[str, Any]] = []
    if sampled and emit_duration:
        duration = profile_duration_ms(profile)
        if duration > 0:
            rows.append(
                outcome_row(
                    timestamp=timestamp,
                    org_id=org_id,
                    project_id=project_id,
                    outcome=Outcome.ACCEPTED,
                    category=DataCategory.PROFILE_DURATION,
                    quantity=duration,
                )
            )
    if chunk:
        return rows
    base = {"timestamp": timestamp, "org_id": org_id, "project_id": project_id, "event_id": event_id}
    rows.append(outcome_row(**base, outcome=Outcome.ACCEPTED, category=DataCategory.PROFILE))
    if sampled:
        rows.append(outcome_row(**base, outcome=Outcome.ACCEPTED, category=DataCategory.PROFILE_INDEXED))
    else:
        rows.append(
            outcome_row(**base, outcome=Outcome.FILTERED, category=DataCategory.PROFILE_INDEXED, reason="sampled")
        )
    return rows
