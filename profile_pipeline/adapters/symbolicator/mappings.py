"""ProGuard mappings out of the symbol store, parsed at most once per worker.

A mapping is judged as Symbolicator 26.8.0 judges it: a file that is not found is `missing`, one that
does not look like a ProGuard mapping is `invalid`; only a mapping without error is used for remapping.
A mapping without line information is used too (Symbolicator 25.11.1 refused it as `no_line_info`).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

from pyarrow import fs as pafs

from profile_pipeline.adapters.infrastructure import is_infrastructure_fault
from profile_pipeline.adapters.storage import read_bytes, resolve
from profile_pipeline.adapters.symbol_store import object_uri
from profile_pipeline.adapters.symbolicator.proguard import ProguardMapping
from profile_pipeline.adapters.worker_cache import BoundedCache, worker_singleton
from profile_pipeline.config import SymbolicationConfig

MISSING = "missing"
INVALID = "invalid"

# Symbolicator's validity heuristic: a class line followed by a member line within the first records.
_VALIDITY_RECORDS = 50
_HEAD_BYTES = 64 * 1024
_CLASS_LINE = re.compile(r"^[^\s#]\S* -> \S+:\s*(#.*)?$")
_MEMBER_LINE = re.compile(r"^\s+\S+ \S+ -> \S+\s*(#.*)?$")
# What a failed lookup costs in the cache: it is kept, but must not crowd out real mappings.
_ERROR_ENTRY_BYTES = 64


@dataclass(frozen=True)
class LoadedMapping:
    """A usable mapping, or the Symbolicator error kind that explains why there is none."""

    mapping: ProguardMapping | None
    error: str | None


def looks_like_mapping(head: bytes) -> bool:
    """True when a class line is followed by a member line among the first records of the file."""
    has_class = False
    records = 0
    for raw in head.decode("utf-8", errors="replace").splitlines():
        if not raw.strip():
            continue
        records += 1
        if records > _VALIDITY_RECORDS:
            break
        if _CLASS_LINE.match(raw):
            has_class = True
        elif has_class and _MEMBER_LINE.match(raw):
            return True
    return False


def mapping_cache(max_entries: int | None = None, max_bytes: int | None = None) -> BoundedCache[LoadedMapping]:
    """The worker's one cache of loaded mappings, sized by `symbolication.cache_entries`/`cache_bytes`.

    A worker runs one job, so the first caller sizes the cache for all (defaults: the config's).
    """
    defaults = SymbolicationConfig()
    entries = max_entries if max_entries is not None else defaults.cache_entries
    size = max_bytes if max_bytes is not None else defaults.cache_bytes
    return worker_singleton("proguard-mappings", lambda: BoundedCache(entries, size))


def _open_mapping(path: str, head: bytes, size: int) -> tuple[LoadedMapping, int]:
    if not looks_like_mapping(head):
        return LoadedMapping(None, INVALID), _ERROR_ENTRY_BYTES
    with open(path, encoding="utf-8", errors="replace") as handle:
        mapping = ProguardMapping(handle)
    return LoadedMapping(mapping, None), max(size, 1)


def _load_from_store(uri: str) -> tuple[LoadedMapping, int]:
    filesystem, path = resolve(uri)
    info = filesystem.get_file_info(path)
    if info.type != pafs.FileType.File:
        return LoadedMapping(None, MISSING), _ERROR_ENTRY_BYTES
    if isinstance(filesystem, pafs.LocalFileSystem):
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
        return _open_mapping(path, head, info.size)
    data = read_bytes(uri)
    with tempfile.NamedTemporaryFile(suffix=".proguard", delete=False) as handle:
        handle.write(data)
    try:
        return _open_mapping(handle.name, data[:_HEAD_BYTES], len(data))
    finally:
        # The mapper holds the parsed mapping; the downloaded file is not needed any more.
        os.unlink(handle.name)


def load_mapping(store: str, debug_id: str, cache: BoundedCache[LoadedMapping]) -> LoadedMapping:
    """The mapping `debug_id` (32 lowercase hex) of `store`; read errors count as missing, uncached (a fault of
    the store is raised: it says nothing about the mapping)."""
    uri = object_uri(store, debug_id, "proguard")
    try:
        return cache.get((store, debug_id), lambda: _load_from_store(uri))
    except OSError as error:
        if is_infrastructure_fault(error):
            raise
        return LoadedMapping(None, MISSING)
