"""pprof's profile.proto, gzipped, as Google's `pprof` tool reads it: one sample per distinct stack.

The value is wall time in nanoseconds. A comparison is the difference, after less before scaled to after's
total (a change of share, as the differential tree says), which `pprof -top` ranks like any profile.
"""

from __future__ import annotations

import gzip

from profile_pipeline.explore.compare import DiffTree, scaled_stacks
from profile_pipeline.explore.exports.profile_pb2 import Profile
from profile_pipeline.explore.stacks import Frame, Stack
from profile_pipeline.explore.tree import CallTree


class _Builder:
    def __init__(self, sample_type: str) -> None:
        self.profile = Profile()
        self.strings: dict[str, int] = {}
        self.locations: dict[Frame, int] = {}
        self._string("")  # index 0 is the empty string, by the format's rule
        value = self.profile.sample_type.add()
        value.type, value.unit = self._string(sample_type), self._string("nanoseconds")

    def _string(self, text: str) -> int:
        if text not in self.strings:
            self.strings[text] = len(self.strings)
            self.profile.string_table.append(text)
        return self.strings[text]

    def _location(self, frame: Frame) -> int:
        """One function and one location per frame; ids start at 1 (0 means none)."""
        if frame not in self.locations:
            identifier = len(self.locations) + 1
            function = self.profile.function.add()
            function.id = identifier
            function.name = function.system_name = self._string(frame.function)
            function.filename = self._string(frame.package)
            location = self.profile.location.add()
            location.id = identifier
            location.line.add().function_id = identifier
            self.locations[frame] = identifier
        return self.locations[frame]

    def sample(self, stack: Stack, value: int) -> None:
        sample = self.profile.sample.add()
        sample.location_id.extend(self._location(frame) for frame in reversed(stack))  # leaf first
        sample.value.append(value)

    def encoded(self) -> bytes:
        return gzip.compress(self.profile.SerializeToString(), mtime=0)


def to_pprof(tree: CallTree) -> bytes:
    builder = _Builder("wall")
    for stack, nanos in sorted(tree.stacks()):
        builder.sample(stack, nanos)
    builder.profile.duration_nanos = tree.total_ns
    return builder.encoded()


def to_pprof_diff(diff: DiffTree) -> bytes:
    builder = _Builder("wall_change")
    for stack, before, after in scaled_stacks(diff):
        if after != before:
            builder.sample(stack, after - before)
    return builder.encoded()
