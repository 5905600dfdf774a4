"""Where a flame graph draws each frame: the boxes of an icicle (root on top), for any plotting library.

Children are laid out heaviest first (speedscope's left-heavy order), so that the widest paths line up on the
left; boxes narrower than `min_width` of the whole are left out with everything under them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from profile_pipeline.explore.stacks import Frame


class TreeNode(Protocol):
    frame: Frame
    children: dict[Frame, Any]


@dataclass(frozen=True)
class Box:
    depth: int  # 0 for the root's children
    start: float  # left edge, as a share of the root's weight
    width: float  # share of the root's weight
    node: Any  # the tree's node (a call tree's `Node`, a comparison's `DiffNode`)


def icicle(
    root: TreeNode, weight: Callable[[Any], int], min_width: float = 0.002, max_depth: int | None = None
) -> list[Box]:
    """The boxes of every node under `root` that is at least `min_width` wide, parents before children."""
    total = weight(root)
    boxes: list[Box] = []
    if total <= 0:
        return boxes

    def place(node: TreeNode, depth: int, start: float) -> None:
        if max_depth is not None and depth >= max_depth:
            return
        offset = start
        for child in sorted(node.children.values(), key=lambda child: (-weight(child), child.frame)):
            width = weight(child) / total
            if width >= min_width:
                boxes.append(Box(depth, offset, width, child))
                place(child, depth + 1, offset)
            offset += width

    place(root, 0, 0.0)
    return boxes
