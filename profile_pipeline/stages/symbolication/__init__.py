"""Symbolication of native, JavaScript and (Android sample v2) java frames (SPEC Part II §4.5), batched per
partition (SPEC §I.6)."""

from __future__ import annotations

from profile_pipeline.adapters.symbolicator.backend import get_backend
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.symbolication.batch import symbolicate_profiles
from profile_pipeline.stages.symbolication.summary import symbolication_summary
from profile_pipeline.work import FAILED_SYMBOLICATION, ProfileWork

__all__ = ["symbolicate_batch", "symbolicate_profiles", "symbolication_summary"]


def symbolicate_batch(works: list[ProfileWork], ctx: StageContext) -> None:
    """The stage: symbolicate every profile of the batch with as few backend requests as possible."""
    config = ctx.config.symbolication
    if config.mode == "off":
        return
    errors = symbolicate_profiles(
        [(work.profile, work.project_id) for work in works],
        lambda project_id: get_backend(config, project_id),
        config.max_frames_per_request,
    )
    for work, error in zip(works, errors, strict=True):
        if error is not None:
            work.fail(FAILED_SYMBOLICATION, str(error))
