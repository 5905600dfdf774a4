"""The per-profile semantics of Sentry's `_symbolicate_profile` (SPEC Part II §4.5), as plain functions.

`ProfileSymbolication` walks one profile through its platform passes: for each native or JS pass it
yields the request Sentry would have sent for this profile alone, and applies the answer; a JVM pass
(the `java` frames of Android sample v2) is run by `java_frames.remap_java_frames`.
`batch.py` answers the requests of many profiles with few backend calls; the result is the same as
one call per profile.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from profile_pipeline.stages.symbolication.images import merge_image

Body = dict[str, Any]
# Request frame index ⇒ positions of the answer frames it became.
IndexMap = dict[int, list[int]]

JS_PLATFORMS = ("javascript", "node")
# Passes sent to `/symbolicate-jvm`; `android` is the pass of an Android sample v2 without frame platforms.
JVM_PLATFORMS = ("java", "android")
SYMBOLICATED_PLATFORMS = ("cocoa", "rust", *JS_PLATFORMS)
NATIVE_IMAGE_TYPES = ("apple", "symbolic", "elf", "macho", "pe", "pe_dotnet", "wasm")
_NODE_APP_PATH = re.compile(r"^((app|webpack|[a-zA-Z]|https?):|/)")
_NATIVE_OPTIONS = {"dif_candidates": True, "apply_source_context": False}


def is_android_sample_v2(profile: dict[str, Any]) -> bool:
    """Android sample v2 (converted from Perfetto): `java` and `native` frames in one frame list."""
    return profile.get("platform") == "android" and profile.get("version") == "2"


def should_symbolicate(profile: dict[str, Any]) -> bool:
    if profile.get("processed_by_symbolicator"):
        return False
    return is_android_sample_v2(profile) or profile.get("platform") in SYMBOLICATED_PLATFORMS


def get_profile_platforms(profile: dict[str, Any]) -> list[str]:
    """The passes: the profile's platform, plus `cocoa` for React Native on iOS; for Android sample v2
    the frame platforms in first-seen order."""
    platform = profile["platform"]
    if is_android_sample_v2(profile):
        seen = dict.fromkeys(frame.get("platform") for frame in profile["profile"]["frames"])
        return [name for name in seen if name] or [platform]
    platforms = [platform]
    frames = profile["profile"]["frames"] if "version" in profile and platform in JS_PLATFORMS else []
    if any(frame.get("platform") == "cocoa" for frame in frames):
        platforms.append("cocoa")
    return platforms


def debug_images_for_platform(images: list[dict[str, Any]], platform: str) -> list[dict[str, Any]]:
    """The same image dicts, filtered for a pass: source maps for JS, ProGuard mappings for java, identified
    native images otherwise."""
    if platform in JS_PLATFORMS:
        return [image for image in images if image["type"] == "sourcemap"]
    if platform == "java":
        return [image for image in images if image.get("type") == "proguard"]
    return [
        image
        for image in images
        if image.get("type") in NATIVE_IMAGE_TYPES
        and (image.get("debug_id") or image.get("id") or image.get("uuid")) is not None
    ]


def handles_js_frame(frame: dict[str, Any], profile_platform: str) -> bool:
    """Sentry's JS frame filter: JS frames with a real location; for node, no built-in modules."""
    platform = frame.get("platform") or profile_platform
    abs_path = frame.get("abs_path")
    if platform not in JS_PLATFORMS or not abs_path or not frame.get("lineno"):
        return False
    if abs_path in ("native", "[native code]"):
        return False
    return platform != "node" or bool(_NODE_APP_PATH.match(abs_path))


def prepare_frames(profile: dict[str, Any], platform: str) -> tuple[list[Body], list[Body], list[int]]:
    """(modules, stacktraces, frames_sent) of one pass; adds the leaf-frame copies to the profile."""
    modules = profile["debug_meta"]["images"]
    if "version" not in profile:
        return modules, _prepare_legacy(profile), []
    frames = profile["profile"]["frames"]
    if platform in JS_PLATFORMS:
        sent = [index for index, frame in enumerate(frames) if handles_js_frame(frame, profile["platform"])]
        return modules, [{"frames": [frames[index] for index in sent]}], sent
    if platform != profile["platform"]:
        # java frames have no address: they are remapped by class, method and line.
        sent = [
            index
            for index, frame in enumerate(frames)
            if frame.get("platform") == platform and (frame.get("instruction_addr") is not None or platform == "java")
        ]
        request_frames = [frames[index] for index in sent]
    else:
        sent, request_frames = [], frames
    sent_set = set(sent)
    for stack in profile["profile"]["stacks"]:
        if not stack:
            continue
        leaf = copy_frame(frames[stack[0]])
        leaf["adjust_instruction_addr"] = False
        if not sent:
            frames.append(leaf)
            stack[0] = len(frames) - 1
        elif stack[0] in sent_set:
            frames.append(leaf)
            request_frames.append(leaf)
            stack[0] = len(frames) - 1
            sent.append(stack[0])
            sent_set.add(stack[0])
    return modules, [{"frames": request_frames}], sorted(sent)


