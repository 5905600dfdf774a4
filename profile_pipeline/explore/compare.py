"""Two selections compared: per frame path, the share of sampled time in each and the change.

Shares, not nanoseconds: two releases or two weeks rarely have the same number of profiles, so a path is
compared by the fraction of its side's time it holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from profile_pipeline.explore.stacks import Frame, Stack
from profile_pipeline.explore.tree import CallTree, Node


@dataclass
class DiffNode:
    frame: Frame
    before_ns: int
    after_ns: int
    before_share: float
    after_share: float
    children: dict[Frame, DiffNode] = field(default_factory=dict)

    @property
    def change(self) -> float:
        """After's share less before's: positive where the path takes more of the time than it did."""
        return self.after_share - self.before_share


@dataclass
class DiffTree:
    root: DiffNode
    before: CallTree
    after: CallTree

    def paths(self) -> Iterator[tuple[Stack, DiffNode]]:
        """Every frame path (root first) and its node, parents before children."""

        def walk(node: DiffNode, path: Stack) -> Iterator[tuple[Stack, DiffNode]]:
            for frame, child in node.children.items():
                yield (*path, frame), child
                yield from walk(child, (*path, frame))

        return walk(self.root, ())

    def largest_changes(self, limit: int = 10) -> list[tuple[Stack, DiffNode]]:
        return sorted(self.paths(), key=lambda item: -abs(item[1].change))[:limit]


def _share(nanos: int, total: int) -> float:
    return nanos / total if total else 0.0


def compare(before: CallTree, after: CallTree) -> DiffTree:
    """The differential tree of two call trees: the union of their paths."""

    def merge(frame: Frame, a: Node | None, b: Node | None) -> DiffNode:
        a_ns, b_ns = (a.total_ns if a else 0), (b.total_ns if b else 0)
        node = DiffNode(frame, a_ns, b_ns, _share(a_ns, before.total_ns), _share(b_ns, after.total_ns))
        children_a, children_b = (a.children if a else {}), (b.children if b else {})
        for child in dict.fromkeys([*children_a, *children_b]):
            node.children[child] = merge(child, children_a.get(child), children_b.get(child))
        return node

    return DiffTree(merge(before.root.frame, before.root, after.root), before, after)


def scaled_stacks(diff: DiffTree) -> list[tuple[Stack, int, int]]:
    """(stack, before's self time scaled to after's total, after's self time) of every stack of either side."""
    before, after = dict(diff.before.stacks()), dict(diff.after.stacks())
    scale = diff.after.total_ns / diff.before.total_ns if diff.before.total_ns else 0.0
    return [(s, round(before.get(s, 0) * scale), after.get(s, 0)) for s in sorted(before.keys() | after.keys())]
