"""React Native on Android: the `js_profile` of an Android profile (SPEC Part II §4.7).

The JavaScript samples ride inside the Android profile without metadata of their own. They are wrapped
as a sample v1 JavaScript profile that shares the parent's `debug_meta` (its source-map images),
symbolicated as any JavaScript profile, and unwrapped again. Missing `release`/`dist` are null rather
than a KeyError (SPEC §I.10).
"""

from __future__ import annotations

from typing import Any

from profile_pipeline.adapters.symbolicator.backend import get_backend
from profile_pipeline.formats import get_event_id
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.symbolication import symbolicate_profiles
from profile_pipeline.work import FAILED_SYMBOLICATION, ProfileWork

_WRAPPER_KEYS = ("platform", "debug_meta", "version", "event_id", "release", "dist")


def wrap_js_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """Replace `js_profile` by a JavaScript profile around it; the wrapper is returned."""
    wrapped: dict[str, Any] = {
        "profile": profile["js_profile"],
        "platform": "javascript",
        "version": "1",
        "event_id": get_event_id(profile),
        "release": profile.get("release"),
        "dist": profile.get("dist"),
    }
    if "debug_meta" in profile:
        wrapped["debug_meta"] = profile["debug_meta"]  # the same object: image updates reach the parent
    profile["js_profile"] = wrapped
    return wrapped


def unwrap_js_profile(wrapped: dict[str, Any]) -> None:
    """Drop the wrapper's keys; the symbolicated `profile` and symbolication's own keys stay."""
    for key in _WRAPPER_KEYS:
        wrapped.pop(key, None)


def process_js_profiles(works: list[ProfileWork], ctx: StageContext) -> None:
    """The stage: every profile with a `js_profile` has it symbolicated as JavaScript, in one batch.

    With symbolication off the samples are still wrapped and unwrapped, so that `js_profile` has the
    shape that vroom reads (`{"profile": ...}`), only without symbolication.
    """
    config = ctx.config.symbolication
    pending = [(work, wrap_js_profile(work.profile)) for work in works if "js_profile" in work.profile]
    if config.mode == "off":
        for _, wrapped in pending:
            unwrap_js_profile(wrapped)
        return
    if not pending:
        return
    errors = symbolicate_profiles(
        [(wrapped, work.project_id) for work, wrapped in pending],
        lambda project_id: get_backend(config, project_id),
        config.max_frames_per_request,
    )
    for (work, wrapped), error in zip(pending, errors, strict=True):
        if error is not None:
            work.fail(FAILED_SYMBOLICATION, f"js_profile: {type(error).__name__}: {error}")
            continue
        unwrap_js_profile(wrapped)
