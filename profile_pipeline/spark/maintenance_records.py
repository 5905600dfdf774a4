"""The maintenance job's own tables: erasure requests, what was deleted, and each run.

* `erasures`: an organization or project to erase (`scope`, `id`), the run that asked, when, and when its
  rows were all deleted. The processing job drops the messages of every erased organization and project,
  so that an old input day processed again never brings them back.
* `deletions`: per run and reason (`retention` or `erasure`), the rows deleted per table and the blobs
  deleted, and when; it holds ids of organizations and projects, nothing personal.
* `maintenance_runs`: per run, what it did (the printed summary) and how long it took.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from profile_pipeline.adapters import delta_reader
from profile_pipeline.spark.deletion_history import DeletionTag
from profile_pipeline.spark.expiry import Erasure

ERASURES = "erasures"
DELETIONS = "deletions"
MAINTENANCE_RUNS = "maintenance_runs"

_ERASURES_SCHEMA = "scope string, id bigint, run_id string, requested_at timestamp, completed_at timestamp"
_DELETIONS_SCHEMA = (
    "run_id string, reason string, deleted_at timestamp, organizations array<bigint>, projects array<bigint>, "
    "rows map<string,bigint>, blobs bigint"
)
_RUNS_SCHEMA = (
    "dt date, run_id string, status string, dry_run boolean, started_at timestamp, finished_at timestamp, "
    "seconds double, summary string"
)


def _uri(warehouse: str, table: str) -> str:
    return f"{warehouse.rstrip('/')}/{table}"


def _append(
    spark: SparkSession, warehouse: str, table: str, rows: list[tuple[Any, ...]], schema: str, transaction: str
) -> None:
    """Append the rows once: `transaction` names the write (Delta's `txnAppId`), so that the same write made again,
    by the run that finishes a killed one's work, adds nothing; and a write whose commit took effect although its
    answer never came (a storage fault beyond the retries) counts as done."""
    uri = _uri(warehouse, table)
    frame = spark.createDataFrame(rows, schema)
    writer = frame.write.format("delta").mode("append").option("mergeSchema", "true")
    writer = writer.option("txnAppId", transaction).option("txnVersion", "0")
    if "dt date" in schema:
        writer = writer.partitionBy("dt")
    try:
        writer.save(uri)
    except Exception:
        if not _committed(spark, uri, transaction):
            raise


def _committed(spark: SparkSession, uri: str, transaction: str) -> bool:
    # A transaction reads the log as it is now (`isDeltaTable` would answer from the state cached before the
    # write, in which a table the write created does not exist yet).
    delta_log = spark.sparkContext._jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, uri)
    return delta_log.startTransaction().txnVersion(transaction) >= 0


def request_erasure(spark: SparkSession, warehouse: str, erasure: Erasure, run_id: str, attempt: str) -> None:
    now = datetime.now(UTC)
    rows = [("organization", value, run_id, now, None) for value in sorted(erasure.organizations)]
    rows += [("project", value, run_id, now, None) for value in sorted(erasure.projects)]
    _append(spark, warehouse, ERASURES, rows, _ERASURES_SCHEMA, f"erasure requested by {attempt}")


def erased(warehouse: str, *, pending_only: bool = False) -> Erasure:
    """Every organization and project ever asked to be erased (or only those not yet finished); read with
    delta-rs, as a run does before its first Spark job."""
    requests = delta_reader.read_rows(_uri(warehouse, ERASURES), ["scope", "id", "completed_at"]) or []
    wanted = [request for request in requests if not pending_only or request["completed_at"] is None]
    return Erasure(
        frozenset(request["id"] for request in wanted if request["scope"] == "organization"),
        frozenset(request["id"] for request in wanted if request["scope"] == "project"),
    )


def complete_erasures(spark: SparkSession, warehouse: str) -> None:
    """Mark every pending request done: called once their rows and blobs are all deleted."""
    DeltaTable.forPath(spark, _uri(warehouse, ERASURES)).update(
        F.col("completed_at").isNull(), {"completed_at": F.current_timestamp()}
    )


def record_deletion(spark: SparkSession, warehouse: str, tag: DeletionTag, rows: dict[str, int], blobs: int) -> None:
    """Record what the tag's attempt deleted for its reason; recorded once, however often it is asked."""
    erasure = tag.erasure
    record = (tag.run_id, tag.reason, datetime.now(UTC), sorted(erasure.organizations), sorted(erasure.projects))
    transaction = f"deletions of {tag.attempt} ({tag.reason})"
    _append(spark, warehouse, DELETIONS, [(*record, rows, blobs)], _DELETIONS_SCHEMA, transaction)


@dataclass(frozen=True)
class LastVacuum:
    """A table's vacuums among recent runs: the files removed before `vacuumed_before` are gone; `full`: one of
    them listed its whole directory."""

    vacuumed_before: datetime
    full: bool


def recent_vacuums(spark: SparkSession, warehouse: str, since: date) -> dict[str, LastVacuum]:
    """Per table, its vacuums by the finished runs of `since` and after (their summaries)."""
    uri = _uri(warehouse, MAINTENANCE_RUNS)
    if not DeltaTable.isDeltaTable(spark, uri):
        return {}
    runs = spark.read.format("delta").load(uri).where((F.col("dt") >= F.lit(since)) & (F.col("status") == "finished"))
    latest: dict[str, LastVacuum] = {}
    for row in runs.select("summary").collect():
        summary = json.loads(row["summary"])
        full = set(summary.get("full_vacuums", []))
        for table, before in summary.get("vacuumed_before", {}).items():
            moment, known = datetime.fromisoformat(before), latest.get(table)
            if known is not None:
                moment = max(moment, known.vacuumed_before)
            latest[table] = LastVacuum(moment, table in full or (known is not None and known.full))
    return latest


def record_run(
    spark: SparkSession,
    warehouse: str,
    today: date,
    run_id: str,
    attempt: str,
    status: str,
    dry_run: bool,
    started: datetime,
    summary: dict[str, Any],
) -> None:
    finished = datetime.now(UTC)
    seconds = (finished - started).total_seconds()
    record = (today, run_id, status, dry_run, started, finished, seconds, json.dumps(summary, sort_keys=True))
    _append(spark, warehouse, MAINTENANCE_RUNS, [record], _RUNS_SCHEMA, f"maintenance run {attempt}")
