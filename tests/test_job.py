"""The job end to end on real Spark and real Delta tables, over a generated day of every format.

One day holds every format, the real ingest message, unsampled messages and every kind of bad record
the generator knows; the job runs with its defaults (embedded symbolication and vroom). The tables are
then checked against the day's manifest: the accounting invariant, each profile's outcomes, each
quarantine kind, and that a forced re-run changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import orjson
import pytest
import zstandard
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual
from servers.symbolicator import SymbolicatorServer

from profile_pipeline.adapters.reference import load_reference
from profile_pipeline.config import JobConfig, SentryOptions, SymbolicationConfig, VroomConfig
from profile_pipeline.run.runner import run_days
from profile_pipeline.stages.outcomes import DataCategory, Outcome
from profile_pipeline.work import FAILED_VROOMRS_PROCESSING
from synthetic import write_day, write_symbol_store

DAY = date(2026, 11, 24)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
STAGE_REASONS = {
    "profiling_failed_symbolication",
    "profiling_failed_deobfuscation",
    "profiling_failed_normalization",
    "profiling_failed_vroom_insertion",
    FAILED_VROOMRS_PROCESSING,
}


def tables(spark, warehouse: Path) -> dict:
    names = ("profiles", "outcomes", "quarantine", "functions", "job_runs")
    return {name: spark.read.format("delta").load(str(warehouse / name)) for name in names}


@pytest.fixture(scope="module")
def day_run(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("job")
    manifest = write_day(
        root / "input", DAY.isoformat(), profiles=48, objects=3, seed=5, target_bytes=12_000, unsampled_share=0.3
    )
    write_symbol_store(str(root / "symbols"))
    config = JobConfig(
        input=str(root / "input"),
        warehouse=str(root / "warehouse"),
        batch_profiles=16,
        symbolication=SymbolicationConfig(symbols=str(root / "symbols")),
        vroom=VroomConfig(profiles_bucket=str(root / "bucket")),
        options=SentryOptions(unsampled_profiles_enabled=True),
    )
    reference = load_reference(str(PROJECT_ROOT / "conf" / "reference.json"))
    reports: list = []
    results = run_days(
        spark, config, reference, [DAY], run_id="first", force=False, arguments={"test": True}, report=reports.append
    )
    return {"root": root, "manifest": manifest, "config": config, "reference": reference, "results": results}


def run_day(spark, day_run: dict, config: JobConfig, run_id: str, force: bool = False):
    """The test day once more, with another configuration or run id."""
    (result,) = run_days(
        spark, config, day_run["reference"], [DAY], run_id=run_id, force=force, arguments={}, report=lambda _: None
    )
    return result


def test_day_finishes_and_job_runs_records_the_counts(spark, day_run):
    (result,) = day_run["results"]
    assert result.status == "finished", result.error
    runs = tables(spark, day_run["root"] / "warehouse")["job_runs"].where(F.col("run_id") == "first").collect()
    assert len(runs) == 1 and runs[0]["status"] == "finished" and runs[0]["dt"] == DAY
    counts = result.counts
    assert runs[0]["profiles_out"] == counts["profiles"] and runs[0]["quarantined"] == counts["quarantine"]
    assert orjson.loads(runs[0]["summary"])["profiles"] == counts["profiles"]


def test_accounting_invariant_every_message_is_in_exactly_one_place(spark, day_run):
    manifest = day_run["manifest"]
    t = tables(spark, day_run["root"] / "warehouse")
    quarantine = Counter(row["error_kind"] for row in t["quarantine"].select("error_kind").collect())
    input_kinds = {kind: n for kind, n in quarantine.items() if kind not in STAGE_REASONS}
    stage_failures = sum(n for kind, n in quarantine.items() if kind in STAGE_REASONS)
    assert input_kinds == dict(manifest.quarantine)
    assert len(manifest.quarantine) >= 10
    assert t["profiles"].count() + stage_failures == manifest.profiles
    # No message twice: (object, offset) is unique across profiles and quarantine.
    places = (
        t["profiles"]
        .select("source_path", "source_offset")
        .unionByName(t["quarantine"].select("source_path", "source_offset"))
    )
    assert places.distinct().count() == places.count()


def test_every_format_comes_out(spark, day_run):
    profiles = tables(spark, day_run["root"] / "warehouse")["profiles"]
    formats = {row["format"] for row in profiles.select("format").distinct().collect()}
    assert formats >= {"sample_v1", "sample_v2", "android", "android_chunk"}
    platforms = {row["platform"] for row in profiles.select("platform").distinct().collect()}
    assert platforms >= {"python", "node", "javascript", "cocoa", "rust", "android"}


def test_each_profile_has_its_outcomes(spark, day_run):
    t = tables(spark, day_run["root"] / "warehouse")
    outcomes: dict[str, Counter] = {}
    for row in t["outcomes"].where(F.col("event_id").isNotNull()).collect():
        outcomes.setdefault(row["event_id"], Counter())[(row["outcome"], row["category"], row["reason"])] += 1
    accepted, indexed = (
        (Outcome.ACCEPTED, DataCategory.PROFILE, None),
        (
            Outcome.ACCEPTED,
            DataCategory.PROFILE_INDEXED,
            None,
        ),
    )
    filtered = (Outcome.FILTERED, DataCategory.PROFILE_INDEXED, "sampled")
    for row in t["profiles"].select("event_id", "kind", "sampled").collect():
        got = outcomes.get(row["event_id"], Counter())
        if row["kind"] == "chunk":
            assert not got, f"chunk {row['event_id']} has per-event outcomes {got}"
        elif row["sampled"]:
            assert got == Counter({accepted: 1, indexed: 1}), row
        else:
            assert got == Counter({accepted: 1, filtered: 1}), row
    for row in t["quarantine"].where(F.col("error_kind").isin(*STAGE_REASONS)).collect():
        got = outcomes[row["event_id"]]
        assert {key[0] for key in got} == {Outcome.INVALID} and {key[2] for key in got} == {row["error_kind"]}


def test_duration_outcomes_match_profiles(spark, day_run):
    t = tables(spark, day_run["root"] / "warehouse")
    durations = t["outcomes"].where(F.col("category") == int(DataCategory.PROFILE_DURATION))
    assert durations.where(F.col("event_id").isNotNull()).count() == 0
    sampled_with_duration = t["profiles"].where(F.col("sampled") & (F.col("duration_ms") > 0))
    assert durations.count() == sampled_with_duration.count()
    total = durations.agg(F.sum("quantity")).first()[0]
    assert total == sampled_with_duration.agg(F.sum("duration_ms")).first()[0]
    v1_durations = t["profiles"].where(F.col("format") == "sample_v1").agg(F.max("duration_ms")).first()[0]
    assert v1_durations <= 30_000


def test_bad_input_with_readable_org_and_project_has_an_invalid_outcome(spark, day_run):
    t = tables(spark, day_run["root"] / "warehouse")
    readable = t["quarantine"].where(F.col("project_id").isNotNull() & ~F.col("error_kind").isin(*STAGE_REASONS))
    assert readable.count() > 0
    invalid = t["outcomes"].where(F.col("outcome") == int(Outcome.INVALID))
    for row in readable.select("error_kind", "project_id").collect():
        same = (F.col("reason") == row["error_kind"]) & (F.col("project_id") == row["project_id"])
        assert invalid.where(same).count() > 0, row
    unreadable = t["quarantine"].where(F.col("project_id").isNull()).select("error_kind").collect()
    assert {row["error_kind"] for row in unreadable} >= {"not_a_map", "corrupt_stream"}


def test_stored_payload_is_the_processed_profile(spark, day_run):
    t = tables(spark, day_run["root"] / "warehouse")
    row = t["profiles"].where(F.col("platform") == "cocoa").where(F.col("format") == "sample_v1").first()
    profile = orjson.loads(zstandard.ZstdDecompressor().decompress(row["payload"]))
    assert profile["event_id"] == row["event_id"] and profile["normalized"] is True
    assert profile["processed_by_symbolicator"] is True
    assert row["frames_symbolicated"] > 0 and row["frames_symbolicated"] <= row["frames_total"]


def test_quarantined_raw_bytes_are_the_message(spark, day_run):
    t = tables(spark, day_run["root"] / "warehouse")
    row = t["quarantine"].where(F.col("error_kind") == "payload_not_json").first()
    source = Path(row["source_path"].removeprefix("file:"))
    content = source.read_bytes()
    assert content[row["source_offset"] : row["source_offset"] + row["source_length"]] == row["raw"]


def test_rerun_replaces_the_day_without_duplicates(spark, day_run):
    warehouse = day_run["root"] / "warehouse"
    before = {name: frame.where(F.col("dt") == DAY).count() for name, frame in tables(spark, warehouse).items()}
    assert run_day(spark, day_run, day_run["config"], "again").status == "skipped"
    assert run_day(spark, day_run, day_run["config"], "forced", force=True).status == "finished"
    after = {name: frame.where(F.col("dt") == DAY).count() for name, frame in tables(spark, warehouse).items()}
    assert {k: v for k, v in after.items() if k != "job_runs"} == {k: v for k, v in before.items() if k != "job_runs"}
    assert after["job_runs"] == before["job_runs"] + 1
    profiles = tables(spark, warehouse)["profiles"]
    assert profiles.select("event_id").distinct().count() == profiles.count()
    assert {row["run_id"] for row in profiles.select("run_id").distinct().collect()} == {"forced"}


def test_unsampled_messages_are_dropped_and_counted_when_the_option_is_off(spark, day_run, tmp_path):
    gate_off = SentryOptions(unsampled_profiles_enabled=False)
    config = replace(day_run["config"], warehouse=str(tmp_path / "warehouse"), options=gate_off)
    result = run_day(spark, day_run, config, "gate")
    manifest = day_run["manifest"]
    assert result.counts["dropped"] == manifest.unsampled > 0
    t = tables(spark, tmp_path / "warehouse")
    assert t["profiles"].where(~F.col("sampled")).count() == 0
    assert t["outcomes"].where(F.col("reason") == "sampled").count() == 0


def test_symbolicator_mode_gives_the_same_profiles_and_functions_as_embedded(spark, day_run, tmp_path):
    """The day again, symbolicated and deobfuscated by a Symbolicator on loopback (debug files from the store,
    JS artifacts and ProGuard mappings through its lookup API): identical `profiles` and `functions` rows."""
    embedded_tables = tables(spark, day_run["root"] / "warehouse")
    embedded = embedded_tables["profiles"].drop("run_id")
    with SymbolicatorServer(str(day_run["root"] / "symbols")) as server:
        remote = SymbolicationConfig(mode="symbolicator", symbolicator_url=server.url, sources=server.sources)
        config = replace(day_run["config"], warehouse=str(tmp_path / "warehouse"), symbolication=remote)
        result = run_day(spark, day_run, config, "remote")
        routes = Counter(request.path for request in server.creates())
    assert result.status == "finished", result.error
    assert routes["/symbolicate"] > 0 and routes["/symbolicate-js"] > 0 and routes["/symbolicate-jvm"] > 0
    # Batching: a handful of requests per partition batch, not one per profile.
    assert sum(routes.values()) < embedded.count()
    remote_tables = tables(spark, tmp_path / "warehouse")
    symbolicated = remote_tables["profiles"].drop("run_id")
    assert symbolicated.agg(F.sum("frames_symbolicated")).first()[0] > 0
    assert symbolicated.where(F.col("deobfuscated")).count() > 0
    assertDataFrameEqual(symbolicated, embedded)

    # Function names feed the fingerprints: the same names give the same rows. (vroom lists the self times
    # of a continuous profile's function in no fixed order, whatever the mode: compared as sets.)
    def functions(table):
        return table.drop("run_id").withColumn("self_times_ns", F.array_sort("self_times_ns"))

    remote_functions = functions(remote_tables["functions"])
    assert remote_functions.where(F.col("function").contains("(")).count() > 0  # C++ names with their parameters
    assertDataFrameEqual(remote_functions, functions(embedded_tables["functions"]))


def test_functions_blobs_and_occurrences_of_the_vroom_stage(spark, day_run):
    t = tables(spark, day_run["root"] / "warehouse")
    functions = t["functions"]
    assert functions.count() > 0
    orphans = functions.join(
        t["profiles"].select(F.coalesce("profiler_id", "event_id").alias("profile_id")), "profile_id", "left_anti"
    )
    assert orphans.count() == 0
    assert functions.where(F.col("fingerprint").isNull() | (F.size("self_times_ns") == 0)).count() == 0
    assert {row["profiling_type"] for row in functions.select("profiling_type").distinct().collect()} == {
        "transaction",
        "continuous",
    }
    bucket = day_run["root"] / "bucket"
    for row in (
        t["profiles"].select("organization_id", "project_id", "event_id", "profiler_id", "kind", "sampled").collect()
    ):
        if row["kind"] == "chunk":
            blob = bucket / str(row["organization_id"]) / str(row["project_id"]) / row["profiler_id"] / row["event_id"]
        else:
            blob = bucket / str(row["organization_id"]) / str(row["project_id"]) / row["event_id"]
        assert blob.exists() == (row["sampled"] or row["kind"] == "chunk"), row
    unsampled = t["profiles"].where(~F.col("sampled")).select(F.col("event_id").alias("profile_id"))
    assert unsampled.count() > 0 and unsampled.join(functions, "profile_id").count() > 0
