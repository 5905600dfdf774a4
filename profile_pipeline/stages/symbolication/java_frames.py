"""The `java` symbolication pass of Android sample v2 profiles (SPEC Part II §4.5, [C]).

Perfetto-converted Android profiles carry `java` and `native` frames in one frame list. The java pass
sends the `java` frames (with the leaf-frame copies §4.5 makes for every pass) to `/symbolicate-jvm`
against the profile's `proguard` images, and replaces each sent frame by its remapped frames, inlined
callees first as in every sample stack. Stacks are remapped through the positions of the new frames
(SPEC §I.10), so an inline expansion keeps every stack pointing at the right frames.

`symbolicate_profiles` (symbolication) runs this pass when a profile's pass platform is `java`; the
flags (`processed_by_symbolicator`) and the other passes are its business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from profile_pipeline.adapters.infrastructure import is_infrastructure_fault
from profile_pipeline.adapters.symbolicator.client import FAILED_ANSWER
from profile_pipeline.adapters.symbolicator.embedded_jvm import InvalidJvmRequest, parse_jvm_frame
from profile_pipeline.adapters.symbolicator.jvm_batch import (
    FrameGroup,
    GroupKey,
    debug_file_id,
    frames_for_profile,
    release_package,
    remap_group,
)
from profile_pipeline.adapters.symbolicator.protocol import Body, SymbolicationBackend
from profile_pipeline.stages.symbolication.profile import prepare_frames, symbolicator_error

JAVA = "java"


@dataclass
class _Pass:
    profile: dict[str, Any]
    sent: list[int]
    key: GroupKey | None = None
    positions: list[int] | None = None


def _group_key(profile: dict[str, Any], project_id: int) -> GroupKey:
    images = [image for image in profile["debug_meta"]["images"] if image["type"] == "proguard"]
    debug_ids = []
    for image in images:
        debug_id = debug_file_id(image.get("uuid") or image.get("debug_id"))
        if debug_id is None:
            raise InvalidJvmRequest(f"proguard image without a valid uuid: {image!r}")
        debug_ids.append(debug_id)
    return GroupKey(project_id, tuple(debug_ids), release_package(profile), "callee_first")


def _apply(profile: dict[str, Any], sent: list[int], remapped: list[Body]) -> None:
    """Replace the sent frames by their remapped frames and repoint the stacks."""
    expansions: dict[int, list[Body]] = {}
    for frame in remapped:
        expansions.setdefault(frame["index"], []).append(frame)
    sent_order = {index: position for position, index in enumerate(sent)}
    new_frames: list[Body] = []
    new_positions: list[list[int]] = []
    for index, frame in enumerate(profile["profile"]["frames"]):
        start = len(new_frames)
        if index in sent_order:
            for mapped in expansions.get(sent_order[index], []):
                new_frames.append({**{k: v for k, v in mapped.items() if k != "index"}, "platform": JAVA})
        else:
            new_frames.append(frame)
        new_positions.append(list(range(start, len(new_frames))))
    profile["profile"]["frames"] = new_frames
    profile["profile"]["stacks"] = [
        [position for index in stack for position in new_positions[index]] for stack in profile["profile"]["stacks"]
    ]


def remap_java_frames(
    profiles: list[tuple[dict[str, Any], int]],
    backend_for: Callable[[int], SymbolicationBackend],
    max_frames_per_request: int = 50_000,
) -> list[BaseException | None]:
    """The java pass over (profile, project id) pairs, in place; per profile the exception that failed it.

    A profile whose request Symbolicator would refuse, or whose request got no completed answer, keeps
    its frames and gets `symbolicator_error`, as any failed pass does.
    """
    errors: list[BaseException | None] = [None] * len(profiles)
    groups: dict[GroupKey, FrameGroup] = {}
    passes: list[_Pass | None] = []
    for position, (profile, project_id) in enumerate(profiles):
        try:
            # The java frames to send, with the leaf copies of the stacks ending in one.
            sent = prepare_frames(profile, JAVA)[2]
            state = _Pass(profile, sent)
            try:
                state.key = _group_key(profile, project_id)
                frames = profile["profile"]["frames"]
                parsed = [parse_jvm_frame({**frames[index], "index": k}) for k, index in enumerate(sent)]
            except InvalidJvmRequest:
                # What Sentry's client makes of Symbolicator's HTTP 400 for such a request (SPEC §6.1).
                profile["symbolicator_error"] = symbolicator_error(FAILED_ANSWER)
                passes.append(None)
                continue
            group = groups.setdefault(state.key, FrameGroup(state.key))
            state.positions = group.add(parsed)
            passes.append(state)
        except Exception as error:
            if is_infrastructure_fault(error):
                raise
            errors[position] = error
            passes.append(None)

    answers: dict[GroupKey, list[list[Body] | None]] = {}
    for key, group in groups.items():
        try:
            answers[key] = remap_group(group, backend_for(key.project_id).jvm, max_frames_per_request)
        except Exception as error:
            if is_infrastructure_fault(error):
                raise
            for position, state in enumerate(passes):
                if state is not None and state.key == key:
                    errors[position] = error
    for position, state in enumerate(passes):
        if state is None or state.key is None or state.positions is None or errors[position] is not None:
            continue
        try:
            remapped = frames_for_profile(state.positions, answers[state.key])
            if remapped is None:
                state.profile["symbolicator_error"] = symbolicator_error(groups[state.key].failed_response)
                continue
            _apply(state.profile, state.sent, remapped)
        except Exception as error:
            if is_infrastructure_fault(error):
                raise
            errors[position] = error
    return errors
