"""Byte access from the Python workers: Hadoop URIs as Spark lists them, objects read as stored."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from pyarrow import fs as pafs

from profile_pipeline.adapters import storage
from profile_pipeline.adapters.blob_removal import delete_all
from profile_pipeline.config import StorageConfig
from profile_pipeline.spark.job import list_objects, read_content
from profile_pipeline.spark.session import s3a_retry_settings


@pytest.mark.parametrize("name", ["plain.msgpack", "with#hash.msgpack", "with?query.msgpack", "with space.msgpack"])
def test_hadoop_uris_name_the_file_whole(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x01\x02")
    for uri in (f"file:{path}", f"file://{path}", str(path)):
        assert storage.read_bytes(uri) == b"\x01\x02", uri


def test_a_compressed_object_is_read_as_stored(tmp_path: Path) -> None:
    stored = gzip.compress(b"\x93\x01\x02\x03")
    (tmp_path / "object.msgpack.gz").write_bytes(stored)
    assert storage.read_bytes(f"file:{tmp_path}/object.msgpack.gz") == stored


def test_an_object_over_the_limit_is_not_read(tmp_path: Path) -> None:
    missing = f"file:{tmp_path}/not-there.msgpack"  # reading it would raise
    assert read_content(missing, 11, max_object_bytes=10) is None
    assert read_content(missing, 0, max_object_bytes=10) == b""


def test_the_listing_carries_no_content_and_keeps_empty_objects(spark, tmp_path: Path) -> None:
    day = tmp_path / "dt=2026-11-24"
    (day / "nested").mkdir(parents=True)
    (day / "a.msgpack").write_bytes(b"\x01" * 5)
    (day / "nested" / "b#1.msgpack").write_bytes(b"\x02" * 7)
    (day / "empty.msgpack").write_bytes(b"")
    listed = list_objects(spark, str(day))
    assert listed.columns == ["path", "length"]
    rows = {Path(row.path).name: row.length for row in listed.collect()}
    assert rows == {"a.msgpack": 5, "b#1.msgpack": 7, "empty.msgpack": 0}
    for row in listed.collect():
        assert (
            read_content(row.path, row.length, max_object_bytes=100)
            == Path(row.path.removeprefix("file:")).read_bytes()
        )


def test_every_client_takes_its_retries_and_timeouts_from_the_storage_section() -> None:
    settings = StorageConfig(
        retry_attempts=3, retry_interval_seconds=0.25, connect_timeout_seconds=2.0, request_timeout_seconds=7.5
    )
    storage.configure(settings)
    try:
        config = storage.boto3_s3_client().meta.config
    finally:
        storage.configure(StorageConfig())
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (2.0, 7.5)
    assert s3a_retry_settings(settings) == {
        "fs.s3a.attempts.maximum": "3",
        "fs.s3a.retry.limit": "3",
        "fs.s3a.retry.interval": "250ms",
        "fs.s3a.retry.throttle.limit": "3",
        "fs.s3a.retry.throttle.interval": "250ms",
        "fs.s3a.connection.establish.timeout": "2000ms",
        "fs.s3a.connection.timeout": "7500ms",
    }


def test_a_blob_is_deleted_with_the_partial_writes_killed_writers_left_of_it(tmp_path: Path) -> None:
    directory = tmp_path / "1" / "2"
    storage.write_bytes(str(directory / "kept"), b"kept")
    storage.write_bytes(str(directory / "doomed"), b"doomed")
    assert sorted(path.name for path in directory.iterdir()) == ["doomed", "kept"]  # no partial write once done
    # What a writer killed between its write and its rename leaves: the hidden name of the write in progress.
    (directory / ".doomed.tmp-4242-17").write_bytes(b"doom")
    (directory / ".kept.tmp-4242-18").write_bytes(b"ke")
    assert storage.partial_writes(str(directory)) == {
        "doomed": [str(directory / ".doomed.tmp-4242-17")],
        "kept": [str(directory / ".kept.tmp-4242-18")],
    }
    assert delete_all([str(directory / "doomed"), str(directory / "never-written")]) == 2  # a missing one is gone
    assert sorted(path.name for path in directory.iterdir()) == [".kept.tmp-4242-18", "kept"]


def test_a_blob_whose_directory_is_removed_as_it_is_made_is_still_written(tmp_path: Path, monkeypatch) -> None:
    """Maintenance removes a directory its deletions emptied; a writer that made it a moment before makes it again."""
    made = []

    class RacedFileSystem(pafs.LocalFileSystem):
        def create_dir(self, path: str, *, recursive: bool = True) -> None:
            super().create_dir(path, recursive=recursive)
            if not made:  # the first time only, as the remover runs between the writer's two steps
                made.append(path)
                os.rmdir(path)

    monkeypatch.setattr(storage, "resolve", lambda uri: (RacedFileSystem(), uri))
    target = tmp_path / "1" / "5" / ("a" * 32)
    storage.write_bytes(str(target), b"blob")
    assert made == [str(target.parent)]
    assert target.read_bytes() == b"blob"
    assert [path.name for path in target.parent.iterdir()] == [target.name]
