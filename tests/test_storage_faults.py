"""Object storage as it behaves: resets, 503 SlowDown and lost answers, between every client and the loopback S3
server (`servers/faulty_proxy.py`).

Every write survives them: the day lock knows its own record after a lost answer, blobs and staged files are all
there and whole, and a day processed under faults publishes what a day without faults publishes. Faults beyond
what the retries absorb end the run in one line with exit status 1, and the next run finishes the day with
nothing misfiled.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from job_cli import assert_one_line_error, run_job
from ops_input import GOOD_PER_DAY, day_objects
from s3_day import s3_job_config, upload_day
from servers.faulty_proxy import FaultRates, FaultyProxy, faulty_proxy_fixture  # noqa: F401
from servers.s3 import REGION, S3Server, s3_server_fixture  # noqa: F401
from warehouse_state import s3_commits, s3_state, s3_table

from profile_pipeline.adapters import storage
from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.config import JobConfig, LockConfig, StorageConfig, SymbolicationConfig
from profile_pipeline.run.day_lock import DayLock, DayRefused
from profile_pipeline.spark.partition import staged_batches
from profile_pipeline.spark.staging import DayCounts, DayFiles, stage_batch
from profile_pipeline.stages.context import StageContext
from profile_pipeline.stages.vroom.blobs import write_blob

DAY = date(2026, 11, 24)
# The worst case: every kind of fault, at rates no real store reaches for long.
HEAVY = FaultRates(reset=0.2, throttle=0.1, lost=0.1)
MODERATE = FaultRates(reset=0.05, throttle=0.05, lost=0.03)


@pytest.fixture(name="through_proxy")
def through_proxy_fixture(faulty_proxy: FaultyProxy):
    """The Python clients of this process sent through the proxy, as the job's `[storage]` sends them."""
    storage.configure(StorageConfig(endpoint=faulty_proxy.endpoint, region=REGION, path_style_access=True))
    yield faulty_proxy
    faulty_proxy.set_rates(FaultRates())
    storage.configure(StorageConfig())


def test_a_run_whose_lock_write_answer_is_lost_holds_the_day(s3_server: S3Server, through_proxy: FaultyProxy):
    s3_server.create_bucket("locks")
    warehouse = "s3a://locks/warehouse"
    through_proxy.lose_answers("PUT", f"/locks/warehouse/_locks/dt={DAY}/00000000.json")
    counts = through_proxy.set_rates(FaultRates())

    with DayLock(warehouse, DAY, "first", LockConfig()):
        assert counts.lost == 1  # the conditional PUT took effect, its answer never came, boto3 sent it again
        # The same run id, another acquisition: refused, as any other run.
        with pytest.raises(DayRefused, match="held by run first"):
            DayLock(warehouse, DAY, "first", LockConfig()).acquire()
    (key,) = s3_server.keys("locks")
    record = json.loads(s3_server.client().get_object(Bucket="locks", Key=key)["Body"].read())
    assert record["run_id"] == "first" and record["released"]


def staged_day(batches: list[pa.RecordBatch], day_uri: str) -> dict[str, pa.Table]:
    """The batches staged under `day_uri` as the tasks stage them, each table's file read back."""
    files, counts = DayFiles(day_uri), DayCounts()
    for batch in batches:
        stage_batch(batch, files, counts)
    read = {}
    for table, staged in files.close().items():
        filesystem, path = storage.resolve(staged.uri)
        read[table] = pq.read_table(path, filesystem=filesystem)
    return read


