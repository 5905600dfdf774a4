"""Generated profiles of every format of SPEC Part II §3.1, in the key shapes of §3.3.

`generate(kind, rng, spec)` builds one payload (the profile JSON as a dict, before the envelope
merge). The kinds are the rows of `KINDS`; each names the format `detect_format` must find. The size
of a profile is steered by `ProfileSpec.target_bytes`: frames and stacks are built first, then
samples (or Android events) fill what is left.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from profile_pipeline.formats import ANDROID, ANDROID_CHUNK, LEGACY, SAMPLE_V1, SAMPLE_V2
from synthetic.catalog import CRASH_LINUX, CRASH_MACOS, HELLO_MACHO, JS_ABS_PATH, JS_DEBUG_ID, PROGUARD_UUID
from synthetic.frames import (
    Frame,
    android_methods,
    assign_stacks,
    browser_frames,
    call_stacks,
    java_frames,
    js_bundle_frame,
    load,
    native_frames,
    new_id,
    node_frames,
    proguard_image,
    python_frames,
    timeline,
)

Profile = dict[str, Any]

# (release, dist) pairs of the JavaScript kinds: a symbol store must hold the bundle under each.
WEB_RELEASES = (("frontend@24.11.0", None), ("frontend@24.11.1", None))
RN_RELEASES = (("io.example.rn@3.2.0+41", "41"), ("io.example.rn@3.2.1+42", "42"))
JS_RELEASES = WEB_RELEASES + RN_RELEASES


@dataclass(frozen=True)
class ProfileSpec:
    """What to generate. `frames=None` picks a realistic count for the target size."""

    target_bytes: int = 100_000
    frames: int | None = None
    release: str | None = None
    dist: str | None = None
    environment: str = "production"
    start: float = 1795996800.0  # when profiling started, Unix seconds (2026-11-30T00:00:00Z)
    extra: dict[str, Any] = field(default_factory=dict)  # top-level keys set last


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _transaction_metadata(rng: random.Random, spec: ProfileSpec, name: str, release: str, duration_ns: int) -> dict:
    """Relay's string map of the transaction, with the start and end vroom reads."""
    end = datetime.fromtimestamp(spec.start + duration_ns / 1e9, UTC)
    return {
        "environment": spec.environment,
        "release": release,
        "transaction": name,
        "transaction.op": rng.choice(("http.server", "ui.load", "task")),
        "transaction.status": "ok",
        "transaction.start": datetime.fromtimestamp(spec.start, UTC).isoformat(),
        "transaction.end": end.isoformat(),
    }


