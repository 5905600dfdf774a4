"""The stages of SPEC §I.3, in order, over one batch of profiles out of a partition.

Each stage runs over the whole batch. Whatever a stage raises instead of failing a profile itself is
caught here: the stage is run again profile by profile, so that only the profiles that raise fail, each
with the stage's failure reason and the exception as its message.
"""

from __future__ import annotations

from collections.abc import Callable

from transforms.context import StageContext
from transforms.deobfuscation import deobfuscate_batch
from transforms.frame_platform import set_frames_platform_batch
from transforms.metrics_dsn import attach_metrics_dsn_batch
from transforms.normalize import normalize_batch
from transforms.react_native import process_js_profiles
from transforms.stacktrace_rules import apply_stacktrace_rules_batch
from transforms.symbolication import symbolicate_batch
from transforms.vroom import run_vroom_stage
from transforms.work import (
    FAILED_DEOBFUSCATION,
    FAILED_FRAME_PLATFORM,
    FAILED_METRICS_DSN,
    FAILED_NORMALIZATION,
    FAILED_STACK_TRACE_RULES,
    FAILED_SYMBOLICATION,
    FAILED_VROOM_INSERTION,
    FAILED_VROOMRS_PROCESSING,
    ProfileWork,
    describe_error,
    live,
)

Stage = Callable[[list[ProfileWork], StageContext], None]


def _vroom_reason(ctx: StageContext) -> str:
    return FAILED_VROOM_INSERTION if ctx.config.vroom.mode == "http" else FAILED_VROOMRS_PROCESSING


# Each stage with the failure reason of a profile that raises in it (js_profile fails as symbolication).
STAGES: tuple[tuple[Stage, Callable[[StageContext], str]], ...] = (
    (symbolicate_batch, lambda _: FAILED_SYMBOLICATION),
    (deobfuscate_batch, lambda _: FAILED_DEOBFUSCATION),
    (process_js_profiles, lambda _: FAILED_SYMBOLICATION),
    (normalize_batch, lambda _: FAILED_NORMALIZATION),
    (set_frames_platform_batch, lambda _: FAILED_FRAME_PLATFORM),
    (apply_stacktrace_rules_batch, lambda _: FAILED_STACK_TRACE_RULES),
    (attach_metrics_dsn_batch, lambda _: FAILED_METRICS_DSN),
    (run_vroom_stage, _vroom_reason),
)


def run_stages(works: list[ProfileWork], ctx: StageContext) -> None:
    """Run every stage over the profiles that are still alive; a failed profile leaves the batch."""
    for stage, reason in STAGES:
        remaining = live(works)
        if not remaining:
            return
        run_fenced(stage, remaining, ctx, reason(ctx))


def run_fenced(stage: Stage, works: list[ProfileWork], ctx: StageContext, reason: str) -> None:
    """The stage over the batch; if it raises, once more per profile, failing only those that raise."""
    try:
        stage(works, ctx)
    except Exception:
        for work in live(works):
            try:
                stage([work], ctx)
            except Exception as error:
                work.fail(reason, describe_error(error), unexpected=True)
