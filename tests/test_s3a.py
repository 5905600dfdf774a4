"""Object storage end to end: a day on a loopback S3 server, processed through Spark's s3a connector.

The input objects, the warehouse and the profiles bucket are all `s3a://`; the endpoint reaches Spark's
Hadoop configuration and the Python workers from the `[storage]` section only (no endpoint variable in
the job's environment). Tables are read back with delta-rs, an independent Delta reader.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from deltalake import DeltaTable
from job_cli import run_job
from ops_input import BAD_PER_DAY, GOOD_PER_DAY, MESSAGES_PER_DAY, day_objects
from servers.s3 import REGION, S3Server, s3_server_fixture  # noqa: F401

from profile_pipeline.adapters.storage import configure
from profile_pipeline.config import LockConfig, StorageConfig
from profile_pipeline.run.day_lock import DayLock, DayRefused

DAY = date(2026, 11, 24)


def _delta(s3: S3Server, uri: str) -> DeltaTable:
    options = {"AWS_ENDPOINT_URL": s3.endpoint, "AWS_ALLOW_HTTP": "true", "AWS_REGION": REGION, **s3.environment}
    return DeltaTable(uri, storage_options=options)


def test_a_day_on_s3_is_processed_through_s3a_and_reads_back(s3_server: S3Server, tmp_path):
    for bucket in ("ingest", "lake", "blobs"):
        s3_server.create_bucket(bucket)
    client = s3_server.client()
    for name, data in day_objects(DAY).items():
        client.put_object(Bucket="ingest", Key=f"profiles/dt={DAY}/{name}", Body=data)
    config = tmp_path / "s3.toml"
    config.write_text(
        'input = "s3a://ingest/profiles"\n'
        'warehouse = "s3a://lake/warehouse"\n'
        "[symbolication]\n"
        'mode = "off"\n'
        "[vroom]\n"
        'mode = "embedded"\n'
        'profiles_bucket = "s3a://blobs/profiles"\n'
        "[options]\n"
        "unsampled_profiles_enabled = true\n"
        "[storage]\n"
        f'endpoint = "{s3_server.endpoint}"\n'
        "path_style_access = true\n"
        f'region = "{REGION}"\n'
    )

    job = run_job("--config", str(config), "--date", str(DAY), "--run-id", "s3-run", extra_env=s3_server.environment)

    assert job.returncode == 0, job.stderr[-3000:]
    assert f"{DAY}: publishing profiles" in job.stdout
    profiles = _delta(s3_server, "s3://lake/warehouse/profiles").to_pandas(columns=["dt", "run_id", "platform"])
    assert sorted(profiles["platform"]) == ["cocoa", "python"] and len(profiles) == GOOD_PER_DAY
    assert set(profiles["run_id"]) == {"s3-run"}
    quarantine = _delta(s3_server, "s3://lake/warehouse/quarantine").to_pandas(columns=["error_kind"])
    assert list(quarantine["error_kind"]) == ["payload_not_json"] * BAD_PER_DAY
    (run,) = _delta(s3_server, "s3://lake/warehouse/job_runs").to_pandas().to_dict("records")
    assert (run["status"], run["messages_in"]) == ("finished", MESSAGES_PER_DAY)
    assert json.loads(run["summary"])["profiles_out"] == GOOD_PER_DAY
    # The vroom stage stored each sampled profile's blob through the workers' S3 filesystem.
    assert s3_server.keys("blobs") == [
        "profiles/1/2/f8936d284c98435a8761a72eaab29b76",  # the real ingest message's profile
        f"profiles/1/7/{DAY:%Y%m%d}{'c' * 24}",
    ]
    (lock_key,) = s3_server.keys("lake", "warehouse/_locks/")
    lock = json.loads(client.get_object(Bucket="lake", Key=lock_key)["Body"].read())
    assert lock_key.endswith(f"dt={DAY}/00000000.json") and lock["released"] and lock["run_id"] == "s3-run"


def test_day_lock_on_s3_refuses_a_second_holder_and_passes_on_when_released(s3_server: S3Server):
    s3_server.create_bucket("locks")
    warehouse = "s3a://locks/warehouse"
    configure(StorageConfig(endpoint=s3_server.endpoint, region=REGION, path_style_access=True))
    try:
        with DayLock(warehouse, DAY, "first", LockConfig()), pytest.raises(DayRefused, match="by run first"):
            DayLock(warehouse, DAY, "second", LockConfig()).acquire()
        with DayLock(warehouse, DAY, "third", LockConfig()):
            keys = s3_server.keys("locks")
    finally:
        configure(StorageConfig())
    assert keys == [f"warehouse/_locks/dt={DAY}/00000000.json", f"warehouse/_locks/dt={DAY}/00000001.json"]
