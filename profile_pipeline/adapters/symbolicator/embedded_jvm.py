"""Symbolicator's `/symbolicate-jvm`, answered in-process with `symbolic.ProguardMapper` (SPEC §6.2/§6.3).

`symbolicate_jvm(request, store)` takes the request body Sentry sends and returns the body of a
completed response, with Symbolicator's remapping rules:

* a frame is remapped whole (class, method and line, expanding inlined methods, caller first), else
  by class and method, else by class alone, trying the request's mappings in order; otherwise it is
  returned as it came;
* the line used for the whole-frame lookup is the frame's `lineno`, else the parameter list of its
  deobfuscated signature, else 0;
* inside an expansion, frames of classes other than the outermost one lose `filename`/`abs_path`;
* a remapped frame whose module starts with `release_package` and has no `in_app` becomes in-app;
* `signature` comes back in readable form, its classes remapped (SPEC §4.6 descriptor rules);
* mappings that cannot be used are listed in `errors` as `missing`, `invalid` or `no_line_info`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from profile_pipeline.adapters.symbolicator.java_signatures import deobfuscate_signature, format_signature
from profile_pipeline.adapters.symbolicator.mappings import LoadedMapping, Method, load_mapping, mapping_cache
from profile_pipeline.adapters.worker_cache import BoundedCache

# The frame keys of Symbolicator's JvmFrame, each with the types it accepts (None = absent).
_FRAME_FIELDS: dict[str, tuple[type, ...]] = {
    "function": (str,),
    "filename": (str, type(None)),
    "module": (str,),
    "abs_path": (str, type(None)),
    "lineno": (int, type(None)),
    "pre_context": (list,),
    "context_line": (str, type(None)),
    "post_context": (list,),
    "in_app": (bool, type(None)),
    "index": (int,),
    "signature": (str, type(None)),
    "platform": (str, type(None)),
}
_REQUIRED_FRAME_FIELDS = ("function", "module", "index")
_MAX_U32 = 2**32 - 1


class InvalidJvmRequest(ValueError):
    """A request body Symbolicator would refuse (HTTP 400) before looking at any mapping."""


def parse_jvm_frame(raw: Any) -> dict[str, Any]:
    """A request frame as Symbolicator reads it: known keys only, nulls dropped, types checked."""
    if not isinstance(raw, dict):
        raise InvalidJvmRequest("a JVM frame must be an object")
    frame: dict[str, Any] = {}
    for key, types in _FRAME_FIELDS.items():
        value = raw.get(key)
        if value is None:
            if key in _REQUIRED_FRAME_FIELDS:
                raise InvalidJvmRequest(f"JVM frame without {key}")
            continue
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise InvalidJvmRequest(f"JVM frame field {key} has the wrong type")
        if key in ("lineno", "index") and not 0 <= value <= _MAX_U32:
            raise InvalidJvmRequest(f"JVM frame field {key} is out of range")
        if value == [] and key in ("pre_context", "post_context"):
            continue
        frame[key] = value
    return frame


def _module_uuid(raw: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw["uuid"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidJvmRequest(f"JVM module has no valid uuid: {raw!r}") from None


class _Mappers:
    """The usable mappings of one request, tried in request order."""

    def __init__(self, mappings: Sequence[LoadedMapping]) -> None:
        self.mappings = mappings
        self.mappers = [mapping.mapper for mapping in mappings]

    def remap_class(self, name: str) -> str | None:
        for mapper in self.mappers:
            remapped = mapper.remap_class(name)
            if remapped:
                return remapped
        return None

    def remap_full(self, module: str, function: str, line: int, parameters: str | None) -> list[Any]:
        """The frames of the first mapping that remaps the frame whole, callee first."""
        for mapping in self.mappings:
            frames = mapping.mapper.remap_frame(module, function, line, parameters)
            if frames:
                return _with_unlined(frames, mapping.methods.get((module, function), ())) if line else frames
        return []

    def remap_method(self, module: str, function: str) -> tuple[str, str] | None:
        for mapper in self.mappers:
            remapped = mapper.remap_method(module, function)
            if remapped:
                return remapped
        return None


def _with_unlined(frames: list[Any], methods: Sequence[Method]) -> list[Any]:
    """A frame remapped by line, with the methods of its obfuscated name that have no line range (line 0).

    All in file order: the remapped frames stand where the line of their innermost method is.
    """
    if not methods:
        return frames
    innermost = frames[0].method
    position = next(
        (
            index
            for index, method in enumerate(methods)
            if method.ranged and (method.name == innermost or method.name.endswith("." + innermost))
        ),
        len(methods),
    )
    before = [_Candidate(method.class_name, method.name) for method in methods[:position] if not method.ranged]
    after = [_Candidate(method.class_name, method.name) for method in methods[position:] if not method.ranged]
    return before + frames + after


@dataclass(frozen=True)
class _Candidate:
    """A method without line range, shaped like a remapped frame."""

    class_name: str
    method: str
    line: int = 0
    file: str | None = None


def _expand_frame(frame: dict[str, Any], mappers: _Mappers, parameters: str | None) -> list[dict[str, Any]] | None:
    """The remapped frames of one request frame, caller first; None when no mapping knows it."""
    module, function = frame["module"], frame["function"]
    line = frame.get("lineno")
    if line is not None:
        parameters = None
    remapped = mappers.remap_full(module, function, line or 0, parameters)
    if remapped:
        # The class of the frame the line remapped to; inlined callers of other classes lose the file.
        outer_class = remapped[-1].class_name
        expansion = []
        for new in reversed(remapped):
            mapped = {**frame, "module": new.class_name, "function": new.method, "lineno": new.line}
            for key in ("filename", "abs_path"):
                mapped.pop(key, None)
                if new.class_name == outer_class:
                    value = new.file or frame.get(key)
                    if value is not None:
                        mapped[key] = value
            expansion.append(mapped)
        return expansion
    method = mappers.remap_method(module, function)
    if method is not None:
        return [{**frame, "module": method[0], "function": method[1]}]
    remapped_class = mappers.remap_class(module)
    if remapped_class is not None:
        return [{**frame, "module": remapped_class}]
    return None


def _map_frame(
    raw: dict[str, Any], mappers: _Mappers, release_package: str | None, callee_first: bool
) -> list[dict[str, Any]]:
    frame = parse_jvm_frame(raw)
    types = None
    if "signature" in frame:
        types = deobfuscate_signature(frame["signature"], mappers.remap_class)
    parameters = ",".join(types.parameters) if types is not None else None
    expansion = _expand_frame(frame, mappers, parameters)
    if expansion is None:
        expansion = [dict(frame)]
    elif release_package:
        for mapped in expansion:
            if "in_app" not in mapped and mapped["module"].startswith(release_package):
                mapped["in_app"] = True
    if "signature" in frame:
        for mapped in expansion:
            mapped["signature"] = format_signature(types)
    if callee_first:
        expansion.reverse()
    return expansion


def _map_exception(raw: Any, mappers: _Mappers) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str) or not isinstance(raw.get("module"), str):
        raise InvalidJvmRequest("a JVM exception needs string `type` and `module`")
    exception = {"type": raw["type"], "module": raw["module"]}
    remapped = mappers.remap_class(f"{exception['module']}.{exception['type']}")
    if remapped and "." in remapped:
        module, _, name = remapped.rpartition(".")
        return {"type": name, "module": module}
    return exception


def _list_field(request: dict[str, Any], key: str) -> list[Any]:
    value = request.get(key) or []
    if not isinstance(value, list):
        raise InvalidJvmRequest(f"`{key}` must be a list")
    return value


def symbolicate_jvm(
    request: dict[str, Any], store_uri: str, cache: BoundedCache[LoadedMapping] | None = None
) -> dict[str, Any]:
    """The completed `/symbolicate-jvm` response for `request`, with mappings from `store_uri`.

    Raises `InvalidJvmRequest` for a body Symbolicator would refuse.
    """
    if not isinstance(request, dict):
        raise InvalidJvmRequest("the request body must be an object")
    cache = cache if cache is not None else mapping_cache()
    usable: list[LoadedMapping] = []
    errors: list[dict[str, str]] = []
    for module in _list_field(request, "modules"):
        if not isinstance(module, dict) or module.get("type") not in ("proguard", "source"):
            raise InvalidJvmRequest(f"unknown JVM module {module!r}")
        module_uuid = _module_uuid(module)
        if module["type"] != "proguard":
            continue
        loaded = load_mapping(store_uri, module_uuid.hex, cache)
        if loaded.mapper is None:
            errors.append({"uuid": str(module_uuid), "type": loaded.error or "missing"})
        else:
            usable.append(loaded)
    mappers = _Mappers(usable)
    release_package = request.get("release_package")
    if release_package is not None and not isinstance(release_package, str):
        raise InvalidJvmRequest("`release_package` must be a string")
    options = request.get("options") or {}
    callee_first = isinstance(options, dict) and options.get("frame_order") == "callee_first"

    stacktraces = []
    for stacktrace in _list_field(request, "stacktraces"):
        if not isinstance(stacktrace, dict):
            raise InvalidJvmRequest("a JVM stacktrace must be an object")
        frames = [
            mapped
            for raw in _list_field(stacktrace, "frames")
            for mapped in _map_frame(raw, mappers, release_package, callee_first)
        ]
        stacktraces.append({"frames": frames})
    exceptions = [_map_exception(raw, mappers) for raw in _list_field(request, "exceptions")]
    classes = {}
    for name in _list_field(request, "classes"):
        remapped = mappers.remap_class(name) if isinstance(name, str) else None
        if remapped:
            classes[name] = remapped
    return {
        "status": "completed",
        "exceptions": exceptions,
        "stacktraces": stacktraces,
        "classes": classes,
        "errors": errors,
    }
