"""One maintenance run: finish what earlier runs left, delete expired and erased data, compact, vacuum.

The order makes a run killed anywhere harmless (docs/design.md, "Retention and erasure"):

1. An erasure asked for is recorded in `erasures` first: from then on the processing job drops its
   messages, and every run finishes it until its rows and blobs are all deleted.
2. The blob lists earlier runs left (`profile_pipeline/spark/blob_lists.py`) are finished, and rows written
   before their table carried a retention get their profile's (`profile_pipeline/spark/retention_fill.py`).
3. The days that can hold expired or erased rows are found from the tables' logs, and locked.
4. The blobs of the selected profiles and chunks are listed durably, then the rows of every table are
   deleted (each DELETE's commit tagged with the attempt, `profile_pipeline/spark/deletion_history.py`), then
   the blobs; what was deleted is recorded in `deletions`, then the list is dropped. Deleting by predicate is
   idempotent: a rerun deletes the rest, and records once what a killed attempt deleted, from the history.
5. Days no longer written are compacted, one at a time under the day's lock; then every table is purged
   and vacuumed beyond the time-travel window.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from profile_pipeline import crash_points
from profile_pipeline.config import JobConfig
from profile_pipeline.run.day_lock import DayLock, DayRefused
from profile_pipeline.spark import blob_lists, maintenance_records, retention_fill, table_care
from profile_pipeline.spark.deletion_history import DeletionTag, deleted_by
from profile_pipeline.spark.expiry import Erasure, FileSummary, Lifetime, Selection, file_summaries, lifetimes, select
from profile_pipeline.spark.job import table_uri

Progress = Callable[[str], None]
T = TypeVar("T")
R = TypeVar("R")
_BLOB_TABLE = "profiles"  # every stored profile and chunk has its row here
# Tables vacuumed or compacted at once: enough to overlap their driver-side work (Delta reading each table's state,
# listing files, committing); each command's own Spark jobs use every core.
_CONCURRENT_TABLES = 4


@dataclass(frozen=True)
class Request:
    today: date
    run_id: str
    erasure: Erasure
    vacuum_hours: float
    dry_run: bool


@dataclass
class Summary:
    """What a run did, as printed and as recorded in `maintenance_runs`."""

    rows_deleted: dict[str, dict[str, int]] = field(default_factory=dict)  # reason -> table -> rows
    retention_filled: dict[str, int] = field(default_factory=dict)  # table -> rows given a retention
    blobs_deleted: int = 0
    files_before_compaction: dict[str, int] = field(default_factory=dict)
    files_after_compaction: dict[str, int] = field(default_factory=dict)
    compaction_refused: list[str] = field(default_factory=list)
    bytes_vacuumed: dict[str, int] = field(default_factory=dict)
    full_vacuums: list[str] = field(default_factory=list)  # the tables whose whole directory was vacuumed
    vacuumed_before: dict[str, str] = field(default_factory=dict)  # table -> the files removed before this are gone
    vacuums_skipped: list[str] = field(default_factory=list)  # no commit had left the window since the last vacuum
    seconds: float = 0.0

    def add_rows(self, reason: str, table: str, rows: int) -> None:
        if rows:
            by_table = self.rows_deleted.setdefault(reason, {})
            by_table[table] = by_table.get(table, 0) + rows

    def add_compaction(self, table: str, before: int, after: int) -> None:
        self.files_before_compaction[table] = self.files_before_compaction.get(table, 0) + before
        self.files_after_compaction[table] = self.files_after_compaction.get(table, 0) + after

    def as_record(self) -> dict[str, Any]:
        return {
            "rows_deleted": self.rows_deleted,
            "retention_filled": self.retention_filled,
            "blobs_deleted": self.blobs_deleted,
            "files_before_compaction": self.files_before_compaction,
            "files_after_compaction": self.files_after_compaction,
            "compaction_refused": self.compaction_refused,
            "bytes_vacuumed": self.bytes_vacuumed,
            "full_vacuums": self.full_vacuums,
            "vacuumed_before": self.vacuumed_before,
            "vacuums_skipped": self.vacuums_skipped,
            "seconds": round(self.seconds, 3),
        }


def _no_progress(_: str) -> None:
    pass


def maintain(spark: SparkSession, config: JobConfig, request: Request, progress: Progress = _no_progress) -> Summary:
    clock, started = time.monotonic(), datetime.now(UTC)
    table_care.configure_session(spark)
    summary = Summary()
    warehouse = config.warehouse
    # This attempt's name in its commits and records: unique even when a run id is given again.
    attempt = f"{request.run_id}.{uuid.uuid4().hex[:8]}"
    if request.erasure and not request.dry_run:
        maintenance_records.request_erasure(spark, warehouse, request.erasure, request.run_id, attempt)
    pending = maintenance_records.erased(warehouse, pending_only=True)
    erasure = _union(pending, request.erasure) if request.dry_run else pending
    tables = _existing_tables(spark, config)
    if not request.dry_run:
        summary.blobs_deleted += _finish_lists(spark, config, tables, progress)
    files = {lifetime.table: _files(spark, config, lifetime) for lifetime in tables}
    _read_again(spark, config, tables, files, _fill_retention(spark, config, request, files, summary, progress))
    default = config.options.default_retention_days
    selections = [select(files[item.table], item, request.today, erasure, default) for item in tables]
    selections = [selection for selection in selections if selection.days]
    if request.dry_run:
        _report_dry_run(spark, config, selections, progress)
        summary.seconds = time.monotonic() - clock
        return summary
    if selections:
        _delete(spark, config, request, attempt, selections, erasure, summary, progress)
        _read_again(spark, config, tables, files, {selection.lifetime.table for selection in selections})
    elif erasure:
        maintenance_records.complete_erasures(spark, warehouse)  # nothing of theirs was left to delete
    _read_again(spark, config, tables, files, _compact(spark, config, request, tables, files, summary, progress))
    _vacuum(spark, config, request, tables, files, summary)
    crash_points.reach("maintain:vacuumed")
    summary.seconds = time.monotonic() - clock
    maintenance_records.record_run(
        spark, warehouse, request.today, request.run_id, attempt, "finished", False, started, summary.as_record()
    )
    return summary


def _union(first: Erasure, second: Erasure) -> Erasure:
    return Erasure(first.organizations | second.organizations, first.projects | second.projects)


def _existing_tables(spark: SparkSession, config: JobConfig) -> list[Lifetime]:
    return [item for item in lifetimes(config) if table_care.is_table(spark, table_uri(config.warehouse, item.table))]


def _files(spark: SparkSession, config: JobConfig, lifetime: Lifetime) -> list[FileSummary]:
    uri = table_uri(config.warehouse, lifetime.table)
    return file_summaries(spark, uri, lifetime, config.options.default_retention_days)


def _read_again(
    spark: SparkSession,
    config: JobConfig,
    tables: list[Lifetime],
    files: dict[str, list[FileSummary]],
    changed: set[str],
) -> None:
    """Read the files of the tables a step changed again; the others' are still as read."""
    for lifetime in tables:
        if lifetime.table in changed:
            files[lifetime.table] = _files(spark, config, lifetime)