def copy_frame(frame: Body) -> Body:
    """A deep copy of a frame parsed from JSON, made cheaply: only its dict and list values need copying."""
    copied = dict(frame)
    for key, value in copied.items():
        if isinstance(value, dict | list):
            copied[key] = copy.deepcopy(value)
    return copied


def _prepare_legacy(profile: dict[str, Any]) -> list[Body]:
    stacktraces = []
    for sample in profile["sampled_profile"]["samples"]:
        sample_frames = sample["frames"]
        if sample_frames:
            sample_frames[0]["adjust_instruction_addr"] = False
        stacktraces.append({"frames": sample_frames})
    return stacktraces


def build_request(
    profile: dict[str, Any], platform: str, modules: list[Body], stacktraces: list[Body]
) -> tuple[str, Body]:
    """(endpoint kind, request body) that Sentry sends for this pass (SPEC §6.2), without sources."""
    if platform in JS_PLATFORMS:
        body: Body = {
            "platform": platform,
            "stacktraces": stacktraces,
            "modules": modules,
            "options": {"apply_source_context": False},
        }
        for key in ("release", "dist"):
            if profile.get(key) is not None:
                body[key] = profile[key]
        return "js", body
    return "native", {
        "platform": platform,
        "options": dict(_NATIVE_OPTIONS),
        "stacktraces": stacktraces,
        "modules": modules,
    }


def symbolicator_error(response: Body | None) -> Body:
    """`symbolicator_error` for an answer that is not a completed one (SPEC §4.5 table)."""
    if not response:
        return {"type": "native_internal_failure"}
    status = response.get("status")
    if status == "failed":
        return {"type": "native_symbolicator_failed", "status": "failed", "message": response.get("message")}
    return {"status": status, "type": "native_internal_failure"}


def handle_response(
    profile: dict[str, Any], response: Body | None, modules: list[Body], stacktraces: list[Body]
) -> tuple[list[Body], list[Body], bool]:
    """`run_symbolicate`'s result and `symbolicator_error` for one Symbolicator answer."""
    if response and response.get("status") == "completed":
        return response.get("modules") or modules, response.get("stacktraces") or stacktraces, True
    profile["symbolicator_error"] = symbolicator_error(response)
    return modules, stacktraces, False


def frame_index_map(frames: list[Body]) -> IndexMap:
    """Request frame index ⇒ positions of the answer frames it expanded into (inlined callees first)."""
    index_map: IndexMap = {}
    for position, frame in enumerate(frames):
        index = frame.get("original_index", position)
        positions = index_map.get(index)
        if positions is None:
            index_map[index] = [position]
        else:
            positions.append(position)
    return index_map


def process_results(
    profile: dict[str, Any],
    platform: str,
    modules: list[Body],
    stacktraces: list[Body],
    frames_sent: list[int],
    index_map: IndexMap | None = None,
) -> None:
    """Merge a successful answer into the profile (`_process_symbolicator_results`).

    `index_map`, when the answer's maker already knows it, is `frame_index_map` of the first stacktrace.
    """
    profile["debug_meta"]["images"] = modules
    if "version" in profile:
        _process_sample_results(profile, platform, stacktraces, frames_sent, index_map)
        return
    samples = profile["sampled_profile"]["samples"]
    for sample, stacktrace in zip(samples, stacktraces, strict=False):
        frames = stacktrace["frames"]
        if platform == "rust":
            for frame in frames:
                for key in ("pre_context", "context_line", "post_context"):
                    frame.pop(key, None)
            if len(frames) > 1 and frames[0].get("function") == "perf_signal_handler":
                frames = frames[2:]
        elif platform == "cocoa" and len(frames) > 1 and frames[-1].get("instruction_addr") == "0xffffffffc":
            frames = frames[:-2]
        sample["frames"] = frames
    profile["profile"] = profile.pop("sampled_profile")


