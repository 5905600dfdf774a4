"""ProGuard mappings out of the symbol store, parsed at most once per worker.

A mapping is judged as Symbolicator judges it: a file that is not found is `missing`, one that does
not look like a ProGuard mapping is `invalid`, one without line information is `no_line_info`; only a
mapping without error is used for remapping.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyarrow import fs as pafs
from symbolic import ProguardMapper

from profile_pipeline.adapters.storage import read_bytes, resolve
from profile_pipeline.adapters.symbol_store import object_uri
from profile_pipeline.adapters.worker_cache import BoundedCache, worker_singleton
from profile_pipeline.config import SymbolicationConfig

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


# A method line: `    [start:end:]type name(arguments)[:original lines] -> obfuscated`.
_METHOD_LINE = re.compile(r"^\s+(\d+:\d+:)?[^\s:]+ ([^\s(]+)\([^)]*\)\S* -> (\S+)\s*$")
_CLASS_HEADER = re.compile(r"^(\S+) -> (\S+):")


@dataclass(frozen=True)
class Method:
    """A method line of a mapping: its original class and name, and whether it has a line range."""

    class_name: str
    name: str
    ranged: bool


# (obfuscated class, obfuscated method) ⇒ its method lines, in file order.
Methods = dict[tuple[str, str], tuple[Method, ...]]


@dataclass(frozen=True)
class LoadedMapping:
    """A usable mapper, or the Symbolicator error kind that explains why there is none.

    `methods` lists the method lines per obfuscated name: Symbolicator answers a frame remapped by line
    with the methods of the same obfuscated name that have no line range as well (line 0), in file order.
    """

    mapper: ProguardMapper | None
    error: str | None
    methods: Methods = field(default_factory=dict)


def method_lines(lines: Iterable[str]) -> Methods:
    """The method lines of a mapping per obfuscated class and name, in file order.

    Only names with a method line without line range are kept: the others add no candidate.
    """
    found: dict[tuple[str, str], list[Method]] = {}
    original = obfuscated = ""
    for line in lines:
        if not line.startswith((" ", "\t")):
            header = _CLASS_HEADER.match(line)
            if header:
                original, obfuscated = header.groups()
            continue
        member = _METHOD_LINE.match(line)
        if member and original:
            ranged, name, obfuscated_name = member.groups()
            found.setdefault((obfuscated, obfuscated_name), []).append(Method(original, name, ranged is not None))
    return {key: tuple(methods) for key, methods in found.items() if not all(method.ranged for method in methods)}


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
    with open(path, encoding="utf-8", errors="replace") as handle:
        methods = method_lines(handle)
    return LoadedMapping(mapper, None, methods), max(size, 1)


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
