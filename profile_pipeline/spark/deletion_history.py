"""What a maintenance attempt deleted, read back from the tables' own histories.

Each `DELETE` of a maintenance attempt carries a tag in its Delta commit (`commitInfo.userMetadata`): the
attempt, its run, the reason and, for an erasure, the organizations and projects. A run killed after some of
its deletes committed and before it recorded them in `deletions` leaves those commits; the next run sums
their `operationMetrics.numDeletedRows` per reason and table and records what the killed run deleted, once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from profile_pipeline.spark.expiry import Erasure

_TAG_KEY = "maintenance_attempt"


@dataclass(frozen=True)
class DeletionTag:
    attempt: str
    run_id: str
    reason: str
    erasure: Erasure = field(default_factory=Erasure)

    def as_metadata(self) -> str:
        return json.dumps(
            {
                _TAG_KEY: self.attempt,
                "run_id": self.run_id,
                "reason": self.reason,
                "organizations": sorted(self.erasure.organizations),
                "projects": sorted(self.erasure.projects),
            },
            sort_keys=True,
        )


@dataclass
class Deleted:
    """One reason's deletions of an attempt: rows per table, and the tag that says whose they were."""

    tag: DeletionTag
    rows: dict[str, int] = field(default_factory=dict)


def _tag(metadata: str | None) -> DeletionTag | None:
    try:
        value = json.loads(metadata or "")
    except ValueError:
        return None  # a commit tagged by someone else
    if not isinstance(value, dict) or _TAG_KEY not in value:
        return None
    erasure = Erasure(frozenset(value["organizations"]), frozenset(value["projects"]))
    return DeletionTag(value[_TAG_KEY], value["run_id"], value["reason"], erasure)


def deleted_by(spark: SparkSession, table_uris: dict[str, str], attempt: str) -> dict[str, Deleted]:
    """Per reason, the rows each table's `DELETE` commits tagged with `attempt` deleted."""
    found: dict[str, Deleted] = {}
    for table, uri in table_uris.items():
        history = DeltaTable.forPath(spark, uri).history()
        commits = history.where((F.col("operation") == "DELETE") & F.col("userMetadata").contains(attempt))
        for row in commits.select("userMetadata", "operationMetrics").collect():
            tag = _tag(row["userMetadata"])
            if tag is None or tag.attempt != attempt:
                continue
            deleted = found.setdefault(tag.reason, Deleted(tag))
            rows = int((row["operationMetrics"] or {}).get("numDeletedRows", 0))
            if rows:
                deleted.rows[table] = deleted.rows.get(table, 0) + rows
    return found
