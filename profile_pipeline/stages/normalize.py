"""Normalization: retention and device classification (SPEC Part II §4.8, Part I §I.10)."""

from __future__ import annotations

from typing import Any

from profile_pipeline.stages.context import StageContext
from profile_pipeline.work import FAILED_NORMALIZATION, ProfileWork

# Inverse of Sentry's DEVICE_CLASS = {"low": {"1"}, "medium": {"2"}, "high": {"3"}}.
REVERSE_DEVICE_CLASS = {"1": "low", "2": "medium", "3": "high"}


def retention_days(reference_days: int | None, message: dict[str, Any], default: int) -> int:
    """§I.10: the reference table's value, else the message's `retention_days`, else the default."""
    if reference_days:
        return reference_days
    from_message = message.get("retention_days")
    # Relay sends a u16; anything else is not a retention.
    if isinstance(from_message, int) and not isinstance(from_message, bool) and 0 < from_message < 2**16:
        return from_message
    return default


def normalize_profile(profile: dict[str, Any], retention: int) -> None:
    """Set retention and classify the device from `transaction_tags["device.class"]` ([B])."""
    if profile.get("normalized"):
        return
    profile["retention_days"] = retention
    if profile.get("platform") in ("cocoa", "android") and profile.get("version") != "2":
        # As in Sentry: tags that are null or not a map fail normalization; a missing map is empty.
        device_class = profile.get("transaction_tags", {}).get("device.class")
        if device_class:
            classification = REVERSE_DEVICE_CLASS.get(device_class, "unknown")
            if profile.get("version") == "1":
                # Sentry indexes `device` directly: a v1 profile without it fails normalization.
                profile["device"]["classification"] = classification
            else:
                profile["device_classification"] = classification
    profile["normalized"] = True


def normalize_batch(works: list[ProfileWork], ctx: StageContext) -> None:
    default = ctx.config.options.default_retention_days
    for work in works:
        reference = ctx.reference.retention_days(work.organization_id, work.project_id)
        try:
            normalize_profile(work.profile, retention_days(reference, work.message, default))
        except Exception as error:
            work.fail(FAILED_NORMALIZATION, f"{type(error).__name__}: {error}")
