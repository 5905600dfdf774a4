"""Running the job over days: skip finished days, stage and publish the others, record each in `job_runs`.

Consecutive days of a range are staged in one Spark job and published in one commit per table, in which
each day's partition is replaced whole: a day can always be run again on its own. Each day is processed
while holding its lock (`profile_pipeline/run/day_lock.py`): a second run of a day that is in progress is refused,
and a range run stops there. After a crash the same command resumes at the first day `job_runs` does not
record as finished.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import pyarrow as pa
from py4j.protocol import Py4JJavaError
from pyspark.errors.exceptions.captured import CapturedException
from pyspark.sql import SparkSession

from profile_pipeline import crash_points
from profile_pipeline.adapters import delta_reader
from profile_pipeline.adapters.archive_layout import holds_no_message
from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig
from profile_pipeline.run.day_lock import DayLock, DayRefused
from profile_pipeline.spark import maintenance_records
from profile_pipeline.spark.delta_commit import append_rows
from profile_pipeline.spark.job import (
    StagedDay,
    delete_staging,
    delete_stale_staging,
    input_bytes,
    input_day_uri,
    most_common_unexpected,
    path_exists,
    publish_days,
    stage_days,
    table_uri,
)
from profile_pipeline.spark.staging import DayCounts, staging_day_uri

JOB_RUNS = "job_runs"
FINISHED = "finished"
FAILED = "failed"
SKIPPED = "skipped"
REFUSED = "refused"

# Consecutive days are staged in one Spark job, up to this many days and this many input bytes: a bound on
# the staging space, on the day locks held at once, and on the work that a failed job takes with it.
MAX_DAYS_PER_JOB = 31
MAX_INPUT_BYTES_PER_JOB = 8 * 2**30

Progress = Callable[[str], None]


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


def finished_days(
    warehouse: str, among: list[date] | None = None, archive_offsets: dict[date, str] | None = None
) -> set[date]:
    """The days `job_runs` records as finished (only those of `among`, when given).

    Read with delta-rs, not Spark: in a fresh process this is the JVM's first Delta query otherwise, seconds of
    cold work for a table of a few rows. A `job_runs` directory without a commit (a first run that died while
    recording) holds no finished day. With `archive_offsets` (`--require-complete`), a day counts as finished
    only when a run recorded the offsets its marker holds now: a marker rewritten for late messages asks for
    the day again.
    """
    runs = delta_reader.read_rows(table_uri(warehouse, JOB_RUNS), ["dt", "status", "archive_offsets"])
    finished = [run for run in runs or [] if run["status"] == FINISHED and (among is None or run["dt"] in among)]
    if archive_offsets is None:
        return {run["dt"] for run in finished}
    return {run["dt"] for run in finished if archive_offsets.get(run["dt"]) == run.get("archive_offsets")}


def day_summary(result: DayResult) -> dict[str, Any]:
    """The figures of the printed summary, as stored in `job_runs.summary`."""
    counts = result.counts
    frames, resolved = counts.get("frames_total", 0), counts.get("frames_symbolicated", 0)
    return {
        **counts,
        "messages_in": _messages(counts),
        "profiles_out": int(counts.get("profiles", 0)),
        "quarantined": int(counts.get("quarantine", 0)),
        "dropped_by_sampling": int(counts.get("dropped", 0)),
        "unexpected_failures": int(counts.get("unexpected_failures", 0)),
        "symbolication_coverage": resolved / frames if frames else None,
        "seconds": round(result.seconds, 3),
    }


def _record_runs(
    spark: SparkSession,
    warehouse: str,
    run_id: str,
    arguments: dict[str, Any],
    results: list[tuple[DayResult, datetime]],
    archive_offsets: dict[date, str],
) -> None:
    """Append one row per day's result (with when its work started) to `job_runs`, in one commit.

    The rows are built on the driver, so a failure is recorded even when Python workers cannot start; a
    `job_runs` table written before a column was added takes the new column."""
    rows = [
        _job_run_row(run_id, arguments, result, started, archive_offsets.get(result.day)) for result, started in results
    ]
    append_rows(spark, table_uri(warehouse, JOB_RUNS), pa.Table.from_pylist(rows, schema=JOB_RUNS_SCHEMA))


def _job_run_row(
    run_id: str, arguments: dict[str, Any], result: DayResult, started: datetime, archive_offsets: str | None
) -> dict[str, Any]:
    summary = day_summary(result)
    return {
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
        # The offsets of the day's completion marker that this run read (`--require-complete`), else null.
        "archive_offsets": archive_offsets,
    }


_TIMESTAMP = pa.timestamp("us", tz="UTC")
JOB_RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("dt", pa.date32()),
        ("status", pa.string()),
        ("started_at", _TIMESTAMP),
        ("finished_at", _TIMESTAMP),
        ("seconds", pa.float64()),
        ("arguments", pa.string()),
        ("messages_in", pa.int64()),
        ("profiles_out", pa.int64()),
        ("quarantined", pa.int64()),
        ("dropped_by_sampling", pa.int64()),
        ("unexpected_failures", pa.int64()),
        ("outcomes", pa.int64()),
        ("functions", pa.int64()),
        ("error", pa.string()),
        ("summary", pa.string()),
        ("archive_offsets", pa.string()),
    ]
)


def _no_progress(_: str) -> None:
    pass


def _messages(counts: dict[str, Any]) -> int:
    """The day's messages: each lands in exactly one of profiles, quarantine, the dropped or the erased count."""
    return sum(int(counts.get(name, 0)) for name in ("profiles", "quarantine", "dropped", "erased"))


