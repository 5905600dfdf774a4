"""The partition function without Spark: batches, the paused cycle collector, the stored payload."""

from __future__ import annotations

import gc
import random
from datetime import date

import orjson
import zstandard

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig, SymbolicationConfig, VroomConfig
from profile_pipeline.spark.partition import process_objects
from profile_pipeline.spark.tables import profile_row
from profile_pipeline.stages.context import StageContext
from profile_pipeline.work import ProfileWork, Source
from synthetic.messages import ingest_message, pack_stream
from synthetic.profiles import ProfileSpec, generate

DAY = date(2026, 11, 30)


def context(batch_profiles: int) -> StageContext:
    config = JobConfig(
        batch_profiles=batch_profiles,
        symbolication=SymbolicationConfig(mode="off"),
        vroom=VroomConfig(mode="off"),
    )
    return StageContext(config, ReferenceData(), "test-run", DAY)


def objects(count: int) -> list[tuple[str, int, bytes]]:
    rng = random.Random(3)
    spec = ProfileSpec(frames=20, target_bytes=4_000)
    messages = [
        ingest_message(generate("python_v1", rng, spec), organization_id=1, project_id=2, received=int(spec.start))
        for _ in range(count)
    ]
    content = pack_stream(messages)
    return [("input/object-0.msgpack", len(content), content)]


def test_the_cycle_collector_is_paused_while_batches_run_and_restored_after() -> None:
    assert gc.isenabled()
    states, tables = [], []
    for table, _ in process_objects(objects(5), context(batch_profiles=2)):
        states.append(gc.isenabled())
        tables.append(table)
    assert tables.count("profiles") == 5  # three batches: 2, 2 and 1
    assert states and not any(states)
    assert gc.isenabled()


def test_a_partition_left_half_read_restores_the_collector() -> None:
    rows = process_objects(objects(4), context(batch_profiles=2))
    next(rows)
    assert not gc.isenabled()
    rows.close()
    assert gc.isenabled()


def test_what_the_process_holds_before_its_first_partition_is_frozen_once() -> None:
    list(process_objects(objects(2), context(batch_profiles=2)))
    frozen = gc.get_freeze_count()
    assert frozen > 0
    list(process_objects(objects(3), context(batch_profiles=2)))
    assert gc.get_freeze_count() == frozen  # the second partition's objects are not frozen


def test_a_payload_with_keys_that_are_not_strings_is_stored_with_them_as_strings() -> None:
    profile = generate("python_v1", random.Random(1), ProfileSpec(frames=5, target_bytes=1_000))
    profile["measurements"] = {7: {"unit": "byte"}}
    work = ProfileWork(
        source=Source("object", 0, 0),
        raw=b"",
        message={"organization_id": 1, "project_id": 2},
        profile=profile,
        format="sample_v1",
        sampled=True,
    )
    row = profile_row(work, DAY, "test-run", zstandard.ZstdCompressor())
    stored = orjson.loads(zstandard.ZstdDecompressor().decompress(row["payload"]))
    assert stored["measurements"] == {"7": {"unit": "byte"}}
    assert stored["profile"] == profile["profile"]