def test_blobs_and_staged_files_written_under_faults_are_all_there_and_whole(
    s3_server: S3Server, through_proxy: FaultyProxy, tmp_path: Path
):
    s3_server.create_bucket("writes")
    ctx = StageContext(JobConfig(symbolication=SymbolicationConfig(mode="off")), ReferenceData(), "run", DAY)
    objects = [(name, len(data), data) for name, data in day_objects(DAY).items()]
    batches = list(staged_batches(objects, ctx))
    blobs = {f"1/2/{index:032x}": bytes([index]) * (500 + index) for index in range(30)}

    counts = through_proxy.set_rates(HEAVY)
    for path, data in blobs.items():
        write_blob("s3a://writes/profiles", path, data)
    on_s3 = staged_day(batches, "s3a://writes/_staging/dt=2026-11-24")
    assert counts.resets and counts.throttled and counts.lost  # every kind of fault was met

    through_proxy.set_rates(FaultRates())
    assert {path: storage.read_bytes(f"s3a://writes/profiles/{path}") for path in blobs} == blobs
    assert on_s3 == staged_day(batches, str(tmp_path / "staging")) and on_s3["profiles"].num_rows == GOOD_PER_DAY


@pytest.fixture(scope="module", name="day_on_s3")
def day_on_s3_fixture(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faults")
    upload_day(s3_server, root, DAY, profiles=30, objects=3)
    return root


def run_on_s3(s3: S3Server, root: Path, endpoint: str, name: str) -> subprocess.CompletedProcess[str]:
    config = root / f"{name}.toml"
    # Few attempts, so that faults beyond them come soon (the backoff of six attempts is under 2 s).
    config.write_text(s3_job_config(endpoint, name, "retry_attempts = 6\n"))
    return run_job("--config", str(config), "--date", str(DAY), "--run-id", name, extra_env=s3.environment)


def recorded_runs(s3: S3Server, name: str) -> list[tuple[str, int]]:
    runs = s3_table(s3, f"s3://lake/{name}/job_runs").sort_values("finished_at")
    return list(zip(runs["status"], runs["profiles_out"], strict=True))


def test_a_day_under_faults_equals_the_day_without_and_faults_beyond_retries_fail_in_one_line(
    s3_server: S3Server, faulty_proxy: FaultyProxy, day_on_s3: Path
):
    clean = run_on_s3(s3_server, day_on_s3, s3_server.endpoint, "clean")
    assert clean.returncode == 0, clean.stderr[-3000:]

    # Every answer to a blob upload lost: each attempt of each task fails, the run fails, no profile is misfiled.
    faulty_proxy.lose_answers("PUT", "/blobs/faulty/", times=10**6)
    beyond = run_on_s3(s3_server, day_on_s3, faulty_proxy.endpoint, "faulty")
    faulty_proxy.clear_rules()
    assert beyond.returncode == 1
    assert "Spark failed: OSError" in assert_one_line_error(beyond.stderr)

    # The next run, under the faults of a bad night, and with the answers lost to a staged file's move into
    # `profiles` (a copy) and to a commit of its log: the day finishes at once, as it would without them.
    faulty_proxy.lose_answers("PUT", "/lake/faulty/profiles/dt=")
    faulty_proxy.lose_answers("PUT", "/lake/faulty/profiles/_delta_log/")
    counts = faulty_proxy.set_rates(MODERATE)
    again = run_on_s3(s3_server, day_on_s3, faulty_proxy.endpoint, "faulty")
    faulty_proxy.set_rates(FaultRates())
    assert again.returncode == 0, again.stderr[-3000:]
    assert faulty_proxy.rules_left() == 0  # both answers were lost
    faulty_proxy.clear_rules()
    assert counts.resets and counts.throttled and counts.lost
    # The commit sent again replaced itself: the log has the clean run's versions, none of them doubled.
    assert s3_commits(s3_server, "lake", "faulty/profiles") == s3_commits(s3_server, "lake", "clean/profiles")
    faulty = s3_state(s3_server, "s3://lake/faulty", "blobs", "faulty")
    expected = s3_state(s3_server, "s3://lake/clean", "blobs", "clean")
    for name in expected:
        if name == "blobs":
            assert faulty[name] == expected[name]
        else:
            pd.testing.assert_frame_equal(faulty[name], expected[name], obj=name)
    ((_, profiles_out),) = recorded_runs(s3_server, "clean")
    assert recorded_runs(s3_server, "faulty") == [("failed", 0), ("finished", profiles_out)]