def over_unexpected_ceiling(counts: dict[str, Any], ceiling: float) -> bool:
    """Whether the day's share of unexpected failures is over the ceiling."""
    messages = _messages(counts)
    return bool(messages) and int(counts.get("unexpected_failures", 0)) / messages > ceiling


def _too_many_unexpected(counts: dict[str, Any], ceiling: float, most_common: str | None) -> TooManyUnexpectedFailures:
    messages = _messages(counts)
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
    archive_offsets: dict[date, str] | None = None,
) -> list[DayResult]:
    """Process the days in order; a finished day is skipped unless forced.

    Consecutive days to process are run as a group (`_run_group`): staged in one Spark job, published in one
    commit per table, recorded in one `job_runs` commit. The first failed or refused day stops the range, so
    that the same command resumes there.
    """
    done = set() if force else finished_days(config.warehouse, archive_offsets=archive_offsets)
    reference = _with_erasures(config.warehouse, reference)
    results: list[DayResult] = []
    remaining = list(days)
    while remaining:
        if remaining[0] in done:
            group_results = [DayResult(remaining[0], SKIPPED, {}, 0.0)]
        else:
            group = _next_group(spark, config, remaining, done)
            group_results = _run_group(
                spark, config, reference, group, run_id, force, arguments, progress, archive_offsets
            )
        for result in group_results:
            results.append(result)
            report(result)
            if result.status in (FAILED, REFUSED):
                return results
        remaining = remaining[len(group_results) :]
    return results


def _with_erasures(warehouse: str, reference: ReferenceData) -> ReferenceData:
    """The reference data with the organizations and projects the maintenance job erased: their messages are
    dropped, so that an old day processed again never brings them back."""
    erased = maintenance_records.erased(warehouse)
    return replace(reference, erased_organizations=erased.organizations, erased_projects=erased.projects)


def _next_group(spark: SparkSession, config: JobConfig, remaining: list[date], done: set[date]) -> list[date]:
    """The next days to run together: consecutive unfinished days, within the bounds of one Spark job."""
    group: list[date] = []
    total = 0
    for day in remaining[:MAX_DAYS_PER_JOB]:
        if day in done:
            break
        total += input_bytes(spark, input_day_uri(config.input, day))
        if group and total > MAX_INPUT_BYTES_PER_JOB:
            break
        group.append(day)
    return group


