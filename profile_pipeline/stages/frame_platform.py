"""Frame platform defaults (SPEC Part II §4.9), including [C]'s in_app rules for Android sample v2."""

from __future__ import annotations

from typing import Any

from profile_pipeline.stages.context import StageContext
from profile_pipeline.work import FAILED_NORMALIZATION, ProfileWork

_ANDROID_SYSTEM_PACKAGES = (
    "android.",
    "androidx.",
    "com.android.",
    "com.google.android.",
    "com.motorola.",
    "java.",
    "javax.",
    "kotlin.",
    "kotlinx.",
    "retrofit2.",
    "sun.",
)


def _entries(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """The frames (or Android methods) of a profile.

    A legacy `sampled_profile` keeps its frames inside each sample, also after symbolication renamed it
    to `profile`. Sentry indexes `profile.frames` there and raises (an uncaught task error, no outcome);
    the batch job sets the platform on the samples' frames instead and lets vroom judge the profile.
    """
    inner = profile.get("profile", profile.get("sampled_profile"))
    if profile["platform"] == "android" and "methods" in inner:
        return inner["methods"]
    if "frames" not in inner and "samples" in inner:
        return [frame for sample in inner["samples"] for frame in sample.get("frames", [])]
    return inner["frames"]


def set_frames_platform(profile: dict[str, Any]) -> None:
    """Give every frame (or Android method) without a platform the profile's platform."""
    platform = profile["platform"]
    for entry in _entries(profile):
        if "platform" not in entry:
            entry["platform"] = platform
    if platform == "android" and profile.get("version") == "2":
        for frame in profile["profile"]["frames"]:
            if "in_app" in frame:
                continue
            if frame.get("platform") == "java":
                frame["in_app"] = not str(frame.get("module") or "").startswith(_ANDROID_SYSTEM_PACKAGES)
            elif frame.get("platform") == "native":
                frame["in_app"] = False


def set_frames_platform_batch(works: list[ProfileWork], ctx: StageContext) -> None:
    for work in works:
        try:
            set_frames_platform(work.profile)
        except (KeyError, TypeError) as error:
            # Sentry raises here (an uncaught task error, no outcome); the batch job must not lose the
            # profile, so it is quarantined under the normalization reason.
            work.fail(FAILED_NORMALIZATION, f"frame platform: {type(error).__name__}: {error}")