def _process_sample_results(
    profile: dict[str, Any],
    platform: str,
    stacktraces: list[Body],
    frames_sent: list[int],
    index_map: IndexMap | None,
) -> None:
    inner = profile["profile"]
    old_count = len(inner["frames"])
    answer = stacktraces[0]["frames"] if stacktraces else []
    if index_map is None:
        index_map = frame_index_map(answer)
    # Old frame index ⇒ the positions it occupies among the new frames.
    positions: IndexMap = {}
    if frames_sent:
        raw_frames, sent = inner["frames"], set(frames_sent)
        new_frames: list[Body] = []
        sent_count = 0
        for index, raw in enumerate(raw_frames):
            if index not in sent:
                positions[index] = [len(new_frames)]
                new_frames.append(raw)
                continue
            positions[index] = []
            for answer_index in index_map.get(sent_count, []):
                frame = answer[answer_index]
                frame["platform"] = platform
                positions[index].append(len(new_frames))
                new_frames.append(frame)
            sent_count += 1
        if platform in JS_PLATFORMS:
            expanded = sum(len(answer_indices) for answer_indices in index_map.values())
            assert len(new_frames) == len(raw_frames) + expanded - len(index_map), "JS frames do not line up"
        inner["frames"] = new_frames
    elif answer:
        inner["frames"] = answer
        positions = index_map
    # Passes over some of the frames move the others: their stacks follow the new positions (SPEC §I.10).
    if platform not in SYMBOLICATED_PLATFORMS and not frames_sent:
        return
    frames = inner["frames"]
    stacks = inner["stacks"]
    # Every old frame index gets an entry, so that a stack of valid indices needs no default for any of them.
    for index in range(old_count):
        if index not in positions:
            positions[index] = [index]
    stacks[:] = [_truncate(_remap(stack, positions), frames, platform) for stack in stacks]


def _remap(stack: list[int], positions: IndexMap) -> list[int]:
    """Each old frame index of the stack replaced by its new positions (unknown ones kept as they are)."""
    try:
        return list(chain.from_iterable(map(positions.__getitem__, stack)))
    except KeyError:
        return [new for old in stack for new in positions.get(old, [old])]


def _truncate(stack: list[int], frames: list[Body], platform: str) -> list[int]:
    if len(stack) < 2:
        return stack
    if platform == "rust":
        if frames[stack[0]].get("function") == "perf_signal_handler":
            stack = stack[2:]
        # Sentry indexes stack[len-2] even when the stack just became empty (IndexError); SPEC §I.10
        # leaves such a stack as it is.
        if stack and frames[stack[len(stack) - 2]].get("function", "") == "":
            stack = stack[:-2]
    elif platform == "cocoa" and frames[stack[-1]].get("instruction_addr") == "0xffffffffc":
        stack = stack[:-2]
    return stack


@dataclass
class PassRequest:
    """One pass of one profile: the request Sentry would send and what is needed to apply the answer."""

    platform: str
    kind: str
    body: Body
    images: list[Body]
    modules: list[Body]
    stacktraces: list[Body]
    frames_sent: list[int]


@dataclass
class ProfileSymbolication:
    """§4.5 for one profile, one pass at a time, until done.

    A native or JS pass: `next_request()`, then `apply(request, answer)`. A JVM pass prepares, sends and
    applies itself over the whole batch (`remap_java_frames`): `start_jvm_pass()`, remap, `end_pass()`.
    """

    profile: dict[str, Any]
    platforms: list[str] = field(default_factory=list)
    images: dict[str, list[Body]] = field(default_factory=dict)
    original_images: list[Body] = field(default_factory=list)
    pass_index: int = 0
    done: bool = False

    def start(self) -> None:
        """Gate and set-up; a profile with nothing to symbolicate is done at once."""
        profile = self.profile
        if not should_symbolicate(profile) or not profile.get("debug_meta"):
            self.done = True
            return
        self.platforms = get_profile_platforms(profile)
        self.original_images = profile["debug_meta"]["images"]
        self.images = {
            platform: debug_images_for_platform(self.original_images, platform) for platform in self.platforms
        }

    @property
    def next_is_jvm(self) -> bool:
        return self.platforms[self.pass_index] in JVM_PLATFORMS

    def next_request(self) -> PassRequest:
        platform = self.platforms[self.pass_index]
        images = self.images[platform]
        self.profile["debug_meta"]["images"] = images
        modules, stacktraces, frames_sent = prepare_frames(self.profile, platform)
        kind, body = build_request(self.profile, platform, modules, stacktraces)
        return PassRequest(platform, kind, body, images, modules, stacktraces, frames_sent)

    def apply(self, request: PassRequest, response: Body | None, index_map: IndexMap | None = None) -> None:
        profile = self.profile
        modules, stacktraces, success = handle_response(profile, response, request.modules, request.stacktraces)
        assert len(request.images) == len(modules), "Symbolicator returned a different number of modules"
        for raw_image, complete_image in zip(request.images, modules, strict=True):
            merge_image(raw_image, complete_image, profile)
        if success:
            process_results(profile, request.platform, modules, stacktraces, request.frames_sent, index_map)
        self.end_pass()

    def start_jvm_pass(self) -> None:
        """The pass's images in place; JVM answers carry no modules, so there is nothing to merge into them."""
        self.profile["debug_meta"]["images"] = self.images[self.platforms[self.pass_index]]

    def end_pass(self) -> None:
        self.pass_index += 1
        if self.pass_index == len(self.platforms):
            self.finish()

    def finish(self) -> None:
        self.profile["debug_meta"]["images"] = self.original_images
        self.profile["processed_by_symbolicator"] = True
        self.done = True
