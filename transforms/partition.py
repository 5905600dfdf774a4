"""One partition's work, free of Spark: input objects in, staged output rows out.

Messages are opened one by one and gathered into batches of `batch_profiles`; every stage runs over a
whole batch (so requests to Symbolicator and vroom carry many profiles), then the batch's rows are
emitted and the batch is let go. Memory is bounded by the batch size, not by the partition.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import zstandard

from transforms import cycle_collection
from transforms.context import StageContext
from transforms.envelope import Dropped, open_message
from transforms.formats import get_event_id, is_chunk
from transforms.ingest import BadInput, read_object
from transforms.outcomes import failed_outcomes, success_outcomes
from transforms.pipeline import run_stages
from transforms.tables import STAGED, TABLES, profile_row
from transforms.work import ProfileWork

Row = tuple[str, dict[str, Any]]
InputObject = tuple[str, int, bytes | None]

STAGED_ROWS_PER_BATCH = 256


def process_objects(objects: Iterable[InputObject], ctx: StageContext) -> Iterator[Row]:
    """Every output row of a partition's input objects, as (table, row) pairs."""
    with cycle_collection.paused():
        yield from _process_objects(objects, ctx)


def _process_objects(objects: Iterable[InputObject], ctx: StageContext) -> Iterator[Row]:
    batch: list[ProfileWork] = []
    for path, length, content in objects:
        for record in read_object(path, length, content, ctx.config.limits):
            opened = record if isinstance(record, BadInput) else open_message(record, ctx.config)
            if isinstance(opened, ProfileWork):
                batch.append(opened)
                if len(batch) >= ctx.config.batch_profiles:
                    yield from _finish_batch(batch, ctx)
                    batch = []
                    cycle_collection.collect_between_batches()
            elif isinstance(opened, Dropped):
                yield "dropped", {"source_path": opened.source.path, "source_offset": opened.source.offset}
            else:
                yield from _quarantine_rows(opened, ctx)
    if batch:
        yield from _finish_batch(batch, ctx)


def _common(ctx: StageContext) -> dict[str, Any]:
    return {"dt": ctx.day, "run_id": ctx.run_id}


def _quarantine_rows(bad: BadInput, ctx: StageContext) -> Iterator[Row]:
    """A quarantine row, and INVALID outcomes where organization and project are known."""
    keep_raw = bad.raw is not None and len(bad.raw) <= ctx.config.limits.max_quarantine_raw_bytes
    source = bad.source
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
        },
    )
    if bad.organization_id is not None and bad.project_id is not None:
        for outcome in failed_outcomes(
            timestamp=ctx.now(),
            org_id=bad.organization_id,
            project_id=bad.project_id,
            reason=bad.kind,
            event_id=bad.event_id,
            chunk=bad.chunk,
            sampled=bad.sampled,
        ):
            yield "outcomes", {**_common(ctx), **outcome}


def _finish_batch(batch: list[ProfileWork], ctx: StageContext) -> Iterator[Row]:
    run_stages(batch, ctx)
    compressor = zstandard.ZstdCompressor(level=3)
    for work in batch:
        yield from _work_rows(work, ctx, compressor)


def _work_rows(work: ProfileWork, ctx: StageContext, compressor: zstandard.ZstdCompressor) -> Iterator[Row]:
    profile, common = work.profile, _common(ctx)
    if work.failure is not None:
        # A failed profile is quarantined like bad input, with its stage's reason as error kind.
        failed = BadInput(
            work.source,
            work.failure.reason,
            work.failure.message,
            work.raw,
            organization_id=work.organization_id,
            project_id=work.project_id,
            event_id=get_event_id(profile),
            chunk=is_chunk(profile),
            sampled=work.sampled,
        )
        yield from _quarantine_rows(failed, ctx)
        return
    row = profile_row(work, ctx.day, ctx.run_id, compressor)
    yield "profiles", row
    for outcome in success_outcomes(
        profile, timestamp=ctx.now(), sampled=work.sampled, emit_duration=ctx.config.options.emit_duration_outcomes
    ):
        yield "outcomes", {**common, **outcome}
    profile_columns = {
        **common,
        "organization_id": work.organization_id,
        "project_id": work.project_id,
        "profile_id": row["profiler_id"] if is_chunk(profile) else row["event_id"],
        "platform": row["platform"],
        "release": row["release"],
        "environment": row["environment"],
        "transaction_name": row["transaction_name"],
        "timestamp": row["timestamp"],
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
                **occurrence,
            },
        )
    if work.chunk_metadata is not None:
        yield "chunks", {**common, "organization_id": work.organization_id, **work.chunk_metadata}


_STAGED_COLUMNS = (*TABLES, "dropped")


def to_staged_batches(rows: Iterable[Row], rows_per_batch: int = STAGED_ROWS_PER_BATCH) -> Iterator[pa.RecordBatch]:
    """Arrow batches of the staged schema: one record per row, its table's struct set, the others null."""
    records: list[dict[str, Any]] = []
    for table, row in rows:
        record = dict.fromkeys(_STAGED_COLUMNS)
        record[table] = row
        records.append(record)
        if len(records) >= rows_per_batch:
            yield pa.RecordBatch.from_pylist(records, schema=STAGED)
            records = []
    if records:
        yield pa.RecordBatch.from_pylist(records, schema=STAGED)
