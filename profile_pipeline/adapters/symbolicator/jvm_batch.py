"""JVM frames of many profiles in few `/symbolicate-jvm` requests (SPEC §I.6).

Profiles that share a project (Symbolicator's cache scope), a mapping and a release package are sent
together. Their frames are deduplicated by everything Symbolicator reads from a frame (class, method,
line, signature, file), so each distinct frame is remapped once; the answer is then spread back so that
every profile gets the frames one request of its own would have returned.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from profile_pipeline.adapters.symbolicator.embedded_jvm import InvalidJvmRequest
from profile_pipeline.adapters.symbolicator.protocol import Body

JvmCall = Callable[[Body], "Body | None"]


@dataclass(frozen=True)
class GroupKey:
    """What a request shares besides frames; profiles with equal keys share requests."""

    project_id: int
    debug_ids: tuple[str, ...]  # mapping uuids, 32 lowercase hex, in the profile's order
    release_package: str | None
    frame_order: str = "caller_first"


@dataclass
class FrameGroup:
    """The distinct frames of the profiles of one group, and which profile frame is which."""

    key: GroupKey
    frames: list[Body] = field(default_factory=list)
    # The answer of the last request that failed, for `symbolicator_error`.
    failed_response: Body | None = None
    # Symbolicator found none of the group's mappings: its profiles are not deobfuscated.
    mapping_missing: bool = False
    _positions: dict[Hashable, int] = field(default_factory=dict)

    def add(self, frames: list[Body]) -> list[int]:
        """Add one profile's frames (already in Symbolicator's reading, `parse_jvm_frame`, whose keys always
        come in one order); their distinct positions."""
        positions = []
        for frame in frames:
            identity = tuple(item for item in frame.items() if item[0] != "index")
            position = self._positions.get(identity)
            if position is None:
                position = self._positions[identity] = len(self.frames)
                self.frames.append({**frame, "index": position})
            positions.append(position)
        return positions


def jvm_request(key: GroupKey, frames: list[Body]) -> Body:
    """The `/symbolicate-jvm` body Sentry sends (SPEC §4.6, §6.2), without `sources`."""
    request: Body = {
        "platform": "android",
        "exceptions": [],
        "stacktraces": [{"frames": frames}],
        "modules": [{"uuid": debug_id, "type": "proguard"} for debug_id in key.debug_ids],
        "classes": [],
        "options": {"apply_source_context": False, "frame_order": key.frame_order},
    }
    if key.release_package is not None:
        request["release_package"] = key.release_package
    return request


def _expansions(response: Body | None, count: int) -> list[list[Body]] | None:
    """Returned frames grouped by request index; None when the response has no usable stacktrace."""
    if not isinstance(response, dict) or not isinstance(response.get("stacktraces"), list):
        return None
    if not response["stacktraces"] or not isinstance(response["stacktraces"][0], dict):
        return None
    expansions: list[list[Body]] = [[] for _ in range(count)]
    for frame in response["stacktraces"][0].get("frames") or []:
        index = frame.get("index") if isinstance(frame, dict) else None
        if not isinstance(index, int) or not 0 <= index < count:
            return None
        expansions[index].append(frame)
    return expansions


def remap_group(group: FrameGroup, jvm: JvmCall, max_frames_per_request: int) -> list[list[Body] | None]:
    """For each distinct frame of the group: its remapped frames, or None when its request failed."""
    results: list[list[Body] | None] = []
    step = max(1, max_frames_per_request)
    for start in range(0, len(group.frames), step):
        chunk = [{**frame, "index": offset} for offset, frame in enumerate(group.frames[start : start + step])]
        response = jvm(jvm_request(group.key, chunk))
        if _all_mappings_missing(response, group.key.debug_ids):
            group.mapping_missing = True
        expansions = _expansions(response, len(chunk))
        if expansions is None:
            group.failed_response = response
            expansions = [None] * len(chunk)
        results.extend(expansions)
    return results


def _all_mappings_missing(response: Body | None, debug_ids: tuple[str, ...]) -> bool:
    """Whether the answer's `errors` say every mapping of the request is `missing`."""
    if not isinstance(response, dict) or not isinstance(response.get("errors"), list):
        return False
    missing = set()
    for error in response["errors"]:
        if isinstance(error, dict) and error.get("type") == "missing":
            missing.add(debug_file_id(error.get("uuid")))
    return bool(debug_ids) and set(debug_ids) <= missing


def frames_for_profile(positions: list[int], remapped: list[list[Body] | None]) -> list[Body] | None:
    """The response frames one request for this profile alone would have carried, or None if failed."""
    frames: list[Body] = []
    for index, position in enumerate(positions):
        expansion = remapped[position]
        if expansion is None:
            return None
        frames.extend({**frame, "index": index} for frame in expansion)
    return frames


def debug_file_id(build_id: Any) -> str | None:
    """`UUID(build_id).hex`; None for a missing, empty or invalid build id."""
    if not isinstance(build_id, str) or not build_id:
        return None
    try:
        return uuid.UUID(build_id).hex
    except ValueError:
        return None


def release_package(profile: dict[str, Any]) -> str | None:
    """`transaction_metadata["app.identifier"]`, which marks remapped frames of the app as in-app."""
    metadata = profile.get("transaction_metadata")
    package = metadata.get("app.identifier") if isinstance(metadata, dict) else None
    if package is not None and not isinstance(package, str):
        raise InvalidJvmRequest("app.identifier is not a string")
    return package