def _finish_lists(spark: SparkSession, config: JobConfig, tables: list[Lifetime], progress: Progress) -> int:
    """Finish what the attempts that left complete lists did not: delete the blobs, record the deletions their
    commits carry, drop the list; drop the lists cut short (no row was deleted after them)."""
    complete, cut_short = blob_lists.pending_lists(spark, config.warehouse)
    deleted = 0
    uris = {item.table: table_uri(config.warehouse, item.table) for item in tables}
    for listed in complete:
        deleted += blob_lists.delete_listed(spark, listed, config.storage)
        attempt = blob_lists.attempt_of(listed)
        blobs = blob_lists.listed_by_reason(spark, listed)
        for reason, found in deleted_by(spark, uris, attempt).items():
            maintenance_records.record_deletion(spark, config.warehouse, found.tag, found.rows, blobs.get(reason, 0))
            progress(f"recorded the deletions ({reason}) of {attempt}, which died before recording them")
        blob_lists.drop_list(spark, listed)
        progress(f"finished the blob deletions of {listed}, left by a run that died")
    for listed in cut_short:
        blob_lists.drop_list(spark, listed)
    return deleted


def _fill_retention(
    spark: SparkSession,
    config: JobConfig,
    request: Request,
    files: dict[str, list[FileSummary]],
    summary: Summary,
    progress: Progress,
) -> set[str]:
    """Give the rows written before their table carried a retention their profile's or the default, under the
    days' locks (`profile_pipeline/spark/retention_fill.py`); the tables changed."""
    unknown = {table: {item.day for item in found if item.unknown_retention} for table, found in files.items()}
    unknown = {table: days for table, days in unknown.items() if days}
    if not unknown:
        return set()
    warehouse, default = config.warehouse, config.options.default_retention_days
    if request.dry_run:
        for table, days in sorted(unknown.items()):
            rows = retention_fill.count_unfilled(spark, warehouse, table, days)
            progress(f"dry run: would give {rows} row(s) of {table} written without a retention one")
        return set()
    with ExitStack() as held:
        for day in sorted(set().union(*unknown.values())):
            held.enter_context(DayLock(warehouse, day, request.run_id, config.locks))
        for table, days in sorted(unknown.items()):
            rows = retention_fill.fill_retention(spark, warehouse, table, days, default)
            if rows:
                summary.retention_filled[table] = rows
                progress(f"gave {rows} row(s) of {table} written without a retention their profile's or the default")
    return set(unknown)


