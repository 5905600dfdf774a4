"""One partition's work, free of Spark: input objects in, staged output rows out.

Messages are opened one by one and gathered into batches of `batch_profiles`; every stage runs over a
whole batch (so requests to Symbolicator and vroom carry many profiles), then the batch's rows are
emitted and the batch is let go. Memory is bounded by the batch size, not by the partition.

A fence stands around every message: whatever opening it, its stages, its rows, its outcomes or their
Arrow encoding raise fails that message alone, which goes to quarantine marked `unexpected` (see
`profile_pipeline/stages/pipeline.py` for the stages). Nothing one message holds can fail its task.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import zstandard

from profile_pipeline.adapters.ingest import BadInput, read_object
from profile_pipeline.formats import get_event_id, is_chunk
from profile_pipeline.spark import cycle_collection
from profile_pipeline.spark.tables import STAGED, TABLES, profile_row
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.envelope import Dropped, open_message
from profile_pipeline.stages.normalize import retention_days
from profile_pipeline.stages.outcomes import failed_outcomes, success_outcomes
from profile_pipeline.stages.pipeline import run_stages
from profile_pipeline.work import (
    FAILED_OUTCOMES,
    FAILED_ROWS,
    FATAL,
    OUTCOME_REASONS,
    ProfileWork,
    Source,
    describe_error,
)

Row = tuple[str, dict[str, Any]]
InputObject = tuple[str, int, bytes | None]

STAGED_ROWS_PER_BATCH = 256
# Quarantine kinds of messages whose opening or whose object's reading raised where nothing expected it.
UNREADABLE_MESSAGE = "unreadable_message"
UNREADABLE_OBJECT = "unreadable_object"


@dataclass
class Unit:
    """The rows of one message, and the bad input that stands in for them if they cannot be stored."""

    rows: list[Row]
    fallback: BadInput | None = None


def staged_batches(objects: Iterable[InputObject], ctx: StageContext) -> Iterator[pa.RecordBatch]:
    """The partition function: a partition's input objects in, Arrow batches of the staged schema out."""
    with cycle_collection.paused():
        yield from to_staged_batches(_units(objects, ctx), ctx)


def process_objects(objects: Iterable[InputObject], ctx: StageContext) -> Iterator[Row]:
    """Every output row of a partition's input objects, as (table, row) pairs (before Arrow encoding)."""
    with cycle_collection.paused():
        for unit in _units(objects, ctx):
            yield from unit.rows


def _units(objects: Iterable[InputObject], ctx: StageContext) -> Iterator[Unit]:
    batch: list[ProfileWork] = []
    for path, length, content in objects:
        for record in _records(path, length, content, ctx):
            opened = record if isinstance(record, BadInput) else _open(record, ctx)
            if not isinstance(opened, Dropped) and ctx.reference.is_erased(opened.organization_id, opened.project_id):
                yield Unit([("erased", {"source_path": opened.source.path, "source_offset": opened.source.offset})])
            elif isinstance(opened, ProfileWork):
                batch.append(opened)
                if len(batch) >= ctx.config.batch_profiles:
                    yield from _finish_batch(batch, ctx)
                    batch = []
                    cycle_collection.collect_between_batches()
            elif isinstance(opened, Dropped):
                yield Unit([("dropped", {"source_path": opened.source.path, "source_offset": opened.source.offset})])
            else:
                yield _quarantine_unit(opened, ctx)
    if batch:
        yield from _finish_batch(batch, ctx)


def _records(path: str, length: int, content: bytes | None, ctx: StageContext) -> Iterator[Any]:
    """The object's messages; if reading raises, the rest of the object is one unreadable record."""
    end = 0
    try:
        for record in read_object(path, length, content, ctx.config.limits):
            end = record.source.offset + record.source.length
            yield record
    except FATAL:
        raise
    except BaseException as error:
        rest = content[end:] if content is not None and end <= len(content) else None
        yield BadInput(
            Source(path, end, max(length - end, 0)), UNREADABLE_OBJECT, describe_error(error), rest, unexpected=True
        )


def _open(record: Any, ctx: StageContext) -> ProfileWork | BadInput | Dropped:
    try:
        return open_message(record, ctx.config)
    except FATAL:
        raise
    except BaseException as error:
        return BadInput(record.source, UNREADABLE_MESSAGE, describe_error(error), record.raw, unexpected=True)


