"""Top functions of a selection: self-time percentiles from the `functions` table, total time from the tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from profile_pipeline.explore.selection import NothingSelected, Selection, read_functions
from profile_pipeline.explore.stacks import Frame
from profile_pipeline.explore.tree import CallTree


@dataclass(frozen=True)
class FunctionStats:
    """One function of the selection. The percentiles are of its self times, one value per call tree node.

    `total_ns` is its time on the stack in the selection's call tree (0 where the tree never saw it: the
    `functions` table has every thread, the tree one).
    """

    function: str
    package: str
    fingerprint: int
    profiles: int
    self_ns: int
    p50_ns: float
    p75_ns: float
    p95_ns: float
    total_ns: int


def top_functions(
    warehouse: str,
    selection: Selection,
    tree: CallTree | None = None,
    by: Literal["self", "total"] = "self",
    limit: int = 20,
    storage_options: dict[str, str] | None = None,
) -> list[FunctionStats]:
    """The selection's functions with the most self (or total) time, most first."""
    columns = ["profile_id", "fingerprint", "function", "package", "self_times_ns"]
    rows = read_functions(warehouse, selection, columns, storage_options)
    if not rows:
        raise NothingSelected(f"no function matches {selection.describe()}")
    totals = {frame: total for frame, (_, total) in (tree.function_times() if tree else {}).items()}
    groups: dict[int, list[dict]] = {}
    for row in rows:
        groups.setdefault(int(row["fingerprint"]), []).append(row)
    stats = []
    for fingerprint, group in groups.items():
        times = np.array([t for row in group for t in row["self_times_ns"]], dtype=np.int64)
        p50, p75, p95 = np.percentile(times, [50, 75, 95]) if times.size else (0.0, 0.0, 0.0)
        first = group[0]
        frame = Frame(first["function"] or "", first["package"] or "")
        stats.append(
            FunctionStats(
                function=frame.function,
                package=frame.package,
                fingerprint=fingerprint,
                profiles=len({row["profile_id"] for row in group}),
                self_ns=int(times.sum()),
                p50_ns=float(p50),
                p75_ns=float(p75),
                p95_ns=float(p95),
                total_ns=totals.get(frame, 0),
            )
        )
    key = (lambda s: s.self_ns) if by == "self" else (lambda s: s.total_ns)
    return sorted(stats, key=lambda s: (-key(s), s.function))[:limit]
