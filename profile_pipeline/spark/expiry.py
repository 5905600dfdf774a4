"""Which rows are expired or erased, and which days can hold them, decided from the Delta log first.

A row of a table that holds profile data expires when its day plus its own `retention_days` is before
today (rows written before the column existed take the default retention). `outcomes` are kept at least
`maintenance.outcomes_retention_days` (they feed billing-style reports and outlive the data);
`job_runs` and `maintenance_runs` have a fixed retention of their own. Erasure selects every row of the
given organizations and projects.

Each table's log carries every data file's day and statistics (lowest retention, range of organization
and project ids). From them alone come the days that can hold selected rows; only those days are read,
so a night on which nothing expires reads no data at all (docs/design.md, "Retention and erasure").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from profile_pipeline.adapters import delta_reader
from profile_pipeline.config import JobConfig
from profile_pipeline.spark.delta_commit import PARTITION_COLUMN

RETENTION_COLUMN = "retention_days"
# The tables whose rows carry the retention of their profile.
PROFILE_DATA = ("profiles", "chunks", "functions", "occurrences", "quarantine", "outcomes")


@dataclass(frozen=True)
class Lifetime:
    """How long a table's rows are kept, and whose data they are."""

    table: str
    per_row: bool  # the rows carry `retention_days`
    kept_days: int  # the fixed retention, or with `per_row` the least a row is kept
    organization_column: str | None  # None: the table holds no organization's data


def lifetimes(config: JobConfig) -> list[Lifetime]:
    care = config.maintenance
    kept = {"outcomes": care.outcomes_retention_days}
    rows = [
        Lifetime(table, True, kept.get(table, 0), "org_id" if table == "outcomes" else "organization_id")
        for table in PROFILE_DATA
    ]
    return [
        *rows,
        # Written by the regression job from `functions`: kept as long as a profile is by default.
        Lifetime("function_regressions", False, config.options.default_retention_days, "organization_id"),
        Lifetime("job_runs", False, care.job_runs_retention_days, None),
        Lifetime("maintenance_runs", False, care.maintenance_runs_retention_days, None),
    ]


@dataclass(frozen=True)
class Erasure:
    """Organizations and projects whose every row is to be deleted."""

    organizations: frozenset[int] = frozenset()
    projects: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.organizations or self.projects)


@dataclass(frozen=True)
class FileSummary:
    """One data file as the log describes it."""

    day: date
    size: int
    least_retention: int | None  # None: the file has no statistics
    organizations: tuple[int, int] | None
    projects: tuple[int, int] | None
    deletion_vector: bool = False  # rows of it are deleted but still in its bytes
    unknown_retention: bool = False  # it may hold rows without a retention (written before the column)


@dataclass
class Selection:
    """A table's rows to delete: per reason, the days that can hold them and the predicate over those days."""

    lifetime: Lifetime
    expiring_days: set[date] = field(default_factory=set)
    erased_days: set[date] = field(default_factory=set)
    expired: str = ""  # the predicate of expired rows ("" when no day can hold one)
    erased: str = ""  # the predicate of erased rows

    @property
    def days(self) -> set[date]:
        return self.expiring_days | self.erased_days

    @property
    def either(self) -> str:
        return " OR ".join(f"({predicate})" for predicate in (self.erased, self.expired) if predicate)


# The columns whose statistics tell which files can hold expired or erased rows, and their types.
_BOUNDED = {"retention_days": "int", "organization_id": "bigint", "org_id": "bigint", "project_id": "bigint"}
_BOUNDS = "struct<" + ",".join(f"{column}:{kind}" for column, kind in _BOUNDED.items()) + ">"
_STATS = f"struct<numRecords:bigint,minValues:{_BOUNDS},maxValues:{_BOUNDS},nullCount:map<string,bigint>>"


def snapshot_files(spark: SparkSession, table_uri: str) -> DataFrame:
    """The table's current data files (the log's `add` actions): path, day, size, statistics."""
    delta_log = spark.sparkContext._jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, table_uri)
    files = DataFrame(delta_log.startTransaction().snapshot().allFiles().toDF(), spark)
    return files.select(
        "path",
        F.col("partitionValues")[PARTITION_COLUMN].cast("date").alias("day"),
        "size",
        F.from_json("stats", _STATS).alias("stats"),
        F.col("deletionVector").isNotNull().alias("deletion_vector"),
    )


