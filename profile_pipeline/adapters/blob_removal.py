"""Deleting objects from the profiles bucket, from Python workers: each blob once, a missing one is no error."""

from __future__ import annotations

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
