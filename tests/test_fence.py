"""The fence around every profile: whatever one message raises fails that message alone.

A stage that raises for a whole batch is run again profile by profile; a message whose rows Arrow cannot
encode is quarantined in their place; such failures are marked `unexpected`, counted in `job_runs` and the
printed summary, and over a ceiling the day is recorded as failed and left unpublished.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import functions as F
from servers.s3 import refusing_endpoint

from profile_pipeline.adapters import storage
from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig, StorageConfig, SymbolicationConfig, VroomConfig
from profile_pipeline.run.runner import DayResult, over_unexpected_ceiling, run_days
from profile_pipeline.run.summary import format_day
from profile_pipeline.spark.partition import staged_batches
from profile_pipeline.stages import pipeline
from profile_pipeline.stages.context import StageContext
from profile_pipeline.work import FAILED_NORMALIZATION, FAILED_STAGE, ProfileWork
from synthetic.messages import ingest_message, pack_stream
from synthetic.profiles import ProfileSpec, generate

DAY = date(2026, 11, 24)
SMALL = ProfileSpec(frames=5, target_bytes=2_000)


def config(**fields: Any) -> JobConfig:
    return JobConfig(symbolication=SymbolicationConfig(mode="off"), vroom=VroomConfig(mode="off"), **fields)


def profiles(count: int, kind: str = "python_v1", seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [generate(kind, rng, SMALL) for _ in range(count)]


def unstorable_chunk() -> dict[str, Any]:
    """A chunk whose duration (Sentry's rule, no cap for sample v2) is beyond any 64-bit column."""
    chunk = generate("python_chunk", random.Random(9), SMALL)
    chunk["profile"]["samples"][-1]["timestamp"] = 1e300
    return chunk


def content(payloads: list[dict[str, Any]]) -> bytes:
    return pack_stream([ingest_message(p, organization_id=1, project_id=2, received=1_764_000_000) for p in payloads])


def staged_rows(data: bytes, job: JobConfig) -> dict[str, list[dict[str, Any]]]:
    ctx = StageContext(job, ReferenceData(), "test-run", DAY)
    rows: dict[str, list[dict[str, Any]]] = {}
    for batch in staged_batches([("input/object", len(data), data)], ctx):
        for table in ("profiles", "outcomes", "quarantine", "dropped"):
            column = batch.column(table)
            rows.setdefault(table, []).extend(column.filter(column.is_valid()).to_pylist())
    return rows


def test_a_stage_that_raises_for_the_batch_is_run_again_per_profile() -> None:
    works = [ProfileWork(None, b"", {}, profile, "sample_v1", True) for profile in profiles(4)]
    culprit = works[2].profile

    def stage(batch: list[ProfileWork], ctx: StageContext) -> None:
        for work in batch:
            if work.profile is culprit:
                raise ValueError("cannot read this one")
        for work in batch:
            work.profile["seen"] = True

    pipeline.run_fenced(stage, works, None, FAILED_NORMALIZATION)
    assert [work.ok for work in works] == [True, True, False, True]
    assert works[2].failure.reason == FAILED_NORMALIZATION and works[2].failure.unexpected
    assert works[2].failure.message == "ValueError: cannot read this one"
    assert all(work.profile.get("seen") for index, work in enumerate(works) if index != 2)


def test_a_storage_fault_passes_the_fence_and_fails_no_profile() -> None:
    works = [ProfileWork(None, b"", {}, profile, "sample_v1", True) for profile in profiles(3)]

    def stage(batch: list[ProfileWork], ctx: StageContext) -> None:
        raise OSError("When reading information for key 'k' in bucket 'b': AWS Error SLOW_DOWN during HeadObject")

    with pytest.raises(OSError, match="SLOW_DOWN"):
        pipeline.run_fenced(stage, works, None, FAILED_NORMALIZATION)
    assert all(work.ok for work in works)


def test_a_blob_store_that_cannot_be_reached_fails_the_task_and_quarantines_nothing(tmp_path: Path) -> None:
    """The vroom stage's blob write on a store that refuses connections: the task fails (Spark retries it),
    no profile goes to quarantine as `profiling_failed_vroomrs_processing`."""
    closed = refusing_endpoint()
    data = content(profiles(3))
    job = JobConfig(
        symbolication=SymbolicationConfig(mode="off"),
        vroom=VroomConfig(mode="embedded", profiles_bucket="s3a://blobs/profiles"),
        storage=StorageConfig(endpoint=closed, region="us-east-1", path_style_access=True, retry_attempts=1),
    )
    storage.configure(job.storage)
    try:
        with pytest.raises(OSError, match="AWS Error"):
            staged_rows(data, job)
    finally:
        storage.configure(StorageConfig())
    local = replace(job, vroom=VroomConfig(mode="embedded", profiles_bucket=str(tmp_path / "blobs")))
    rows = staged_rows(data, local)  # the same profiles, their blobs stored: none of them was bad input
    assert len(rows["profiles"]) == 3 and not rows.get("quarantine")


@pytest.mark.parametrize(("reason", "outcomes"), [(FAILED_NORMALIZATION, 2), (None, 0)])
def test_a_profile_failing_in_a_stage_is_quarantined_alone_with_outcomes_where_sentry_emits_them(
    monkeypatch: pytest.MonkeyPatch, reason: str | None, outcomes: int
) -> None:
    payloads = profiles(3)
    culprit_id = payloads[1]["event_id"]

    def faulty_stage(batch: list[ProfileWork], ctx: StageContext) -> None:
        if any(work.profile["event_id"] == culprit_id for work in batch):
            raise KeyError("frames")

    monkeypatch.setattr(pipeline, "STAGES", (faulty_stage, *pipeline.STAGES))
    if reason is not None:  # a stage with a failure outcome of Sentry's, like normalization
        monkeypatch.setitem(pipeline._REASONS, faulty_stage, reason)
    rows = staged_rows(content(payloads), config(batch_profiles=3))

    (quarantined,) = rows["quarantine"]
    assert quarantined["event_id"] == culprit_id and quarantined["unexpected"]
    assert quarantined["error_kind"] == (reason or FAILED_STAGE)
    assert quarantined["error_message"] == "KeyError: 'frames'"
    assert len(rows["profiles"]) == 2
    invalid = [row for row in rows["outcomes"] if row["outcome_name"] == "INVALID"]
    assert len(invalid) == outcomes and all(row["event_id"] == culprit_id for row in invalid)


def test_a_message_whose_rows_cannot_be_encoded_is_quarantined_in_their_place() -> None:
    payloads = [*profiles(2), unstorable_chunk(), *profiles(2, seed=2)]
    rows = staged_rows(content(payloads), config(batch_profiles=10))
    (quarantined,) = rows["quarantine"]
    assert quarantined["error_kind"] == "failed_rows" and quarantined["unexpected"]
    assert "its rows cannot be stored" in quarantined["error_message"]
    assert quarantined["event_id"] is None and quarantined["raw"]  # kept whole, to be processed again
    assert len(rows["profiles"]) == 4
    assert {row["event_id"] for row in rows["outcomes"]} >= {p["event_id"] for p in payloads if "event_id" in p}


def test_the_ceiling_is_a_share_of_the_days_messages() -> None:
    counts = {"profiles": 18, "quarantine": 2, "dropped": 0, "unexpected_failures": 1}
    assert not over_unexpected_ceiling(counts, 0.05)
    assert over_unexpected_ceiling(counts, 0.04)
    assert not over_unexpected_ceiling({"profiles": 0, "quarantine": 0, "dropped": 0}, 0.0)


def write_day(root: Path, payloads: list[dict[str, Any]]) -> None:
    day_dir = root / "input" / f"dt={DAY.isoformat()}"
    day_dir.mkdir(parents=True)
    (day_dir / "object-0.msgpack").write_bytes(content(payloads))


def test_over_the_ceiling_the_day_fails_unpublished_and_under_it_finishes_counting_them(spark, tmp_path) -> None:
    write_day(tmp_path, [*profiles(19), unstorable_chunk()])
    warehouse = tmp_path / "warehouse"

    def run(run_id: str, ceiling: float) -> DayResult:
        job = config(input=str(tmp_path / "input"), warehouse=str(warehouse), max_unexpected_failure_share=ceiling)
        (result,) = run_days(
            spark, job, ReferenceData(), [DAY], run_id=run_id, force=False, arguments={}, report=lambda _: None
        )
        return result

    failed = run("strict", 0.0)
    assert failed.status == "failed" and "1 of 20 messages failed unexpectedly" in failed.error
    assert "most common: failed_rows" in failed.error
    assert not (warehouse / "profiles").exists()  # nothing published

    finished = run("default", 0.05)
    assert finished.status == "finished" and finished.counts["unexpected_failures"] == 1
    assert "unexpected failures 1" in format_day(finished)
    runs = spark.read.format("delta").load(str(warehouse / "job_runs"))
    recorded = {row["run_id"]: (row["status"], row["unexpected_failures"]) for row in runs.collect()}
    assert recorded == {"strict": ("failed", 1), "default": ("finished", 1)}
    quarantine = spark.read.format("delta").load(str(warehouse / "quarantine"))
    assert quarantine.where(F.col("unexpected")).count() == 1
