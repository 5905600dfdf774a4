"""ProGuard deobfuscation of Android methods (SPEC Part II §4.6), batched per partition (SPEC §I.6).

Android profiles (legacy and chunks, also those carrying a React Native `js_profile`) name their
methods by obfuscated class, method and JVM descriptor. With a mapping id (`build_id`) the methods go
to Symbolicator's JVM endpoint (or its in-process twin) and the answer is merged back; without one
only the descriptors are made readable. Android sample v2 (Perfetto) frames are not methods: they are
remapped by symbolication's `java` pass (`remap_java_frames`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from profile_pipeline.adapters.infrastructure import is_infrastructure_fault
from profile_pipeline.adapters.symbolicator.backend import get_backend
from profile_pipeline.adapters.symbolicator.embedded_jvm import InvalidJvmRequest, parse_jvm_frame
from profile_pipeline.adapters.symbolicator.java_signatures import readable_signature
from profile_pipeline.adapters.symbolicator.jvm_batch import (
    FrameGroup,
    GroupKey,
    debug_file_id,
    frames_for_profile,
    release_package,
    remap_group,
)
from profile_pipeline.adapters.symbolicator.protocol import SymbolicationBackend
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.deobfuscation.jvm_frames import (
    convert_android_methods_to_jvm_frames,
    merge_jvm_frames_with_android_methods,
)
from profile_pipeline.work import FAILED_DEOBFUSCATION, ProfileWork

__all__ = [
    "deobfuscate_batch",
    "deobfuscate_profiles",
    "should_deobfuscate",
]


@dataclass
class _Pending:
    """A profile waiting for its group's answer: its methods and their distinct frame positions."""

    work: ProfileWork
    methods: list[dict[str, Any]]
    key: GroupKey
    positions: list[int]


def should_deobfuscate(profile: dict[str, Any]) -> bool:
    """Android methods not yet deobfuscated; Android sample v2 goes through symbolication instead."""
    return profile.get("platform") == "android" and not profile.get("deobfuscated") and profile.get("version") != "2"


def _plan(work: ProfileWork, groups: dict[GroupKey, FrameGroup]) -> _Pending | None:
    """Decode signatures of a profile without mapping, or queue its methods; None when done."""
    profile = work.profile
    if not profile.get("profile"):
        return None
    methods = profile["profile"]["methods"]
    build_id = profile.get("build_id")
    if build_id is not None and not isinstance(build_id, str):
        # Sentry's `UUID(build_id)` raises for anything but text, which fails the profile's deobfuscation.
        raise TypeError(f"build_id must be a string, not {type(build_id).__name__}")
    debug_id = debug_file_id(build_id)
    if debug_id is None:
        for method in methods:
            if method.get("signature"):
                method["signature"] = readable_signature(method["signature"])
        profile["deobfuscated"] = True
        return None
    frames = convert_android_methods_to_jvm_frames(methods)
    try:
        key = GroupKey(work.project_id, (debug_id,), release_package(profile))
        parsed = [parse_jvm_frame(frame) for frame in frames]
    except InvalidJvmRequest:
        # Symbolicator refuses such a request; Sentry then leaves the methods as they are.
        profile["deobfuscated"] = True
        return None
    group = groups.setdefault(key, FrameGroup(key))
    return _Pending(work, methods, key, group.add(parsed))


def deobfuscate_profiles(
    works: list[ProfileWork],
    backend_for: Callable[[int], SymbolicationBackend],
    max_frames_per_request: int,
) -> None:
    """§4.6 over a batch, in place: one request per (project, mapping, release package) group."""
    groups: dict[GroupKey, FrameGroup] = {}
    pending: list[_Pending] = []
    for work in works:
        if not work.ok or not should_deobfuscate(work.profile):
            continue
        try:
            planned = _plan(work, groups)
        except Exception as error:
            if is_infrastructure_fault(error):
                raise
            work.fail(FAILED_DEOBFUSCATION, f"{type(error).__name__}: {error}")
            continue
        if planned is not None:
            pending.append(planned)

    answers: dict[GroupKey, list[list[dict[str, Any]] | None]] = {}
    for key, group in groups.items():
        try:
            answers[key] = remap_group(group, backend_for(key.project_id).jvm, max_frames_per_request)
        except Exception as error:
            if is_infrastructure_fault(error):
                raise
            for entry in pending:
                if entry.key == key:
                    entry.work.fail(FAILED_DEOBFUSCATION, f"{type(error).__name__}: {error}")

    for entry in pending:
        if not entry.work.ok:
            continue
        try:
            frames = frames_for_profile(entry.positions, answers[entry.key])
            if frames is not None:
                merge_jvm_frames_with_android_methods(frames, entry.methods)
            # Set also when Symbolicator gave no answer (the failure is not the profile's), but not
            # when it found no mapping: nothing was deobfuscated then.
            entry.work.profile["deobfuscated"] = not groups[entry.key].mapping_missing
        except Exception as error:
            if is_infrastructure_fault(error):
                raise
            entry.work.fail(FAILED_DEOBFUSCATION, f"{type(error).__name__}: {error}")


def deobfuscate_batch(works: list[ProfileWork], ctx: StageContext) -> None:
    """The stage; mode `off` leaves Android methods as they came."""
    config = ctx.config.symbolication
    if config.mode == "off":
        return
    deobfuscate_profiles(works, lambda project_id: get_backend(config, project_id), config.max_frames_per_request)
