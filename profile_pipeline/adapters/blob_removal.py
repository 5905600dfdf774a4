"""Deleting objects from the profiles bucket, from Python workers: an object already gone counts as deleted.

On S3 the objects go by DeleteObjects, up to a thousand keys a request, with boto3's retries: S3 answers a
key that is not there as deleted, so a request sent again after its answer was lost succeeds, and so does a
run that repeats the deletions of a run that died. pyarrow's `delete_file` is not used there: it writes an
empty marker object for the "directory" it leaves empty (`<org>/<project>/`), which would leave an erased
project's id in the bucket. On a local disk the directories a deletion leaves empty are removed for the same
reason (`remove_emptied_directories`).
"""

from __future__ import annotations

import errno
import os
from collections import defaultdict
from collections.abc import Iterable
from contextlib import suppress

from pyarrow import fs as pafs

from profile_pipeline.adapters import storage

# DeleteObjects takes at most this many keys a request.
_KEYS_PER_REQUEST = 1000


def delete_all(uris: Iterable[str]) -> int:
    """Delete the objects and, on a local disk, the partial copies of them that writers killed mid-write left
    beside them (they hold the same profile's data); returns how many were asked for, every one gone afterwards."""
    by_bucket: dict[str, list[str]] = defaultdict(list)
    by_directory: dict[str, list[str]] = defaultdict(list)
    count = 0
    for uri in uris:
        count += 1
        filesystem, path = storage.resolve(uri)
        if isinstance(filesystem, pafs.S3FileSystem):
            bucket, _, key = path.partition("/")
            by_bucket[bucket].append(key)
        else:
            directory, name = uri.rsplit("/", 1)
            by_directory[directory].append(name)
    for directory, names in by_directory.items():
        leftovers = storage.partial_writes(directory)  # one listing per directory, not one per object
        for name in names:
            for uri in (storage.join(directory, name), *leftovers.get(name, ())):
                _delete_local(*storage.resolve(uri))
    if by_bucket:
        client = storage.boto3_s3_client()
        for bucket, keys in by_bucket.items():
            for start in range(0, len(keys), _KEYS_PER_REQUEST):
                _delete_keys(client, bucket, keys[start : start + _KEYS_PER_REQUEST])
    return count


def remove_emptied_directories(root_uri: str, relative_paths: Iterable[str]) -> None:
    """On a local disk, remove each directory between a deleted object and `root_uri` that is now empty, deepest
    first; nothing on object storage, which has no directories. A directory that still holds anything stays, and
    a writer that meets its directory removed makes it again (`storage.write_bytes`)."""
    filesystem, root = storage.resolve(root_uri)
    if not isinstance(filesystem, pafs.LocalFileSystem):
        return
    directories: set[tuple[str, ...]] = set()
    for relative in relative_paths:
        parts = tuple(relative.split("/")[:-1])
        directories.update(parts[:depth] for depth in range(1, len(parts) + 1))
    for parts in sorted(directories, key=len, reverse=True):
        try:
            os.rmdir(os.path.join(root, *parts))
        except FileNotFoundError:
            continue
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise


def _delete_local(filesystem: pafs.FileSystem, path: str) -> None:
    with suppress(FileNotFoundError):
        filesystem.delete_file(path)


def _delete_keys(client: object, bucket: str, keys: list[str]) -> None:
    answer = client.delete_objects(  # type: ignore[attr-defined]
        Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
    )
    if errors := answer.get("Errors"):
        first = errors[0]
        reason = f"{first.get('Code')} {first.get('Message')}"
        raise OSError(f"S3 did not delete {len(errors)} object(s) of {bucket}: {reason}")
