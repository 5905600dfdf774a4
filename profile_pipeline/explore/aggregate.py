"""The flame graph of a selection: every selected profile's stacks summed into one call tree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from profile_pipeline.explore.selection import NothingSelected, Selection, read_profiles
from profile_pipeline.explore.stacks import summed_thread_stacks
from profile_pipeline.explore.tree import CallTree
from profile_pipeline.spark import cycle_collection


def tree_of(profiles: Iterable[tuple[str, dict[str, Any]]], thread: str | None = None) -> CallTree:
    """(format, profile JSON) pairs summed into one call tree, each profile's chosen thread."""
    tree = CallTree()
    # The parsed profiles are many small containers and no cycles: the collector's passes would find nothing
    # and cost more than the parsing (docs/performance.md, the flame graph).
    with cycle_collection.paused():
        for fmt, profile in profiles:
            # Each distinct stack of a profile is walked down the tree once.
            tree.add_all(summed_thread_stacks(profile, fmt, thread).items())
            tree.profiles += 1
    return tree


def flame_graph(warehouse: str, selection: Selection, storage_options: dict[str, str] | None = None) -> CallTree:
    """The aggregated call tree of the selection, read with delta-rs in this process."""
    tree = tree_of(read_profiles(warehouse, selection, storage_options), selection.thread)
    if not tree.profiles:
        raise NothingSelected(f"no sampled profile matches {selection.describe()}")
    return tree
