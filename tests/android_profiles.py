"""Android, Android chunk, Perfetto-style sample v2 and React Native profiles for tests, with a symbol store."""

from __future__ import annotations

import copy
import json
import shutil
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from profile_pipeline.adapters.reference import ReferenceData
from profile_pipeline.adapters.symbol_store import object_uri
from profile_pipeline.config import JobConfig, SymbolicationConfig, VroomConfig
from profile_pipeline.formats import detect_format
from profile_pipeline.stages.context import StageContext
from profile_pipeline.work import ProfileWork, Source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

SAMPLE_APP = "a48ca62b-df26-544e-a8b9-2a5ce210d1d5"
RESOLVING_INLINE = "d748e578-b3d1-5be5-b0e5-a42e8c9bf8e0"
REMAP_EXCEPTION = "df272ecb-c8b6-53f3-9803-fdd0d9342ebd"
MAPPING_FILES = {
    SAMPLE_APP: FIXTURES / "proguard" / "sample-app.txt",
    RESOLVING_INLINE: FIXTURES / "proguard" / "resolving-inline.txt",
    REMAP_EXCEPTION: FIXTURES / "proguard" / "remap-exception.txt",
}


def put_mapping(store: Path, mapping_uuid: str, source: Path | bytes) -> None:
    """A mapping at `<id[:2]>/<id[2:]>/proguard` of the store."""
    target = Path(object_uri(str(store), mapping_uuid, "proguard"))
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, bytes):
        target.write_bytes(source)
    else:
        shutil.copyfile(source, target)


def fixture_store(store: Path) -> Path:
    for mapping_uuid, path in MAPPING_FILES.items():
        put_mapping(store, mapping_uuid, path)
    return store