def _run_group(
    spark: SparkSession,
    config: JobConfig,
    reference: ReferenceData,
    group: list[date],
    run_id: str,
    force: bool,
    arguments: dict[str, Any],
    progress: Progress,
    archive_offsets: dict[date, str] | None,
) -> list[DayResult]:
    """Lock, stage, publish and record a group of days; returns a result for each day up to the first that
    stops the range (refused, missing input, over the ceiling of unexpected failures, a failed Spark job)."""
    with ExitStack() as held:
        locks: dict[date, DayLock] = {}
        results: dict[date, DayResult] = {}
        for day in group:
            try:
                locks[day] = held.enter_context(DayLock(config.warehouse, day, run_id, config.locks))
            except DayRefused as refused:
                results[day] = DayResult(day, REFUSED, {}, 0.0, str(refused))
                break
        # Another run may have finished some of the days between this run's start and taking their locks.
        finished = set() if force else finished_days(config.warehouse, list(locks), archive_offsets)
        work: list[date] = []
        for day in locks:
            if day in finished:
                results[day] = DayResult(day, SKIPPED, {}, 0.0)
            elif not path_exists(spark, input_day_uri(config.input, day)):
                offsets = (archive_offsets or {}).get(day)
                if offsets is not None and holds_no_message(offsets):
                    # A complete day without a message: finished, with nothing to publish.
                    results[day] = DayResult(day, FINISHED, DayCounts().summary(), 0.0)
                    continue
                error = f"no input for {day}: {input_day_uri(config.input, day)} does not exist"
                results[day] = DayResult(day, FAILED, {}, 0.0, error)
                break
            else:
                work.append(day)
        started = datetime.now(UTC)
        if work:
            results.update(_process_days(spark, config, reference, work, run_id, progress))
        ordered = [results[day] for day in group if day in results]
        stop = next((index for index, result in enumerate(ordered) if result.status in (FAILED, REFUSED)), None)
        ordered = ordered if stop is None else ordered[: stop + 1]
        recorded = []
        for index, result in enumerate(ordered):
            if result.status in (FINISHED, FAILED):
                try:
                    locks[result.day].ensure_held()
                except DayRefused as lost:
                    ordered[index] = DayResult(result.day, REFUSED, {}, 0.0, str(lost))
                    ordered = ordered[: index + 1]
                    break
                recorded.append((result, started))
        if recorded:
            progress(f"{_label([result.day for result, _ in recorded])}: recording the day in {JOB_RUNS}")
            _record_runs(spark, config.warehouse, run_id, arguments, recorded, archive_offsets or {})
        return ordered


def _publishing(progress: Progress, label: str, table: str) -> None:
    progress(f"{label}: publishing {table}")


def _label(days: list[date]) -> str:
    return str(days[0]) if len(days) == 1 else f"{days[0]}..{days[-1]}"


def _process_days(
    spark: SparkSession, config: JobConfig, reference: ReferenceData, days: list[date], run_id: str, progress: Progress
) -> dict[date, DayResult]:
    """Stage the days in one Spark job and publish those before the first day over the ceiling of unexpected
    failures; returns each day's result (none for the days after that one: they are left for the next run)."""
    staging_uri = f"{config.warehouse.rstrip('/')}/_staging/run_id={run_id}"
    for day in days:
        for stale in delete_stale_staging(spark, config.warehouse, day):
            progress(f"{day}: deleted {stale}, left by a run that died")
    clock = time.monotonic()
    results: dict[date, DayResult] = {}
    label = _label(days)
    try:
        progress(f"{label}: reading the input, running the stages, staging the rows")
        staged = stage_days(spark, config, reference, days, run_id=run_id, staging_uri=staging_uri)
        crash_points.reach("staged")
        publishable: list[StagedDay] = []
        for day in days:
            counts = staged[day].counts.summary()
            if over_unexpected_ceiling(counts, config.max_unexpected_failure_share):
                most_common = most_common_unexpected(spark, staged[day])
                error = _too_many_unexpected(counts, config.max_unexpected_failure_share, most_common)
                results[day] = DayResult(day, FAILED, counts, 0.0, str(error))
                break
            publishable.append(staged[day])
        if publishable:
            published = _label([day.day for day in publishable])
            on_table = partial(_publishing, progress, published)
            publish_days(spark, config.warehouse, publishable, on_table)
            crash_points.reach("published")
        for day in publishable:
            results[day.day] = DayResult(day.day, FINISHED, day.counts.summary(), 0.0)
    except (Py4JJavaError, CapturedException) as error:
        # A task that failed on every attempt: no day of the job is published.
        failure = f"Spark failed: {root_cause(error)}"
        results = {day: DayResult(day, FAILED, {}, 0.0, failure) for day in days}
    finally:
        for day in days:
            delete_staging(spark, staging_day_uri(staging_uri, day))
    # Each day's share of the group's time.
    seconds = (time.monotonic() - clock) / len(days)
    return {day: replace(result, seconds=seconds) for day, result in results.items()}


def config_summary(config: JobConfig) -> dict[str, Any]:
    """The configuration as recorded in `job_runs`, without secrets (source tokens, credentials)."""
    summary = asdict(config)
    summary["symbolication"]["sources"] = [
        {key: value for key, value in source.items() if key in ("id", "type")}
        for source in config.symbolication.sources
    ]
    return summary
