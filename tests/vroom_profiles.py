"""Profiles for the vroom-stage tests, built from the SPEC Part II §3.3 shapes and the ingest fixture.

Each builder returns a `ProfileWork` as the vroom stage receives it: the payload after the envelope merge
(organization, project, received, sampled), the id logic (`event_id` from `profile_id`) and
normalization (`retention_days`).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import msgpack

from profile_pipeline.formats import detect_format
from profile_pipeline.work import ProfileWork, Source

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "python-sample-v1.msgpack"
ORGANIZATION_ID = 1
PROJECT_ID = 2
RECEIVED = 1747722000


def make_work(
    payload: dict[str, Any],
    *,
    sampled: bool = True,
    organization_id: int = ORGANIZATION_ID,
    project_id: int = PROJECT_ID,
) -> ProfileWork:
    profile = copy.deepcopy(payload)
    profile.update(organization_id=organization_id, project_id=project_id, received=RECEIVED, sampled=sampled)
    if "profile_id" in profile:
        profile["event_id"] = profile["profile_id"]
    profile.setdefault("retention_days", 90)
    message = {"type": "profile", "organization_id": organization_id, "project_id": project_id, "received": RECEIVED}
    return ProfileWork(
        source=Source("memory://vroom-tests", 0, 0),
        raw=b"",
        message=message,
        profile=profile,
        format=detect_format(payload),
        sampled=sampled,
    )


def python_v1() -> dict[str, Any]:
    """The real python sample v1 payload of the ingest fixture."""
    message = msgpack.unpackb(FIXTURE.read_bytes())
    return json.loads(message["payload"])


def cocoa_v1(event_id: str = "7621eb0005654725b30eb063406a0e16") -> dict[str, Any]:
    """§3.3 (b), symbolicated, with the transaction fields vroomrs requires."""
    frames = [
        {"function": "-[ImageLoader decode:]", "package": "/private/var/App.app/App", "in_app": True,
         "instruction_addr": "0x102dc9a2c", "platform": "cocoa"},
        {"function": "-[ViewController viewDidLoad]", "package": "/private/var/App.app/App", "in_app": True,
         "instruction_addr": "0x102dc8f10", "platform": "cocoa"},
        {"function": "main", "package": "/private/var/App.app/App", "in_app": True,
         "instruction_addr": "0x102dc8e00", "platform": "cocoa"},
    ]  # fmt: skip
    samples = [
        {"stack_id": 0, "thread_id": 259, "elapsed_since_start_ns": step * 10_000_000, "queue_address": "0x1"}
        for step in range(5)
    ]
    return {
        "version": "1",
        "platform": "cocoa",
        "event_id": event_id,
        "timestamp": "2025-05-20T06:36:46.395Z",
        "release": "io.example.app@1.0+1",
        "environment": "production",
        "client_sdk": {"name": "sentry.cocoa", "version": "8.51.0"},
        "device": {"architecture": "arm64e", "is_emulator": False, "locale": "en_US", "manufacturer": "Apple",
                   "model": "iPhone16,1"},
        "os": {"name": "iOS", "version": "17.5", "build_number": "24E263"},
        "transaction": {"id": "748874cc7cea4178ba4cd3dd9dad3c1b", "name": "launch",
                        "trace_id": "5b4e63e7d65a46faa8438356beedba37", "segment_id": "878a623c873e70b6",
                        "active_thread_id": 259, "relative_start_ns": 0, "relative_end_ns": 50_000_000},
        "transaction_metadata": {"app.identifier": "io.example.app", "transaction": "launch",
                                 "transaction.start": "2025-05-20T06:36:46.345Z",
                                 "transaction.end": "2025-05-20T06:36:46.395Z"},
        "transaction_tags": {"device.class": "3"},
        "debug_meta": {"images": [{"type": "macho", "code_file": "/private/var/App.app/App",
                                   "debug_id": "f156cb0e-f47a-3103-a137-bf8d616e12a1", "image_addr": "0x102dc8000",
                                   "image_vmaddr": "0x100000000", "image_size": 16384}]},
        "profile": {
            "samples": samples,
            "stacks": [[0, 1, 2]],
            "frames": frames,
            "thread_metadata": {"259": {"name": "main", "priority": 31}},
            "queue_metadata": {"0x1": {"label": "com.apple.main-thread"}},
        },
    }  # fmt: skip


def sample_v2_chunk(chunk_id: str = "11cde81c68384f67afd587b3766f1285") -> dict[str, Any]:
    """§3.3 (d), with a third sample so that the leaf has a self time."""
    thread = "6154596352"
    return {
        "version": "2",
        "platform": "python",
        "chunk_id": chunk_id,
        "profiler_id": "76e564243495495da5bb90152d3afdef",
        "release": "backend@1.0",
        "environment": "production",
        "client_sdk": {"name": "sentry.python", "version": "2.13.0"},
        "profile": {
            "samples": [
                {"stack_id": 0, "thread_id": thread, "timestamp": 1724762625.575 + step * 0.01} for step in range(3)
            ],
            "stacks": [[0, 1]],
            "frames": [
                {"function": "work", "module": "app.jobs", "filename": "app/jobs.py", "abs_path": "/srv/app/jobs.py",
                 "lineno": 10, "in_app": True},
                {"function": "main", "module": "app.main", "filename": "app/main.py", "abs_path": "/srv/app/main.py",
                 "lineno": 3, "in_app": True},
            ],
            "thread_metadata": {thread: {"name": "MainThread"}},
        },
    }  # fmt: skip


def _android_events(thread_id: int, scale: int = 1) -> list[dict[str, Any]]:
    """performCreate → onCreate → compute, leaving in reverse order, over 60 ms times `scale`."""

    def event(action: str, method_id: int, ns: int) -> dict[str, Any]:
        ns *= scale
        wall = {"secs": ns // 1_000_000_000, "nanos": ns % 1_000_000_000}
        return {"action": action, "thread_id": thread_id, "method_id": method_id, "time": {"Monotonic": {"wall": wall}}}

    return [
        event("Enter", 3, 1_000),
        event("Enter", 2, 2_000),
        event("Enter", 1, 3_000),
        event("Exit", 1, 40_000_000),
        event("Exit", 2, 50_000_000),
        event("Exit", 3, 60_000_000),
    ]


ANDROID_METHODS = [
    {"id": 1, "class_name": "com.example.Worker", "name": "compute", "signature": "()V", "source_file": "Worker.java",
     "source_line": 12},
    {"id": 2, "class_name": "com.example.MainActivity", "name": "onCreate", "signature": "(Landroid/os/Bundle;)V",
     "source_file": "MainActivity.java"},
    {"id": 3, "class_name": "android.app.Activity", "name": "performCreate", "signature": "(Landroid/os/Bundle;)V"},
]  # fmt: skip


def android_legacy(profile_id: str = "0db26a3adf5342c7943c5f35e8b098ad") -> dict[str, Any]:
    """§3.3 (e), deobfuscated, with the transaction metadata vroomrs requires."""
    return {
        "platform": "android",
        "profile_id": profile_id,
        "android_api_level": 33,
        "build_id": "dedb1ca5-ecee-3c2f-9f78-831de4c87cbf",
        "device_cpu_frequencies": [2400, 2400, 1800, 1800],
        "device_is_emulator": False,
        "device_locale": "en_US",
        "device_manufacturer": "Google",
        "device_model": "Pixel 7",
        "device_os_name": "android",
        "device_os_version": "13",
        "device_physical_memory_bytes": 8000000000,
        "duration_ns": 60_000_000,
        "timestamp": "2025-05-20T06:36:46.375Z",
        "transaction_id": "3f88ed789df74488b3ca3e4bd55e66fe",
        "transaction_name": "MainActivity",
        "trace_id": "ff1ace112ec14405ac7eccea643be482",
        "active_thread_id": 5515,
        "transaction": {"id": "3f88ed789df74488b3ca3e4bd55e66fe", "name": "MainActivity",
                        "trace_id": "ff1ace112ec14405ac7eccea643be482", "active_thread_id": 5515,
                        "relative_start_ns": 0, "relative_end_ns": 60_000_000},
        "version_code": "42",
        "version_name": "1.2.0",
        "release": "com.example@1.2.0+42",
        "transaction_metadata": {"app.identifier": "com.example", "transaction": "MainActivity",
                                 "transaction.start": "2025-05-20T06:36:46.375Z",
                                 "transaction.end": "2025-05-20T06:36:46.435Z"},
        "transaction_tags": {"device.class": "2"},
        "client_sdk": {"name": "sentry.java.android", "version": "8.11.1"},
        "debug_meta": {"images": [{"type": "proguard", "uuid": "dedb1ca5-ecee-3c2f-9f78-831de4c87cbf"}]},
        "profile": {
            "clock": "Dual",
            "start_time": 30653553000,
            "threads": [{"id": 5515, "name": "main"}],
            "methods": copy.deepcopy(ANDROID_METHODS),
            "events": _android_events(5515),
        },
    }  # fmt: skip


def android_json_on_main_thread(profile_id: str = "4b7e0c1d2a3f45e6b7c8d9e0f1a2b3c4") -> dict[str, Any]:
    """(e) where the main thread spends 0.8 s in Gson: vroomrs finds a "JSON decoding on main thread" issue."""
    payload = android_legacy(profile_id)
    payload["profile"]["methods"][0].update(
        class_name="com.google.gson.Gson",
        name="fromJson",
        signature="(Ljava/lang/String;Ljava/lang/Class;)Ljava/lang/Object;",
    )
    payload["profile"]["events"] = _android_events(5515, scale=20)
    payload["duration_ns"] = payload["transaction"]["relative_end_ns"] = 1_200_000_000
    return payload


def android_chunk(chunk_id: str = "7fcbc6ebc1944f44933e373aabe07806") -> dict[str, Any]:
    """§3.3 (f), with a deeper call tree."""
    return {
        "platform": "android",
        "chunk_id": chunk_id,
        "profiler_id": "a2880c269f8146248c9dd5623d17aa74",
        "build_id": "60a5fd2b-f701-4aa7-acf6-f5e6998a046a",
        "client_sdk": {"name": "sentry.java.android", "version": "8.0.0"},
        "environment": "debug",
        "release": "io.sentry.samples.android@8.0.0+2",
        "duration_ns": 60_000_000,
        "timestamp": 1737465052.423,
        "debug_meta": {"images": [{"type": "proguard", "uuid": "60a5fd2b-f701-4aa7-acf6-f5e6998a046a"}]},
        "profile": {
            "clock": "Dual",
            "start_time": 2119367844000,
            "threads": [{"id": 6689, "name": "main"}],
            "methods": copy.deepcopy(ANDROID_METHODS),
            "events": _android_events(6689),
        },
    }
