"""Paths inside a symbol store in Symbolicator's `unified` layout (SPEC §I.5).

Every identifier that becomes part of a path is validated here, so that no input can name a file
outside the store.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from profile_pipeline.adapters.storage import join

KINDS = ("debuginfo", "executable", "breakpad", "sourcebundle", "proguard", "minified_source", "sourcemap")

_HEX_ID = re.compile(r"^[0-9a-f]{8,64}$")
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9._@+\-~=,:]+$")


class UnsafeIdentifier(ValueError):
    """An identifier that cannot be used inside a store path."""


def normalize_id(raw: str) -> str:
    """A debug id, code id or uuid as the store's lowercase hex without dashes.

    Breakpad-style debug ids (`<uuid>-<age>` or 33+ hex) keep their appendix; anything with other
    characters than hex digits and dashes is refused.
    """
    if not isinstance(raw, str):
        raise UnsafeIdentifier(f"identifier must be a string, not {type(raw).__name__}")
    text = raw.strip().lower()
    try:
        return uuid.UUID(text).hex
    except ValueError:
        pass
    compact = text.replace("-", "")
    if not _HEX_ID.match(compact):
        raise UnsafeIdentifier(f"identifier {raw!r} is not a hex debug id")
    return compact


def object_uri(store: str, identifier: str, kind: str) -> str:
    """`<store>/<id[:2]>/<id[2:]>/<kind>` for a validated identifier."""
    if kind not in KINDS:
        raise UnsafeIdentifier(f"unknown symbol store kind {kind!r}")
    normalized = normalize_id(identifier)
    return join(store, normalized[:2], normalized[2:], kind)


def _safe_segment(value: str, what: str) -> str:
    if not value or value in (".", "..") or not _SAFE_SEGMENT.match(value):
        raise UnsafeIdentifier(f"{what} {value!r} cannot be part of a store path")
    return value


def release_artifact_path(abs_path: str) -> str:
    """The path of a release file inside its release: `abs_path` without scheme and leading slashes."""
    path = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://", "", abs_path).lstrip("/")
    segments = [_safe_segment(segment, "path segment") for segment in path.split("/") if segment]
    if not segments:
        raise UnsafeIdentifier(f"abs_path {abs_path!r} names no file")
    return "/".join(segments)


def release_uri(store: str, release: str, dist: str | None) -> str:
    """`<store>/releases/<release>/<dist or _>`: the files of one release and dist."""
    return join(store, "releases", _safe_segment(release, "release"), _safe_segment(dist or "_", "dist"))


def release_artifact_uri(store: str, release: str, dist: str | None, abs_path: str) -> str:
    """`releases/<release>/<dist or _>/<abs_path without scheme and leading slashes>`."""
    return join(release_uri(store, release, dist), *release_artifact_path(abs_path).split("/"))


def release_artifact_id(release: str, dist: str | None, path: str) -> str:
    """A release file's artifact id, as the store's lookup API lists it (and answers carry it)."""
    return hashlib.sha1(f"{release}/{dist or '_'}/{path}".encode()).hexdigest()[:16]


def debug_id_artifact_id(debug_id: str, kind: str) -> str:
    """The artifact id of a file stored under a debug id."""
    return hashlib.sha1(f"{normalize_id(debug_id)}/{kind}".encode()).hexdigest()[:16]
