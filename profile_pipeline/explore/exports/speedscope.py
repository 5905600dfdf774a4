"""speedscope's file format (https://www.speedscope.app/file-format-schema.json): one sampled profile per tree.

Each distinct stack of the tree is one sample weighted by its nanoseconds, so speedscope's left-heavy and
sandwich views show the aggregate; a comparison is a file of two profiles, before and after.
"""

from __future__ import annotations

from typing import Any

from profile_pipeline.explore.compare import DiffTree
from profile_pipeline.explore.stacks import Frame
from profile_pipeline.explore.tree import CallTree

SCHEMA = "https://www.speedscope.app/file-format-schema.json"
EXPORTER = "profile-pipeline"


class _Frames:
    """The file's shared frame list, each frame once."""

    def __init__(self) -> None:
        self.index: dict[Frame, int] = {}

    def of(self, frame: Frame) -> int:
        return self.index.setdefault(frame, len(self.index))

    def as_json(self) -> list[dict[str, Any]]:
        return [{"name": f.function, "file": f.package} if f.package else {"name": f.function} for f in self.index]


def _profile(tree: CallTree, name: str, frames: _Frames) -> dict[str, Any]:
    samples, weights = [], []
    for stack, nanos in sorted(tree.stacks()):
        samples.append([frames.of(frame) for frame in stack])
        weights.append(nanos)
    return {
        "type": "sampled",
        "name": name,
        "unit": "nanoseconds",
        "startValue": 0,
        "endValue": sum(weights),
        "samples": samples,
        "weights": weights,
    }


def _file(name: str, trees: list[tuple[str, CallTree]]) -> dict[str, Any]:
    frames = _Frames()
    profiles = [_profile(tree, profile_name, frames) for profile_name, tree in trees]
    return {
        "$schema": SCHEMA,
        "name": name,
        "exporter": EXPORTER,
        "activeProfileIndex": 0,
        "profiles": profiles,
        "shared": {"frames": frames.as_json()},
    }


def to_speedscope(tree: CallTree, name: str) -> dict[str, Any]:
    return _file(name, [(name, tree)])


def to_speedscope_comparison(diff: DiffTree, before_name: str, after_name: str) -> dict[str, Any]:
    return _file(f"{before_name} vs {after_name}", [(before_name, diff.before), (after_name, diff.after)])
