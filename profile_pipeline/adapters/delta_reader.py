"""Reading Delta tables without the JVM, with delta-rs: what the driver consults before and while it writes.

A fresh JVM pays seconds of cold Delta work for its first query of even a table of a few rows; delta-rs reads
the same log in milliseconds. The job reads its small record tables (`job_runs`, `erasures`) and the files a
commit replaces this way; every write stays Delta's own, in the JVM. S3 is reached with the settings of
`storage.s3_settings()`, credentials from the default AWS chain (the environment), as for pyarrow.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from profile_pipeline.adapters import storage

_SPARK_S3_SCHEME = "s3a://"


def delta_rs_uri(uri: str) -> str:
    """A table's location for delta-rs, which names S3 `s3://` where Spark says `s3a://`."""
    return "s3://" + uri[len(_SPARK_S3_SCHEME) :] if uri.startswith(_SPARK_S3_SCHEME) else uri


def storage_options(uri: str) -> dict[str, str]:
    """delta-rs's options for the store that holds `uri`: the job's S3 endpoint, region, addressing and retries."""
    if not delta_rs_uri(uri).startswith("s3://"):
        return {}
    settings = storage.s3_settings()
    options = {
        "AWS_REGION": settings.region,
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": str(not settings.path_style_access).lower(),
        "max_retries": str(settings.retry_attempts - 1),  # retries after the first attempt
        "timeout": f"{round(settings.request_timeout_seconds * 1000)}ms",
        "connect_timeout": f"{round(settings.connect_timeout_seconds * 1000)}ms",
    }
    if settings.endpoint:
        options["AWS_ENDPOINT_URL"] = settings.endpoint
        options["AWS_ALLOW_HTTP"] = str(settings.endpoint.startswith("http://")).lower()
    return options


def open_table(uri: str, version: int | None = None) -> DeltaTable | None:
    """The table at its latest version (or at `version`); None where no commit exists (no table yet)."""
    try:
        return DeltaTable(delta_rs_uri(uri), version=version, storage_options=storage_options(uri))
    except TableNotFoundError:
        return None


def read_rows(uri: str, columns: list[str]) -> list[dict[str, Any]] | None:
    """The columns of every row of a small table, as Python values; None where the table does not exist."""
    table = open_table(uri)
    if table is None:
        return None
    present = [column for column in columns if column in table.schema().to_arrow().names]
    return table.to_pyarrow_dataset().to_table(columns=present).to_pylist()


def current_files(uri: str, version: int, partition_column: str, days: list[date]) -> list[dict[str, Any]]:
    """The data files of the table's version in the days' partitions: the path relative to the table, size,
    modification time and partition value of each."""
    table = open_table(uri, version)
    if table is None:
        raise FileNotFoundError(f"no Delta table at version {version} in {uri}")
    files = pa.table(table.get_add_actions(flatten=True))
    partition = f"partition.{partition_column}"
    selected = files.filter(pc.is_in(files[partition], pa.array(days, pa.date32())))
    return selected.select(["path", "size_bytes", "modification_time", partition]).to_pylist()


# The reader feature whose per-file state (rows deleted but still in a file's bytes) `data_files` does not give.
_DELETION_VECTORS = "deletionVectors"


def data_files(uri: str, partition_column: str, columns: list[str]) -> list[dict[str, Any]] | None:
    """Every data file of the table's latest version as its log describes it: `size`, the partition value as `day`,
    and `stats`, None without statistics, else the lowest values, highest values and null counts of `columns`
    (each a dict, None where the statistics do not give a column). [] where there is no table; None for a table
    that may have deletion vectors, whose files only Delta's own reader describes whole."""
    table = open_table(uri)
    if table is None:
        return []
    if _DELETION_VECTORS in (table.protocol().reader_features or ()):
        return None
    files = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    partition = f"partition.{partition_column}"
    kinds = ("min", "max", "null_count")
    return [
        {
            "day": file.get(partition),
            "size": file["size_bytes"],
            "stats": None
            if file.get("num_records") is None
            else tuple({column: file.get(f"{kind}.{column}") for column in columns} for kind in kinds),
        }
        for file in files
    ]
