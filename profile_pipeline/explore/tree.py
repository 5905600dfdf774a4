"""A call tree weighted by sampled time: what a flame graph draws, for one profile or many summed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from profile_pipeline.explore.stacks import Frame, Stack


@dataclass
class Node:
    """A frame at one path from the root: the time with it on the stack (total) and on top (self)."""

    frame: Frame
    total_ns: int = 0
    self_ns: int = 0
    children: dict[Frame, Node] = field(default_factory=dict)


@dataclass
class CallTree:
    """The root holds no frame; its total is all the time sampled."""

    root: Node = field(default_factory=lambda: Node(Frame("<root>")))
    profiles: int = 0  # how many profiles were summed into it

    @property
    def total_ns(self) -> int:
        return self.root.total_ns

    def add(self, stack: Stack, nanos: int) -> None:
        """Count `nanos` for a stack, root first."""
        node = self.root
        node.total_ns += nanos
        for frame in stack:
            child = node.children.get(frame)
            if child is None:  # a new node only where the path is new (most of a walk is not)
                child = node.children[frame] = Node(frame)
            child.total_ns += nanos
            node = child
        node.self_ns += nanos

    def add_all(self, weighted: Iterable[tuple[Stack, int]]) -> None:
        for stack, nanos in weighted:
            self.add(stack, nanos)

    def merge(self, other: CallTree) -> None:
        self.add_all(other.stacks())
        self.profiles += other.profiles

    def stacks(self) -> Iterator[tuple[Stack, int]]:
        """Each path ending in self time, root first, with that self time: the tree as collapsed stacks."""

        def walk(node: Node, path: Stack) -> Iterator[tuple[Stack, int]]:
            if node.self_ns and path:
                yield path, node.self_ns
            for frame, child in node.children.items():
                yield from walk(child, (*path, frame))

        return walk(self.root, ())

    def function_times(self) -> dict[Frame, tuple[int, int]]:
        """(self, total) nanoseconds of each function; recursion counts a function's total once per stack."""
        self_ns: dict[Frame, int] = {}
        total_ns: dict[Frame, int] = {}
        for stack, nanos in self.stacks():
            self_ns[stack[-1]] = self_ns.get(stack[-1], 0) + nanos
            for frame in set(stack):
                total_ns[frame] = total_ns.get(frame, 0) + nanos
        return {frame: (self_ns.get(frame, 0), total) for frame, total in total_ns.items()}