def _report_dry_run(spark: SparkSession, config: JobConfig, selections: list[Selection], progress: Progress) -> None:
    for selection in selections:
        uri = table_uri(config.warehouse, selection.lifetime.table)
        for reason, predicate in (("erasure", selection.erased), ("retention", selection.expired)):
            if predicate:
                rows = table_care.count_rows(spark, uri, predicate)
                progress(f"dry run: would delete {rows} row(s) of {selection.lifetime.table} ({reason})")
            if predicate and selection.lifetime.table == _BLOB_TABLE:
                blobs = blob_lists.storage_paths(_selected(spark, uri, predicate), config.vroom.profiles_bucket).count()
                progress(f"dry run: would delete {blobs} blob(s) from {config.vroom.profiles_bucket} ({reason})")
    if not selections:
        progress("dry run: nothing has expired and nothing is to be erased")


def _selected(spark: SparkSession, uri: str, predicate: str) -> Any:
    return spark.read.format("delta").load(uri).where(predicate)


def _delete(
    spark: SparkSession,
    config: JobConfig,
    request: Request,
    attempt: str,
    selections: list[Selection],
    erasure: Erasure,
    summary: Summary,
    progress: Progress,
) -> None:
    """Under the locks of every selected day: list the blobs, delete the rows of each table, then the blobs; then
    record the deletions and drop the list."""
    days = sorted(set().union(*(selection.days for selection in selections)))
    warehouse = config.warehouse
    with ExitStack() as held:
        for day in days:
            held.enter_context(DayLock(warehouse, day, request.run_id, config.locks))
        progress(f"holding {len(days)} day(s) from {days[0]} to {days[-1]}: listing the blobs to delete")
        listed, blobs_by_reason = _list_blobs(spark, config, attempt, selections)
        crash_points.reach("maintain:listed")
        tags = {
            "erasure": DeletionTag(attempt, request.run_id, "erasure", erasure),
            "retention": DeletionTag(attempt, request.run_id, "retention"),
        }
        for selection in selections:
            table = selection.lifetime.table
            uri = table_uri(warehouse, table)
            for reason, predicate in (("erasure", selection.erased), ("retention", selection.expired)):
                if predicate:
                    summary.add_rows(reason, table, table_care.delete_rows(spark, uri, predicate, tags[reason]))
            progress(f"deleted the selected rows of {table}")
            crash_points.reach(f"maintain:deleted:{table}")
        summary.blobs_deleted += blob_lists.delete_listed(spark, listed, config.storage)
        crash_points.reach("maintain:blobs-deleted")
        for reason, rows in summary.rows_deleted.items():
            blobs = blobs_by_reason.get(reason, 0)
            maintenance_records.record_deletion(spark, warehouse, tags[reason], rows, blobs)
        crash_points.reach("maintain:recorded")
        blob_lists.drop_list(spark, listed)
    if erasure:
        maintenance_records.complete_erasures(spark, warehouse)


