"""Collapsed stacks, the input of Brendan Gregg's flamegraph.pl: one line per stack, `root;...;leaf nanos`.

A frame is written `package`function` (the module`function form of DTrace and perf) or, without a package,
`function`. `;` and line breaks inside names would split a line wrongly, so they are written as `:` and
a space. A comparison is written in flamegraph.pl's differential form, `stack before after`, with before
scaled to after's total so that the colours show a change of share, not of profile count.
"""

from __future__ import annotations

from profile_pipeline.explore.compare import DiffTree, scaled_stacks
from profile_pipeline.explore.stacks import Frame, Stack
from profile_pipeline.explore.tree import CallTree


def _clean(text: str) -> str:
    return text.replace(";", ":").replace("\r", " ").replace("\n", " ")


def frame_text(frame: Frame) -> str:
    function = _clean(frame.function)
    return f"{_clean(frame.package)}`{function}" if frame.package else function


def _stack_text(stack: Stack) -> str:
    return ";".join(frame_text(frame) for frame in stack)


def to_collapsed(tree: CallTree) -> str:
    return "".join(f"{_stack_text(stack)} {nanos}\n" for stack, nanos in sorted(tree.stacks()))


def to_collapsed_diff(diff: DiffTree) -> str:
    return "".join(f"{_stack_text(stack)} {before} {after}\n" for stack, before, after in scaled_stacks(diff))


def _frame(text: str) -> Frame:
    package, tick, function = text.partition("`")
    return Frame(function, package) if tick else Frame(text)


def read_collapsed(text: str) -> CallTree:
    """A call tree from collapsed stacks (one count per line)."""
    tree = CallTree()
    for line in text.splitlines():
        if line.strip():
            stack, _, count = line.rpartition(" ")
            tree.add(tuple(_frame(part) for part in stack.split(";")), int(count))
    return tree
