"""The stages of SPEC §I.3, in order, over one batch of profiles out of a partition.

Each stage runs over the whole batch. Whatever a stage raises instead of failing a profile itself is
caught here: the stage is run again profile by profile, so that only the profiles that raise fail, each
with the stage's failure reason and the exception as its message. Faults of the infrastructure are let
through (`profile_pipeline/adapters/infrastructure.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from profile_pipeline.adapters.infrastructure import passes_fence
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.deobfuscation import deobfuscate_batch
from profile_pipeline.stages.frame_platform import set_frames_platform_batch
from profile_pipeline.stages.js_profile import process_js_profiles
from profile_pipeline.stages.metrics_dsn import attach_metrics_dsn_batch
from profile_pipeline.stages.normalize import normalize_batch
from profile_pipeline.stages.stacktrace_rules import apply_stacktrace_rules_batch
from profile_pipeline.stages.symbolication import symbolicate_batch
from profile_pipeline.stages.vroom import run_vroom_stage
from profile_pipeline.work import (
    FAILED_DEOBFUSCATION,
    FAILED_METRICS_DSN,
    FAILED_NORMALIZATION,
    FAILED_STACK_TRACE_RULES,
    FAILED_STAGE,
    FAILED_SYMBOLICATION,
    FAILED_VROOM_INSERTION,
    FAILED_VROOMRS_PROCESSING,
    ProfileWork,
    describe_error,
    live,
)

Stage = Callable[[list[ProfileWork], StageContext], None]


STAGES: tuple[Stage, ...] = (
    symbolicate_batch,
    deobfuscate_batch,
    process_js_profiles,
    normalize_batch,
    set_frames_platform_batch,
    apply_stacktrace_rules_batch,
    attach_metrics_dsn_batch,
    run_vroom_stage,
)

# The failure reason of a profile that raises in a stage: js_profile fails as symbolication does, the frame
# platform as normalization (as the stage itself does); the vroom stage's reason depends on its mode.
_REASONS: dict[Stage, str] = {
    symbolicate_batch: FAILED_SYMBOLICATION,
    deobfuscate_batch: FAILED_DEOBFUSCATION,
    process_js_profiles: FAILED_SYMBOLICATION,
    normalize_batch: FAILED_NORMALIZATION,
    set_frames_platform_batch: FAILED_NORMALIZATION,
    apply_stacktrace_rules_batch: FAILED_STACK_TRACE_RULES,
    attach_metrics_dsn_batch: FAILED_METRICS_DSN,
}


def failure_reason(stage: Stage, ctx: StageContext) -> str:
    if stage is run_vroom_stage:
        return FAILED_VROOM_INSERTION if ctx.config.vroom.mode == "http" else FAILED_VROOMRS_PROCESSING
    return _REASONS.get(stage, FAILED_STAGE)


def run_stages(works: list[ProfileWork], ctx: StageContext) -> None:
    """Run every stage over the profiles that are still alive; a failed profile leaves the batch."""
    for stage in STAGES:
        remaining = live(works)
        if not remaining:
            return
        run_fenced(stage, remaining, ctx, failure_reason(stage, ctx))


def run_fenced(stage: Stage, works: list[ProfileWork], ctx: StageContext, reason: str) -> None:
    """The stage over the batch; if it raises, once more per profile, failing only those that raise.

    A fault of storage or of a service's transport is no profile's: it fails the task, which Spark retries.
    """
    try:
        stage(works, ctx)
    except BaseException as error:
        if passes_fence(error):
            raise
        for work in live(works):
            try:
                stage([work], ctx)
            except BaseException as profile_error:
                if passes_fence(profile_error):
                    raise
                work.fail(reason, describe_error(profile_error), unexpected=True)