def _list_blobs(
    spark: SparkSession, config: JobConfig, attempt: str, selections: list[Selection]
) -> tuple[str, dict[str, int]]:
    """Write down the blobs of the selected profiles and chunks (an empty list when no profile is selected: it
    still marks the attempt as deleting until it has recorded its deletions); (the list, how many per reason)."""
    profiles = next((item for item in selections if item.lifetime.table == _BLOB_TABLE), None)
    if profiles is None:
        empty = spark.createDataFrame([], blob_lists.LIST_SCHEMA)
        return blob_lists.write_list(empty, config.warehouse, attempt), {}
    uri = table_uri(config.warehouse, _BLOB_TABLE)
    bucket = config.vroom.profiles_bucket
    reasons = [("erasure", profiles.erased), ("retention", profiles.expired)]
    frames = [
        blob_lists.storage_paths(_selected(spark, uri, predicate), bucket).withColumn("reason", F.lit(reason))
        for reason, predicate in reasons
        if predicate
    ]
    paths = frames[0] if len(frames) == 1 else frames[0].unionByName(frames[1])
    listed = blob_lists.write_list(paths, config.warehouse, attempt)
    return listed, blob_lists.listed_by_reason(spark, listed)


def _vacuum(
    spark: SparkSession,
    config: JobConfig,
    request: Request,
    tables: list[Lifetime],
    files: dict[str, list[FileSummary]],
    summary: Summary,
) -> None:
    """Purge and vacuum every table: FULL where this run deleted rows or no run has in `full_vacuum_days`; else LITE,
    and only where a commit has passed out of the window since the table's last vacuum (otherwise it has nothing
    LITE could delete). The tables are vacuumed concurrently: a vacuum's time is mostly Delta reading the table's
    state and listing files, which then overlaps between tables."""
    since = request.today - timedelta(days=config.maintenance.full_vacuum_days - 1)
    earlier = maintenance_records.recent_vacuums(spark, config.warehouse, since)
    deleted_from = {table for by_table in summary.rows_deleted.values() for table in by_table}
    cutoff = datetime.now(UTC) - timedelta(hours=request.vacuum_hours)

    def vacuum(lifetime: Lifetime) -> tuple[int, bool] | None:
        """The bytes freed and whether the vacuum was FULL; None where it was skipped."""
        table, uri = lifetime.table, table_uri(config.warehouse, lifetime.table)
        last = earlier.get(table)
        full = table in deleted_from or last is None or not last.full
        purge = any(item.deletion_vector for item in files[table])
        if not (full or purge or table_care.has_commits_between(spark, uri, last.vacuumed_before, cutoff)):
            return None
        return table_care.purge_and_vacuum(spark, uri, files[table], request.vacuum_hours, full)

    for lifetime, outcome in zip(tables, _per_table(vacuum, tables), strict=True):
        if outcome is None:
            summary.vacuums_skipped.append(lifetime.table)
            continue
        freed, full = outcome
        summary.bytes_vacuumed[lifetime.table] = freed
        summary.vacuumed_before[lifetime.table] = cutoff.isoformat()
        if full:
            summary.full_vacuums.append(lifetime.table)


def _compact(
    spark: SparkSession,
    config: JobConfig,
    request: Request,
    tables: list[Lifetime],
    files: dict[str, list[FileSummary]],
    summary: Summary,
    progress: Progress,
) -> set[str]:
    """Compact each day no longer written, every table of it under the day's lock; a held day waits for the next run.
    The tables compacted."""
    care = config.maintenance
    before = request.today - timedelta(days=care.compact_after_days)
    by_day: dict[date, list[str]] = {}
    for lifetime in tables:
        for day in table_care.days_to_compact(files[lifetime.table], before, care.target_file_bytes):
            by_day.setdefault(day, []).append(lifetime.table)
    compacted: set[str] = set()

    def compact(day: date, table: str) -> table_care.Compaction:
        count = sum(1 for item in files[table] if item.day == day)
        return table_care.compact_day(spark, table_uri(config.warehouse, table), day, count, care.target_file_bytes)

    for day, names in sorted(by_day.items()):
        try:
            with DayLock(config.warehouse, day, request.run_id, config.locks):
                for table, done in zip(names, _per_table(partial(compact, day), names), strict=True):
                    summary.add_compaction(table, done.files_before, done.files_after)
                    compacted.add(table)
        except DayRefused as refused:
            summary.compaction_refused.append(str(day))
            progress(f"{day}: not compacted, {refused}")
    return compacted


def _per_table(work: Callable[[T], R], items: list[T]) -> list[R]:
    """`work` over the tables' items concurrently, its results in their order; the first error is raised once every
    started command has ended."""
    with ThreadPoolExecutor(max_workers=min(_CONCURRENT_TABLES, max(len(items), 1))) as pool:
        return list(pool.map(work, items))
