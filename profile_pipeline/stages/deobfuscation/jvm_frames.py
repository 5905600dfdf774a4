"""Android methods to Symbolicator JVM frames and back (SPEC Part II §4.6)."""

from __future__ import annotations

from typing import Any

DEOBFUSCATED = "deobfuscated"


def convert_android_methods_to_jvm_frames(methods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One JVM frame per method, `index` = the method's position in the method table."""
    frames = []
    for index, method in enumerate(methods):
        frame: dict[str, Any] = {"function": method["name"], "index": index, "module": method["class_name"]}
        if "signature" in method:
            frame["signature"] = method["signature"]
        if "source_line" in method:
            frame["lineno"] = method["source_line"]
        if "source_file" in method:
            frame["filename"] = method["source_file"]
        frames.append(frame)
    return frames


def _method_fields(frame: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "class_name": frame["module"],
        "data": {"deobfuscation_status": DEOBFUSCATED},
        "name": frame["function"],
    }
    if "signature" in frame:
        fields["signature"] = frame["signature"]
    if "filename" in frame:
        fields["source_file"] = frame["filename"]
    if frame.get("lineno"):
        fields["source_line"] = frame["lineno"]
    if "in_app" in frame:
        fields["in_app"] = frame["in_app"]
    return fields


def merge_jvm_frames_with_android_methods(frames: list[dict[str, Any]], methods: list[dict[str, Any]]) -> None:
    """Write remapped frames back into the methods they came from, in place.

    The first frame of an index replaces the method's names; further frames of the same index are
    inlined callers/callees (caller first) and go to `inline_frames`, which starts with a copy of the
    method as it stands after its first frame.
    """
    for frame in frames:
        method = methods[frame["index"]]
        data = method.get("data") or {}
        if data.get("deobfuscation_status") != DEOBFUSCATED:
            method.update(_method_fields(frame))
            continue
        if "inline_frames" not in method:
            method["inline_frames"] = [dict(method)]
        method["inline_frames"].append(_method_fields(frame))
