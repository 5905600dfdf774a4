"""Deleting profile blobs as the maintenance job does, on a disk and on the loopback S3 server behind the
faulty proxy: a delete whose answer was lost and that was sent again counts as done, an object already gone
is no error, and nothing but the objects asked for goes or comes (no directory marker is left)."""

from __future__ import annotations

from pathlib import Path

from servers.faulty_proxy import FaultRates, FaultyProxy, faulty_proxy_fixture  # noqa: F401
from servers.s3 import REGION, S3Server, s3_server_fixture  # noqa: F401

from profile_pipeline.adapters import storage
from profile_pipeline.adapters.blob_removal import delete_all, remove_emptied_directories
from profile_pipeline.config import StorageConfig

ERASED = [f"profiles/1/5/{index:032x}" for index in range(3)]
KEPT = ["profiles/1/6/" + "a" * 32, "profiles/1/6/" + "b" * 32 + "/" + "c" * 32]


def test_blobs_deleted_on_s3_through_lost_answers_are_gone_and_counted_and_the_rest_kept(
    s3_server: S3Server, faulty_proxy: FaultyProxy
):
    s3_server.create_bucket("blobs")
    client = s3_server.client()
    for key in ERASED + KEPT:
        client.put_object(Bucket="blobs", Key=key, Body=b"blob")
    storage.configure(StorageConfig(endpoint=faulty_proxy.endpoint, region=REGION, path_style_access=True))
    try:
        faulty_proxy.lose_answers("POST", "/blobs?delete")
        counts = faulty_proxy.set_rates(FaultRates())
        deleted = delete_all(f"s3a://blobs/{key}" for key in ERASED)
        assert counts.lost == 1  # the server deleted them, the answer never came, boto3 sent the request again
        assert deleted == len(ERASED)
        assert s3_server.keys("blobs") == sorted(KEPT)  # no `profiles/1/5/` marker either

        # A run that repeats the deletions of a run that died: the objects are already gone, which is no error.
        assert delete_all(f"s3a://blobs/{key}" for key in ERASED) == len(ERASED)
        assert s3_server.keys("blobs") == sorted(KEPT)
    finally:
        faulty_proxy.clear_rules()
        storage.configure(StorageConfig())


def test_blobs_deleted_on_a_disk_are_gone_and_one_already_gone_is_no_error(tmp_path: Path):
    for key in ERASED + KEPT:
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(b"blob")

    deleted = [*ERASED, "profiles/1/5/" + "f" * 32]
    assert delete_all(str(tmp_path / key) for key in deleted) == len(ERASED) + 1
    remove_emptied_directories(str(tmp_path), deleted)

    left = {str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file()}
    assert left == set(KEPT)
    # The erased project's directory is gone with its blobs (its name is the project's id); the rest stays.
    directories = {str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_dir()}
    assert directories == {"profiles", "profiles/1", "profiles/1/6", "profiles/1/6/" + "b" * 32}


def test_only_emptied_directories_are_removed_and_none_on_s3(tmp_path: Path, s3_server: S3Server):
    (tmp_path / "1" / "5").mkdir(parents=True)
    (tmp_path / "1" / "5" / ".partial-of-a-killed-writer").write_bytes(b"b")
    (tmp_path / "1" / "7").mkdir()
    remove_emptied_directories(str(tmp_path), ["1/5/" + "a" * 32, "1/6/" + "b" * 32, "1/7/" + "c" * 32])
    assert {str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")} == {
        "1",
        "1/5",
        "1/5/.partial-of-a-killed-writer",
    }
    # On S3 there are no directories to remove: the call touches nothing, so a bucket that does not exist is no error.
    storage.configure(StorageConfig(endpoint=s3_server.endpoint, region=REGION, path_style_access=True))
    try:
        remove_emptied_directories("s3a://no-such-bucket", ["1/5/" + "a" * 32])
    finally:
        storage.configure(StorageConfig())