def _frame_count(spec: ProfileSpec, bytes_per_frame: int) -> int:
    return spec.frames if spec.frames is not None else max(8, spec.target_bytes // bytes_per_frame)


def _fit(spec: ProfileSpec, profile: Profile, probe: list[Any]) -> int:
    """How many more units like `probe` (one tick's samples, one event) fit in the target size."""
    left = spec.target_bytes - len(orjson.dumps(profile))
    unit = len(orjson.dumps(probe)) - 1
    return max(2, left // max(unit, 1))


def _release(rng: random.Random, spec: ProfileSpec, choices: tuple[tuple[str, str | None], ...]) -> tuple[str, Any]:
    if spec.release is not None:
        return spec.release, spec.dist
    return rng.choice(choices)


# --- Sample format v1 -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Runtime:
    """What differs between the platforms of the sample formats."""

    platform: str
    sdk: tuple[str, str]
    interval_ns: int
    depth: tuple[int, int]
    bytes_per_frame: int  # sets the default frame count for a target size
    threads: Callable[[random.Random], dict[int, str]]
    context: dict[str, Any]
    transaction: str
    release: tuple[tuple[str, str | None], ...]


def _python_threads(rng: random.Random) -> dict[int, str]:
    base = rng.randrange(139_600_000_000_000, 139_700_000_000_000, 4096)
    names = ("uWSGIWorker1Core0", "ThreadPoolExecutor-0_0", "ThreadPoolExecutor-0_1", "sentry-sdk.BackgroundWorker")
    return {base + index * 8_392_704: name for index, name in enumerate(names)}


def _cocoa_threads(rng: random.Random) -> dict[int, str]:
    return {259: "main", 771: "com.apple.uikit.eventfetch-thread", 5635: "io.sentry.SentryProfiler"}


def _js_threads(rng: random.Random) -> dict[int, str]:
    return {0: "main"}


def _rust_threads(rng: random.Random) -> dict[int, str]:
    base = rng.randrange(140_000_000_000_000, 140_100_000_000_000, 4096)
    return {base + index * 2_101_248: f"tokio-runtime-worker-{index}" if index else "main" for index in range(3)}


_PYTHON = _Runtime(
    "python",
    ("sentry.python", "2.19.0"),
    10_000_000,
    (8, 40),
    400,
    _python_threads,
    {
        "device": {"architecture": "x86_64"},
        "runtime": {"name": "CPython", "version": "3.11.8"},
        "os": {"name": "Linux", "version": "6.1.58+"},
    },
    "/api/0/projects/{project_id}/events/",
    (("backend@2.19.0", None), ("backend@2.20.0", None)),
)
_NODE = _Runtime(
    "node",
    ("sentry.javascript.node", "8.40.0"),
    10_000_000,
    (5, 30),
    700,
    _js_threads,
    {
        "device": {"architecture": "arm64"},
        "runtime": {"name": "node", "version": "v20.18.0"},
        "os": {"name": "Linux", "version": "6.1.58+"},
    },
    "GET /api/orders",
    WEB_RELEASES,
)
_BROWSER = _Runtime(
    "javascript",
    ("sentry.javascript.browser", "8.40.0"),
    10_000_000,
    (4, 25),
    700,
    _js_threads,
    {
        "device": {"architecture": "x86_64"},
        "runtime": {"name": "Chrome", "version": "131.0.0"},
        "os": {"name": "Windows", "version": "10"},
    },
    "/checkout",
    WEB_RELEASES,
)
_COCOA = _Runtime(
    "cocoa",
    ("sentry.cocoa", "8.41.0"),
    10_000_000,
    (10, 40),
    250,
    _cocoa_threads,
    {
        "device": {"architecture": "x86_64", "is_emulator": False, "locale": "en_US", "manufacturer": "Apple"},
        "os": {"name": "macOS", "version": "14.6.1", "build_number": "23G93"},
    },
    "launch",
    (("io.example.mac@5.1.0+120", None), ("io.example.mac@5.1.1+121", None)),
)
_RUST = _Runtime(
    "rust",
    ("sentry.rust", "0.34.0"),
    10_000_000,
    (10, 40),
    250,
    _rust_threads,
    {"device": {"architecture": "x86_64"}, "os": {"name": "Linux", "version": "6.8.0"}},
    "process_batch",
    (("ingest-worker@0.9.3", None),),
)
_REACT_NATIVE_IOS = _Runtime(
    "javascript",
    ("sentry.javascript.react-native", "6.3.0"),
    10_000_000,
    (6, 30),
    500,
    _cocoa_threads,
    {
        "device": {"architecture": "x86_64", "is_emulator": True, "model": "iPhone16,1", "manufacturer": "Apple"},
        "os": {"name": "iOS", "version": "17.5", "build_number": "21F79"},
    },
    "Home",
    RN_RELEASES,
)


def _sample_v1(
    rng: random.Random,
    spec: ProfileSpec,
    runtime: _Runtime,
    frames: list[Frame],
    images: list[dict[str, Any]],
) -> Profile:
    threads = runtime.threads(rng)
    thread_ids = list(threads)
    stacks = call_stacks(rng, len(frames), max(4, len(frames) // 3), runtime.depth)
    per_thread = assign_stacks(rng, len(stacks), thread_ids)
    release, dist = _release(rng, spec, runtime.release)
    cocoa_queues = runtime is _COCOA
    profile: Profile = {
        "version": "1",
        "platform": runtime.platform,
        "event_id": new_id(rng),
        "timestamp": _iso(spec.start),
        "release": release,
        "environment": spec.environment,
        "client_sdk": {"name": runtime.sdk[0], "version": runtime.sdk[1]},
        **copy.deepcopy(runtime.context),
        "transaction": {
            "id": new_id(rng),
            "name": runtime.transaction,
            "trace_id": new_id(rng),
            "active_thread_id": thread_ids[0],
            "segment_id": f"{rng.getrandbits(64):016x}",
            "relative_start_ns": 0,
            "relative_end_ns": 0,
        },
        "transaction_tags": {},
        "profile": {
            "samples": [],
            "stacks": stacks,
            "frames": frames,
            "thread_metadata": {str(thread): {"name": name} for thread, name in threads.items()},
        },
    }
    if dist is not None:
        profile["dist"] = dist
    if images:
        profile["debug_meta"] = {"images": images}
    if cocoa_queues:
        profile["transaction_tags"]["device.class"] = rng.choice(("1", "2", "3"))
        profile["profile"]["queue_metadata"] = {"0x1e8b3c0c0": {"label": "com.apple.main-thread"}}

    def sample(tick: int, thread: int, stack_id: int) -> dict[str, Any]:
        entry = {"stack_id": stack_id, "thread_id": thread, "elapsed_since_start_ns": tick * runtime.interval_ns}
        if cocoa_queues and thread == 259:
            entry["queue_address"] = "0x1e8b3c0c0"
        return entry

    probe = [sample(10_000, thread, 100) for thread in thread_ids]
    ticks = _fit(spec, profile, probe)
    profile["profile"]["samples"] = [sample(*entry) for entry in timeline(rng, ticks, per_thread)]
    duration = ticks * runtime.interval_ns
    profile["transaction"]["relative_end_ns"] = duration
    profile["transaction_metadata"] = _transaction_metadata(rng, spec, runtime.transaction, release, duration)
    return profile


def python_v1(rng: random.Random, spec: ProfileSpec) -> Profile:
    return _sample_v1(rng, spec, _PYTHON, python_frames(rng, _frame_count(spec, _PYTHON.bytes_per_frame)), [])


def _sourcemap_image() -> dict[str, Any]:
    return {"type": "sourcemap", "code_file": JS_ABS_PATH, "debug_id": JS_DEBUG_ID}


def node_v1(rng: random.Random, spec: ProfileSpec) -> Profile:
    frames = node_frames(rng, _frame_count(spec, _NODE.bytes_per_frame))
    return _sample_v1(rng, spec, _NODE, frames, [_sourcemap_image()])


def javascript_v1(rng: random.Random, spec: ProfileSpec) -> Profile:
    frames = browser_frames(rng, _frame_count(spec, _BROWSER.bytes_per_frame))
    return _sample_v1(rng, spec, _BROWSER, frames, [_sourcemap_image()])


def cocoa_v1(rng: random.Random, spec: ProfileSpec) -> Profile:
    loaded = load(rng, (CRASH_MACOS, HELLO_MACHO))
    frames = native_frames(rng, _frame_count(spec, _COCOA.bytes_per_frame), loaded)
    return _sample_v1(rng, spec, _COCOA, frames, [module.image() for module in loaded])


def rust_v1(rng: random.Random, spec: ProfileSpec) -> Profile:
    loaded = load(rng, (CRASH_LINUX,))
    frames = native_frames(rng, _frame_count(spec, _RUST.bytes_per_frame), loaded)
    return _sample_v1(rng, spec, _RUST, frames, [module.image() for module in loaded])


def react_native_ios(rng: random.Random, spec: ProfileSpec) -> Profile:
    """Sample v1 `javascript` whose stacks mix bundle frames, `[native code]` and cocoa frames."""
    loaded = load(rng, (CRASH_MACOS,))
    frames: list[Frame] = []
    for _ in range(_frame_count(spec, _REACT_NATIVE_IOS.bytes_per_frame)):
        roll = rng.random()
        if roll < 0.55:
            frames.append(js_bundle_frame(rng))
        elif roll < 0.65:
            frames.append({"function": "[native code]", "abs_path": "[native code]"})
        else:
            frames.extend(native_frames(rng, 1, loaded, platform="cocoa"))
    images = [_sourcemap_image(), *(module.image() for module in loaded)]
    return _sample_v1(rng, spec, _REACT_NATIVE_IOS, frames, images)


# --- Sample format v2 (continuous profiling chunks) -------------------------------------------


def _sample_v2(
    rng: random.Random,
    spec: ProfileSpec,
    runtime: _Runtime,
    frames: list[Frame],
    images: list[dict[str, Any]],
    platform: str | None = None,
) -> Profile:
    threads = {str(thread): name for thread, name in runtime.threads(rng).items()}
    thread_ids = list(threads)
    stacks = call_stacks(rng, len(frames), max(4, len(frames) // 3), runtime.depth)
    per_thread = assign_stacks(rng, len(stacks), thread_ids)
    release, _ = _release(rng, spec, runtime.release)
    profile: Profile = {
        "version": "2",
        "platform": platform or runtime.platform,
        "chunk_id": new_id(rng),
        "profiler_id": new_id(rng),
        "release": release,
        "environment": spec.environment,
        "client_sdk": {"name": runtime.sdk[0], "version": runtime.sdk[1]},
        "profile": {
            "samples": [],
            "stacks": stacks,
            "frames": frames,
            "thread_metadata": {thread: {"name": name} for thread, name in threads.items()},
        },
    }
    if images:
        profile["debug_meta"] = {"images": images}
    interval = runtime.interval_ns / 1e9

    def sample(tick: int, thread: str, stack_id: int) -> dict[str, Any]:
        return {"stack_id": stack_id, "thread_id": thread, "timestamp": round(spec.start + tick * interval, 3)}

    ticks = _fit(spec, profile, [sample(10_000, thread, 100) for thread in thread_ids])
    profile["profile"]["samples"] = [sample(*entry) for entry in timeline(rng, ticks, per_thread)]
    return profile


def python_chunk(rng: random.Random, spec: ProfileSpec) -> Profile:
    return _sample_v2(rng, spec, _PYTHON, python_frames(rng, _frame_count(spec, _PYTHON.bytes_per_frame)), [])


def node_chunk(rng: random.Random, spec: ProfileSpec) -> Profile:
    frames = node_frames(rng, _frame_count(spec, _NODE.bytes_per_frame))
    return _sample_v2(rng, spec, _NODE, frames, [_sourcemap_image()])


def cocoa_chunk(rng: random.Random, spec: ProfileSpec) -> Profile:
    loaded = load(rng, (CRASH_MACOS, HELLO_MACHO))
    frames = native_frames(rng, _frame_count(spec, _COCOA.bytes_per_frame), loaded)
    return _sample_v2(rng, spec, _COCOA, frames, [module.image() for module in loaded])


_ANDROID_V2 = _Runtime(
    "android",
    ("sentry.java.android", "8.0.0"),
    10_000_000,
    (8, 40),
    300,
    lambda rng: {6689: "main", 6702: "RenderThread", 6715: "OkHttp Dispatcher"},
    {},
    "",
    (("io.sentry.samples.android@8.0.0+2", None),),
)


def android_perfetto_chunk(rng: random.Random, spec: ProfileSpec) -> Profile:
    """Sample v2 `android` converted from Perfetto: `java` frames of the app and `native` frames."""
    loaded = load(rng, (CRASH_LINUX,))
    count = _frame_count(spec, _ANDROID_V2.bytes_per_frame)
    frames = java_frames(rng, count - count // 4) + native_frames(rng, count // 4, loaded, platform="native")
    images = [proguard_image(), *(module.image() for module in loaded)]
    return _sample_v2(rng, spec, _ANDROID_V2, frames, images)


# --- Android trace formats --------------------------------------------------------------------

_ANDROID_THREADS = ("main", "RenderThread", "OkHttp Dispatcher", "FinalizerDaemon")


def _android_time(nanos: int) -> dict[str, Any]:
    return {"Monotonic": {"wall": {"secs": nanos // 1_000_000_000, "nanos": nanos % 1_000_000_000}}}


def _android_events(rng: random.Random, thread_ids: list[int], methods: int, count: int) -> list[dict[str, Any]]:
    """Enter/Exit events in time order, well nested per thread, every entered method exited."""
    open_calls: dict[int, list[int]] = {thread: [] for thread in thread_ids}
    events: list[dict[str, Any]] = []
    now = 1_000
    while len(events) + sum(map(len, open_calls.values())) < count:
        thread = thread_ids[0] if rng.random() < 0.7 else rng.choice(thread_ids)
        calls = open_calls[thread]
        now += rng.randrange(5_000, 2_000_000)
        if not calls or (len(calls) < 40 and rng.random() < 0.55):
            method, action = rng.randrange(methods), "Enter"
            calls.append(method)
        else:
            method, action = calls.pop(), "Exit"
        events.append({"action": action, "thread_id": thread, "method_id": method, "time": _android_time(now)})
    for thread, calls in open_calls.items():
        while calls:
            now += rng.randrange(5_000, 200_000)
            events.append({"action": "Exit", "thread_id": thread, "method_id": calls.pop(), "time": _android_time(now)})
    return events


def _android_trace(rng: random.Random, spec: ProfileSpec, top: Profile) -> Profile:
    """The decoded trace under `profile`, filled with events up to the target size."""
    main = rng.randrange(3000, 30000)
    thread_ids = [main + index * 13 if index else main for index in range(len(_ANDROID_THREADS))]
    methods = android_methods(rng, _frame_count(spec, 700))
    top["profile"] = {
        "clock": "Dual",
        "start_time": rng.randrange(10**10, 10**13),
        "threads": [{"id": thread, "name": name} for thread, name in zip(thread_ids, _ANDROID_THREADS, strict=True)],
        "methods": methods,
        "events": [],
    }
    probe = {"action": "Enter", "thread_id": main, "method_id": len(methods), "time": _android_time(10**9)}
    count = _fit(spec, top, [probe])
    events = _android_events(rng, thread_ids, len(methods), count)
    top["profile"]["events"] = events
    last = events[-1]["time"]["Monotonic"]["wall"]
    top["duration_ns"] = last["secs"] * 1_000_000_000 + last["nanos"]
    return top


def _android_common(rng: random.Random, spec: ProfileSpec) -> Profile:
    release, dist = _release(rng, spec, (("io.sentry.sample@2.1.0+210", "210"), ("io.sentry.sample@2.1.1+211", "211")))
    profile: Profile = {
        "platform": "android",
        "build_id": PROGUARD_UUID,
        "release": release,
        "environment": spec.environment,
        "client_sdk": {"name": "sentry.java.android", "version": "8.0.0"},
        "debug_meta": {"images": [proguard_image()]},
        "duration_ns": 0,
    }
    if dist is not None:
        profile["dist"] = dist
    return profile


def android_legacy(rng: random.Random, spec: ProfileSpec) -> Profile:
    profile = _android_common(rng, spec)
    transaction_id, trace_id = new_id(rng), new_id(rng)
    profile.update(
        {
            "profile_id": new_id(rng),
            "android_api_level": 34,
            "device_cpu_frequencies": [2400, 2400, 2400, 2400, 1800, 1800, 1800, 1800],
            "device_is_emulator": False,
            "device_locale": "en_US",
            "device_manufacturer": "Google",
            "device_model": "Pixel 8",
            "device_os_name": "android",
            "device_os_version": "14",
            "device_os_build_number": "AP2A.240805.005",
            "device_physical_memory_bytes": 8_000_000_000,
            "transaction_id": transaction_id,
            "transaction_name": "MainActivity",
            "trace_id": trace_id,
            "timestamp": _iso(spec.start),
            "version_code": "210",
            "version_name": "2.1.0",
            "transaction_tags": {"device.class": rng.choice(("1", "2", "3"))},
        }
    )
    profile = _android_trace(rng, spec, profile)
    main = profile["profile"]["threads"][0]["id"]
    profile["active_thread_id"] = main
    profile["transaction"] = {
        "id": transaction_id,
        "name": "MainActivity",
        "trace_id": trace_id,
        "active_thread_id": main,
        "segment_id": f"{rng.getrandbits(64):016x}",
        "relative_start_ns": 0,
        "relative_end_ns": profile["duration_ns"],
    }
    metadata = _transaction_metadata(rng, spec, "MainActivity", profile["release"], profile["duration_ns"])
    profile["transaction_metadata"] = {"app.identifier": "io.sentry.sample", **metadata}
    return profile


def android_chunk(rng: random.Random, spec: ProfileSpec) -> Profile:
    profile = _android_common(rng, spec)
    profile.update({"chunk_id": new_id(rng), "profiler_id": new_id(rng), "timestamp": round(spec.start, 3)})
    return _android_trace(rng, spec, profile)


def _js_profile_frames(rng: random.Random, count: int) -> list[Frame]:
    return [js_bundle_frame(rng) for _ in range(count)]


def react_native_android(rng: random.Random, spec: ProfileSpec) -> Profile:
    """An Android legacy profile with a v1-shaped `js_profile` and the bundle's source map image."""
    spec = _with_rn_release(rng, spec)
    profile = android_legacy(rng, replace(spec, target_bytes=spec.target_bytes // 2))
    frames = _js_profile_frames(rng, max(8, (spec.frames or 60)))
    stacks = call_stacks(rng, len(frames), max(4, len(frames) // 2), (3, 20))
    profile["debug_meta"]["images"].append(_sourcemap_image())
    js_profile: Profile = {"samples": [], "stacks": stacks, "frames": frames, "thread_metadata": {"0": {"name": "JS"}}}
    profile["js_profile"] = js_profile

    def sample(tick: int, thread: int, stack_id: int) -> dict[str, Any]:
        return {"stack_id": stack_id, "thread_id": thread, "elapsed_since_start_ns": tick * 10_000_000}

    ticks = _fit(spec, profile, [sample(10_000, 0, len(stacks))])
    js_profile["samples"] = [sample(*entry) for entry in timeline(rng, ticks, {0: list(range(len(stacks)))})]
    return profile


def react_native_android_chunk(rng: random.Random, spec: ProfileSpec) -> Profile:
    """An Android chunk with a v2-shaped `js_profile` (string thread ids, timestamps in seconds)."""
    spec = _with_rn_release(rng, spec)
    profile = android_chunk(rng, replace(spec, target_bytes=spec.target_bytes // 2))
    frames = _js_profile_frames(rng, max(8, (spec.frames or 60)))
    stacks = call_stacks(rng, len(frames), max(4, len(frames) // 2), (3, 20))
    profile["debug_meta"]["images"].append(_sourcemap_image())
    js_profile: Profile = {"samples": [], "stacks": stacks, "frames": frames, "thread_metadata": {"1": {"name": "JS"}}}
    profile["js_profile"] = js_profile

    def sample(tick: int, thread: str, stack_id: int) -> dict[str, Any]:
        return {"stack_id": stack_id, "thread_id": thread, "timestamp": round(spec.start + tick * 0.01, 3)}

    ticks = _fit(spec, profile, [sample(10_000, "1", len(stacks))])
    js_profile["samples"] = [sample(*entry) for entry in timeline(rng, ticks, {"1": list(range(len(stacks)))})]
    return profile


def _with_rn_release(rng: random.Random, spec: ProfileSpec) -> ProfileSpec:
    release, dist = _release(rng, spec, RN_RELEASES)
    return replace(spec, release=release, dist=dist)


# --- Legacy native (`sampled_profile`) --------------------------------------------------------


def _legacy_samples(
    rng: random.Random, spec: ProfileSpec, profile: Profile, frames: list[Frame], threads: list[int]
) -> list[tuple[int, int, list[Frame]]]:
    """(tick, thread, leaf-first inline frames) per sample, filling the target size."""
    stacks = call_stacks(rng, len(frames), max(4, len(frames) // 3), (10, 40))
    per_thread = assign_stacks(rng, len(stacks), threads)
    typical = sorted(stacks, key=len)[len(stacks) // 2]
    probe = [{"frames": [frames[i] for i in typical], "relative_timestamp_ns": 10**9, "thread_id": threads[0]}]
    ticks = max(2, _fit(spec, profile, probe) // len(threads))
    return [
        (tick, thread, [dict(frames[i]) for i in stacks[stack_id]])
        for tick, thread, stack_id in timeline(rng, ticks, per_thread)
    ]


def legacy_cocoa(rng: random.Random, spec: ProfileSpec) -> Profile:
    loaded = load(rng, (CRASH_MACOS, HELLO_MACHO))
    frames = native_frames(rng, _frame_count(spec, 250), loaded)
    release, _ = _release(rng, spec, _COCOA.release)
    profile: Profile = {
        "platform": "cocoa",
        "profile_id": new_id(rng),
        "transaction_id": new_id(rng),
        "transaction_name": "MainViewController",
        "trace_id": new_id(rng),
        "release": release,
        "environment": spec.environment,
        "timestamp": _iso(spec.start),
        "device_is_emulator": False,
        "device_locale": "en_US",
        "device_manufacturer": "Apple",
        "device_model": "MacBookPro18,3",
        "device_os_build_number": "23G93",
        "device_os_name": "macOS",
        "device_os_version": "14.6.1",
        "version_code": "120",
        "version_name": "5.1.0",
        "debug_meta": {"images": [module.image() for module in loaded]},
        "sampled_profile": {"samples": [], "thread_metadata": {}, "queue_metadata": {}},
    }
    threads = [259, 771]
    samples = _legacy_samples(rng, spec, profile, frames, threads)
    profile["sampled_profile"] = {
        "samples": [
            {"frames": stack, "relative_timestamp_ns": tick * 10_000_000, "thread_id": thread}
            for tick, thread, stack in samples
        ],
        "thread_metadata": {"259": {"name": "main", "is_main_thread": True}, "771": {"name": "worker"}},
        "queue_metadata": {},
    }
    profile["duration_ns"] = (samples[-1][0] + 1) * 10_000_000
    return profile


def legacy_rust(rng: random.Random, spec: ProfileSpec) -> Profile:
    loaded = load(rng, (CRASH_LINUX,))
    frames = native_frames(rng, _frame_count(spec, 250), loaded)
    images = [{**module.image(), "type": "symbolic"} for module in loaded]
    release, _ = _release(rng, spec, _RUST.release)
    profile: Profile = {
        "platform": "rust",
        "profile_id": new_id(rng),
        "transaction_id": new_id(rng),
        "transaction_name": "process_batch",
        "trace_id": new_id(rng),
        "release": release,
        "environment": spec.environment,
        "architecture": "x86_64",
        "device_os_name": "Linux",
        "device_os_version": "6.8.0",
        "debug_meta": {"images": images},
        "sampled_profile": {},
    }
    threads = list(_rust_threads(rng))
    samples = _legacy_samples(rng, spec, profile, frames, threads)
    duration = (samples[-1][0] + 1) * 10_000_000
    profile["sampled_profile"] = {
        "start_time_nanos": int(spec.start * 1e9),
        "start_time_secs": int(spec.start),
        "duration_nanos": duration,
        "samples": [
            {
                "frames": stack,
                "thread_name": "main" if thread == threads[0] else f"tokio-runtime-worker-{threads.index(thread)}",
                "thread_id": thread,
                "nanos_relative_to_start": tick * 10_000_000,
            }
            for tick, thread, stack in samples
        ],
    }
    profile["duration_ns"] = duration
    return profile


# --- Registry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    format: str  # what `profile_pipeline.formats.detect_format` must say
    build: Callable[[random.Random, ProfileSpec], Profile]


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("python_v1", SAMPLE_V1, python_v1),
        Kind("node_v1", SAMPLE_V1, node_v1),
        Kind("javascript_v1", SAMPLE_V1, javascript_v1),
        Kind("cocoa_v1", SAMPLE_V1, cocoa_v1),
        Kind("rust_v1", SAMPLE_V1, rust_v1),
        Kind("react_native_ios", SAMPLE_V1, react_native_ios),
        Kind("python_chunk", SAMPLE_V2, python_chunk),
        Kind("node_chunk", SAMPLE_V2, node_chunk),
        Kind("cocoa_chunk", SAMPLE_V2, cocoa_chunk),
        Kind("android_perfetto_chunk", SAMPLE_V2, android_perfetto_chunk),
        Kind("android_legacy", ANDROID, android_legacy),
        Kind("android_chunk", ANDROID_CHUNK, android_chunk),
        Kind("react_native_android", ANDROID, react_native_android),
        Kind("react_native_android_chunk", ANDROID_CHUNK, react_native_android_chunk),
        Kind("legacy_cocoa", LEGACY, legacy_cocoa),
        Kind("legacy_rust", LEGACY, legacy_rust),
    )
}


def generate(kind: str, rng: random.Random, spec: ProfileSpec | None = None) -> Profile:
    """One payload of the given kind; `spec.extra` keys are set on top (e.g. to break a profile)."""
    spec = spec or ProfileSpec()
    profile = KINDS[kind].build(rng, spec)
    profile.update(copy.deepcopy(spec.extra))
    return profile