def _quarantine_unit(bad: BadInput, ctx: StageContext) -> Unit:
    """The rows of a bad input; if even they cannot be built, its quarantine row without what was read."""
    fallback = _unidentified(bad)
    try:
        return Unit(list(_quarantine_rows(bad, ctx)), fallback)
    except FATAL:
        raise
    except BaseException as error:
        stand_in = replace(fallback, message=f"{bad.message}; {describe_error(error)}", unexpected=True)
        return Unit(list(_quarantine_rows(stand_in, ctx)))


def _unidentified(bad: BadInput) -> BadInput:
    """The bad input without what was read of the message, for when even its quarantine row cannot be stored."""
    return BadInput(bad.source, bad.kind, bad.message, bad.raw, unexpected=bad.unexpected)


def _common(ctx: StageContext) -> dict[str, Any]:
    return {"dt": ctx.day, "run_id": ctx.run_id}


def _bad_input_retention(bad: BadInput, ctx: StageContext) -> int:
    """The retention of a bad input's rows, resolved as a profile's: reference data, the message, the default."""
    identified = bad.organization_id is not None and bad.project_id is not None
    reference = ctx.reference.retention_days(bad.organization_id, bad.project_id) if identified else None
    return retention_days(reference, {"retention_days": bad.retention_days}, ctx.config.options.default_retention_days)


def _quarantine_rows(bad: BadInput, ctx: StageContext) -> Iterator[Row]:
    """A quarantine row, and INVALID outcomes where organization and project are known."""
    keep_raw = bad.raw is not None and len(bad.raw) <= ctx.config.limits.max_quarantine_raw_bytes
    source = bad.source
    retention = _bad_input_retention(bad, ctx)
    yield (
        "quarantine",
        {
            **_common(ctx),
            "source_path": source.path,
            "source_offset": source.offset,
            "source_length": source.length,
            "raw": bad.raw if keep_raw else None,
            "raw_reference": None if keep_raw else f"{source.path}#offset={source.offset}&length={source.length}",
            "error_kind": bad.kind,
            "error_message": bad.message,
            "organization_id": bad.organization_id,
            "project_id": bad.project_id,
            "event_id": bad.event_id,
            "unexpected": bad.unexpected,
            "retention_days": retention,
        },
    )
    if bad.emits_outcomes and bad.organization_id is not None and bad.project_id is not None:
        for outcome in failed_outcomes(
            timestamp=ctx.now(),
            org_id=bad.organization_id,
            project_id=bad.project_id,
            reason=bad.kind,
            event_id=bad.event_id,
            chunk=bad.chunk,
            sampled=bad.sampled,
        ):
            yield "outcomes", {**_common(ctx), **outcome, "retention_days": retention}


def _finish_batch(batch: list[ProfileWork], ctx: StageContext) -> Iterator[Unit]:
    run_stages(batch, ctx)
    compressor = zstandard.ZstdCompressor(level=3)
    for work in batch:
        if work.failure is None:
            try:
                rows = _work_rows(work, ctx, compressor)
            except _StepFailed as failed:
                work.fail(failed.reason, describe_error(failed.error), unexpected=True)
        if work.failure is not None:
            yield _quarantine_unit(_failed_input(work), ctx)
        else:
            yield Unit(rows, _failed_input(work, FAILED_ROWS))


def _failed_input(work: ProfileWork, reason: str | None = None) -> BadInput:
    """A failed profile, quarantined like bad input with its step's reason as error kind.

    With `reason`, the profile that came through every stage but whose rows cannot be stored.
    """
    failure = work.failure
    kind = reason or failure.reason
    try:
        event_id, chunk = get_event_id(work.profile), is_chunk(work.profile)
        event_id = event_id if isinstance(event_id, str) else None
    except FATAL:
        raise
    except BaseException:
        event_id, chunk = None, False
    return BadInput(
        work.source,
        kind,
        failure.message if failure is not None else "its rows cannot be stored",
        work.raw,
        organization_id=work.organization_id,
        project_id=work.project_id,
        event_id=event_id,
        chunk=chunk,
        sampled=work.sampled,
        emits_outcomes=kind in OUTCOME_REASONS,
        unexpected=reason is not None or failure.unexpected,
        retention_days=work.profile.get("retention_days", work.message.get("retention_days")),
    )


class _StepFailed(Exception):
    def __init__(self, reason: str, error: BaseException) -> None:
        super().__init__(reason)
        self.reason, self.error = reason, error


