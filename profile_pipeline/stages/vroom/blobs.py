"""Where a processed profile's blob goes in the profiles bucket, and writing it there.

The path comes from vroomrs (`storage_path()`: `{org}/{project}/{profile_id}` or
`{org}/{project}/{profiler_id}/{chunk_id}`) but its ids come from the payload, so each component is
checked before use: integers for organization and project, UUIDs for the ids. Nothing else can reach
the bucket, so no input can write outside it.
"""

from __future__ import annotations

from profile_pipeline.adapters import storage
from profile_pipeline.formats import is_valid_id


class UnsafeStoragePath(ValueError):
    """A storage path whose components are not the ids vroom's layout allows."""


def blob_uri(bucket: str, storage_path: str) -> str:
    """The URI of a blob in `bucket`, after checking every component of `storage_path`."""
    parts = storage_path.split("/")
    if len(parts) not in (3, 4):
        raise UnsafeStoragePath(f"storage path has {len(parts)} components, expected 3 or 4")
    organization, project, *ids = parts
    if not (organization.isdigit() and project.isdigit() and organization.isascii() and project.isascii()):
        raise UnsafeStoragePath("organization and project in a storage path must be integers")
    if not all(is_valid_id(value) for value in ids):
        raise UnsafeStoragePath("profile, profiler and chunk ids in a storage path must be UUIDs")
    return storage.join(bucket, *parts)


def write_blob(bucket: str, storage_path: str, data: bytes) -> str:
    """Write a blob whole and return its URI.

    The path is a function of the profile's ids, so writing the same profile again replaces the
    object with itself: a re-run or a retried task never leaves a second copy.
    """
    uri = blob_uri(bucket, storage_path)
    storage.write_bytes(uri, data)
    return uri
