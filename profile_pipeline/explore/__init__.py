"""Exploring the profile tables from a notebook or the command line, without Spark (delta-rs reads them).

    from profile_pipeline.explore import Selection, flame_graph, top_functions, compare
    tree = flame_graph("warehouse", Selection(project_id=4, start=date(2026, 11, 24), end=date(2026, 11, 24)))

`spark_aggregate.flame_graph_spark` is the same aggregate computed on Spark, for ranges too large for one
process; `exports` writes speedscope, pprof and collapsed-stack files.
"""

from profile_pipeline.explore.aggregate import flame_graph, tree_of
from profile_pipeline.explore.compare import DiffTree, compare
from profile_pipeline.explore.functions import FunctionStats, top_functions
from profile_pipeline.explore.selection import NothingSelected, Selection
from profile_pipeline.explore.stacks import Frame, thread_stacks
from profile_pipeline.explore.tree import CallTree

__all__ = [
    "CallTree",
    "DiffTree",
    "Frame",
    "FunctionStats",
    "NothingSelected",
    "Selection",
    "compare",
    "flame_graph",
    "thread_stacks",
    "top_functions",
    "tree_of",
]