def file_summaries(
    spark: SparkSession, table_uri: str, lifetime: Lifetime, default_retention: int
) -> list[FileSummary]:
    """The table's data files, read from its log with delta-rs (milliseconds, where a Spark job over the log takes
    seconds in a fresh JVM); through Delta's own reader where the table may have deletion vectors."""
    files = delta_reader.data_files(table_uri, PARTITION_COLUMN, list(_BOUNDED))
    if files is None:
        return [_spark_summary(row, lifetime, default_retention) for row in snapshot_files(spark, table_uri).collect()]
    return [
        _summary(FileSummary(file["day"], file["size"], None, None, None), file["stats"], lifetime, default_retention)
        for file in files
    ]


def _spark_summary(row: Any, lifetime: Lifetime, default_retention: int) -> FileSummary:
    summary = FileSummary(row["day"], row["size"], None, None, None, row["deletion_vector"])
    stats = row["stats"]
    if stats is not None:
        stats = (stats["minValues"], stats["maxValues"], stats["nullCount"] or {})
    return _summary(summary, stats, lifetime, default_retention)


def _summary(
    summary: FileSummary, stats: tuple[Any, Any, Any] | None, lifetime: Lifetime, default_retention: int
) -> FileSummary:
    """The file's summary with what its statistics (lowest values, highest values, null counts) say."""
    if stats is None:
        return replace(summary, unknown_retention=lifetime.per_row)
    low, high, nulls = stats
    least, unknown = None, False
    if lifetime.per_row:
        # Rows without a retention (written before the column existed) are kept the default time.
        candidates = [low[RETENTION_COLUMN]] if low and low[RETENTION_COLUMN] is not None else []
        unknown = nulls.get(RETENTION_COLUMN) is None or nulls[RETENTION_COLUMN] > 0
        if unknown:
            candidates.append(default_retention)
        least = min(candidates)
    organization = lifetime.organization_column
    return replace(
        summary,
        least_retention=least,
        organizations=_range(low, high, organization) if organization else None,
        projects=_range(low, high, "project_id") if organization else None,
        unknown_retention=unknown,
    )


def _range(low: Any, high: Any, column: str) -> tuple[int, int] | None:
    if low is None or high is None or low[column] is None or high[column] is None:
        return None
    return low[column], high[column]


def _kept_at_least(summary: FileSummary, lifetime: Lifetime) -> int:
    if not lifetime.per_row:
        return lifetime.kept_days
    return 0 if summary.least_retention is None else max(summary.least_retention, lifetime.kept_days)


def _may_hold(bounds: tuple[int, int] | None, ids: frozenset[int]) -> bool:
    return bool(ids) and (bounds is None or any(bounds[0] <= value <= bounds[1] for value in ids))


def select(
    files: list[FileSummary], lifetime: Lifetime, today: date, erasure: Erasure, default_retention: int
) -> Selection:
    """The days of `files` that can hold expired or erased rows, and the predicate that finds those rows."""
    selection = Selection(lifetime)
    least_by_day: dict[date, int] = defaultdict(lambda: 2**31)
    for summary in files:
        least_by_day[summary.day] = min(least_by_day[summary.day], _kept_at_least(summary, lifetime))
        if lifetime.organization_column and (
            _may_hold(summary.organizations, erasure.organizations) or _may_hold(summary.projects, erasure.projects)
        ):
            selection.erased_days.add(summary.day)
    selection.expiring_days = {day for day, least in least_by_day.items() if day + timedelta(days=least) < today}
    if selection.expiring_days:
        expired = expired_rows(lifetime, today, default_retention)
        selection.expired = f"{days_in(selection.expiring_days)} AND {expired}"
    if selection.erased_days:
        selection.erased = f"{days_in(selection.erased_days)} AND ({erased_rows(lifetime, erasure)})"
    return selection


def days_in(days: set[date], column: str = PARTITION_COLUMN) -> str:
    literals = ", ".join(f"DATE'{day.isoformat()}'" for day in sorted(days))
    return f"{column} IN ({literals})"


def expired_rows(lifetime: Lifetime, today: date, default_retention: int) -> str:
    if lifetime.per_row:
        kept = f"greatest(coalesce({RETENTION_COLUMN}, {default_retention}), {lifetime.kept_days})"
    else:
        kept = str(lifetime.kept_days)
    return f"date_add({PARTITION_COLUMN}, {kept}) < DATE'{today.isoformat()}'"


def erased_rows(lifetime: Lifetime, erasure: Erasure) -> str:
    conditions = []
    if erasure.organizations:
        conditions.append(f"{lifetime.organization_column} IN ({', '.join(map(str, sorted(erasure.organizations)))})")
    if erasure.projects:
        conditions.append(f"project_id IN ({', '.join(map(str, sorted(erasure.projects)))})")
    return " OR ".join(conditions)
