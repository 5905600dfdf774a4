"""Deleting objects from the profiles bucket, from Python workers: each blob once, a missing one is no error."""

from __future__ import annotations

from collections.abc import Iterable

from pyarrow import fs as pafs

from profile_pipeline.adapters import storage


def delete_if_present(uri: str) -> bool:
    """Delete the object; False when there was none (deleted by an earlier run that died, or never written)."""
    filesystem, path = storage.resolve(uri)
    if filesystem.get_file_info(path).type == pafs.FileType.NotFound:
        return False
    try:
        filesystem.delete_file(path)
    except FileNotFoundError:
        return False
    return True


def delete_blobs(uris: Iterable[str]) -> int:
    """Delete each blob and, on a local disk, the partial copies of it that writers killed mid-write left beside
    it (they hold the same profile's data); returns how many of the blobs were there."""
    by_directory: dict[str, list[str]] = {}
    for uri in uris:
        directory, name = uri.rsplit("/", 1)
        by_directory.setdefault(directory, []).append(name)
    deleted = 0
    for directory, names in by_directory.items():
        leftovers = storage.partial_writes(directory)  # one listing per directory, not one per blob
        for name in names:
            deleted += delete_if_present(storage.join(directory, name))
            for leftover in leftovers.get(name, ()):
                delete_if_present(leftover)
    return deleted
