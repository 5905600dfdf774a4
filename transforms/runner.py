"""Running the job over days: skip finished days, stage and publish each day, record it in `job_runs`.

Each day is processed while holding its lock (`transforms/day_lock.py`): a second run of a day that is in
progress is refused, and a range run stops there. After a crash the same command resumes at the first
day `job_runs` does not record as finished.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from delta.tables import DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.errors.exceptions.captured import CapturedException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from transforms import crash_points
from transforms.config import JobConfig
from transforms.day_lock import DayLock, DayRefused
from transforms.reference import ReferenceData
from transforms.spark_job import (
    delete_path,
    delete_stale_staging,
    input_day_uri,
    most_common_unexpected,
    path_exists,
    publish_day,
    stage_day,
    staged_counts,
    table_uri,
)

JOB_RUNS = "job_runs"
FINISHED = "finished"
FAILED = "failed"
SKIPPED = "skipped"
REFUSED = "refused"

Progress = Callable[[str], None]


class InputDayMissing(RuntimeError):
    pass


class TooManyUnexpectedFailures(RuntimeError):
    """More of the day's messages failed unexpectedly than the configured ceiling allows."""

    def __init__(self, message: str, counts: dict[str, Any]) -> None:
        super().__init__(message)
        self.counts = counts


@dataclass(frozen=True)
class DayResult:
    day: date
    status: str  # finished | skipped | failed | refused
    counts: dict[str, Any]
    seconds: float
    error: str | None = None


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def root_cause(error: Py4JJavaError | CapturedException) -> str:
    """One line for a failed Spark job: the innermost cause, for a Python worker its exception line."""
    if isinstance(error, CapturedException):
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        return lines[-1] if lines else type(error).__name__
    chain = [error.java_exception]
    while chain[-1].getCause() is not None:
        chain.append(chain[-1].getCause())
    # The innermost cause, or the wrapper that repeats its message with more context (e.g. the program that
    # could not be run around "error=2, No such file or directory").
    cause = chain.pop()
    while chain and _extends(str(chain[-1].getMessage() or ""), str(cause.getMessage() or "")):
        cause = chain.pop()
    lines = [line.strip() for line in str(cause.getMessage() or cause.toString()).splitlines() if line.strip()]
    return lines[-1] if "PythonException" in cause.getClass().getName() and lines else (lines or ["unknown"])[0]


def _extends(outer: str, inner: str) -> bool:
    """Whether `outer` is one line that ends with `inner` after some context."""
    outer, inner = outer.strip(), inner.strip()
    return bool(inner) and "\n" not in outer and outer.endswith(inner) and outer != inner


def describe_failure(error: BaseException) -> str:
    """Any error of a run as one line: a Spark failure by its root cause, a file error by its path."""
    if isinstance(error, Py4JJavaError | CapturedException):
        return f"Spark failed: {root_cause(error)}"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def finished_days(spark: SparkSession, warehouse: str, among: list[date] | None = None) -> set[date]:
    """The days `job_runs` records as finished (only those of `among`, when given).

    A `job_runs` directory without a commit (a first run that died while recording) holds no finished day.
    """
    uri = table_uri(warehouse, JOB_RUNS)
    if not DeltaTable.isDeltaTable(spark, uri):
        return set()
    runs = spark.read.format("delta").load(uri).where(F.col("status") == FINISHED)
    if among is not None:
        runs = runs.where(F.col("dt").isin(among))
    return {row["dt"] for row in runs.select("dt").distinct().collect()}


def day_summary(result: DayResult) -> dict[str, Any]:
    """The figures of the printed summary, as stored in `job_runs.summary`."""
    counts = result.counts
    frames, resolved = counts.get("frames_total", 0), counts.get("frames_symbolicated", 0)
    return {
        **counts,
        "messages_in": int(sum(counts.get(name, 0) for name in ("profiles", "quarantine", "dropped"))),
        "profiles_out": int(counts.get("profiles", 0)),
        "quarantined": int(counts.get("quarantine", 0)),
        "dropped_by_sampling": int(counts.get("dropped", 0)),
        "unexpected_failures": int(counts.get("unexpected_failures", 0)),
        "symbolication_coverage": resolved / frames if frames else None,
        "seconds": round(result.seconds, 3),
    }


def _record_run(
    spark: SparkSession, warehouse: str, run_id: str, arguments: dict[str, Any], result: DayResult, started: datetime
) -> None:
    summary = day_summary(result)
    row = {
        "run_id": run_id,
        "dt": result.day,
        "status": result.status,
        "started_at": started,
        "finished_at": datetime.now(UTC),
        "seconds": float(result.seconds),
        "arguments": json.dumps(arguments, sort_keys=True, default=str),
        "messages_in": summary["messages_in"],
        "profiles_out": summary["profiles_out"],
        "quarantined": summary["quarantined"],
        "dropped_by_sampling": summary["dropped_by_sampling"],
        "unexpected_failures": summary["unexpected_failures"],
        "outcomes": int(result.counts.get("outcomes", 0)),
        "functions": int(result.counts.get("functions", 0)),
        "error": result.error,
        "summary": json.dumps(summary, sort_keys=True, default=str),
    }
    # Literal columns: the row is built in the JVM, so a failure is recorded even when Python workers cannot start.
    frame = spark.range(1).select(*(F.lit(row[name]).cast(kind).alias(name) for name, kind in _JOB_RUNS_COLUMNS))
    # mergeSchema: a job_runs table written before a column was added takes the new column.
    frame.write.format("delta").mode("append").option("mergeSchema", "true").partitionBy("dt").save(
        table_uri(warehouse, JOB_RUNS)
    )


