"""The flame graph of a selection too large for one process: the stacks summed on Spark's executors.

Each partition sums its profiles' stacks; only the distinct stacks and their nanoseconds come back to the
driver, where they make the same call tree as `aggregate.flame_graph`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from operator import add
from typing import Any

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from profile_pipeline.explore.selection import OPERATORS, NothingSelected, Selection, conditions, decode_payload
from profile_pipeline.explore.stacks import Stack, summed_thread_stacks
from profile_pipeline.explore.tree import CallTree

_PROFILES = None  # the key under which a partition reports how many profiles it read


def _partition_stacks(rows: Iterable[Any], thread: str | None) -> Iterator[tuple[Stack | None, int]]:
    summed: dict[Stack | None, int] = {_PROFILES: 0}
    for row in rows:
        for stack, nanos in summed_thread_stacks(decode_payload(row["payload"]), row["format"], thread).items():
            summed[stack] = summed.get(stack, 0) + nanos
        summed[_PROFILES] += 1
    return iter(summed.items())


def _condition(selection: Selection) -> Column:
    condition = F.lit(True)
    for column, op, value in conditions(selection, "profiles"):
        condition &= OPERATORS[op](F.col(column), value)
    return condition


def flame_graph_spark(spark: SparkSession, warehouse: str, selection: Selection) -> CallTree:
    """`aggregate.flame_graph` over Spark: `warehouse` as Spark names it (s3a:// on S3)."""
    profiles = spark.read.format("delta").load(f"{warehouse.rstrip('/')}/profiles")
    selected = profiles.where(_condition(selection)).select("format", "payload")
    summed = selected.rdd.mapPartitions(partial(_partition_stacks, thread=selection.thread)).reduceByKey(add)
    tree = CallTree()
    for stack, nanos in summed.collect():
        if stack is _PROFILES:
            tree.profiles = nanos
        else:
            tree.add(stack, nanos)
    if not tree.profiles:
        raise NothingSelected(f"no sampled profile matches {selection.describe()}")
    return tree
