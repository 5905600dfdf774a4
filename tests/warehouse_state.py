"""What two correct runs of a day both write, to compare a run with another: the tables' rows and the blobs."""

from __future__ import annotations

import pandas as pd
import vroomrs
from deltalake import DeltaTable
from servers.s3 import REGION, S3Server

from profile_pipeline.spark.tables import TABLES

# Columns that differ between two correct runs: who wrote the row, when an outcome was emitted, and which of
# a function's threads vroomrs names as its example (the first of a hash map's order).
VOLATILE = {"run_id", "timestamp", "thread_id"}
# List columns whose order is a hash map's: a function's self times, in the order vroomrs met its samples.
UNORDERED = {"self_times_ns"}


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """A table's rows as two correct runs both write them: without the volatile columns, in one order."""
    columns = sorted(set(frame.columns) - VOLATILE)
    frame = frame[columns].copy()
    for column in UNORDERED & set(columns):
        frame[column] = frame[column].map(sorted)
    frame = frame.map(repr)
    return frame.sort_values(columns).reset_index(drop=True)


def blob_content(path: str, data: bytes) -> tuple:
    """A stored profile or chunk by what it holds (its bytes vary between runs: vroomrs orders maps by hash);
    a chunk's path has four components, a profile's three."""
    if path.count("/") == 3:
        chunk = vroomrs.decompress_profile_chunk(data)
        bounds = chunk.start_timestamp(), chunk.end_timestamp()
        return chunk.get_chunk_id(), chunk.get_profiler_id(), bounds, chunk.get_retention_days()
    stored = vroomrs.decompress_profile(data)
    functions = stored.extract_functions_metrics(min_depth=1, filter_system_frames=True)
    fingerprints = sorted(function.get_fingerprint() for function in functions)
    return stored.get_profile_id(), stored.duration_ns(), stored.get_retention_days(), fingerprints


def s3_table(s3: S3Server, uri: str) -> pd.DataFrame:
    """A Delta table on the test server, read with delta-rs (an independent reader)."""
    options = {"AWS_ENDPOINT_URL": s3.endpoint, "AWS_ALLOW_HTTP": "true", "AWS_REGION": REGION, **s3.environment}
    return DeltaTable(uri, storage_options=options).to_pandas()


def s3_commits(s3: S3Server, bucket: str, table_prefix: str) -> list[str]:
    """The names of a Delta table's commit files on the test server, oldest first."""
    log = f"{table_prefix.rstrip('/')}/_delta_log/"
    return [key[len(log) :] for key in s3.keys(bucket, log) if key.endswith(".json") and "/" not in key[len(log) :]]


def s3_state(s3: S3Server, warehouse: str, blobs_bucket: str, blobs_prefix: str) -> dict[str, object]:
    """Every table's rows of an `s3://` warehouse and every blob's content under a bucket's prefix."""
    state: dict[str, object] = {table: comparable(s3_table(s3, f"{warehouse}/{table}")) for table in TABLES}
    client, prefix = s3.client(), blobs_prefix.rstrip("/") + "/"
    names = [key[len(prefix) :] for key in s3.keys(blobs_bucket, prefix)]
    read = {name: client.get_object(Bucket=blobs_bucket, Key=prefix + name)["Body"].read() for name in names}
    state["blobs"] = {name: blob_content(name, data) for name, data in read.items()}
    return state
