"""Sort debug files, ProGuard mappings and source maps into a symbol store (SPEC §I.5 `unified` layout).

* Mach-O / ELF / dSYM bundles (any file `symbolic.Archive` opens): one entry per object, under its
  debug id (ELF: its code id when it has one), as `debuginfo` when it carries debug info, else
  `executable`.
* ProGuard mappings (`*.txt`/`*.map` text with ` -> ` class lines): under the mapping uuid, `proguard`.
* JavaScript bundles with a `.map` beside them: by debug id (`//# debugId=` or the map's `debug_id`)
  as `minified_source` + `sourcemap`; without one, under `releases/<release>/<dist or _>/<path>` when
  a release and a URL prefix are given.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import symbolic

from profile_pipeline.adapters import storage, symbol_store

_DEBUG_ID_COMMENT = re.compile(rb"//# debugId=([0-9a-fA-F-]{32,36})")
_PROGUARD_LINE = re.compile(r"^\S+ -> \S+:$", re.MULTILINE)


@dataclass(frozen=True)
class Placed:
    source: str
    uri: str


def sort_files(
    sources: list[str],
    store: str,
    release: str | None = None,
    dist: str | None = None,
    url_prefix: str = "~/",
) -> tuple[list[Placed], list[str]]:
    """Place every file found under `sources`; (what was placed, what was skipped and why)."""
    placed: list[Placed] = []
    skipped: list[str] = []
    for path in _walk(sources):
        if path.endswith(".map") and os.path.exists(path[: -len(".map")]):
            continue  # placed together with its bundle
        try:
            entries = _entries(path, store, release, dist, url_prefix)
        except (OSError, ValueError, symbolic.SymbolicError) as error:
            skipped.append(f"{path}: {error}")
            continue
        if not entries:
            skipped.append(f"{path}: not a debug file, mapping or source map")
        for uri, data in entries:
            storage.write_bytes(uri, data)
            placed.append(Placed(path, uri))
    return placed, skipped


def _walk(sources: list[str]) -> Iterator[str]:
    for source in sources:
        if os.path.isdir(source):
            for root, _, names in sorted(os.walk(source)):
                yield from (os.path.join(root, name) for name in sorted(names))
        else:
            yield source


def _entries(path: str, store: str, release: str | None, dist: str | None, url_prefix: str) -> list[tuple[str, bytes]]:
    with open(path, "rb") as handle:
        data = handle.read()
    if os.path.exists(f"{path}.map"):
        return _source_map_entries(path, data, store, release, dist, url_prefix)
    proguard = _proguard_entry(path, data, store)
    if proguard is not None:
        return [proguard]
    return _debug_file_entries(data, store)


def _debug_file_entries(data: bytes, store: str) -> list[tuple[str, bytes]]:
    try:
        archive = symbolic.Archive.from_bytes(data)
    except symbolic.SymbolicError:
        return []
    entries = []
    for obj in archive.iter_objects():
        identifier = obj.code_id if obj.file_format == "elf" and obj.code_id else obj.debug_id
        kind = "debuginfo" if "debug" in obj.features else "executable"
        entries.append((symbol_store.object_uri(store, identifier, kind), data))
    return entries


def _proguard_entry(path: str, data: bytes, store: str) -> tuple[str, bytes] | None:
    try:
        text = data[:65536].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not _PROGUARD_LINE.search(text):
        return None
    mapper = symbolic.ProguardMapper.open(path)
    return symbol_store.object_uri(store, str(mapper.uuid), "proguard"), data


def _source_map_entries(
    path: str, data: bytes, store: str, release: str | None, dist: str | None, url_prefix: str
) -> list[tuple[str, bytes]]:
    with open(f"{path}.map", "rb") as handle:
        sourcemap = handle.read()
    match = _DEBUG_ID_COMMENT.search(data)
    debug_id = match.group(1).decode() if match else json.loads(sourcemap).get("debug_id")
    if debug_id:
        return [
            (symbol_store.object_uri(store, debug_id, "minified_source"), data),
            (symbol_store.object_uri(store, debug_id, "sourcemap"), sourcemap),
        ]
    if not release:
        raise ValueError("source map without debug id needs --release")
    abs_path = url_prefix + ("" if url_prefix.endswith("/") else "/") + os.path.basename(path)
    source_uri = symbol_store.release_artifact_uri(store, release, dist, abs_path)
    return [(source_uri, data), (f"{source_uri}.map", sourcemap)]