def method(method_id: int, class_name: str, name: str, signature: str | None = None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": method_id, "class_name": class_name, "name": name, **extra}
    if signature is not None:
        entry["signature"] = signature
    return entry


def _method_id(entry: Any, step: int) -> Any:
    return entry.get("id", step) if isinstance(entry, dict) else step


def _events(methods: list[dict[str, Any]], thread_id: int) -> list[dict[str, Any]]:
    events = []
    for step, entry in enumerate(methods):
        time = {"Monotonic": {"wall": {"secs": 0, "nanos": 1000 * (step + 1)}}}
        events.append({"action": "Enter", "thread_id": thread_id, "method_id": _method_id(entry, step), "time": time})
    for step, entry in enumerate(reversed(methods)):
        time = {"Monotonic": {"wall": {"secs": 0, "nanos": 100_000 + 1000 * step}}}
        events.append({"action": "Exit", "thread_id": thread_id, "method_id": _method_id(entry, step), "time": time})
    return events


def android_profile(methods: list[dict[str, Any]], build_id: str | None = SAMPLE_APP, **extra: Any) -> dict[str, Any]:
    """A legacy Android transaction profile (SPEC §3.3 (e)) after the envelope merge."""
    profile: dict[str, Any] = {
        "platform": "android",
        "profile_id": uuid.uuid4().hex,
        "organization_id": 1,
        "project_id": 2,
        "received": 1_764_000_000,
        "sampled": True,
        "android_api_level": 33,
        "device_model": "Pixel 7",
        "device_os_name": "android",
        "device_os_version": "13",
        "duration_ns": 1_500_000_000,
        "transaction_name": "MainActivity",
        "transaction_metadata": {"app.identifier": "io.sentry.sample", "transaction": "MainActivity"},
        "transaction_tags": {"device.class": "2"},
        "release": "io.sentry.sample@1.0+1",
        "client_sdk": {"name": "sentry.java.android", "version": "8.11.1"},
        "profile": {
            "clock": "Dual",
            "start_time": 30653553000,
            "threads": [{"id": 5515, "name": "main"}],
            "methods": methods,
            "events": _events(methods, 5515),
        },
    }
    if build_id is not None:
        profile["build_id"] = build_id
        profile["debug_meta"] = {"images": [{"type": "proguard", "uuid": build_id}]}
    profile["event_id"] = profile["profile_id"]
    profile.update(extra)
    return profile


def android_chunk(methods: list[dict[str, Any]], build_id: str | None = SAMPLE_APP, **extra: Any) -> dict[str, Any]:
    """An Android chunk (SPEC §3.3 (f)): no version, a profiler id, a float timestamp."""
    profile = android_profile(methods, build_id, **extra)
    for key in ("profile_id", "event_id", "transaction_name", "transaction_metadata", "transaction_tags"):
        profile.pop(key)
    profile.update(chunk_id=uuid.uuid4().hex, profiler_id=uuid.uuid4().hex, timestamp=1_764_000_000.25)
    profile.update(extra)
    return profile


def _sample_v2_chunk(platform: str, release: str, sdk: tuple[str, str], **fields: Any) -> dict[str, Any]:
    """The envelope-merged fields every sample v2 chunk of these tests shares."""
    return {
        "version": "2",
        "platform": platform,
        "chunk_id": uuid.uuid4().hex,
        "profiler_id": uuid.uuid4().hex,
        "organization_id": 1,
        "project_id": 2,
        "received": 1_764_000_000,
        "sampled": True,
        "release": release,
        "client_sdk": {"name": sdk[0], "version": sdk[1]},
        **fields,
    }


def perfetto_chunk(mapping_uuid: str = SAMPLE_APP) -> dict[str, Any]:
    """Android sample v2 converted from Perfetto: `java` and `native` frames in one frame list."""
    frames = [
        {"function": "a", "module": "io.sentry.sample.MainActivity", "lineno": 1, "platform": "java"},
        {"function": "onClick", "module": "android.view.View", "lineno": 7448, "platform": "java"},
        {"instruction_addr": "0x7f0001a2c", "platform": "native"},
        {"function": "run", "module": "java.lang.Thread", "lineno": 840, "platform": "java", "in_app": False},
    ]
    return _sample_v2_chunk(
        "android",
        "io.sentry.sample@1.0+1",
        ("sentry.java.android", "8.11.1"),
        debug_meta={"images": [{"type": "proguard", "uuid": mapping_uuid}]},
        profile={
            "samples": [
                {"stack_id": 0, "thread_id": "1", "timestamp": 1_764_000_000.0},
                {"stack_id": 1, "thread_id": "1", "timestamp": 1_764_000_000.01},
            ],
            "stacks": [[0, 1, 3], [2, 1, 3]],
            "frames": frames,
            "thread_metadata": {"1": {"name": "main"}},
        },
    )


def java_chunk() -> dict[str, Any]:
    """A sample v2 chunk of the Java SDK whose body is the JVM fixture."""
    body = json.loads((FIXTURES / "jvm" / "sentry-java-profile-chunk.json").read_text())
    return _sample_v2_chunk("java", "spring-app@1.0", ("sentry.java", "8.17.0"), profile=body)


def work_of(profile: dict[str, Any], project_id: int | None = None) -> ProfileWork:
    if project_id is not None:
        profile["project_id"] = project_id
    message = {"organization_id": profile["organization_id"], "project_id": profile["project_id"], "payload": b""}
    return ProfileWork(
        source=Source("memory://test", 0, 0),
        raw=b"",
        message=message,
        profile=profile,
        format=detect_format(profile),
        sampled=True,
    )


def works_of(profiles: list[dict[str, Any]]) -> list[ProfileWork]:
    return [work_of(copy.deepcopy(profile)) for profile in profiles]


def context(mode: str = "embedded", symbols: str = "", url: str = "", **symbolication: Any) -> StageContext:
    config = JobConfig(
        symbolication=SymbolicationConfig(mode=mode, symbols=symbols, symbolicator_url=url, **symbolication),
        vroom=VroomConfig(mode="off"),
    )
    return StageContext(config=config, reference=ReferenceData(), run_id="test-run", day=date(2026, 11, 24))
