"""ProGuard mappings out of the symbol store, parsed at most once per worker.

A mapping is judged as Symbolicator judges it: a file that is not found is `missing`, one that does
not look like a ProGuard mapping is `invalid`, one without line information is `no_line_info`; only a
mapping without error is used for remapping.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

from pyarrow import fs as pafs
from symbolic import ProguardMapper

from transforms.config import SymbolicationConfig
from transforms.storage import read_bytes, resolve
from transforms.symbol_store import object_uri
from transforms.worker_cache import BoundedCache, worker_singleton

MISSING = "missing"
INVALID = "invalid"
NO_LINE_INFO = "no_line_info"

# Symbolicator's validity heuristic: a class line followed by a member line within the first records.
_VALIDITY_RECORDS = 50
_HEAD_BYTES = 64 * 1024
_CLASS_LINE = re.compile(r"^[^\s#]\S* -> \S+:\s*(#.*)?$")
_MEMBER_LINE = re.compile(r"^\s+\S+ \S+ -> \S+\s*(#.*)?$")
# What a failed lookup costs in the cache: it is kept, but must not crowd out real mappings.
_ERROR_ENTRY_BYTES = 64


@dataclass(frozen=True)
class LoadedMapping:
    """A usable mapper, or the Symbolicator error kind that explains why there is none."""

    mapper: ProguardMapper | None
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
    mapper = ProguardMapper.open(path, initialize_param_mapping=True)
    if not mapper.has_line_info:
        return LoadedMapping(None, NO_LINE_INFO), _ERROR_ENTRY_BYTES
    return LoadedMapping(mapper, None), max(size, 1)


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
    """The mapping `debug_id` (32 lowercase hex) of `store`; read errors count as missing, uncached."""
    uri = object_uri(store, debug_id, "proguard")
    try:
        return cache.get((store, debug_id), lambda: _load_from_store(uri))
    except OSError:
        return LoadedMapping(None, MISSING)
