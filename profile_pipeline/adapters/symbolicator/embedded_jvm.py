"""Symbolicator's `/symbolicate-jvm`, answered in-process as Symbolicator 26.8.0 answers it (SPEC §6.2/§6.3).

`symbolicate_jvm(request, store)` takes the request body Sentry sends and returns the body of a
completed response, with Symbolicator's remapping rules (the mapping's own rules are `proguard.py`'s):

* frames are remapped callee first (a caller-first stack trace is turned around and back); each frame
  is remapped whole (class, method and line, expanding inlined methods), else by class and method,
  else by class alone, trying the request's mappings in order; otherwise it is returned as it came;
* the line used for the whole-frame lookup is the frame's `lineno`, else the parameter list of its
  deobfuscated signature, else 0;
* a frame remapped whole takes the remapped file as `filename` and `abs_path`, and its line (none when
  the mapping gives none); outline frames, frames that rewrite rules clear and, when the frame had a
  line, methods the compiler synthesized are dropped;
* a remapped frame whose module starts with `release_package` and has no `in_app` becomes in-app;
* `signature` comes back in readable form, its classes remapped (SPEC §4.6 descriptor rules);
* exceptions (of the request and of each stack trace) are remapped by class, root-package classes too;
* mappings that cannot be used are listed in `errors` as `missing` or `invalid`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from profile_pipeline.adapters.symbolicator.java_signatures import deobfuscate_signature, format_signature
from profile_pipeline.adapters.symbolicator.mappings import LoadedMapping, load_mapping, mapping_cache
from profile_pipeline.adapters.symbolicator.proguard import Frame, ProguardMapping, Remap, class_descriptor
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
    "method_synthesized": (bool, type(None)),
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
        if (value == [] and key in ("pre_context", "post_context")) or (key == "method_synthesized" and not value):
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

    def __init__(self, mappings: Sequence[ProguardMapping]) -> None:
        self.mappings = mappings

    def remap_class(self, name: str) -> str | None:
        return next((found for mapping in self.mappings if (found := mapping.remap_class(name))), None)


@dataclass
class _Trace:
    """What remapping one stack trace carries from frame to frame."""

    outlines: list[list[int | None]]  # per mapping, an outline's position for the frame after it
    exception: str | None  # the stack trace's exception as a descriptor, for rewrite rules
    rewrite: bool  # rewrite rules apply only to the first frame after the exception


def _remapped_frames(frame: dict[str, Any], remap: Remap) -> list[dict[str, Any]]:
    expansion = []
    for new in remap.frames:
        mapped = {**frame, "module": new.class_name, "function": new.method}
        for key, value in (("lineno", new.line), ("filename", new.file), ("abs_path", new.file)):
            if value is not None:
                mapped[key] = value
            elif key == "lineno":
                mapped.pop(key, None)
        mapped.pop("method_synthesized", None)
        if new.synthesized:
            mapped["method_synthesized"] = True
        expansion.append(mapped)
    return expansion


def _expand_frame(
    frame: dict[str, Any], mappers: _Mappers, parameters: str | None, trace: _Trace
) -> list[dict[str, Any]] | None:
    """The remapped frames of one request frame, callee first; [] to drop it, None when no mapping knows it."""
    module, function = frame["module"], frame["function"]
    line = frame.get("lineno")
    if line is None and parameters is not None:
        lookup = Frame(module, function, parameters=parameters)
    else:
        lookup = Frame(module, function, line or 0)
    for mapping, outline in zip(mappers.mappings, trace.outlines, strict=True):
        remap = mapping.remap_frame(lookup, trace.exception, trace.rewrite, outline)
        if remap.outline:
            return []
        if remap.cleared:
            trace.rewrite = False
            return []
        if remap.frames:
            return _remapped_frames(frame, remap)
        method = mapping.remap_method(module, function)
        if method is not None:
            return [{**frame, "module": method[0], "function": method[1]}]
        remapped_class = mapping.remap_class(module)
        if remapped_class is not None:
            return [{**frame, "module": remapped_class}]
    return None


def _map_frame(
    raw: dict[str, Any], mappers: _Mappers, release_package: str | None, trace: _Trace
) -> list[dict[str, Any]]:
    frame = parse_jvm_frame(raw)
    types = None
    if "signature" in frame:
        types = deobfuscate_signature(frame["signature"], mappers.remap_class)
    parameters = ",".join(types.parameters) if types is not None else None
    expansion = _expand_frame(frame, mappers, parameters, trace)
    if expansion is not None and not expansion:
        return []
    trace.rewrite = False
    if expansion is not None and "lineno" in frame:
        expansion = [mapped for mapped in expansion if not mapped.get("method_synthesized")]
        if not expansion:
            return []
    if expansion is None:
        expansion = [dict(frame)]
    elif release_package:
        for mapped in expansion:
            if "in_app" not in mapped and mapped["module"].startswith(release_package):
                mapped["in_app"] = True
    if "signature" in frame:
        for mapped in expansion:
            mapped["signature"] = format_signature(types)
    return expansion


def _parse_exception(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str) or not isinstance(raw.get("module"), str):
        raise InvalidJvmRequest("a JVM exception needs string `type` and `module`")
    return {"type": raw["type"], "module": raw["module"]}


def _full_class_name(exception: dict[str, str]) -> str:
    # R8 may move a class into the root package: its module is empty and the type is the whole name.
    return f"{exception['module']}.{exception['type']}" if exception["module"] else exception["type"]


def _map_exception(exception: dict[str, str], mappers: _Mappers) -> dict[str, str]:
    remapped = mappers.remap_class(_full_class_name(exception))
    if remapped is None:
        return exception
    module, _, name = remapped.rpartition(".")
    return {"type": name, "module": module}


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
    usable: list[ProguardMapping] = []
    errors: list[dict[str, str]] = []
    for module in _list_field(request, "modules"):
        if not isinstance(module, dict) or module.get("type") not in ("proguard", "source"):
            raise InvalidJvmRequest(f"unknown JVM module {module!r}")
        module_uuid = _module_uuid(module)
        if module["type"] != "proguard":
            continue
        loaded = load_mapping(store_uri, module_uuid.hex, cache)
        if loaded.mapping is None:
            errors.append({"uuid": str(module_uuid), "type": loaded.error or "missing"})
        else:
            usable.append(loaded.mapping)
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
        exception = None
        if stacktrace.get("exception") is not None:
            exception = _map_exception(_parse_exception(stacktrace["exception"]), mappers)
        trace = _Trace(
            [[None] for _ in usable],
            class_descriptor(_full_class_name(exception)) if exception else None,
            exception is not None,
        )
        raw_frames = _list_field(stacktrace, "frames")
        # Remapped callee first (outlines and rewrite rules read the stack from the innermost frame).
        ordered = raw_frames if callee_first else raw_frames[::-1]
        expansions = [_map_frame(raw, mappers, release_package, trace) for raw in ordered]
        frames = [mapped for expansion in expansions for mapped in expansion]
        stacktraces.append({"exception": exception, "frames": frames if callee_first else frames[::-1]})
    exceptions = [_map_exception(_parse_exception(raw), mappers) for raw in _list_field(request, "exceptions")]
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
