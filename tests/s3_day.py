"""A generated day in the test S3 server's input bucket, and the job's configuration for a run over it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from servers.s3 import REGION, S3Server

from synthetic.day import write_day

BUCKETS = ("ingest", "lake", "blobs")


def upload_day(s3: S3Server, root: Path, day: date, profiles: int, objects: int) -> int:
    """Generate the day (good profiles of every kind, every kind of bad input) under `root`, put it in the input
    bucket `ingest`; returns its bytes."""
    write_day(root, day.isoformat(), profiles=profiles, objects=objects, target_bytes=3_000, oversize=False)
    for bucket in BUCKETS:
        s3.create_bucket(bucket)
    client, size = s3.client(), 0
    for path in sorted((root / f"dt={day}").iterdir()):
        data = path.read_bytes()
        client.put_object(Bucket="ingest", Key=f"profiles/dt={day}/{path.name}", Body=data)
        size += len(data)
    return size


def s3_job_config(endpoint: str, name: str, storage: str = "", input_uri: str = "s3a://ingest/profiles") -> str:
    """A run's configuration: input `input_uri`, warehouse `s3a://lake/<name>`, blobs under `s3a://blobs/<name>`,
    every client sent to `endpoint`; `storage` adds lines to `[storage]`."""
    return (
        f'input = "{input_uri}"\n'
        f'warehouse = "s3a://lake/{name}"\n'
        "[symbolication]\n"
        'mode = "off"\n'
        "[vroom]\n"
        'mode = "embedded"\n'
        f'profiles_bucket = "s3a://blobs/{name}"\n'
        "[storage]\n"
        f'endpoint = "{endpoint}"\n'
        "path_style_access = true\n"
        f'region = "{REGION}"\n'
        f"{storage}"
    )
