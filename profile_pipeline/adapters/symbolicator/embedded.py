"""An in-process Symbolicator: native frames from SymCaches, JavaScript frames from source maps.

Debug files and source maps come from a symbol store in Symbolicator's `unified` layout (SPEC §I.5);
each is converted once per worker and kept in a bounded cache. A missing or unreadable file is a
module/frame status in the answer, never an exception.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import symbolic

from profile_pipeline.adapters import storage, symbol_store
from profile_pipeline.adapters.symbolicator.addresses import (
    InvalidRequest,
    ModuleRanges,
    adjustments,
    parse_addr,
    resolve_frame,
)
from profile_pipeline.adapters.symbolicator.demangle import demangle_name
from profile_pipeline.adapters.symbolicator.protocol import Body
from profile_pipeline.adapters.worker_cache import BoundedCache

# symcache's "no symbol address" marker for inlined functions.
_NO_SYM_ADDR = 0xFFFFFFFF
# Module types Symbolicator reads; others are answered as `unknown`.
_OBJECT_TYPES = frozenset(("elf", "macho", "pe", "pe_dotnet", "wasm", "sourcemap", "unknown"))
# Cached lookups per debug file (a few hundred bytes each); past this the cache starts over.
_LOOKUPS_PER_FILE = 200_000


@dataclass(frozen=True)
class Location:
    """A function at an address (inlined ones come first in a lookup's answer).

    An answer frame holds `head`, then `sym_addr` (relative to the image; None for an inlined function,
    which Symbolicator gives none), then `tail`.
    """

    sym_addr: int | None
    head: dict[str, Any]
    tail: dict[str, Any]


@dataclass(frozen=True)
class DebugFile:
    """A loaded native debug file, or why there is none (`status` ∈ found, missing, malformed)."""

    status: str
    symcache: symbolic.SymCache | None = None
    arch: str | None = None
    features: frozenset[str] = frozenset()
    # Image-relative address ⇒ its locations: addresses recur from batch to batch within a worker.
    lookups: dict[int, tuple[Location, ...]] = field(default_factory=dict)

    def lookup(self, address: int) -> tuple[Location, ...]:
        found = self.lookups.get(address)
        if found is None:
            found = _locations(self.symcache.lookup(address)) if self.symcache is not None else ()
            if len(self.lookups) >= _LOOKUPS_PER_FILE:
                self.lookups.clear()
            self.lookups[address] = found
        return found


def _locations(found: list[Any]) -> tuple[Location, ...]:
    locations = []
    for location in found:
        head: dict[str, Any] = {}
        if location.lang and location.lang != "unknown":
            head["lang"] = location.lang
        head["symbol"] = location.symbol
        tail: dict[str, Any] = {"function": demangle_name(location.symbol)}
        if location.full_path:
            tail["filename"] = location.full_path.replace("\\", "/").rsplit("/", 1)[-1]
            tail["abs_path"] = location.full_path
        tail["lineno"] = location.line
        sym_addr = location.sym_addr if location.sym_addr < _NO_SYM_ADDR else None
        locations.append(Location(sym_addr, head, tail))
    return tuple(locations)


@dataclass(frozen=True)
class SourceMap:
    status: str  # found | missing | malformed
    cache: symbolic.SourceMapCache | None = None
    sourcemap_name: str = ""  # the map's URL relative to the bundle's
    resolved_with: str = ""
    artifact_id: str = ""  # the map's id in the symbol store's artifact lookup (`jobs/serve_symbol_store.py`)


class EmbeddedBackend:
    def __init__(self, store: str, cache_entries: int, cache_bytes: int) -> None:
        self.store = store
        self.cache_entries = cache_entries
        self.cache_bytes = cache_bytes
        self.cache: BoundedCache[Any] = BoundedCache(cache_entries, cache_bytes)

    # --- native -------------------------------------------------------------------------------

    def native(self, request: Body) -> Body:
        modules = request.get("modules") or []
        ranges = ModuleRanges(modules)
        used: dict[int, DebugFile] = {}  # module index ⇒ its debug file, once a frame is in it
        stacktraces = []
        try:
            for stacktrace in request.get("stacktraces") or []:
                frames = stacktrace.get("frames") or []
                out: list[Body] = []
                for index, (frame, adjust) in enumerate(zip(frames, adjustments(frames), strict=True)):
                    out.extend(self._native_frame(index, frame, adjust, modules, ranges, used))
                stacktraces.append({"frames": out})
        except InvalidRequest as error:
            return {"status": "failed", "message": str(error)}
        return {
            "status": "completed",
            "stacktraces": stacktraces,
            "modules": [self._module_answer(index, module, used) for index, module in enumerate(modules)],
        }

    def _native_frame(
        self,
        index: int,
        frame: Body,
        adjust: bool,
        modules: list[Body],
        ranges: ModuleRanges,
        used: dict[int, DebugFile],
    ) -> list[Body]:
        # Frames that are not looked up come back as they were sent, addr_mode included.
        echoed = {"status": "unknown_image", "original_index": index, **frame}
        located = resolve_frame(frame, modules, ranges)
        if located is None:
            return [echoed]
        module_index, relative = located
        module = modules[module_index]
        debug_file = used.get(module_index)
        if debug_file is None:
            debug_file = used[module_index] = self.debug_file(module)
        if module.get("code_file"):
            echoed["package"] = module["code_file"]
        if debug_file.symcache is None:
            echoed["status"] = debug_file.status
            return [echoed]
        image_addr = parse_addr(module.get("image_addr")) or 0
        lookup = relative
        # Symbolicator only steps back from return addresses when it knows where the image was loaded.
        if adjust and image_addr:
            arch = debug_file.arch or module.get("arch") or "unknown"
            lookup = symbolic.find_best_instruction(image_addr + relative, arch) - image_addr
        locations = debug_file.lookup(lookup) if lookup >= 0 else ()
        if not locations:
            echoed["status"] = "missing_symbol"
            return [echoed]
        base = {"status": "symbolicated", "original_index": index}
        base.update((key, value) for key, value in frame.items() if key != "addr_mode")
        base["instruction_addr"] = hex(image_addr + lookup)
        if "package" in echoed:
            base["package"] = echoed["package"]
        answers = []
        for location in locations:
            answer = {**base, **location.head}
            if location.sym_addr is not None:
                answer["sym_addr"] = hex(image_addr + location.sym_addr)
            answer.update(location.tail)
            answers.append(answer)
        return answers

    def _module_answer(self, index: int, module: Body, used: dict[int, DebugFile]) -> Body:
        if index not in used:
            return {**module, "debug_status": "unused"}
        debug_file = used[index]
        answer: Body = {
            "debug_status": debug_file.status,
            "features": {
                "has_debug_info": "debug" in debug_file.features,
                "has_unwind_info": "unwind" in debug_file.features,
                "has_symbols": "symtab" in debug_file.features,
                "has_sources": "sources" in debug_file.features,
            },
            # Without a debug file Symbolicator knows no architecture, whatever the request says.
            "arch": debug_file.arch or "unknown",
        }
        answer.update((key, value) for key, value in module.items() if key != "arch")
        # Module types Symbolicator does not know (`symbolic`, ...) come back as `unknown`.
        if answer.get("type") not in _OBJECT_TYPES:
            answer["type"] = "unknown"
        return answer

    def debug_file(self, module: Body) -> DebugFile:
        """The module's debug file out of the store, loaded once per worker."""
        debug_id, code_id = module.get("debug_id"), module.get("code_id")
        # ELF debug files sit under their code id in the unified layout, everything else under the debug id.
        ids = (code_id, debug_id) if module.get("type") == "elf" else (debug_id, code_id)
        candidates = tuple(identifier for identifier in ids if identifier)
        return self.cache.get(("native", candidates), lambda: self._load_debug_file(candidates, debug_id, code_id))

    def _load_debug_file(self, candidates: tuple[str, ...], debug_id: Any, code_id: Any) -> tuple[DebugFile, int]:
        status = "missing"
        for identifier in candidates:
            for kind in ("debuginfo", "executable"):
                try:
                    uri = symbol_store.object_uri(self.store, identifier, kind)
                except symbol_store.UnsafeIdentifier:
                    continue
                if not storage.exists(uri):
                    continue
                try:
                    data = storage.read_bytes(uri)
                    found = _symcache_for(data, debug_id, code_id)
                except (symbolic.SymbolicError, ValueError):
                    status = "malformed"
                    continue
                if found is not None:
                    return found, len(data)
        return DebugFile(status), 0

    # --- JavaScript ---------------------------------------------------------------------------

    def js(self, request: Body) -> Body:
        code_files = {
            module.get("code_file"): module.get("debug_id")
            for module in request.get("modules") or []
            if module.get("type") == "sourcemap" and module.get("debug_id")
        }
        release, dist = request.get("release"), request.get("dist")
        # abs_path ⇒ its bundle's source map, found once per request rather than once per frame.
        source_maps: dict[str, SourceMap] = {}

        def source_map(abs_path: str) -> SourceMap:
            found = source_maps.get(abs_path)
            if found is None:
                found = source_maps[abs_path] = self.source_map(abs_path, code_files.get(abs_path), release, dist)
            return found

        errors: list[Body] = []
        stacktraces = []
        raw_stacktraces = []
        for stacktrace in request.get("stacktraces") or []:
            frames = stacktrace.get("frames") or []
            stacktraces.append({"frames": [self._js_frame(frame, source_map, errors) for frame in frames]})
            raw_stacktraces.append({"frames": [{**frame, "data": {"symbolicated": False}} for frame in frames]})
        answer: Body = {"status": "completed", "stacktraces": stacktraces, "raw_stacktraces": raw_stacktraces}
        if errors:
            answer["errors"] = sorted_js_errors(errors)
        return answer

    @staticmethod
    def _js_frame(frame: Body, source_map_of: Callable[[str], SourceMap], errors: list[Body]) -> Body:
        unresolved = {**frame, "data": {"symbolicated": False}}
        abs_path, lineno = frame.get("abs_path"), frame.get("lineno")
        if not isinstance(abs_path, str) or not isinstance(lineno, int) or lineno < 1:
            return unresolved
        source_map = source_map_of(abs_path)
        if source_map.cache is None:
            error_type = "missing_source" if source_map.status == "missing" else "malformed_sourcemap"
            _add_error(errors, {"abs_path": abs_path, "type": error_type})
            return unresolved
        colno = frame.get("colno")
        column = colno if isinstance(colno, int) and colno > 0 else 1
        token = source_map.cache.lookup(lineno, column, 0)
        if token is None or not token.src:
            _add_error(errors, {"abs_path": abs_path, "type": "invalid_location", "line": lineno, "col": column})
            return unresolved
        sourcemap_url = _join_url(abs_path, source_map.sourcemap_name)
        resolved_path = _join_url(sourcemap_url, token.src)
        answer = {**frame}
        if token.function_name:
            answer["function"] = token.function_name
        answer["filename"] = _url_filename(resolved_path)
        if "module" not in frame and "/node_modules/" not in resolved_path:
            answer["module"] = js_module(resolved_path)
        answer.update(abs_path=resolved_path, lineno=token.line, colno=token.col)
        answer["data"] = {
            "sourcemap": sourcemap_url,
            "sourcemap_origin": {"individual_file": f"sentry://project_debug_file/{source_map.artifact_id}"},
            "resolved_with": source_map.resolved_with,
            "symbolicated": True,
        }
        return answer

    def source_map(self, abs_path: str, debug_id: Any, release: Any, dist: Any) -> SourceMap:
        """The SourceMapCache of a bundle, by debug id first, then by (release, dist, abs_path)."""
        locations = []
        # An identifier that cannot be a store path finds nothing.
        with contextlib.suppress(symbol_store.UnsafeIdentifier):
            if isinstance(debug_id, str):
                source_uri = symbol_store.object_uri(self.store, debug_id, "minified_source")
                map_uri = symbol_store.object_uri(self.store, debug_id, "sourcemap")
                artifact = symbol_store.debug_id_artifact_id(debug_id, "sourcemap")
                locations.append((source_uri, map_uri, "debug-id", artifact))
        with contextlib.suppress(symbol_store.UnsafeIdentifier):
            if isinstance(release, str) and release:
                dist_name = dist if isinstance(dist, str) else None
                source_uri = symbol_store.release_artifact_uri(self.store, release, dist_name, abs_path)
                path = symbol_store.release_artifact_path(abs_path) + ".map"
                artifact = symbol_store.release_artifact_id(release, dist_name, path)
                locations.append((source_uri, f"{source_uri}.map", "release", artifact))
        return self.cache.get(("js", tuple(locations)), lambda: self._load_source_map(locations))

    @staticmethod
    def _load_source_map(locations: list[tuple[str, str, str, str]]) -> tuple[SourceMap, int]:
        status = "missing"
        for source_uri, map_uri, resolved_with, artifact in locations:
            if not (storage.exists(source_uri) and storage.exists(map_uri)):
                continue
            source, sourcemap = storage.read_bytes(source_uri), storage.read_bytes(map_uri)
            try:
                cache = symbolic.SourceMapCache.from_bytes(source, sourcemap)
            except symbolic.SymbolicError:
                status = "malformed"
                continue
            name = _source_mapping_url(source) or map_uri.rsplit("/", 1)[-1]
            return SourceMap("found", cache, name, resolved_with, artifact), len(source) + len(sourcemap)
        return SourceMap(status), 0

    # --- JVM ----------------------------------------------------------------------------------

    def jvm(self, request: Body) -> Body | None:
        from profile_pipeline.adapters.symbolicator.embedded_jvm import symbolicate_jvm
        from profile_pipeline.adapters.symbolicator.mappings import mapping_cache

        return symbolicate_jvm(request, self.store, cache=mapping_cache(self.cache_entries, self.cache_bytes))


def _symcache_for(data: bytes, debug_id: Any, code_id: Any) -> DebugFile | None:
    """The SymCache of the object in `data` that matches the module's ids, None if none does."""
    archive = symbolic.Archive.from_bytes(data)
    wanted_debug = _normalized(debug_id)
    wanted_code = _normalized(code_id)
    for obj in archive.iter_objects():
        if wanted_debug is not None:
            matches = _normalized(obj.debug_id) == wanted_debug
        else:
            matches = wanted_code is not None and _normalized(obj.code_id) == wanted_code
        if matches:
            return DebugFile("found", obj.make_symcache(), obj.arch, frozenset(obj.features))
    return None


def _normalized(identifier: Any) -> str | None:
    if not isinstance(identifier, str) or not identifier:
        return None
    try:
        return symbol_store.normalize_id(identifier)
    except symbol_store.UnsafeIdentifier:
        return None


def _join_url(base: str, source: str) -> str:
    """A URL relative to `base` (a source map's `sources` entry, a bundle's `sourceMappingURL`)."""
    if "://" in source or source.startswith("/"):
        return source
    return base[: base.rfind("/") + 1] + source if "/" in base else source


def _url_filename(url: str) -> str:
    """The path of a URL without scheme and host: `app:///src/a.js` ⇒ `src/a.js`."""
    path = url.split("://", 1)[1] if "://" in url else url
    if "://" in url:
        path = path.split("/", 1)[1] if "/" in path else path
    return path.lstrip("/") or os.path.basename(url)


_SOURCE_MAPPING_URL = re.compile(rb"//[#@] ?sourceMappingURL=(\S+)\s*$")


def _source_mapping_url(source: bytes) -> str | None:
    """The `//# sourceMappingURL=` of a bundle's last lines, unless it is an inline `data:` map."""
    match = _SOURCE_MAPPING_URL.search(source[-4096:])
    if match is None or match.group(1).startswith(b"data:"):
        return None
    return match.group(1).decode("utf-8", errors="replace")


# Path segments that say nothing of the module: leading slashes, common folders, versions, hashes.
_MODULE_PREFIX = re.compile(
    r"^(?:/|(?:(?:java)?scripts?|js|build|static|node_modules|bower_components|[_.~].*?|v?(?:\d+\.)*\d+"
    r"|[a-f0-9]{7,8}|[a-f0-9]{32}|[a-f0-9]{40})/)+",
    re.IGNORECASE,
)
_COMMITISH_SUFFIX = re.compile(r"[-.][a-f0-9]{7,}$", re.IGNORECASE)
_HASH_SEGMENT = re.compile(r"^(?:[a-f0-9]{32}|[a-f0-9]{40})$", re.IGNORECASE)


def js_module(abs_path: str) -> str:
    """The module name of a JavaScript file: its path without host, extension, common folders, versions.

    `app:///file1.js` ⇒ `file1`; `https://cdn.example/static/js/app.min.js` ⇒ `app`; what follows a
    content hash segment is kept as it is.
    """
    path = abs_path
    if "://" in path:
        rest = path.split("://", 1)[1]
        path = rest[rest.find("/") :] if "/" in rest else ""
    path = re.split(r"[#?]", path, maxsplit=1)[0]
    stem, dot, extension = path.rpartition(".")
    if dot and "/" not in extension:
        path = stem
    path = path.removesuffix(".min")
    segments = path.split("/")
    for position, segment in enumerate(segments):
        if _HASH_SEGMENT.match(segment):
            return "/".join(segments[position + 1 :])
    return _COMMITISH_SUFFIX.sub("", _MODULE_PREFIX.sub("", path))


# Symbolicator's order of JS error kinds, after the path.
_JS_ERROR_ORDER = {"invalid_location": 0, "missing_source": 1, "malformed_sourcemap": 2}


def _add_error(errors: list[Body], error: Body) -> None:
    if error not in errors:
        errors.append(error)


def sorted_js_errors(errors: list[Body]) -> list[Body]:
    """JS errors in the order Symbolicator lists them: by file, then kind, then place."""
    return sorted(
        errors,
        key=lambda error: (
            str(error.get("abs_path")),
            _JS_ERROR_ORDER.get(error.get("type"), len(_JS_ERROR_ORDER)),
            error.get("line") or 0,
            error.get("col") or 0,
        ),
    )
