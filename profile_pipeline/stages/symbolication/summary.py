"""The symbolication summary of a processed profile, for the `profiles` table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def symbolication_summary(profile: dict[str, Any]) -> tuple[int, int]:
    """(frames_total, frames_symbolicated) over the profile's frames and its React Native `js_profile`.

    A frame counts as symbolicated when Symbolicator's `status` says so (native) or its
    `data.symbolicated` is true (JavaScript).
    """
    total = symbolicated = 0
    for frames in _frame_lists(profile):
        found = [
            frame.get("status") == "symbolicated" or ("data" in frame and _symbolicated_js(frame["data"]))
            for frame in frames
            if isinstance(frame, dict)
        ]
        total += len(found)
        symbolicated += found.count(True)
    return total, symbolicated


def _symbolicated_js(data: Any) -> bool:
    return isinstance(data, dict) and data.get("symbolicated") is True


def _frame_lists(profile: dict[str, Any]) -> Iterator[list[Any]]:
    for container in (profile, profile.get("js_profile")):
        if not isinstance(container, dict):
            continue
        inner = container.get("profile")
        if not isinstance(inner, dict):
            inner = container.get("sampled_profile")
        if not isinstance(inner, dict):
            continue
        frames = inner.get("frames")
        if isinstance(frames, list):
            yield frames
            continue
        for sample in inner.get("samples") or []:  # legacy profiles keep their frames per sample
            if isinstance(sample, dict) and isinstance(sample.get("frames"), list):
                yield sample["frames"]