def _work_rows(work: ProfileWork, ctx: StageContext, compressor: zstandard.ZstdCompressor) -> list[Row]:
    """Every row of a profile that came through the stages; raises `_StepFailed` naming the step that raised."""
    profile, common = work.profile, _common(ctx)
    try:
        row = profile_row(work, ctx.day, ctx.run_id, compressor)
    except FATAL:
        raise
    except BaseException as error:
        raise _StepFailed(FAILED_ROWS, error) from error
    try:
        outcomes = success_outcomes(
            profile, timestamp=ctx.now(), sampled=work.sampled, emit_duration=ctx.config.options.emit_duration_outcomes
        )
    except FATAL:
        raise
    except BaseException as error:
        raise _StepFailed(FAILED_OUTCOMES, error) from error
    try:
        return [
            ("profiles", row),
            *(("outcomes", {**common, **outcome, "retention_days": row["retention_days"]}) for outcome in outcomes),
            *_side_rows(work, row, common),
        ]
    except FATAL:
        raise
    except BaseException as error:
        raise _StepFailed(FAILED_ROWS, error) from error


def _side_rows(work: ProfileWork, row: dict[str, Any], common: dict[str, Any]) -> Iterator[Row]:
    """The vroom stage's rows of a profile: functions, occurrences, chunk metadata."""
    profile_columns = {
        **common,
        "organization_id": work.organization_id,
        "project_id": work.project_id,
        "profile_id": row["profiler_id"] if is_chunk(work.profile) else row["event_id"],
        "platform": row["platform"],
        "release": row["release"],
        "environment": row["environment"],
        "transaction_name": row["transaction_name"],
        "timestamp": row["timestamp"],
        "retention_days": row["retention_days"],
    }
    for function in work.functions:
        yield "functions", {**profile_columns, **function}
    for occurrence in work.occurrences:
        yield (
            "occurrences",
            {
                **common,
                "organization_id": work.organization_id,
                "project_id": work.project_id,
                "profile_id": row["event_id"],
                "retention_days": row["retention_days"],
                **occurrence,
            },
        )
    if work.chunk_metadata is not None:
        yield "chunks", {**common, "organization_id": work.organization_id, **work.chunk_metadata}


_STAGED_COLUMNS = (*TABLES, "dropped", "erased")
_STAGED_ORDER = {name: index for index, name in enumerate(_STAGED_COLUMNS)}


def _record(table: str, row: dict[str, Any]) -> dict[str, Any]:
    record = dict.fromkeys(_STAGED_COLUMNS)
    record[table] = row
    return record


def to_staged_batches(
    units: Iterable[Unit], ctx: StageContext, rows_per_batch: int = STAGED_ROWS_PER_BATCH
) -> Iterator[pa.RecordBatch]:
    """Arrow batches of the staged schema: one record per row, its table's struct set, the others null.

    A batch that Arrow refuses (a value out of its column's range or type) is encoded again unit by unit:
    a message whose rows cannot be encoded is quarantined in their place.
    """
    pending: list[Unit] = []
    size = 0
    for unit in units:
        pending.append(unit)
        size += len(unit.rows)
        if size >= rows_per_batch:
            yield from _encoded(pending, ctx)
            pending, size = [], 0
    if pending:
        yield from _encoded(pending, ctx)


def _encoded(units: list[Unit], ctx: StageContext) -> Iterator[pa.RecordBatch]:
    try:
        yield _encode([row for unit in units for row in unit.rows])
        return
    except FATAL:
        raise
    except BaseException:
        pass
    for unit in units:
        try:
            yield _encode(unit.rows)
        except FATAL:
            raise
        except BaseException as error:
            if unit.fallback is None:
                raise
            yield _encode_stand_in(unit.fallback, describe_error(error), ctx)


def _encode_stand_in(fallback: BadInput, error: str, ctx: StageContext) -> pa.RecordBatch:
    """The quarantine row of a message whose rows cannot be encoded; without its ids if they are the cause."""
    message = f"{fallback.message}; its rows cannot be stored: {error}"
    known = {"organization_id": fallback.organization_id, "project_id": fallback.project_id}
    try:
        stand_in = BadInput(fallback.source, fallback.kind, message, fallback.raw, unexpected=True, **known)
        return _encode([row for row in _quarantine_rows(stand_in, ctx) if row[0] == "quarantine"])
    except FATAL:
        raise
    except BaseException:
        stand_in = BadInput(fallback.source, fallback.kind, message, fallback.raw, unexpected=True)
        return _encode(list(_quarantine_rows(stand_in, ctx)))


def _encode(rows: list[Row]) -> pa.RecordBatch:
    """A staged batch with each table's rows next to each other (in their order), which staging slices."""
    ordered = sorted(rows, key=lambda row: _STAGED_ORDER[row[0]])
    return pa.RecordBatch.from_pylist([_record(table, row) for table, row in ordered], schema=STAGED)
