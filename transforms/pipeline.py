"""The stages of SPEC §I.3, in order, over one batch of profiles out of a partition."""

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
from transforms.work import ProfileWork, live

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


def run_stages(works: list[ProfileWork], ctx: StageContext) -> None:
    """Run every stage over the profiles that are still alive; a failed profile leaves the batch."""
    for stage in STAGES:
        remaining = live(works)
        if not remaining:
            return
        stage(remaining, ctx)
