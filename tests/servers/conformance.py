"""Recorded Symbolicator exchanges (tests/data/symbolicator-26.8.0) replayed into the embedded backend.

`conformance_store` lays the fixtures out as the store the recordings were made with; `replay` sends one
recorded request body to a backend and compares its answer with the recorded one, frame by frame and
field by field (frames aligned as the recordings' README says).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data"
# The version the embedded backend answers like; 25.11.1's set stays for the HTTP client (see tests/README.md).
RECORDINGS = DATA / "symbolicator-26.8.0"
FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
ENDPOINTS = {"/symbolicate": "native", "/symbolicate-js": "js", "/symbolicate-jvm": "jvm"}

# Store path ⇒ fixture, as the recordings' README lists them.
_STORE_FILES = {
    "50/2fc0a51ec13e479998684fa139dca7/debuginfo": "debug-files/hello-macho.dwarf",
    "67/e9247c814e392ba027dbde6748fcbf/debuginfo": "debug-files/crash-macos.dwarf",
    "f1/c3bcc0279865fe3058404b2831d9e64135386c/debuginfo": "debug-files/crash-linux.debug",
    "a4/8ca62bdf26544ea8b92a5ce210d1d5/proguard": "proguard/sample-app.txt",
    "d7/48e578b3d15be5b0e5a42e8c9bf8e0/proguard": "proguard/resolving-inline.txt",
    "df/272ecbc8b653f39803fdd0d9342ebd/proguard": "proguard/remap-exception.txt",
}
_RELEASES = {
    "frontend@24.11.0": "_",
    "frontend@24.11.1": "_",
    "io.example.rn@3.2.0+41": "41",
    "io.example.rn@3.2.1+42": "42",
}

# Keys only the real service answers, each for a reason named in tests/README.md.
REAL_ONLY_MODULE_KEYS = ("candidates",)
REAL_ONLY_RESPONSE_KEYS = ("scraping_attempts",)


def conformance_store(directory: Path) -> str:
    """The recordings' symbol store: byte-identical copies of the fixtures in the unified layout."""
    store = directory / "store"
    for path, fixture in _STORE_FILES.items():
        (store / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / fixture, store / path)
    for release, dist in _RELEASES.items():
        target = store / "releases" / release / dist
        target.mkdir(parents=True, exist_ok=True)
        for name in ("embedded.js", "embedded.js.map"):
            shutil.copyfile(FIXTURES / "sourcemaps" / name, target / name)
    return str(store)


def exchanges(endpoint: str | None = None, recordings: Path = RECORDINGS) -> list[tuple[str, dict[str, Any]]]:
    """(file name, exchange) of the recorded POSTs, on one endpoint or all."""
    recorded = [(path.name, json.loads(path.read_text())) for path in sorted(recordings.glob("*.json"))]
    polled = {
        exchange["endpoint"].rsplit("/", 1)[-1]: exchange["response"]
        for _, exchange in recorded
        if exchange["endpoint"].startswith("/requests/") and exchange["status"] == 200
    }
    found = []
    for name, exchange in recorded:
        if exchange["endpoint"] in ENDPOINTS and (endpoint is None or exchange["endpoint"] == endpoint):
            response = exchange["response"]
            if response.get("status") == "pending":  # the task's answer is the one its poll got
                exchange = {**exchange, "response": polled[response["request_id"]]}
            found.append((name, exchange))
    return found


def with_store(value: Any, store: str) -> Any:
    """The recorded value with the `{store}` placeholder replaced."""
    return json.loads(json.dumps(value).replace("{store}", store))


@dataclass
class Comparison:
    frames: int = 0
    equal: int = 0
    differences: list[str] = field(default_factory=list)

    def add(self, other: Comparison) -> None:
        self.frames += other.frames
        self.equal += other.equal
        self.differences.extend(other.differences)


def _field_differences(where: str, real: dict[str, Any], ours: dict[str, Any], skip: tuple[str, ...] = ()) -> list[str]:
    return [
        f"{where}: {key}: real {real.get(key)!r} embedded {ours.get(key)!r}"
        for key in sorted(set(real) | set(ours))
        if key not in skip and real.get(key) != ours.get(key)
    ]


def _aligned(kind: str, real: list[dict[str, Any]], ours: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """Pairs of (real, embedded) frames; a frame one side lacks pairs with None."""
    if kind == "js":
        return (
            [(r, o) for r, o in zip(real, ours, strict=False)]
            + [(r, None) for r in real[len(ours) :]]
            + [(None, o) for o in ours[len(real) :]]
        )
    key = "original_index" if kind == "native" else "index"
    groups: dict[Any, tuple[list[Any], list[Any]]] = {}
    for side, frames in ((0, real), (1, ours)):
        for frame in frames:
            groups.setdefault(frame.get(key), ([], []))[side].append(frame)
    pairs = []
    for real_group, our_group in groups.values():
        for position in range(max(len(real_group), len(our_group))):
            pairs.append(
                (
                    real_group[position] if position < len(real_group) else None,
                    our_group[position] if position < len(our_group) else None,
                )
            )
    return pairs


def compare(name: str, kind: str, real: dict[str, Any], ours: dict[str, Any] | None) -> Comparison:
    """Frames compared and equal between a recorded and an embedded answer, with each difference named."""
    result = Comparison()
    ours = ours or {}
    for key in sorted(set(real) | set(ours)):
        if key in ("stacktraces", "modules", *REAL_ONLY_RESPONSE_KEYS):
            continue
        if real.get(key) != ours.get(key):
            result.differences.append(f"{name}: {key}: real {real.get(key)!r} embedded {ours.get(key)!r}")
    for number, (real_module, our_module) in enumerate(
        zip(real.get("modules") or [], ours.get("modules") or [], strict=False)
    ):
        result.differences.extend(
            _field_differences(f"{name} module {number}", real_module, our_module, REAL_ONLY_MODULE_KEYS)
        )
    if len(real.get("modules") or []) != len(ours.get("modules") or []):
        result.differences.append(f"{name}: module count differs")
    real_traces, our_traces = real.get("stacktraces") or [], ours.get("stacktraces") or []
    if len(real_traces) != len(our_traces):
        result.differences.append(f"{name}: stacktrace count differs")
    for number, real_trace in enumerate(real_traces):
        our_trace = our_traces[number] if number < len(our_traces) else {}
        result.differences.extend(_field_differences(f"{name} stacktrace {number}", real_trace, our_trace, ("frames",)))
        our_frames = our_trace.get("frames", [])
        for position, (real_frame, our_frame) in enumerate(_aligned(kind, real_trace["frames"], our_frames)):
            result.frames += 1
            where = f"{name} stacktrace {number} frame {position}"
            if real_frame is None or our_frame is None:
                result.differences.append(f"{where}: only in {'embedded' if real_frame is None else 'real'}")
                continue
            differences = _field_differences(where, real_frame, our_frame)
            if differences:
                result.differences.extend(differences)
            else:
                result.equal += 1
    return result


def replay(backend: Any, store: str, name: str, exchange: dict[str, Any]) -> Comparison:
    """Send the recorded request to `backend` and compare its answer with the recorded one."""
    kind = ENDPOINTS[exchange["endpoint"]]
    request = with_store(exchange["request"], store)
    answer = getattr(backend, kind)(request)
    return compare(name, kind, with_store(exchange["response"], store), answer)