_JOB_RUNS_COLUMNS = (
    ("run_id", "string"),
    ("dt", "date"),
    ("status", "string"),
    ("started_at", "timestamp"),
    ("finished_at", "timestamp"),
    ("seconds", "double"),
    ("arguments", "string"),
    ("messages_in", "long"),
    ("profiles_out", "long"),
    ("quarantined", "long"),
    ("dropped_by_sampling", "long"),
    ("unexpected_failures", "long"),
    ("outcomes", "long"),
    ("functions", "long"),
    ("error", "string"),
    ("summary", "string"),
)


def _no_progress(_: str) -> None:
    pass


def process_day(
    spark: SparkSession,
    config: JobConfig,
    reference: ReferenceData,
    day: date,
    run_id: str,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Stage and publish one day; returns its counts. Raises `InputDayMissing` when there is no input."""
    day_uri = input_day_uri(config.input, day)
    if not path_exists(spark, day_uri):
        raise InputDayMissing(f"no input for {day}: {day_uri} does not exist")
    staging_uri = f"{config.warehouse.rstrip('/')}/_staging/run_id={run_id}/dt={day.isoformat()}"
    for stale in delete_stale_staging(spark, config.warehouse, day):
        progress(f"{day}: deleted {stale}, left by a run that died")
    try:
        progress(f"{day}: reading {day_uri}, running the stages, staging the rows")
        stage_day(spark, config, reference, day=day, run_id=run_id, staging_uri=staging_uri)
        crash_points.reach("staged")
        progress(f"{day}: counting the staged rows")
        counts = staged_counts(spark, staging_uri)
        if over_unexpected_ceiling(counts, config.max_unexpected_failure_share):
            most_common = most_common_unexpected(spark, staging_uri)
            raise _too_many_unexpected(counts, config.max_unexpected_failure_share, most_common)
        publish_day(spark, config.warehouse, staging_uri, day, lambda table: progress(f"{day}: publishing {table}"))
    finally:
        delete_path(spark, staging_uri)
    return counts


def over_unexpected_ceiling(counts: dict[str, Any], ceiling: float) -> bool:
    """Whether the day's share of unexpected failures is over the ceiling."""
    messages = sum(int(counts.get(name, 0)) for name in ("profiles", "quarantine", "dropped"))
    return bool(messages) and int(counts.get("unexpected_failures", 0)) / messages > ceiling


def _too_many_unexpected(counts: dict[str, Any], ceiling: float, most_common: str | None) -> TooManyUnexpectedFailures:
    messages = sum(int(counts.get(name, 0)) for name in ("profiles", "quarantine", "dropped"))
    unexpected = int(counts.get("unexpected_failures", 0))
    return TooManyUnexpectedFailures(
        f"{unexpected} of {messages} messages failed unexpectedly ({unexpected / messages:.1%}), over the ceiling "
        f"of {ceiling:.1%} (max_unexpected_failure_share), so the day is not published; most common: {most_common}",
        counts,
    )


def run_days(
    spark: SparkSession,
    config: JobConfig,
    reference: ReferenceData,
    days: list[date],
    *,
    run_id: str,
    force: bool,
    arguments: dict[str, Any],
    report: Callable[[DayResult], None],
    progress: Progress = _no_progress,
) -> list[DayResult]:
    """Process the days in order; a finished day is skipped unless forced.

    The first failed or refused day stops the range, so that the same command resumes there.
    """
    done = set() if force else finished_days(spark, config.warehouse)
    results: list[DayResult] = []
    for day in days:
        if day in done:
            result = DayResult(day, SKIPPED, {}, 0.0)
        else:
            try:
                with DayLock(config.warehouse, day, run_id, config.locks) as lock:
                    result = _run_locked_day(spark, config, reference, day, run_id, force, arguments, lock, progress)
            except DayRefused as refused:
                result = DayResult(day, REFUSED, {}, 0.0, str(refused))
        results.append(result)
        report(result)
        if result.status in (FAILED, REFUSED):
            break
    return results


def _run_locked_day(
    spark: SparkSession,
    config: JobConfig,
    reference: ReferenceData,
    day: date,
    run_id: str,
    force: bool,
    arguments: dict[str, Any],
    lock: DayLock,
    progress: Progress,
) -> DayResult:
    # Another run may have finished the day between this run's start and taking the lock.
    if not force and finished_days(spark, config.warehouse, [day]):
        return DayResult(day, SKIPPED, {}, 0.0)
    started, clock = datetime.now(UTC), time.monotonic()
    try:
        counts = process_day(spark, config, reference, day, run_id, progress)
    except InputDayMissing as error:
        result = DayResult(day, FAILED, {}, time.monotonic() - clock, str(error))
    except TooManyUnexpectedFailures as error:
        result = DayResult(day, FAILED, error.counts, time.monotonic() - clock, str(error))
    except (Py4JJavaError, CapturedException) as error:
        # A task that failed on every attempt: the day is not published.
        result = DayResult(day, FAILED, {}, time.monotonic() - clock, f"Spark failed: {root_cause(error)}")
    else:
        result = DayResult(day, FINISHED, counts, time.monotonic() - clock)
        crash_points.reach("published")
    lock.ensure_held()
    progress(f"{day}: recording the day in {JOB_RUNS}")
    _record_run(spark, config.warehouse, run_id, arguments, result, started)
    return result


def config_summary(config: JobConfig) -> dict[str, Any]:
    """The configuration as recorded in `job_runs`, without secrets (source tokens, credentials)."""
    summary = asdict(config)
    summary["symbolication"]["sources"] = [
        {key: value for key, value in source.items() if key in ("id", "type")}
        for source in config.symbolication.sources
    ]
    return summary
